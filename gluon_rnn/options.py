"""What a training run may be asked for: the check of every setting, and the command line
derived from the run's `Config` dataclass (`gluon_rnn.train`).

    check_config(cfg)                               # UserError naming the flag and its value
    build_parser(Config, prog, description)         # argparse, flags grouped, defaults shown

Every numeric flag is checked on its own and named with its value (`--lr must be positive,
got -1`); nan fails every check, and a float must be finite.
"""
import argparse
import dataclasses
import math

import numpy as np

from .errors import ArgumentParser, UserError
from .text import TRUNCATE, check_encoding

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


def check_config(cfg):
    """UserError for the first setting of `cfg` (a `gluon_rnn.train.Config`) that cannot work."""
    from .blocks import ARCHITECTURES   # mxnet: only once a run is asked for, not for --help
    if cfg.arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {cfg.arch!r}; choose from: "
                        + ", ".join(sorted(ARCHITECTURES)))
    for names, ok, what in _RULES:
        for name in names:
            value = getattr(cfg, name)
            if value is None and name in _OPTIONAL:
                continue
            if isinstance(value, float) and not math.isfinite(value) or not ok(value):
                shown = f"{value:g}" if isinstance(value, float) else value
                raise UserError(f"{flag(name)} must be {what}, got {shown}")
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
