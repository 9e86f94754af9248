"""One training run, end to end, for every architecture, and its command line.

    python -m gluon_rnn.train --arch lstm                       # IMDB, sensible defaults
    python -m gluon_rnn.train --arch bilstm --data my.tsv --epochs 3 --out runs/mine
    python -m gluon_rnn.train --list-archs

`--arch` only chooses the block from `gluon_rnn.ARCHITECTURES`; everything else is the same
for all of them. The pieces are plain functions that notebooks and tests call too:

    run(Config(...))                                             -> metrics dict, files in cfg.out
    prepare_data(cfg), build_net(cfg, ...), fit(...), finish(...)  -> its steps

The loop's two verbs, `train_epoch` and `evaluate`, live in `gluon_rnn.loop`; the checkpoint
that `--resume` continues from in `gluon_rnn.checkpoint`; the checks of every flag and the
command line derived from `Config` in `gluon_rnn.options`.

A run directory holds the model (config.json, vocab.json, model.params, the hybridized export
model-symbol.json + model-0000.params), metrics.json, history.csv, learning_curves.png,
confusion_matrix.png and checkpoint/ (what `--resume` continues from). One run at a time
holds the directory (`rundir.RunLock`); config.json, written last, marks the model complete.
`--resume` continues with the saved run's own settings (`checkpoint.resume_config`).
"""
import contextlib
import csv
import dataclasses
import io
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import data as gdata
from . import distributed, options, rundir
from .blocks import ARCHITECTURES, build_model
from .checkpoint import load_checkpoint, read_state, resume_config, save_checkpoint
from .errors import UserError, run_cli
from .loop import WeightAverage, evaluate, seed_everything, train_epoch
from .metrics import report
from .model_io import atomic_save, atomic_write_json, atomic_write_text, export_symbol, save_model_dir
from .plots import plot_confusion_matrix, plot_learning_curves


@dataclass
class Config:
    """Everything one run depends on; the command line is derived from these fields."""
    arch: str = field(default="mean", metadata={"help": "architecture (see --list-archs)"})
    # data
    dataset: str = field(default=None, metadata={"help": "named dataset: imdb (default when --data is not given)"})
    data: str = field(default=None, metadata={"help": "your own file: LABEL<TAB>TEXT, or CSV/TSV with a header"})
    text_column: str = field(default=None, metadata={"help": "text column of a CSV/TSV (auto-detected when obvious)"})
    label_column: str = field(default=None, metadata={"help": "label column of a CSV/TSV (auto-detected when obvious)"})
    data_dir: str = field(default=None, metadata={"help": "dataset cache (default $GLUON_RNN_DATA or ~/.cache/gluon_rnn)"})
    encoding: str = field(default=None, metadata={"help": "text encoding of --data, e.g. cp1252 or latin-1 (default UTF-8, with or without a BOM)"})
    limit: int = field(default=None, metadata={"help": "use a seeded subset of N examples (quick runs)"})
    no_dedup: bool = field(default=False, metadata={"help": "keep duplicate texts (the post's protocol; leaks test sentences into training)"})
    max_len: int = field(default=400, metadata={"help": "truncate texts to this many tokens"})
    truncate: str = field(default="head", metadata={"help": "which tokens a longer text keeps: head, tail, or both (first quarter + last three quarters)"})
    vocab_size: int = field(default=30000, metadata={"help": "keep this many most frequent training tokens"})
    num_buckets: int = field(default=10, metadata={"help": "length buckets for batching (1 = no bucketing)"})
    # model
    embed_size: int = field(default=128, metadata={"help": "embedding size"})
    hidden_size: int = field(default=128, metadata={"help": "hidden units per direction"})
    num_layers: int = field(default=None, metadata={"help": "recurrent layers (default: 1, stacked: 2)"})
    dropout: float = field(default=0.3, metadata={"help": "dropout between layers and before the head"})
    embed_dropout: float = field(default=0.0, metadata={"help": "dropout on the word vectors' entries"})
    word_dropout: float = field(default=0.0, metadata={"help": "drop whole words (their vectors) in training"})
    attention_hops: int = field(default=None, metadata={"help": "attention: how many weightings of the tokens (hops) it learns (default 4)"})
    attention_penalty: float = field(default=None, metadata={"help": "attention: weight of the penalty ||AAᵀ - I||² that keeps the hops apart (default 0.1; 0 = off)"})
    # optimisation: Adam, gradients clipped by global norm (the cure for exploding gradients)
    epochs: int = field(default=2, metadata={"help": "maximum number of epochs"})
    batch_size: int = field(default=64, metadata={"help": "examples per batch (per worker)"})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate"})
    lr_decay: float = field(default=0.5, metadata={"help": "multiply the learning rate by this after every epoch"})
    # 0.05: every recorded run's rates stay as they were (none decayed below 1/16 of --lr)
    lr_floor: float = field(default=0.05, metadata={"help": "the decayed rate never falls below this fraction of --lr, so a long run keeps learning"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 penalty on every parameter (Adam's wd)"})
    average: float = field(default=0.0, metadata={"help": "validate, keep and save an exponential moving average of the weights with this decay per step, e.g. 0.999 (0 = off)"})
    clip: float = field(default=5.0, metadata={"help": "clip the mean gradient's global norm (0 = off)"})
    patience: int = field(default=2, metadata={"help": "stop after this many epochs without a better valid accuracy"})
    seed: int = field(default=0, metadata={"help": "random seed (data split, initialisation, shuffling, dropout)"})
    # where and how
    ctx: str = field(default="cpu", metadata={"help": "cpu, cpu:0,cpu:1, gpu:0 or gpu:0,1. Several devices train the model one trains only with every dropout 0: with dropout on, each device draws its own masks (the same --seed and --ctx repeat a run)"})
    kvstore: str = field(default="device", metadata={"help": "gradient aggregation: device, local, or dist_sync inside `python -m gluon_rnn.launch`"})
    out: str = field(default=None, metadata={"help": "run directory (default runs/ARCH-TIMESTAMP)"})
    resume: bool = field(default=False, metadata={"help": "continue the run in --out from its last complete epoch"})
    overwrite: bool = field(default=False, metadata={"help": "start afresh in --out when it holds a run: its files are replaced (files no run writes are never touched)"})
    progress: bool = field(default=True, metadata={"cli": False})  # tqdm bars on stderr


# --------------------------------------------------------------------------- one run

def _history_csv(history):
    buf = io.StringIO()
    fields = list(history[0]) if history else ["epoch"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def _versions():
    import gluonnlp
    import matplotlib
    return {"python": platform.python_version(), "mxnet": mx.__version__,
            "gluonnlp": gluonnlp.__version__, "numpy": np.__version__,
            "matplotlib": matplotlib.__version__}


def _say(msg, rank=0):
    if rank == 0:
        print(msg, flush=True)


def _run_dir(cfg):
    out = Path(cfg.out or f"runs/{cfg.arch}-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; choose another --out")
    return out


def prepare_data(cfg, rank=0, num_workers=1):
    """Corpus, vocabulary (from the training split only) and the three loaders. With several
    workers each takes its own shard of the training set, and `num_batches` is the shortest
    shard's length: dist_sync needs every worker to take the same number of steps."""
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

    def loader(name, shuffle, part=(1, 0)):
        ids = gdata.encode(tokens[name], vocab, cfg.max_len, cfg.truncate)
        labels = [label for _, label in getattr(corpus, name)]
        return gdata.make_loader(ids, labels, cfg.batch_size, shuffle=shuffle,
                                 num_buckets=cfg.num_buckets, num_parts=part[0],
                                 part_index=part[1])

    loaders = {"train": loader("train", True, (num_workers, rank)),
               "valid": loader("valid", False), "test": loader("test", False)}
    num_batches = None
    if num_workers > 1:
        num_batches = min(len(loader("train", True, (num_workers, r))) for r in range(num_workers))
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


def learning_rate(cfg, epoch):
    """The rate of `epoch` (from 1): --lr, times --lr-decay after every epoch, but never
    below --lr-floor times --lr (a rate decayed for ever would stop learning, then leave
    float32's range)."""
    return cfg.lr * max(cfg.lr_decay ** (epoch - 1), cfg.lr_floor)


def _epoch_row(epoch, stats, valid, lr):
    real, padded = stats["tokens"], stats["padded_tokens"]
    return {"epoch": epoch, "lr": lr,
            "train_loss": round(stats["loss_sum"] / stats["count"], 6),
            "train_acc": round(stats["correct"] / stats["count"], 6),
            "valid_loss": round(valid["loss"], 6), "valid_acc": round(valid["acc"], 6),
            "seconds": round(stats["seconds"], 3),
            "tokens_per_second": round(real / stats["seconds"], 1),
            "padding_fraction": round(padded / max(real + padded, 1), 4),
            "tokens": int(real), "padded_tokens": int(padded)}


def fit(cfg, net, trainer, loaders, num_classes, ctx, out, state, kv=None, rank=0,
        num_workers=1, num_batches=None):
    """Epochs with validation, early stopping and a checkpoint after each; returns the
    final training state (history, best epoch, ...). `state` is a resumed one or empty."""
    state = dict({"history": [], "best_acc": -1.0, "best_epoch": 0, "stale": 0, "epoch": 0,
                  "stopped_early": False}, **state)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    average = None
    if cfg.average:
        average = WeightAverage(net, cfg.average, ctx, state.get("average_updates", 0))
        if "average_updates" in state:   # resumed: the last epoch's average goes on
            with average.swapped():
                net.load_parameters(str(Path(out) / "checkpoint" / state["last_params"]),
                                    ctx=ctx)
                average.shadow = [p.data(average.ctx).copy() for p in average.params]
    # Ctrl-C anywhere in an epoch, its checkpoint write included, keeps the epochs already
    # committed (every checkpoint file is renamed into place whole) and says how to go on.
    if state["epoch"] >= cfg.epochs:
        _say(f"the run has trained {state['epoch']} epochs already, --epochs {cfg.epochs}: "
             f"nothing to train (raise --epochs to train on)", rank)
    try:
        for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
            if state["stale"] >= cfg.patience:
                state["stopped_early"] = True
                _say(f"stopping early after epoch {state['epoch']}: no better valid accuracy "
                     f"for {state['stale']} epochs (--patience {cfg.patience}; raise it to "
                     f"train on); the best was epoch {state['best_epoch']}", rank)
                break
            # Reseeding per epoch makes a resumed run shuffle and drop out exactly as an
            # unbroken one (MXNet's generator state cannot be saved).
            seed_everything(cfg.seed * 1000 + epoch)
            # set from the epoch number, not accumulated, so a resumed run uses the same rate
            trainer.set_learning_rate(learning_rate(cfg, epoch))
            stats = train_epoch(net, loaders["train"], loss_fn, trainer, ctx, clip=cfg.clip,
                                num_batches=num_batches, epoch=epoch,
                                progress=cfg.progress and rank == 0,
                                kv=kv if num_workers > 1 else None, average=average)
            if num_workers > 1:
                keys = ("loss_sum", "correct", "count", "tokens", "padded_tokens")
                sums = distributed.allreduce_sum(kv, np.array([stats[k] for k in keys]))
                stats.update(zip(keys, (float(v) for v in sums)))
            with average.swapped() if average else contextlib.nullcontext():
                valid = evaluate(net, loaders["valid"], ctx, num_classes, loss_fn)
            row = _epoch_row(epoch, stats, valid, trainer.learning_rate)
            improved = valid["acc"] > state["best_acc"]
            if improved:
                state.update(best_acc=valid["acc"], best_epoch=epoch, stale=0)
            else:
                state["stale"] += 1
            state["history"] = state["history"] + [row]
            _say(f"epoch {epoch}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc "
                 f"{row['train_acc']:.4f} | valid loss {row['valid_loss']:.4f} acc "
                 f"{row['valid_acc']:.4f} | {row['seconds']:.1f}s {row['tokens_per_second']:,.0f} "
                 f"tok/s, padding {row['padding_fraction']:.1%}" + ("  *" if improved else ""), rank)
            state["best_params"] = f"epoch-{state['best_epoch']:04d}.params"
            if rank == 0:
                state = save_checkpoint(out, epoch, net, trainer, state, average)
                atomic_write_text(out / "history.csv", _history_csv(state["history"]))
            else:
                state["epoch"] = epoch
    except KeyboardInterrupt:
        done = state["epoch"]
        saved = "epoch 1 is saved" if done == 1 else f"epochs 1-{done} are saved"
        _say(f"interrupted in epoch {done + 1}; " + (
            f"{saved} in {out}: continue with --resume --out {out}"
            if done else "no epoch was complete, nothing to resume"), rank)
        raise SystemExit(130)
    return state


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
    the defaults), and only `checkpoint.RESUME_MAY_CHANGE` may differ from the saved run."""
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
    kv, rank, num_workers = distributed.create_kvstore(cfg.kvstore)
    # Rank 0 writes the run directory, so it alone holds it; other workers add worker-RANK.json.
    with rundir.RunLock(out) if rank == 0 else contextlib.nullcontext():
        if rank == 0:
            rundir.check_run_dir(out, cfg.resume, cfg.overwrite)
            if cfg.overwrite:
                rundir.clear_run(out)
        try:
            return _run(cfg, out, saved, ctx, kv, rank, num_workers)
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


def _run(cfg, out, saved, ctx, kv, rank, num_workers):
    seed_everything(cfg.seed)
    corpus, vocab, loaders, num_batches = prepare_data(cfg, rank, num_workers)
    fingerprint = rundir.data_fingerprint(cfg.data, corpus)
    recorded = saved and saved["data_fingerprint"]
    if recorded and not rundir.same_data(fingerprint, recorded):
        given = f"--data {cfg.data}" if cfg.data else f"--dataset {corpus.dataset}"
        raise UserError(f"{given} is not the data the run in {out} was trained on "
                        f"({rundir.describe_data(fingerprint)}; the run's: "
                        f"{rundir.describe_data(recorded)})")
    _say(f"data: {corpus.dataset} from {corpus.source}: {len(corpus.train)} train, "
         f"{len(corpus.valid)} valid, {len(corpus.test)} test, {corpus.num_classes} classes "
         f"({corpus.duplicates_removed} duplicates removed" + (
             f" from all {corpus.num_examples} examples, before taking --limit {cfg.limit})"
             if cfg.limit and corpus.duplicates_removed else ")"), rank)
    net = build_net(cfg, len(vocab), corpus.num_classes, ctx)
    # update_on_kvstore=False: gradients are aggregated, then clipped and applied locally,
    # which also keeps the optimizer state on this process so a checkpoint can hold it.
    trainer = gluon.Trainer(net.collect_params(), "adam",
                            {"learning_rate": cfg.lr, "wd": cfg.weight_decay},
                            kvstore=kv, update_on_kvstore=False)
    state = {}
    if cfg.resume:
        state = load_checkpoint(out, net, trainer, ctx)
        _say(f"resuming {out} after epoch {state['epoch']}", rank)
    resumed_from = state.get("epoch")
    # Every checkpoint records the settings and the data: what --resume continues with.
    state.update(config=dataclasses.asdict(cfg), data_fingerprint=fingerprint)
    if cfg.data:
        state["data_path"] = str(Path(cfg.data).resolve())
    # A finished run that is resumed to train on stays a servable model (its config.json is
    # kept) until finish() replaces it, file by file, with the same settings and vocabulary.
    state = fit(cfg, net, trainer, loaders, corpus.num_classes, ctx, out, state, kv, rank,
                num_workers, num_batches)

    # Every worker of a synchronous run ends with the same parameters: the checksums say so.
    checksum = distributed.param_checksum(net)
    if num_workers > 1:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / f"worker-{rank}.json", {
            "rank": rank, "num_workers": num_workers, "param_checksum": checksum,
            "train_loss": [h["train_loss"] for h in state["history"]]})
        if rank != 0:
            return None
    return finish(cfg, net, corpus, loaders["test"], ctx, out, state, resumed_from, checksum,
                  num_workers, vocab, fingerprint)


def finish(cfg, net, corpus, test_loader, ctx, out, state, resumed_from, checksum, num_workers,
           vocab, fingerprint=None):
    """Score the test set once, with the best validation epoch's parameters; write the model,
    its export, metrics.json and the plots, and config.json last: it marks the model complete."""
    history = state["history"]
    net.load_parameters(str(out / "checkpoint" / state["best_params"]), ctx=ctx)
    test = evaluate(net, test_loader, ctx, corpus.num_classes)
    rep = report(test["confusion"], corpus.label_names)
    real = sum(h["tokens"] for h in history)
    padded = sum(h["padded_tokens"] for h in history)
    train_seconds = sum(h["seconds"] for h in history)
    metrics = {
        "arch": cfg.arch, "dataset": corpus.dataset, "source": corpus.source,
        "num_train": len(corpus.train), "num_valid": len(corpus.valid),
        "num_test": len(corpus.test), "num_classes": corpus.num_classes,
        "label_names": corpus.label_names, "duplicates_removed": corpus.duplicates_removed,
        "num_conflicting": corpus.num_conflicting,
        "epochs_completed": len(history), "stopped_early": state["stopped_early"],
        "resumed_from_epoch": resumed_from, "best_epoch": state["best_epoch"],
        "test_accuracy": rep["accuracy"], "test_loss": test["loss"],
        "valid_accuracy": state["best_acc"], "macro_f1": rep["macro_f1"],
        "per_class": rep["per_class"], "confusion_matrix": rep["confusion_matrix"],
        "train_seconds": round(train_seconds, 3),
        "tokens_per_second": round(real / max(train_seconds, 1e-9), 1),
        "padding_fraction": round(padded / max(real + padded, 1), 4),
        "param_count": sum(int(np.prod(p.shape)) for p in net.collect_params().values()),
        "final_param_checksum": checksum, "seed": cfg.seed, "context": cfg.ctx,
        "kvstore": cfg.kvstore, "num_workers": num_workers, "versions": _versions(),
        "config": dataclasses.asdict(cfg),
    }
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
    _say(f"test accuracy {rep['accuracy']:.4f} (loss {test['loss']:.4f}, macro F1 "
         f"{rep['macro_f1']:.4f}) on {len(corpus.test)} examples, best epoch "
         f"{state['best_epoch']}")
    _say(f"wrote {out}/: model (config.json, vocab.json, model.params, model-symbol.json, "
         f"model-0000.params), metrics.json, history.csv, learning_curves.png, "
         f"confusion_matrix.png, {rundir.SEEN_FILE}")
    return metrics


# --------------------------------------------------------------------------- command line

def build_parser():
    """The command line, derived from `Config` (see `gluon_rnn.options`)."""
    return options.build_parser(Config, "python -m gluon_rnn.train",
                                "Train a recurrent sentiment classifier with the shared loop.")


def describe_archs():
    lines = []
    for name in sorted(ARCHITECTURES):
        doc = (ARCHITECTURES[name].__doc__ or "").strip().splitlines()
        lines.append(f"{name:12s} {doc[0] if doc else ''}")
    return "\n".join(lines)


def main(argv=None):
    args = vars(build_parser().parse_args(argv))
    if args.pop("list_archs", False):
        print(describe_archs())
        return 0
    fields = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in args.items() if k in fields}
    run(Config(**given), given=set(given))
    return 0


if __name__ == "__main__":
    run_cli(main)
