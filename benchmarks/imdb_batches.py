"""Two questions bench.py's fixed-shape batches cannot answer, asked on real IMDB batches.

1. Does `hybridize(static_shape=True)` pay off? On batches of one fixed shape it is the
   fastest mode, but length buckets change the batch shape from step to step.
2. Is the data pipeline worth overlapping with compute (DataLoader workers, prefetch)? Only
   if producing a batch costs a noticeable share of a training step.

Both on the training loop's own loader over a seeded subset of IMDB, training `mean`:

    python benchmarks/imdb_batches.py [--batches 40] [--limit 12000] [--data FILE]
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/imdb_batches.py` from a checkout
    sys.path.insert(0, str(REPO))

# gluon_rnn before mxnet: its thread default applies only if mxnet is not imported yet
from gluon_rnn.errors import UserError, run_cli  # noqa: E402
from gluon_rnn.loop import seed_everything, train_epoch  # noqa: E402
from gluon_rnn.train import Config, build_net, prepare_data  # noqa: E402

import mxnet as mx  # noqa: E402
from mxnet import gluon  # noqa: E402

MODES = {"static_alloc": dict(static_alloc=True),
         "static_alloc + static_shape": dict(static_alloc=True, static_shape=True)}


def measure(cfg, loaders, vocab_size, flags, batches, warmup=5):
    seed_everything(cfg.seed)
    ctx = [mx.cpu()]
    net = build_net(cfg, vocab_size, 2, ctx)   # hybridized with static_alloc by the loop
    net.hybridize(**flags)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": cfg.lr},
                            update_on_kvstore=False)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    train_epoch(net, loaders["train"], loss, trainer, ctx, num_batches=warmup, progress=False)
    start = time.time()
    stats = train_epoch(net, loaders["train"], loss, trainer, ctx, num_batches=batches,
                        progress=False)
    return stats["tokens"] / (time.time() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="timed batches per mode")
    parser.add_argument("--limit", type=int, default=12000,
                        help="reviews to load (IMDB: about 45%% of them become training texts)")
    parser.add_argument("--data", help="another file instead of IMDB (as train --data)")
    args = parser.parse_args(argv)
    if args.batches < 1 or args.limit < 1:
        raise UserError("--batches and --limit must be at least 1")
    cfg = Config(arch="mean", limit=args.limit, data=args.data, progress=False)
    seed_everything(cfg.seed)
    corpus, vocab, loaders, _ = prepare_data(cfg)
    args.batches = min(args.batches, len(loaders["train"]))  # one pass is all there is
    print(f"mean, {corpus.dataset}, {len(corpus.train)} training texts, {args.batches} bucketed "
          f"batches of {cfg.batch_size}, max-len {cfg.max_len}")
    speed = {}
    for name, flags in MODES.items():
        speed[name] = measure(cfg, loaders, len(vocab), flags, args.batches)
        print(f"{name:28s} {speed[name]:9,.0f} tok/s")
    # the loader alone: sampling, padding and batching, no model
    start, tokens = time.time(), 0
    for i, (_, valid_length, _) in enumerate(loaders["train"]):
        if i >= args.batches:
            break
        tokens += valid_length.sum().asscalar()
    load_seconds = time.time() - start
    train_seconds = tokens / speed["static_alloc"]
    print(f"the loader alone: {load_seconds:.2f} s for the {args.batches} batches, "
          f"{100 * load_seconds / train_seconds:.1f}% of their training time "
          f"({train_seconds:.1f} s): the most that overlapping it could save")
    return 0


if __name__ == "__main__":
    run_cli(main)
