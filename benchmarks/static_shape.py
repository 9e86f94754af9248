"""Does `static_shape=True` pay off on bucketed IMDB batches?

bench.py measures it on batches of one fixed shape, where it is the fastest mode. Training
batches come from length buckets and change shape, and a static-shape graph is rebuilt for
each new shape. This trains `mean` on the same IMDB batches (a seeded 6,000-review subset,
the training loop's own loader) with each hybridize mode and prints tokens/s:

    python benchmarks/static_shape.py [--batches 40] [--limit 6000]
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/static_shape.py` from a checkout
    sys.path.insert(0, str(REPO))

# gluon_rnn before mxnet: its thread default applies only if mxnet is not imported yet
from gluon_rnn.errors import run_cli  # noqa: E402
from gluon_rnn.train import (Config, build_net, prepare_data, seed_everything,  # noqa: E402
                             train_epoch)

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
    parser.add_argument("--limit", type=int, default=6000, help="IMDB reviews to load")
    args = parser.parse_args(argv)
    cfg = Config(arch="mean", limit=args.limit, progress=False)
    seed_everything(cfg.seed)
    _, vocab, loaders, _ = prepare_data(cfg)
    print(f"mean, IMDB subset of {args.limit}, {args.batches} bucketed batches of "
          f"{cfg.batch_size}, max-len {cfg.max_len}")
    for name, flags in MODES.items():
        print(f"{name:28s} {measure(cfg, loaders, len(vocab), flags, args.batches):9,.0f} tok/s")
    return 0


if __name__ == "__main__":
    run_cli(main)
