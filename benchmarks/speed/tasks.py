"""The child side: the tasks one measuring process runs, and the helpers they share.

`bench.py --child TASK --spec JSON` calls `child_main`, which looks TASK up in `TASKS`, runs it
and prints its result as one JSON line after `RESULT_MARK`; under `--quick` the parent calls
the same functions in its own process. mxnet and gluon_rnn are imported inside the functions:
the caller decides when mxnet loads, because mxnet reads OMP_NUM_THREADS only then.
"""
import gc
import json
import statistics
import sys
import time
from pathlib import Path

from .config import NO_STATIC_SHAPE, RESULT_MARK


def _ctx(name):
    import mxnet as mx
    kind, _, index = name.partition(":")
    return mx.gpu(int(index or 0)) if kind == "gpu" else mx.cpu()


def _make_batch(n, t, spec, ctx, seed=0):
    """(tokens (n, t), valid_length (n,), label (n,)) float32: random ids in [2, vocab),
    every row `t` real tokens long, so tokens/s counts no padding."""
    import mxnet as mx
    import numpy as np
    rng = np.random.RandomState(seed)
    tokens = mx.nd.array(rng.randint(2, spec["vocab_size"], (n, t)), ctx=ctx, dtype="float32")
    valid_length = mx.nd.full((n,), t, ctx=ctx, dtype="float32")
    label = mx.nd.array(rng.randint(0, spec["num_classes"], n), ctx=ctx, dtype="float32")
    return tokens, valid_length, label


def _hybridize(net, mode):
    """imperative: no graph; hybrid: hybridize(); static_alloc: memory planned once;
    static: static_alloc and static_shape (the whole graph fixed for one input shape)."""
    if mode == "hybrid":
        net.hybridize()
    elif mode == "static_alloc":
        net.hybridize(static_alloc=True)
    elif mode == "static":
        net.hybridize(static_alloc=True, static_shape=True)
    elif mode != "imperative":
        raise ValueError(f"unknown mode {mode!r}")
    return net


def _probe_block():
    """The plain fused model of a first probe: Embedding -> LSTM -> mean over ALL steps ->
    the same head as `mean`, no length mask. Kept here, not in `gluon_rnn.blocks`: it ignores
    valid_length, which is only right when no row is padded (true of the benchmark's
    batches). `mean` against this probe is the price of the mask."""
    from mxnet import gluon

    class PlainMean(gluon.HybridBlock):
        def __init__(self, vocab_size, num_classes, embed_size, hidden_size, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.embedding = gluon.nn.Embedding(vocab_size, embed_size)
                self.encoder = gluon.rnn.LSTM(hidden_size, layout="NTC", input_size=embed_size)
                self.head = gluon.nn.HybridSequential()   # the post's head, as in `mean`
                self.head.add(gluon.nn.Dense(16, activation="relu"),
                              gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(num_classes))

        def hybrid_forward(self, F, tokens, valid_length):
            h = self.encoder(self.embedding(tokens))          # (N, T, H)
            # valid_length must feed the graph (a hybridized block rejects unused inputs)
            pooled = F.broadcast_add(h.mean(axis=1), 0 * valid_length.expand_dims(1))
            return self.head(pooled)                          # (N, C)

    return PlainMean


def _build(arch, mode, spec, ctx):
    import mxnet as mx
    if arch == "plain-probe":
        net = _probe_block()(spec["vocab_size"], spec["num_classes"], spec["embed_size"],
                             spec["hidden_size"])
    else:
        from gluon_rnn import build_model
        net = build_model(arch, vocab_size=spec["vocab_size"], num_classes=spec["num_classes"],
                          embed_size=spec["embed_size"], hidden_size=spec["hidden_size"])
    net.initialize(mx.init.Xavier(), ctx=ctx)
    if mode == "static" and arch in NO_STATIC_SHAPE:
        mode = "static_alloc"   # see NO_STATIC_SHAPE
    return _hybridize(net, mode)


def _interleaved_windows(runs, spec):
    """Each `run(k)` of `runs` does k steps and returns the seconds they took. Warm each up
    and size its window to about `window_seconds`, then time `repeats` windows of each, the
    runs taking turns (a, b, c, a, b, c, ...) so that a slow spell of a shared machine hits
    all of them alike. Name -> (median seconds per step, the windows, steps per window)."""
    steps = {}
    for name, run in runs.items():
        run(spec["warmup"])
        estimate = run(1)
        steps[name] = int(min(spec["max_steps"], max(1, round(spec["window_seconds"] / estimate))))
    windows = {name: [] for name in runs}
    for _ in range(spec["repeats"]):
        for name, run in runs.items():
            windows[name].append(run(steps[name]) / steps[name])
    return {name: (statistics.median(windows[name]), windows[name], steps[name])
            for name in runs}


def _median_window(run, spec):
    """`_interleaved_windows` of one run: (median seconds per step, windows, steps)."""
    return _interleaved_windows({"run": run}, spec)["run"]


def _train_step_runner(arch, mode, spec, ctx, n):
    """`run(k)`: k training steps of a fresh `arch` on one fixed batch of n rows through the
    project's own loop; returns the seconds they took."""
    from mxnet import gluon
    from gluon_rnn.loop import train_epoch
    # Free the models of earlier rows first, so that their garbage stays out of this row's
    # timing. (It does not cure `foreach` under static_shape, as was once thought: see
    # NO_STATIC_SHAPE.)
    gc.collect()
    net = _build(arch, mode, spec, ctx)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3},
                            update_on_kvstore=False)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    batch = _make_batch(n, spec["seq_len"], spec, ctx)

    def run(k):
        return train_epoch(net, [batch] * k, loss_fn, trainer, [ctx], clip=5.0,
                           progress=False)["seconds"]

    return run


def time_train_step(arch, mode, spec, ctx, batch_size=None):
    """Seconds per training step of `arch` through the project's own loop
    (`gluon_rnn.loop.train_epoch`: forward, loss, backward, clip, Adam, loss read back)."""
    n = batch_size or spec["batch_size"]
    seconds, windows, steps = _median_window(_train_step_runner(arch, mode, spec, ctx, n), spec)
    return {"arch": arch, "mode": mode, "batch_size": n, "seq_len": spec["seq_len"],
            "step_seconds": seconds, "windows": windows, "steps_per_window": steps,
            "tokens_per_second": n * spec["seq_len"] / seconds}


def task_train(spec):
    """Every (arch, mode, batch size) of `spec["runs"]` in this one process."""
    ctx = _ctx(spec["ctx"])
    rows = []
    for run in spec["runs"]:
        rows.append(time_train_step(run["arch"], run["mode"], spec, ctx, run.get("batch_size")))
        print(f"  {rows[-1]['arch']:12s} {rows[-1]['mode']:12s} n={rows[-1]['batch_size']:<4d}"
              f" {rows[-1]['tokens_per_second']:10,.0f} tok/s", file=sys.stderr, flush=True)
    return {"rows": rows}


def task_infer(spec):
    """Per architecture (static graph): one review of `seq_len` tokens, read back to the
    host each call (what a predictor does), and batches of `infer_batch_size`."""
    ctx = _ctx(spec["ctx"])
    rows = []
    for arch in spec["archs"]:
        net = _build(arch, "static", spec, ctx)
        row = {"arch": arch}
        for name, n in (("latency", 1), ("throughput", spec["infer_batch_size"])):
            tokens, valid_length, _ = _make_batch(n, spec["seq_len"], spec, ctx)

            def run(k):
                start = time.perf_counter()
                for _ in range(k):
                    net(tokens, valid_length).asnumpy()
                return time.perf_counter() - start

            seconds, _, _ = _median_window(run, spec)
            row[name] = {"batch_size": n, "seconds": seconds, "reviews_per_second": n / seconds,
                         "tokens_per_second": n * spec["seq_len"] / seconds}
        rows.append(row)
        print(f"  {arch:12s} {row['latency']['seconds'] * 1e3:8.2f} ms/review "
              f"{row['throughput']['reviews_per_second']:8,.0f} reviews/s",
              file=sys.stderr, flush=True)
    return {"rows": rows}


def task_peak(spec):
    """What the hardware gives: a large SGEMM through mxnet's BLAS, and one bare fused LSTM
    layer forward and forward+backward on the benchmark's shapes, against the whole `lstm`
    and `mean` training steps."""
    import mxnet as mx
    from mxnet import autograd, gluon
    ctx = _ctx(spec["ctx"])
    size = spec["gemm_size"]
    a = mx.nd.random.uniform(shape=(size, size), ctx=ctx)
    b = mx.nd.random.uniform(shape=(size, size), ctx=ctx)

    def gemm(k):
        start = time.perf_counter()
        for _ in range(k):
            mx.nd.dot(a, b).wait_to_read()
        return time.perf_counter() - start

    gemm_seconds, _, _ = _median_window(gemm, spec)
    n, t, e, h = spec["batch_size"], spec["seq_len"], spec["embed_size"], spec["hidden_size"]
    layer = gluon.rnn.LSTM(h, layout="NTC", input_size=e)
    layer.initialize(mx.init.Xavier(), ctx=ctx)
    layer.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.uniform(shape=(n, t, e), ctx=ctx)
    x.attach_grad()

    def forward(k):
        start = time.perf_counter()
        for _ in range(k):
            layer(x).wait_to_read()
        return time.perf_counter() - start

    def forward_backward(k):
        start = time.perf_counter()
        for _ in range(k):
            with autograd.record():
                y = layer(x)
            y.backward()
            x.grad.wait_to_read()
        mx.nd.waitall()
        return time.perf_counter() - start

    # The whole steps are timed here too, window for window with the bare layer: timed in
    # separate processes, the two drifted apart by a fifth or more between runs on a shared
    # virtual machine, enough to show the whole step faster than its own layer.
    timed = _interleaved_windows({
        "forward": forward, "forward_backward": forward_backward,
        "step": _train_step_runner("lstm", "static", spec, ctx, n),
        "mean_step": _train_step_runner("mean", "static", spec, ctx, n)}, spec)
    sec = {name: median for name, (median, _, _) in timed.items()}
    return {"gemm_size": size, "gemm_seconds": gemm_seconds,
            "gemm_flops_per_second": 2 * size ** 3 / gemm_seconds,
            "layer_forward_tokens_per_second": n * t / sec["forward"],
            "layer_train_tokens_per_second": n * t / sec["forward_backward"],
            "lstm_step_tokens_per_second": n * t / sec["step"],
            "mean_step_tokens_per_second": n * t / sec["mean_step"]}


def task_profile(spec):
    """mx.profiler's aggregate per-operator table over a few training steps of each run.
    Bulk execution is switched off by the parent (MXNET_EXEC_BULK_EXEC_*=0) so that a
    static graph's operators are timed one by one instead of as one fused segment."""
    import mxnet as mx
    from mxnet import gluon
    from gluon_rnn.loop import train_epoch
    ctx = _ctx(spec["ctx"])
    out = []
    for run in spec["runs"]:
        net = _build(run["arch"], run["mode"], spec, ctx)
        trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3},
                                update_on_kvstore=False)
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        batch = _make_batch(spec["batch_size"], spec["seq_len"], spec, ctx)
        steps = run["steps"]
        train_epoch(net, [batch] * spec["warmup"], loss_fn, trainer, [ctx], progress=False)
        mx.profiler.set_config(profile_all=True, aggregate_stats=True,
                               filename=str(Path(spec["tmp"]) / "profile.json"))
        mx.profiler.set_state("run")
        wall = train_epoch(net, [batch] * steps, loss_fn, trainer, [ctx],
                           progress=False)["seconds"]
        mx.nd.waitall()
        mx.profiler.set_state("stop")
        stats = json.loads(mx.profiler.dumps(reset=True, format="json"))
        ops = [{"name": name, "count": v["Count"] / steps, "ms": v["Total"] / steps}
               for name, v in stats.get("Time", {}).get("operator", {}).items()]
        ops.sort(key=lambda o: -o["ms"])
        out.append({"arch": run["arch"], "mode": run["mode"], "steps": steps,
                    "wall_ms": 1e3 * wall / steps, "ops": ops})
    return {"runs": out}


def _peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def task_imdb(spec):
    """One epoch of `mean` on IMDB's training reviews, end to end in this fresh process:
    read the cache, tokenize, vocabulary, ids, loader, one pass of the loader alone, then
    the training epoch. Peak RSS is this whole process's."""
    import mxnet as mx
    from mxnet import gluon
    from gluon_rnn import data as gdata
    from gluon_rnn.loop import seed_everything, train_epoch
    ctx = _ctx(spec["ctx"])
    seed_everything(0)
    phases = {}
    start = time.perf_counter()
    corpus = gdata.load_corpus(dataset="imdb", limit=spec["imdb_limit"], seed=0)
    phases["load"] = time.perf_counter() - start
    mark = time.perf_counter()
    tokens = [gdata.tokenize(text) for text, _ in corpus.train]
    vocab = gdata.build_vocab(tokens, spec["vocab_size"])
    ids = gdata.encode(tokens, vocab, spec["max_len"])
    labels = [label for _, label in corpus.train]
    loader = gdata.make_loader(ids, labels, spec["batch_size"], shuffle=True,
                               num_buckets=spec["num_buckets"], seed=0,
                               num_workers=spec.get("num_workers", 0))
    phases["prepare"] = time.perf_counter() - mark
    mark = time.perf_counter()
    num_batches = sum(1 for _ in loader)  # batchify cost alone: what workers could hide
    phases["loader_pass"] = time.perf_counter() - mark
    net = _build("mean", "static_alloc", dict(spec, vocab_size=len(vocab),
                                              num_classes=corpus.num_classes), ctx)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3},
                            update_on_kvstore=False)
    stats = train_epoch(net, loader, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, [ctx],
                        clip=5.0, progress=False)
    mx.nd.waitall()
    phases["train_epoch"] = stats["seconds"]
    real, padded = stats["tokens"], stats["padded_tokens"]
    return {"num_buckets": spec["num_buckets"], "num_workers": spec.get("num_workers", 0),
            "max_len": spec["max_len"], "batch_size": spec["batch_size"],
            "num_reviews": len(corpus.train), "num_batches": num_batches,
            "source": corpus.source, "phases": phases,
            "end_to_end_seconds": time.perf_counter() - start,
            "train_accuracy": stats["correct"] / stats["count"],
            "tokens": real, "padding_fraction": padded / (real + padded),
            "tokens_per_second": real / stats["seconds"], "peak_rss_mb": _peak_rss_mb()}


def task_frontier(spec):
    """Training steps of the frontier row's model (README: `bilstm-meanmax` 256 x 256, whole
    reviews, its dropouts) on the training loop's own bucketed IMDB batches, through
    `train_epoch`: what that row's epochs are made of. A seeded subset of the reviews keeps
    the set-up short; the net gets the row's full vocabulary size all the same, since the
    dense Adam update of the embedding is part of every step."""
    import mxnet as mx
    from mxnet import gluon
    from gluon_rnn.loop import seed_everything, train_epoch
    from gluon_rnn.train import Config, build_net, prepare_data
    ctx = [_ctx(spec["ctx"])]
    cfg = Config(arch="bilstm-meanmax", embed_size=256, hidden_size=256, max_len=800,
                 vocab_size=30000, dropout=0.5, embed_dropout=0.3, word_dropout=0.2, lr=2e-3,
                 limit=spec["frontier_limit"], progress=False)
    seed_everything(cfg.seed)
    _, _, loaders, _ = prepare_data(cfg)
    net = build_net(cfg, cfg.vocab_size, 2, ctx)     # hybridized with static_alloc, as the loop
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": cfg.lr},
                            update_on_kvstore=False)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    batches = list(loaders["train"])
    warmup, timed = spec["frontier_warmup"], spec["frontier_batches"]
    train_epoch(net, batches[:warmup], loss, trainer, ctx, clip=5.0, progress=False)
    mx.nd.waitall()
    stats = train_epoch(net, batches[warmup:warmup + timed], loss, trainer, ctx, clip=5.0,
                        progress=False)
    steps = min(timed, len(batches) - warmup)
    return {"batches": steps, "batch_size": cfg.batch_size, "tokens": stats["tokens"],
            "padded_tokens": stats["padded_tokens"], "seconds": stats["seconds"],
            "step_seconds": stats["seconds"] / steps,
            "tokens_per_second": stats["tokens"] / stats["seconds"]}


def task_padding(spec):
    """Padding fraction of one pass over IMDB's training batches per bucket count."""
    from gluon_rnn import data as gdata
    corpus = gdata.load_corpus(dataset="imdb", limit=spec["imdb_limit"], seed=0)
    tokens = [gdata.tokenize(text) for text, _ in corpus.train]
    vocab = gdata.build_vocab(tokens, spec["vocab_size"])
    ids = gdata.encode(tokens, vocab, spec["max_len"])
    labels = [label for _, label in corpus.train]
    rows = []
    for num_buckets in spec["bucket_counts"]:
        loader = gdata.make_loader(ids, labels, spec["batch_size"], shuffle=True,
                                   num_buckets=num_buckets, seed=0)
        rows.append({"num_buckets": num_buckets, "num_batches": len(loader),
                     "padding_fraction": gdata.padding_fraction(loader)})
    return {"rows": rows}


TASKS = {"train": task_train, "infer": task_infer, "peak": task_peak,
         "profile": task_profile, "imdb": task_imdb, "padding": task_padding,
         "frontier": task_frontier}


def child_main(task, spec_json):
    result = TASKS[task](json.loads(spec_json))
    print(RESULT_MARK + json.dumps(result), flush=True)
