"""One training run, end to end: read and split the data, build the network, `fit` it
(`gluon_rnn.loop`), score the test set once and write the run directory.

    run(Config(...))                                             -> metrics dict, files in cfg.out
    prepare_data(cfg), build_net(cfg, ...), loop.fit(...), finish(...)  -> its steps

`python -m gluon_rnn.train` is its command line, and `Config` its settings
(`gluon_rnn.options`). A run directory holds the model (config.json, vocab.json, model.params,
the hybridized export model-symbol.json + model-0000.params), metrics.json, history.csv,
learning_curves.png, confusion_matrix.png and checkpoint/ (what `--resume` continues from).
One run at a time holds the directory (`rundir.RunLock`); config.json, written last, marks the
model complete. `--resume` continues with the saved run's own settings
(`checkpoint.resume_config`).
"""
import contextlib
import dataclasses
import time
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import data as gdata
from . import distributed, options, rundir
from .blocks import build_model
from .checkpoint import load_checkpoint, read_state, resume_config
from .errors import UserError
from .loop import fit, score_loader, seed_everything
from .metrics import report
from .model_io import atomic_save, atomic_write_json, atomic_write_text, export_symbol, save_model_dir
from .plots import plot_confusion_matrix, plot_learning_curves
from .records import run_metrics


def _run_dir(cfg):
    out = Path(cfg.out or f"runs/{cfg.arch}-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; choose another --out")
    return out


def prepare_data(cfg, workers=distributed.SINGLE):
    """Corpus, vocabulary (from the training split only), the three loaders and how many
    training batches each worker takes per epoch (None: all of them). With several `workers`
    each takes its own shard of the training set, and the count is the shortest shard's
    length: dist_sync needs every worker to take the same number of steps."""
    corpus = gdata.load_corpus(dataset=cfg.dataset if cfg.data else (cfg.dataset or "imdb"),
                               data=cfg.data, text_column=cfg.text_column,
                               label_column=cfg.label_column, data_dir=cfg.data_dir,
                               limit=cfg.limit, dedup=not cfg.no_dedup, seed=cfg.seed,
                               encoding=cfg.encoding)
    if corpus.num_classes < 2:
        # One class would train a model that answers it whatever the text, with accuracy 1.
        found = f"only {corpus.label_names[0]!r}" if corpus.label_names else "no label"
        raise UserError(f"needs at least 2 classes; found {found} in "
                        f"{cfg.data or corpus.dataset}")
    if not corpus.train or not corpus.valid or not corpus.test:
        raise UserError(f"{corpus.dataset}: too few examples to split into train/valid/test "
                        f"({len(corpus.train)}/{len(corpus.valid)}/{len(corpus.test)})")
    tokens = {name: [gdata.tokenize(text) for text, _ in getattr(corpus, name)]
              for name in ("train", "valid", "test")}
    vocab = gdata.build_vocab(tokens["train"], cfg.vocab_size)

    ids = {name: gdata.encode(t, vocab, cfg.max_len, cfg.truncate) for name, t in tokens.items()}
    labels = {name: [label for _, label in getattr(corpus, name)] for name in tokens}

    def loader(name, shuffle, rank=0, count=1):
        return gdata.make_loader(ids[name], labels[name], cfg.batch_size, shuffle=shuffle,
                                 num_buckets=cfg.num_buckets, worker_rank=rank,
                                 worker_count=count)

    loaders = {"train": loader("train", True, workers.rank, workers.count),
               "valid": loader("valid", False), "test": loader("test", False)}
    num_batches = None
    if workers.count > 1:
        num_batches = min(len(loader("train", True, r, workers.count))
                          for r in range(workers.count))
    return corpus, vocab, loaders, num_batches


def build_net(cfg, vocab_size, num_classes, ctx):
    kwargs = dict(embed_size=cfg.embed_size, hidden_size=cfg.hidden_size, dropout=cfg.dropout,
                  embed_dropout=cfg.embed_dropout, word_dropout=cfg.word_dropout)
    if cfg.num_layers is not None:
        kwargs["num_layers"] = cfg.num_layers
    for name in ("attention_hops", "attention_penalty"):   # recorded in net.config
        if getattr(cfg, name) is not None:
            kwargs[name] = getattr(cfg, name)
    try:
        net = build_model(cfg.arch, vocab_size=vocab_size, num_classes=num_classes, **kwargs)
    except ValueError as err:
        raise UserError(str(err))
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True)
    return net


def _chosen_fields(cfg):
    """The fields of `cfg` that differ from their defaults: what a caller of `run` chose."""
    return {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != f.default}


def _saved_data_path(data, saved):
    """The run's --data file: as it was given, which is relative to where the run started,
    else where that was on this machine (a resume from another directory)."""
    where = saved.get("data_path")
    if Path(data).exists() or not where:
        return data
    if Path(where).exists():
        return where
    raise UserError(f"{data}: no such file (the run read {where}); if it moved, give "
                    f"--data PATH")


def run(cfg, given=None):
    """Train `cfg.arch` as configured, write the run directory, return the metrics dict
    (None on the workers of a distributed run other than rank 0).

    With `cfg.resume` the run in `cfg.out` goes on with its own saved settings: `given` names
    the fields the caller chose (the command line's flags; by default those that differ from
    the defaults), and only those whose `Config` field says --resume may change them
    (`options.resume_rule`) may differ from the saved run."""
    saved = None
    if cfg.resume and not cfg.out:
        raise UserError("--resume needs --out DIR, the run directory to continue")
    if cfg.resume and cfg.overwrite:
        raise UserError("--resume continues the run in --out, --overwrite replaces it: "
                        "give one of them")
    out = _run_dir(cfg)
    if cfg.resume:
        # checked once merged: a flag left out (--data) is the saved run's, not its default
        saved = read_state(out)
        chosen = _chosen_fields(cfg) if given is None else set(given)
        cfg = resume_config(cfg, chosen, saved["config"])
        if cfg.data and "data" not in chosen:
            cfg = dataclasses.replace(cfg, data=_saved_data_path(cfg.data, saved))
    options.check_config(cfg)
    ctx = distributed.parse_ctx(cfg.ctx)
    workers = distributed.Workers.from_kvstore(cfg.kvstore)
    # The chief writes the run directory, so it alone holds it; other workers add
    # worker-RANK.json.
    with rundir.RunLock(out) if workers.is_chief else contextlib.nullcontext():
        if workers.is_chief:
            rundir.check_run_dir(out, cfg.resume, cfg.overwrite)
            if cfg.overwrite:
                rundir.clear_run(out)
        try:
            return _run(cfg, out, saved, ctx, workers)
        except mx.base.MXNetError as err:
            too_large = "larger than 2^31" in str(err)
            if not too_large and "Failed to allocate" not in str(err):
                raise
            try:   # operations still queued fail too: their reports must not follow this one
                mx.nd.waitall()
            except mx.base.MXNetError:
                pass
            # MXNet's own report is a C++ stack trace of forty lines
            what = ("one of its tensors would hold more than 2^31 numbers" if too_large
                    else "its tensors do not fit in this machine's memory")
            raise UserError(f"the model is too large for MXNet: {what}; lower --hidden-size, "
                            f"--embed-size, --attention-hops, --vocab-size or --batch-size") \
                from None


def _run(cfg, out, saved, ctx, workers):
    seed_everything(cfg.seed)
    corpus, vocab, loaders, num_batches = prepare_data(cfg, workers)
    workers = workers.with_batches(num_batches)
    fingerprint = rundir.data_fingerprint(cfg.data, corpus)
    recorded = saved and saved["data_fingerprint"]
    if recorded and not rundir.same_data(fingerprint, recorded):
        given = f"--data {cfg.data}" if cfg.data else f"--dataset {corpus.dataset}"
        raise UserError(f"{given} is not the data the run in {out} was trained on "
                        f"({rundir.describe_data(fingerprint)}; the run's: "
                        f"{rundir.describe_data(recorded)})")
    workers.say(
        f"data: {corpus.dataset} from {corpus.source}: {len(corpus.train)} train, "
        f"{len(corpus.valid)} valid, {len(corpus.test)} test, {corpus.num_classes} classes "
        f"({corpus.duplicates_removed} duplicates removed" + (
            f" from all {corpus.num_examples} examples, before taking --limit {cfg.limit})"
            if cfg.limit and corpus.duplicates_removed else ")"))
    net = build_net(cfg, len(vocab), corpus.num_classes, ctx)
    # update_on_kvstore=False: gradients are aggregated, then clipped and applied locally,
    # which also keeps the optimizer state on this process so a checkpoint can hold it.
    trainer = gluon.Trainer(net.collect_params(), "adam",
                            {"learning_rate": cfg.lr, "wd": cfg.weight_decay},
                            kvstore=workers.kv, update_on_kvstore=False)
    state = {}
    if cfg.resume:
        state = load_checkpoint(out, net, trainer, ctx)
        workers.say(f"resuming {out} after epoch {state['epoch']}")
    resumed_from = state.get("epoch")
    # Every checkpoint records the settings and the data: what --resume continues with.
    state.update(config=dataclasses.asdict(cfg), data_fingerprint=fingerprint)
    if cfg.data:
        state["data_path"] = str(Path(cfg.data).resolve())
    # A finished run that is resumed to train on stays a servable model (its config.json is
    # kept) until finish() replaces it, file by file, with the same settings and vocabulary.
    state = fit(cfg, net, trainer, loaders, corpus.num_classes, ctx, out, state, workers)

    # Every worker of a synchronous run ends with the same parameters: the checksums say so.
    checksum = distributed.param_checksum(net)
    if workers.count > 1:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / f"worker-{workers.rank}.json", {
            "rank": workers.rank, "num_workers": workers.count, "param_checksum": checksum,
            "train_loss": [h["train_loss"] for h in state["history"]]})
        if not workers.is_chief:
            return None
    return finish(cfg, net, corpus, loaders["test"], ctx, out, state, resumed_from, checksum,
                  vocab, fingerprint, workers)


def finish(cfg, net, corpus, test_loader, ctx, out, state, resumed_from, checksum, vocab,
           fingerprint=None, workers=distributed.SINGLE):
    """Score the test set once, with the best validation epoch's parameters; write the model,
    its export, metrics.json and the plots, and config.json last: it marks the model complete.
    The chief of several `workers` alone calls it."""
    history = state["history"]
    net.load_parameters(str(out / "checkpoint" / state["best_params"]), ctx=ctx)
    test = score_loader(net, test_loader, ctx, corpus.num_classes)
    rep = report(test["confusion"], corpus.label_names)
    param_count = sum(int(np.prod(p.shape)) for p in net.collect_params().values())
    metrics = run_metrics(cfg, corpus, state, rep, test, resumed_from, param_count, checksum,
                          workers.count)
    atomic_save(out / "model.params", net.save_parameters)
    tokens, valid_length, _ = next(iter(test_loader))
    export_symbol(out, net, (tokens.as_in_context(ctx[0]), valid_length.as_in_context(ctx[0])))
    plot_learning_curves(history, out / "learning_curves.png",
                         title=f"{cfg.arch} on {corpus.dataset}", best_epoch=state["best_epoch"])
    plot_confusion_matrix(rep["confusion_matrix"], corpus.label_names,
                          out / "confusion_matrix.png",
                          title=f"{cfg.arch}: test accuracy {rep['accuracy']:.4f}")
    atomic_write_json(out / "metrics.json", metrics)
    # what evaluate needs to tell data the model has seen from data it has not
    seen = gdata.text_digests(t for t, _ in corpus.train + corpus.valid)
    atomic_write_text(out / rundir.SEEN_FILE, "".join(d + "\n" for d in sorted(set(seen))))
    save_model_dir(out, net, vocab, corpus.label_names, cfg.max_len, params=False,
                   truncate=cfg.truncate, data=rundir.data_record(cfg, corpus, fingerprint))
    workers.say(f"test accuracy {rep['accuracy']:.4f} (loss {test['loss']:.4f}, macro F1 "
                f"{rep['macro_f1']:.4f}) on {len(corpus.test)} examples, best epoch "
                f"{state['best_epoch']}")
    workers.say(f"wrote {out}/: model (config.json, vocab.json, model.params, "
                f"model-symbol.json, model-0000.params), metrics.json, history.csv, "
                f"learning_curves.png, confusion_matrix.png, {rundir.SEEN_FILE}")
    return metrics
