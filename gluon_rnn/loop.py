"""The training loop, as one machine runs it: every run, notebook and benchmark trains here.

    train_epoch(net, loader, loss_fn, trainer, ctx, clip=...)   -> dict of train statistics
    score_loader(net, loader, ctx, num_classes)                  -> dict of loss, acc, confusion
    fit(cfg, net, trainer, loaders, num_classes, ctx, out, state) -> the run's state after it

`fit` is the epoch loop: a learning rate per epoch (`learning_rate`), one `train_epoch`, a
validation score, early stopping and a checkpoint after each epoch (`gluon_rnn.checkpoint`).
On several processes (`workers=`, a `gluon_rnn.distributed.Workers`) the same loop runs on
each, and `workers.sum` adds the batch sizes and the epoch's statistics over them (the
Trainer's kvstore adds the gradients); on one machine it adds nothing. Also here:
`seed_everything` and `WeightAverage` (an exponential moving average of the weights).
`gluon_rnn.run` drives whole runs with `fit`; `gluon_rnn.evaluate` scores a saved model with
`score_loader` alone.
"""
import contextlib
import math
import random
import sys
import time
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from tqdm import tqdm

from . import distributed
from .atomic import atomic_write_text
from .checkpoint import save_checkpoint
from .distributed import SINGLE
from .errors import UserError
from .metrics import confusion_matrix
from .records import epoch_row, history_csv


class TrainingDiverged(UserError):
    pass


# what `train_epoch` counts on its own shard, and `fit` adds up over the workers
SUMMED_STATS = ("loss_sum", "correct", "count", "tokens", "padded_tokens")


# --------------------------------------------------------------------------- the loop


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)  # gluonnlp's samplers shuffle with np.random
    mx.random.seed(seed)          # initialisation and dropout, every device


def _to_devices(batch, ctx):
    """Each of (tokens, valid_length, label) cut along N into one slice per device. A batch
    with fewer examples than devices (the last of a bucket can hold one) goes to its first N
    devices: `split_and_load` cannot make an empty slice."""
    ctx = ctx[:batch[0].shape[0]]
    return [gluon.utils.split_and_load(x, ctx, even_split=False) for x in batch]


def train_epoch(net, loader, loss_fn, trainer, ctx, clip=5.0, num_batches=None, epoch=1,
                progress=True, workers=SINGLE, average=None):
    """One pass over `loader` (or its first `num_batches`); returns loss/acc sums and
    throughput. `ctx` is a list of contexts (data parallel); `workers` the processes that
    train together (`distributed.Workers`); `average` a `WeightAverage` to update after
    every step."""
    params = [p for p in net.collect_params().values() if p.grad_req != "null"]
    total = len(loader) if num_batches is None else num_batches
    loss_sum = correct = count = real_tokens = all_tokens = 0.0
    start = time.time()
    # disable=None: bars only on a terminal, so logs and CI output stay one line an epoch
    bar = tqdm(total=total, desc=f"epoch {epoch}", leave=False, disable=None if progress else True,
               unit="batch", file=sys.stderr)
    for i, batch in enumerate(loader):
        if i >= total:
            break
        tokens, valid_length, label = batch
        parts = _to_devices(batch, ctx)
        with autograd.record():
            if getattr(net, "has_extra_loss", False):
                # a term of the architecture's own (attention's penalty), from the same pass
                outs, extras = zip(*(net.forward_with_extra_loss(t, v) for t, v, _ in zip(*parts)))
            else:
                outs, extras = [net(t, v) for t, v, _ in zip(*parts)], None
            losses = [loss_fn(o, y) for o, (_, _, y) in zip(outs, zip(*parts))]
            objective = [l + e for l, e in zip(losses, extras)] if extras else losses
        autograd.backward(objective)
        for c in ctx[len(outs):]:
            # No backward ran on this device: its gradients are still the previous step's,
            # and the sum over devices must not count them again. Zeros are this step's
            # gradient there; the flag tells the Trainer so (backward would have set it).
            for p in params:
                p.grad(c)[:] = 0
                p.data(c)._fresh_grad = True
        batch_loss = sum(float(l.sum().asscalar()) for l in losses)
        if not math.isfinite(batch_loss):
            remedy = (f"or clip harder (--clip, now {clip:g})" if clip else
                      "or turn gradient clipping on (--clip 5)")
            raise TrainingDiverged(
                f"the loss became {batch_loss} in epoch {epoch}, batch {i + 1}: lower --lr "
                f"(now {trainer.learning_rate:g}) {remedy}")
        n = tokens.shape[0]
        # The gradient is summed over every worker's batch, and batches differ in size (the
        # last of each bucket is short): every worker must divide by the same total.
        global_batch = int(workers.sum(n))
        distributed.allreduce_grads(trainer)  # sums over devices and workers
        if clip:
            # Gradients are sums over the batch; the trainer divides by its size later, so
            # clipping the sum at clip*batch clips the mean gradient at `clip`.
            for c in ctx:
                gluon.utils.clip_global_norm([p.grad(c) for p in params], clip * global_batch)
        trainer.update(global_batch)
        if average is not None:
            average.update()
        loss_sum += batch_loss
        correct += sum(float((o.argmax(axis=1) == y).sum().asscalar())
                       for o, (_, _, y) in zip(outs, zip(*parts)))
        count += n
        real_tokens += float(valid_length.sum().asscalar())
        all_tokens += tokens.size
        elapsed = time.time() - start
        bar.set_postfix(loss=f"{loss_sum / count:.4f}", tok_s=f"{real_tokens / elapsed:,.0f}")
        bar.update(1)
    bar.close()
    seconds = time.time() - start
    return {"loss_sum": loss_sum, "correct": correct, "count": count, "tokens": real_tokens,
            "padded_tokens": all_tokens - real_tokens, "seconds": seconds}


def score_loader(net, loader, ctx, num_classes, loss_fn=None):
    """Loss, accuracy and confusion matrix of `net` on every batch of `loader`."""
    loss_fn = loss_fn or gluon.loss.SoftmaxCrossEntropyLoss()
    c = ctx[0] if isinstance(ctx, (list, tuple)) else ctx
    loss_sum, labels, preds = 0.0, [], []
    for tokens, valid_length, label in loader:
        tokens, valid_length, label = (x.as_in_context(c) for x in (tokens, valid_length, label))
        out = net(tokens, valid_length)
        loss_sum += float(loss_fn(out, label).sum().asscalar())
        labels.append(label.asnumpy().astype(np.int64))
        preds.append(out.argmax(axis=1).asnumpy().astype(np.int64))
    labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    n = max(len(labels), 1)
    return {"loss": loss_sum / n, "acc": float((labels == preds).sum() / n),
            "confusion": confusion_matrix(labels, preds, num_classes), "count": len(labels)}


def learning_rate(cfg, epoch):
    """The rate of `epoch` (from 1): --lr, times --lr-decay after every epoch, but never
    below --lr-floor times --lr (a rate decayed for ever would stop learning, then leave
    float32's range)."""
    return cfg.lr * max(cfg.lr_decay ** (epoch - 1), cfg.lr_floor)


def fit(cfg, net, trainer, loaders, num_classes, ctx, out, state, workers=SINGLE):
    """Epochs with validation, early stopping and a checkpoint after each; returns the
    final training state (history, best epoch, ...). `state` is a resumed one or empty.
    With several `workers` the chief alone prints and writes the checkpoints."""
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
    if state["epoch"] >= cfg.epochs:
        workers.say(f"the run has trained {state['epoch']} epochs already, --epochs "
                    f"{cfg.epochs}: nothing to train (raise --epochs to train on)")
    try:
        for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
            if state["stale"] >= cfg.patience:
                state["stopped_early"] = True
                workers.say(f"stopping early after epoch {state['epoch']}: no better valid "
                            f"accuracy for {state['stale']} epochs (--patience {cfg.patience}; "
                            f"raise it to train on); the best was epoch {state['best_epoch']}")
                break
            # Reseeding per epoch makes a resumed run shuffle and drop out exactly as an
            # unbroken one (MXNet's generator state cannot be saved).
            seed_everything(cfg.seed * 1000 + epoch)
            # set from the epoch number, not accumulated, so a resumed run uses the same rate
            trainer.set_learning_rate(learning_rate(cfg, epoch))
            stats = train_epoch(net, loaders["train"], loss_fn, trainer, ctx, clip=cfg.clip,
                                num_batches=workers.batches, epoch=epoch,
                                progress=cfg.progress and workers.is_chief, workers=workers,
                                average=average)
            # the epoch's statistics over every worker's shard (each timed its own seconds)
            stats.update(workers.sum({k: stats[k] for k in SUMMED_STATS}))
            with average.swapped() if average else contextlib.nullcontext():
                valid = score_loader(net, loaders["valid"], ctx, num_classes, loss_fn)
            row = epoch_row(epoch, stats, valid, trainer.learning_rate)
            improved = valid["acc"] > state["best_acc"]
            if improved:
                state.update(best_acc=valid["acc"], best_epoch=epoch, stale=0)
            else:
                state["stale"] += 1
            state["history"] = state["history"] + [row]
            workers.say(f"epoch {epoch}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc "
                        f"{row['train_acc']:.4f} | valid loss {row['valid_loss']:.4f} acc "
                        f"{row['valid_acc']:.4f} | {row['seconds']:.1f}s "
                        f"{row['tokens_per_second']:,.0f} tok/s, padding "
                        f"{row['padding_fraction']:.1%}" + ("  *" if improved else ""))
            state["best_params"] = f"epoch-{state['best_epoch']:04d}.params"
            if workers.is_chief:
                state = save_checkpoint(out, epoch, net, trainer, state, average)
                atomic_write_text(out / "history.csv", history_csv(state["history"]))
            else:
                state["epoch"] = epoch
    except KeyboardInterrupt:
        # Ctrl-C anywhere in an epoch, its checkpoint write included, leaves the epochs
        # already committed on disk (each checkpoint file is renamed into place whole): say
        # how to go on from them, then let the command line end the run (`errors.run_cli`).
        done = state["epoch"]
        saved = "epoch 1 is saved" if done == 1 else f"epochs 1-{done} are saved"
        workers.say(f"interrupted in epoch {done + 1}; " + (
            f"{saved} in {out}: continue with --resume --out {out}"
            if done else "no epoch was complete, nothing to resume"))
        raise
    return state


class WeightAverage:
    """An exponential moving average of `net`'s parameters (Polyak averaging).

    After each update, avg = d * avg + (1 - d) * w with d = min(decay, (1 + n) / (10 + n))
    at the n-th update: the short memory at first keeps the random initial weights from
    lingering in the average of a short run. Late in training the weights wander around a
    minimum, step by step and batch by batch; their average sits nearer its centre, which
    often generalises better than any single step's weights.

    `with average.swapped():` puts the average into the net (on every context) and the
    trained weights back afterwards."""

    def __init__(self, net, decay, ctx, num_updates=0):
        self.decay, self.num_updates = float(decay), int(num_updates)
        self.params = list(net.collect_params().values())
        self.ctx = ctx[0] if isinstance(ctx, (list, tuple)) else ctx
        self.shadow = [p.data(self.ctx).copy() for p in self.params]

    def update(self):
        self.num_updates += 1
        n = self.num_updates
        d = min(self.decay, (1.0 + n) / (10.0 + n))
        for p, avg in zip(self.params, self.shadow):
            if p.grad_req != "null":   # a frozen parameter is its own average
                avg[:] = d * avg + (1.0 - d) * p.data(self.ctx)

    @contextlib.contextmanager
    def swapped(self):
        trained = [p.data(self.ctx).copy() for p in self.params]
        for p, avg in zip(self.params, self.shadow):
            p.set_data(avg)
        try:
            yield
        finally:
            for p, w in zip(self.params, trained):
                p.set_data(w)
