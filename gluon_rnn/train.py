"""The training command: `python -m gluon_rnn.train`, one run per call.

    python -m gluon_rnn.train --arch lstm                       # IMDB, sensible defaults
    python -m gluon_rnn.train --arch bilstm --data my.tsv --epochs 3 --out runs/mine
    python -m gluon_rnn.train --list-archs

`--arch` only chooses the block from `gluon_rnn.ARCHITECTURES`; everything else is the same
for all of them. The command parses its flags into a `Config` and calls `gluon_rnn.run.run`,
which reads the data, builds the net, trains it with `gluon_rnn.loop.fit` and writes the run
directory. Notebooks and tests call the same pieces, which this module also names:

    run(Config(...))                                             -> metrics dict, files in cfg.out
    prepare_data(cfg), build_net(cfg, ...), fit(...), finish(...)  -> its steps
    learning_rate(cfg, epoch)                                    -> the rate of an epoch

`Config` and every setting's rule (default, help, check, what `--resume` may change) live in
`gluon_rnn.options`, with the command line derived from them; the checkpoint that `--resume`
continues from in `gluon_rnn.checkpoint`.

Nothing here imports mxnet when the module loads: the command imports it inside `main`, under
`errors.run_cli`, so a Ctrl-C while mxnet loads (seconds on a busy machine) ends as any other,
with `interrupted` and exit status 130.
"""
import dataclasses

from . import options
from .errors import run_cli
from .options import Config

# The pieces of a run, where they live; `from gluon_rnn.train import run` imports them (and
# mxnet) when first asked for.
_PIECES = {"run": "run", "prepare_data": "run", "build_net": "run", "finish": "run",
           "fit": "loop", "learning_rate": "loop"}


def __getattr__(name):
    if name in _PIECES:
        import importlib
        return getattr(importlib.import_module(f".{_PIECES[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- command line

def build_parser():
    """The command line, derived from `Config` (see `gluon_rnn.options`)."""
    return options.build_parser(Config, "python -m gluon_rnn.train",
                                "Train a recurrent sentiment classifier with the shared loop.")


def describe_archs():
    from .blocks import ARCHITECTURES
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
    from .run import run   # imports mxnet
    fields = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in args.items() if k in fields}
    run(Config(**given), given=set(given))
    return 0


if __name__ == "__main__":
    run_cli(main)
