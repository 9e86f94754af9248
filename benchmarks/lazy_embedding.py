"""Dense against lazy (row-sparse) embedding updates for `make run`'s model on IMDB batches.

    python benchmarks/lazy_embedding.py --limit 3000 --batches 10

A row-sparse gradient (`nn.Embedding(sparse_grad=True)`) with Adam's `lazy_update` touches only
the rows of the words a batch holds, where the dense update rewrites all 30,002 rows each step.
Both nets start from the same seed and train on the same bucketed batches, taking turns, three
windows of `--batches` steps each; the script prints real tokens/s per window.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gluon_rnn.errors import ArgumentParser, run_cli  # noqa: E402


def main(argv=None):
    parser = ArgumentParser(prog="python benchmarks/lazy_embedding.py", description=__doc__)
    parser.add_argument("--limit", type=int, default=3000, help="reviews to read (default 3000)")
    parser.add_argument("--batches", type=int, default=10, help="steps a window (default 10)")
    args = parser.parse_args(argv)
    import mxnet as mx
    from mxnet import gluon
    from mxnet.gluon import nn
    from gluon_rnn.loop import seed_everything, train_epoch
    from gluon_rnn.train import Config, build_net, prepare_data

    cfg = Config(arch="mean", limit=args.limit, progress=False)
    seed_everything(cfg.seed)
    _, _, loaders, _ = prepare_data(cfg)
    batches, ctx = list(loaders["train"]), [mx.cpu()]
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    plain_init = nn.Embedding.__init__

    def build(sparse):
        def init(self, *a, **k):   # the package's blocks take no flag for it: set it here only
            plain_init(self, *a, **dict(k, sparse_grad=sparse))
        nn.Embedding.__init__ = init
        try:
            seed_everything(cfg.seed)
            net = build_net(cfg, cfg.vocab_size, 2, ctx)
        finally:
            nn.Embedding.__init__ = plain_init
        trainer = gluon.Trainer(net.collect_params(), "adam",
                                {"learning_rate": cfg.lr, "lazy_update": sparse},
                                update_on_kvstore=False)
        train_epoch(net, batches[:3], loss, trainer, ctx, clip=cfg.clip, progress=False)
        return net, trainer

    nets = {"dense": build(False), "lazy row-sparse": build(True)}
    speeds = {name: [] for name in nets}
    for window in range(3):
        chunk = batches[3 + window * args.batches: 3 + (window + 1) * args.batches]
        for name, (net, trainer) in nets.items():
            stats = train_epoch(net, chunk, loss, trainer, ctx, clip=cfg.clip, progress=False)
            speeds[name].append(round(stats["tokens"] / stats["seconds"]))
    for name, values in speeds.items():
        print(f"{name:16s} real tokens/s per window: {', '.join(f'{v:,}' for v in values)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
