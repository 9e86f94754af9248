"""A trained model is a directory that needs nothing else to be used again:

    config.json          architecture, hyper-parameters, label names, tokenizer, max_len,
                         truncate (which tokens a longer text keeps), and the data the run
                         was trained on (file fingerprint, seed, limit, dedup, columns,
                         encoding), from which `evaluate` rebuilds the run's test split
    vocab.json           the gluonnlp Vocab (padding id 0, unknown id 1)
    model.params         the parameters (MXNet's own format; loading never executes code)
    model-symbol.json    the hybridized graph, inputs data0 = tokens, data1 = valid_length
    model-0000.params    its parameters, for `gluon.SymbolBlock.imports` without gluon_rnn

    >>> net, vocab, config = load_model_dir("runs/mean-20261123-101500")

Every file is written under a temporary name and renamed into place, so a crash never leaves
a half-written file that a later load would read. config.json is written last: a directory
without it is not a model (yet), and loading it says how to finish the run.
"""
import json
import os
from pathlib import Path

import mxnet as mx

from .atomic import atomic_path, atomic_save, atomic_write_json, atomic_write_text  # noqa: F401 (re-exported)
from .blocks import ARCHITECTURES, build_model
from .data import TRUNCATE, load_vocab, save_vocab
from .errors import UserError
from .rundir import model_directory
from .text import TOKENIZER, encode_texts  # noqa: F401 (this module's API)

CONFIG_FORMAT = 1


def model_config(net, label_names, max_len, truncate="head", data=None):
    config = {
        "format": CONFIG_FORMAT,
        "model": net.config,
        "label_names": list(label_names),
        "tokenizer": TOKENIZER,
        "max_len": int(max_len),
        "truncate": truncate,
    }
    if data is not None:
        config["data"] = data
    return config


def save_model_dir(out, net, vocab, label_names, max_len, params=True, truncate="head",
                   data=None):
    """Write vocab.json, model.params (unless `params=False`: the caller wrote it) and,
    last, config.json, whose presence marks the directory as a complete model. `data`
    describes the training data and its split (see `gluon_rnn.rundir.data_record`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_vocab(vocab, out / "vocab.json")
    if params:
        atomic_save(out / "model.params", net.save_parameters)
    atomic_write_json(out / "config.json",
                      model_config(net, label_names, max_len, truncate, data))


def export_symbol(out, net, example_batch):
    """Export the hybridized graph as model-symbol.json + model-0000.params.

    `net` must be hybridized; one forward pass on `example_batch` (tokens, valid_length)
    builds the graph that is exported."""
    out = Path(out)
    net(*example_batch)
    # net.export names its two files after one prefix; each is then committed on its own.
    prefix = out / f".model.tmp{os.getpid()}"
    written = {"model-symbol.json": Path(f"{prefix}-symbol.json"),
               "model-0000.params": Path(f"{prefix}-0000.params")}
    try:
        net.export(str(prefix))
        for name, exported in written.items():
            with atomic_path(out / name) as tmp:
                os.replace(exported, tmp)
    finally:
        for exported in written.values():
            exported.unlink(missing_ok=True)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: missing (not a model directory written by gluon_rnn.train?)")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})")


def validate_config(config, path):
    """Check every value before a model is built from it, so a damaged or hand-edited
    config fails with a message instead of deep inside MXNet."""
    def bad(what):
        raise UserError(f"{path}: {what}")

    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        bad(f"unsupported config format (expected 'format': {CONFIG_FORMAT})")
    model = config.get("model")
    if not isinstance(model, dict):
        bad("'model' must be an object")
    arch = model.get("arch")
    if arch not in ARCHITECTURES:
        bad(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    for key in ("vocab_size", "num_classes", "embed_size", "hidden_size", "num_layers"):
        value = model.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            bad(f"'model.{key}' must be a positive integer, got {value!r}")
    for key in ("dropout", "embed_dropout", "word_dropout"):
        rate = model.get(key, 0.0)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            bad(f"'model.{key}' must be in [0, 1), got {rate!r}")
    names = config.get("label_names")
    if (not isinstance(names, list) or len(names) != model["num_classes"]
            or not all(isinstance(n, str) for n in names)):
        bad(f"'label_names' must list {model['num_classes']} strings")
    max_len = config.get("max_len")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
        bad(f"'max_len' must be a positive integer, got {max_len!r}")
    if config.get("truncate", "head") not in TRUNCATE:
        bad(f"'truncate' must be one of {', '.join(TRUNCATE)}, got {config.get('truncate')!r}")
    if config.get("tokenizer") != TOKENIZER:
        bad(f"unknown tokenizer {config.get('tokenizer')!r} (this version uses {TOKENIZER!r})")


def load_model_dir(model_dir, ctx=None):
    """(net, vocab, config) from a directory written by `save_model_dir`, hybridized."""
    model_dir = model_directory(model_dir)
    config_path = model_dir / "config.json"
    config = _read_json(config_path)
    validate_config(config, config_path)
    vocab_path = model_dir / "vocab.json"
    if not vocab_path.exists():
        raise UserError(f"{vocab_path}: missing")
    vocab = load_vocab(vocab_path)
    if len(vocab) != config["model"]["vocab_size"]:
        raise UserError(f"{vocab_path}: {len(vocab)} tokens, but config.json says "
                        f"vocab_size {config['model']['vocab_size']}")
    params_path = model_dir / "model.params"
    if not params_path.exists():
        raise UserError(f"{params_path}: missing")
    try:
        net = build_model(**config["model"])
    except (TypeError, ValueError) as err:
        raise UserError(f"{config_path}: cannot build the model ({err})")
    ctx = ctx or mx.cpu()
    try:
        net.load_parameters(str(params_path), ctx=ctx)
    except (mx.base.MXNetError, AssertionError, ValueError, OSError):
        # MXNet's message is a C++ stack trace: it would bury the one line that matters.
        raise UserError(f"{params_path}: truncated, corrupt or not matching config.json")
    net.hybridize(static_alloc=True)
    return net, vocab, config
