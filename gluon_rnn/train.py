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

The checks of every flag and the command line derived from `Config` live in
`gluon_rnn.options`; the checkpoint that `--resume` continues from in `gluon_rnn.checkpoint`.

Nothing here imports mxnet when the module loads: the command imports it inside `main`, under
`errors.run_cli`, so a Ctrl-C while mxnet loads (seconds on a busy machine) ends as any other,
with `interrupted` and exit status 130.
"""
import dataclasses
from dataclasses import dataclass, field

from . import options
from .errors import run_cli

# The pieces of a run, where they live; `from gluon_rnn.train import run` imports them (and
# mxnet) when first asked for.
_PIECES = {"run": "run", "prepare_data": "run", "build_net": "run", "finish": "run",
           "fit": "loop", "learning_rate": "loop"}


def __getattr__(name):
    if name in _PIECES:
        import importlib
        return getattr(importlib.import_module(f".{_PIECES[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
