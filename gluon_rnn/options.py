"""What a training run may be asked for, each setting's rule in one place: the run's
`Config` (every field's default, --help text and what --resume does with it), the check of
every setting, and the command line derived from `Config` (`python -m gluon_rnn.train`).

    Config(arch="lstm", data="my.tsv")              # the settings of one run
    check_config(cfg)                               # UserError naming the flag and its value
    check_setting("seed", 7)                        # the same check, for one value
    build_parser(Config, prog, description)         # argparse, flags grouped, defaults shown
    resume_rule(field)                              # what --resume does with a Config field

Every numeric flag is checked on its own and named with its value (`--lr must be positive,
got -1`); nan fails every check, and a float must be finite. Other commands that take the
same flag (`--seed`, `--limit`, `--batch-size` of `gluon_rnn.evaluate`, `data.load_corpus`)
check it with `check_setting`. Nothing here imports mxnet: `--help` answers without it.
"""
import argparse
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ArgumentParser, UserError
from .text import TRUNCATE, check_encoding

# What --resume does with a setting (a field's metadata "resume"); a field without one keeps
# the saved run's value. The settings that may change are how many epochs to run (to extend a
# finished run), the patience of early stopping, the devices, and where a dataset's cache
# lives; everything else decides the model, the data, the split or the course of training.
RESUME_MAY_CHANGE = "may change"   # a flag given with --resume replaces the saved value
THIS_PROCESS = "this process"      # where and how this process runs: always the caller's


def resume_rule(f):
    """What --resume does with the `Config` field `f`: RESUME_MAY_CHANGE, THIS_PROCESS, or
    None (the saved run's value)."""
    return f.metadata.get("resume")


@dataclass
class Config:
    """Everything one run depends on; the command line is derived from these fields.

    Each field holds its default and, in its metadata, its --help text and what --resume
    does with it: `RESUME_MAY_CHANGE` (a flag given replaces the saved run's value),
    `THIS_PROCESS` (where and how this process runs: always the caller's), or, without
    "resume", the saved run's value (a flag that asks for another is refused). The check of
    its value is in `_RULES` / `check_config` below."""
    arch: str = field(default="mean", metadata={"help": "architecture (see --list-archs)"})
    # data
    dataset: str = field(default=None, metadata={"help": "named dataset: imdb (default when --data is not given)"})
    data: str = field(default=None, metadata={"help": "your own file: LABEL<TAB>TEXT, or CSV/TSV with a header"})
    text_column: str = field(default=None, metadata={"help": "text column of a CSV/TSV (auto-detected when obvious)"})
    label_column: str = field(default=None, metadata={"help": "label column of a CSV/TSV (auto-detected when obvious)"})
    data_dir: str = field(default=None, metadata={"help": "dataset cache (default $GLUON_RNN_DATA or ~/.cache/gluon_rnn)", "resume": RESUME_MAY_CHANGE})
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
    epochs: int = field(default=2, metadata={"help": "maximum number of epochs", "resume": RESUME_MAY_CHANGE})
    batch_size: int = field(default=64, metadata={"help": "examples per batch (per worker)"})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate"})
    lr_decay: float = field(default=0.5, metadata={"help": "multiply the learning rate by this after every epoch"})
    # 0.05: every recorded run's rates stay as they were (none decayed below 1/16 of --lr)
    lr_floor: float = field(default=0.05, metadata={"help": "the decayed rate never falls below this fraction of --lr, so a long run keeps learning"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 penalty on every parameter (Adam's wd)"})
    average: float = field(default=0.0, metadata={"help": "validate, keep and save an exponential moving average of the weights with this decay per step, e.g. 0.999 (0 = off)"})
    clip: float = field(default=5.0, metadata={"help": "clip the mean gradient's global norm (0 = off)"})
    patience: int = field(default=2, metadata={"help": "stop after this many epochs without a better valid accuracy", "resume": RESUME_MAY_CHANGE})
    seed: int = field(default=0, metadata={"help": "random seed (data split, initialisation, shuffling, dropout)"})
    # where and how
    ctx: str = field(default="cpu", metadata={"help": "cpu, cpu:0,cpu:1, gpu:0 or gpu:0,1. Several devices train the model one trains only with every dropout 0: with dropout on, each device draws its own masks (the same --seed and --ctx repeat a run)", "resume": RESUME_MAY_CHANGE})
    kvstore: str = field(default="device", metadata={"help": "gradient aggregation: device, local, or dist_sync inside `python -m gluon_rnn.launch`"})
    out: str = field(default=None, metadata={"help": "run directory (default runs/ARCH-TIMESTAMP)", "resume": THIS_PROCESS})
    resume: bool = field(default=False, metadata={"help": "continue the run in --out from its last complete epoch", "resume": THIS_PROCESS})
    overwrite: bool = field(default=False, metadata={"help": "start afresh in --out when it holds a run: its files are replaced (files no run writes are never touched)", "resume": THIS_PROCESS})
    progress: bool = field(default=True, metadata={"cli": False, "resume": THIS_PROCESS})  # tqdm bars on stderr



# (fields, test, what the flag must be)
_RULES = (
    (("max_len", "vocab_size", "embed_size", "hidden_size", "epochs", "batch_size",
      "num_buckets", "patience", "num_layers", "limit", "attention_hops"), lambda v: v >= 1,
     "at least 1"),
    (("attention_penalty",), lambda v: v >= 0, "a finite number >= 0"),
    (("dropout", "embed_dropout", "word_dropout"), lambda v: 0 <= v < 1, "in [0, 1)"),
    (("average",), lambda v: 0 <= v < 1, "in [0, 1) (0 turns it off)"),
    (("lr_decay",), lambda v: 0 < v <= 1, "in (0, 1]"),
    (("lr_floor",), lambda v: 0 < v <= 1, "in (0, 1] (1 keeps the rate constant)"),
    (("weight_decay",), lambda v: v >= 0, "non-negative"),
    (("clip",), lambda v: v >= 0, "non-negative (0 turns it off)"),
    (("lr",), lambda v: v > 0, "positive"),
    # the split's generator takes seeds in [0, 2**32)
    (("seed",), lambda v: 0 <= v < 2 ** 32, "in [0, 4294967295]"),
)
# None: the architecture's default, all examples
_OPTIONAL = ("num_layers", "limit", "attention_hops", "attention_penalty")


def flag(name):
    return "--" + name.replace("_", "-")


def check_setting(name, value):
    """UserError naming `--NAME` and `value` when `value` breaks the rule of the setting
    `name` in `_RULES` (None passes for a setting that may be left unset)."""
    if value is None and name in _OPTIONAL:
        return
    ok, what = next((ok, what) for names, ok, what in _RULES if name in names)
    if isinstance(value, float) and not math.isfinite(value) or not ok(value):
        shown = f"{value:g}" if isinstance(value, float) else value
        raise UserError(f"{flag(name)} must be {what}, got {shown}")


def check_config(cfg):
    """UserError for the first setting of `cfg` (a `Config`) that cannot work."""
    from .blocks import ARCHITECTURES   # mxnet: only once a run is asked for, not for --help
    if cfg.arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {cfg.arch!r}; choose from: "
                        + ", ".join(sorted(ARCHITECTURES)))
    for names, _, _ in _RULES:
        for name in names:
            check_setting(name, getattr(cfg, name))
    _check_float32(cfg)
    if "async" in cfg.kvstore:
        # MXNet applies the update on the servers in async mode, so the aggregated gradient
        # never reaches the workers to be clipped, and the Adam state cannot be checkpointed.
        raise UserError(f"--kvstore {cfg.kvstore} is not supported: use dist_sync")
    if cfg.data and cfg.dataset:
        raise UserError("give either --dataset or --data, not both")
    if (cfg.attention_hops is not None or cfg.attention_penalty is not None) \
            and cfg.arch != "attention":
        raise UserError("--attention-hops and --attention-penalty apply to --arch attention only")
    if cfg.truncate not in TRUNCATE:
        raise UserError(f"--truncate must be one of {', '.join(TRUNCATE)}, "
                        f"got {cfg.truncate!r}")
    if cfg.encoding is not None:
        if not cfg.data:
            raise UserError("--encoding is the encoding of a --data file; a named dataset "
                            "has its own")
        check_encoding(cfg.encoding)


# MXNet's optimizers take their rate and weight decay as float32 and refuse a value outside
# float32's normal range (a traceback, mid-run). Adam scales the rate by its bias correction,
# sqrt(1 - 0.999^t) / (1 - 0.9^t), which is never below 0.15: hence 1e-37 at the bottom
# (float32's smallest normal number is 1.2e-38).
_F32_TINY, _F32_MAX = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)


def _check_float32(cfg):
    lowest = cfg.lr * cfg.lr_floor
    if lowest < 1e-37:
        raise UserError(f"--lr {cfg.lr:g} times --lr-floor {cfg.lr_floor:g} is {lowest:g}, too "
                        f"small for float32: the lowest rate must be at least 1e-37")
    if cfg.lr > _F32_MAX:
        raise UserError(f"--lr must be at most 3.4e38 (float32), got {cfg.lr:g}")
    if cfg.weight_decay and not _F32_TINY <= cfg.weight_decay <= _F32_MAX:
        raise UserError(f"--weight-decay must be 0 or in [1.2e-38, 3.4e38] (float32), "
                        f"got {cfg.weight_decay:g}")


# The groups of `--help`, by Config field; a field not listed shows under "training".
GROUPS = {
    "data": ("dataset", "data", "text_column", "label_column", "encoding", "data_dir", "limit",
             "no_dedup", "max_len", "truncate", "vocab_size", "num_buckets"),
    "model": ("arch", "embed_size", "hidden_size", "num_layers", "dropout", "embed_dropout",
              "word_dropout", "attention_hops", "attention_penalty"),
    "training": ("epochs", "batch_size", "lr", "lr_decay", "lr_floor", "weight_decay", "average", "clip",
                 "patience", "seed"),
    "output": ("out", "resume", "overwrite"),
    "scale-out": ("ctx", "kvstore"),
}


def _is_bool(f):
    return f.type is bool or f.type == "bool"


def _help_with_default(f):
    text = f.metadata.get("help", "").replace("%", "%%")
    if _is_bool(f):
        return f"{text} (default: off)"
    if "default" in text:
        return text
    return f"{text} (default: {'none' if f.default is None else f.default})"


def build_parser(config_class, prog, description):
    """One flag per field of `config_class` (`--hidden-size` for `hidden_size`), in the
    groups of `GROUPS`. No flag has a parsed default: the namespace holds only the flags
    given, which is what `--resume` must know (a flag left out takes the saved run's value,
    a flag given must agree with it). `--help` shows the defaults all the same."""
    parser = ArgumentParser(prog=prog, description=description,
                            argument_default=argparse.SUPPRESS)
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for f in dataclasses.fields(config_class):
        if not f.metadata.get("cli", True):
            continue
        group = groups[next((g for g, names in GROUPS.items() if f.name in names), "training")]
        if _is_bool(f):
            group.add_argument(flag(f.name), action="store_true", help=_help_with_default(f))
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(f.type), f.type)
            kind = kind if kind in (int, float, str) else str
            group.add_argument(flag(f.name), type=kind, help=_help_with_default(f),
                               metavar=f.name.upper())
    groups["output"].add_argument("--list-archs", action="store_true",
                                  help="print the architectures, one line each, and exit "
                                       "(default: off)")
    return parser
