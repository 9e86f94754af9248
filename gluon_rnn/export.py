"""A trained model as ONNX, served by onnxruntime where mxnet does not install.

    python -m gluon_rnn.export --model runs/mean-20261123-101500           # writes model.onnx
    python -m gluon_rnn.export --model DIR --int8    # and model-int8.onnx, int8 weights
    python -m gluon_rnn.predict --model DIR --runtime onnx "a moving, funny film"

`model.onnx` is the hybridized graph of the run's model.params, converted by MXNet's own
exporter at ONNX opset 13: inputs `tokens` (N, T) and `valid_length` (N,), float32 as in
MXNet, with N and T free; output `logits` (N, C). onnxruntime gives MXNet's probabilities on
padded batches and empty texts, and padding changes nothing in it either (tests/test_export.py);
for empty texts two of the exporter's converters are wrapped (`OWN_CONVERTERS`).
Serving it needs onnxruntime, numpy and the run's vocab.json and config.json: `load_session`
and `predict_probs` below import neither mxnet nor gluonnlp (the text goes through
`gluon_rnn.text`, as in training). `--int8` adds onnxruntime's dynamic int8 quantization:
weights stored as int8, activations quantized on the fly.

`lstm-cells` cannot be exported: its hand-stepped loop is MXNet's `foreach`, for which the
exporter has no converter. The same cells in the fused layer (`lstm`, `bilstm`) export.
"""
import argparse
import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .atomic import atomic_path, atomic_write_bytes
from .errors import ArgumentParser, UserError, run_cli
from .rundir import model_directory
from .text import TOKENIZER, TRUNCATE, load_vocab

OPSET = 13
ONNX_FILE, INT8_FILE = "model.onnx", "model-int8.onnx"
RUNTIMES = {"onnx": ONNX_FILE, "onnx-int8": INT8_FILE}
NOT_EXPORTABLE = {
    "lstm-cells": "its hand-stepped LSTMCell loop is MXNet's `foreach`, which has no ONNX "
                  "converter; `lstm` and `bilstm` run the same cells in the fused layer, "
                  "which exports"}
INPUTS, OUTPUT = ("tokens", "valid_length"), "logits"


def _need(module, extra="export"):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as err:
        raise UserError(f"{module} is not installed ({err}): pip install -e '.[{extra}]' "
                        f"(pinned in requirements-export.txt)") from None


def _sequence_reverse(convert):
    """MXNet's `SequenceReverse` leaves a row of length 0 as it is, onnxruntime's
    `ReverseSequence` zeroes it, and an empty text's backward direction would read zeros.
    Reversing max(length, 1) steps is the same in both (one step reversed is that step), so
    the converter is given that length."""
    from onnx import TensorProto
    from onnx.helper import make_node, make_tensor

    def converter(node, **kwargs):
        nodes = convert(node, **kwargs)
        cast = nodes[0]
        if cast.op_type != "Cast":     # no lengths given: nothing to clamp
            return nodes
        name = cast.output[0]
        one = make_node("Constant", [], [name + "_one"],
                        value=make_tensor(name + "_one_value", TensorProto.FLOAT, [1], [1.0]))
        at_least_one = make_node("Max", [cast.input[0], name + "_one"], [name + "_at_least_one"])
        cast.input[0] = name + "_at_least_one"
        return [one, at_least_one] + nodes
    return converter


def _masked_softmax(convert):
    """MXNet's softmax with lengths gives a row of length 0 all-zero weights; the converter
    gives it equal ones (it masks the padding with a large negative score, and a row of
    padding alone then shares the weight out). Multiplying by the converter's own mask of
    real steps keeps the real weights as they are (x 1) and zeroes the rest, as in MXNet."""
    from onnx import TensorProto
    from onnx.helper import make_node

    def converter(node, **kwargs):
        nodes = convert(node, **kwargs)
        mask = [n for n in nodes if n.op_type == "Less"]
        if not mask or nodes[-1].op_type != "Softmax":  # no lengths given: nothing to add
            return nodes
        name = nodes[-1].output[0]
        nodes[-1].output[0] = name + "_over_masked"
        return nodes + [
            make_node("Cast", [mask[0].output[0]], [name + "_real"], to=int(TensorProto.FLOAT)),
            make_node("Mul", [name + "_over_masked", name + "_real"], [name])]
    return converter


OWN_CONVERTERS = {"SequenceReverse": _sequence_reverse, "softmax": _masked_softmax}


@contextlib.contextmanager
def _exporter(version):
    """MXNet 1.9's exporter writes opset 12/13 graphs but stamps and checks them against
    onnx's newest opset (19 for onnx 1.14), which rejects them (ReduceMax's `axes` became an
    input) or makes onnxruntime misread them (Split). Hold both at `version`, and use the
    converters above (`OWN_CONVERTERS`), for the export only; put everything back after."""
    import onnx.checker
    import onnx.defs
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    newest, checked = onnx.defs.onnx_opset_version, onnx.checker.DEFAULT_CONTEXT.opset_imports
    converters = MXNetGraph.registry_.setdefault(version, {})
    saved = dict(converters)
    onnx.defs.onnx_opset_version = lambda: version
    onnx.checker.DEFAULT_CONTEXT.opset_imports = {"": version}
    for op, wrap in OWN_CONVERTERS.items():    # each wraps MXNet's own converter
        converters[op] = wrap(saved.get(op) or MXNetGraph.registry_[12][op])
    try:
        yield
    finally:
        onnx.defs.onnx_opset_version = newest
        onnx.checker.DEFAULT_CONTEXT.opset_imports = checked
        converters.clear()
        converters.update(saved)


def _tidy(graph):
    """Only the two data inputs as the graph's inputs (the exporter lists every parameter
    too, which keeps onnxruntime from folding them as constants), and the names a caller
    expects for them and the output, everywhere they occur."""
    weights = {w.name for w in graph.initializer}
    data = [i for i in graph.input if i.name not in weights]
    if len(data) != 2 or len(graph.output) != 1:
        raise RuntimeError(f"expected 2 inputs and 1 output, got {[i.name for i in data]}, "
                           f"{[o.name for o in graph.output]}")
    names = {data[0].name: INPUTS[0], data[1].name: INPUTS[1], graph.output[0].name: OUTPUT}
    del graph.input[:]
    graph.input.extend(data)
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    for value in list(graph.input) + list(graph.output):
        value.name = names.get(value.name, value.name)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def onnx_model(net, metadata=None):
    """The ONNX ModelProto of a hybridized `net`, at opset `OPSET`, dynamic N and T."""
    import mxnet as mx
    onnx = _need("onnx")
    arch = net.config["arch"]
    if arch in NOT_EXPORTABLE:
        raise UserError(f"{arch} cannot be exported to ONNX: {NOT_EXPORTABLE[arch]}")
    # one forward pass builds the cached graph that `export` writes
    net(mx.nd.ones((1, 3)), mx.nd.array([3]))
    with tempfile.TemporaryDirectory() as tmp, _exporter(OPSET):
        prefix = os.path.join(tmp, "model")
        net.export(prefix)
        try:
            mx.onnx.export_model(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                                 in_shapes=[(1, 3), (1,)], in_types=[np.float32, np.float32],
                                 onnx_file_path=f"{prefix}.onnx", dynamic=True,
                                 dynamic_input_shapes=[(None, None), (None,)])
        except AttributeError as err:   # the exporter's "No conversion function registered"
            raise UserError(f"{arch} cannot be exported to ONNX: {err}") from None
        model = onnx.load(f"{prefix}.onnx")
    _tidy(model.graph)
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    if [o.version for o in model.opset_import] != [OPSET]:
        raise RuntimeError(f"exported opset {model.opset_import}, expected {OPSET}")
    onnx.checker.check_model(model)   # against the model's own opset, 13
    return model


def export_run(model_dir, int8=False):
    """Write `model_dir`/model.onnx (and model-int8.onnx with `int8`); return their paths."""
    from .model_io import load_model_dir
    model_dir = Path(model_dir)
    net, _, _ = load_model_dir(model_dir)
    params = sha256(model_dir / "model.params")
    model = onnx_model(net, {"gluon_rnn.arch": net.config["arch"],
                             "gluon_rnn.params_sha256": params})
    path = model_dir / ONNX_FILE
    atomic_write_bytes(path, model.SerializeToString())
    written = [path]
    if int8:
        written.append(quantize(path, model_dir / INT8_FILE))
    return written


@contextlib.contextmanager
def _int4_names():
    """onnxruntime 1.19's quantizer looks up the INT4/UINT4 type numbers of onnx >= 1.16
    (when it is imported, and in its tables of types), and needs them only for 4-bit types;
    onnx 1.14 (the exporter's) lacks them. Lend it the numbers while it runs, and take them
    back."""
    from onnx import TensorProto
    lent = [(name, number) for name, number in (("UINT4", 21), ("INT4", 22))
            if not hasattr(TensorProto, name)]
    for name, number in lent:
        setattr(TensorProto, name, number)
    try:
        yield
    finally:
        for name, _ in lent:
            delattr(TensorProto, name)


def quantize(src, dst):
    """onnxruntime's dynamic int8 quantization of `src`, written to `dst`: int8 weights,
    activations quantized at run time."""
    _need("onnxruntime")
    dst = Path(dst)
    with atomic_path(dst) as tmp, _int4_names():
        from onnxruntime.quantization import QuantType, quantize_dynamic
        # its advice to pre-process first is for calibrated (static) quantization
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
    return dst


# ---------------------------------------------------------------- serving, without mxnet

def _read_config(path):
    """config.json's fields that serving reads, checked as `model_io.validate_config` checks
    them (the architecture is in the ONNX graph)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing (not a model directory written by gluon_rnn.train?)")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})")
    names = config.get("label_names") if isinstance(config, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path}: 'label_names' must list strings")
    max_len = config.get("max_len")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
        raise UserError(f"{path}: 'max_len' must be a positive integer, got {max_len!r}")
    if config.get("truncate", "head") not in TRUNCATE:
        raise UserError(f"{path}: 'truncate' must be one of {', '.join(TRUNCATE)}")
    if config.get("tokenizer") != TOKENIZER:
        raise UserError(f"{path}: unknown tokenizer {config.get('tokenizer')!r} "
                        f"(this version uses {TOKENIZER!r})")
    return config


def load_session(model_dir, runtime="onnx", threads=None):
    """(session, vocab, config) for serving `model_dir` with onnxruntime: model.onnx (or
    model-int8.onnx for runtime "onnx-int8"), vocab.json and config.json; `threads` for
    onnxruntime's operators (None: OMP_NUM_THREADS, as MXNet uses)."""
    ort = _need("onnxruntime")
    model_dir = model_directory(model_dir)
    config = _read_config(model_dir / "config.json")
    vocab = load_vocab(model_dir / "vocab.json")
    path = model_dir / RUNTIMES[runtime]
    export = f"python -m gluon_rnn.export --model {model_dir}" + \
        (" --int8" if runtime == "onnx-int8" else "")
    if not path.exists():
        raise UserError(f"{path}: missing; write it with `{export}`")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0"))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3   # its notes on unused weights are no user's business
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:   # onnxruntime raises its own types for a damaged file
        raise UserError(f"{path}: not a model onnxruntime can load ({str(err)[:200]})") from None
    meta = session.get_modelmeta().custom_metadata_map
    params = model_dir / "model.params"
    if params.exists() and meta.get("gluon_rnn.params_sha256") not in (None, sha256(params)):
        # the run was trained on (resumed) after the export
        raise UserError(f"{path}: exported from an earlier model.params; export again: `{export}`")
    classes = predict_probs(session, [[]]).shape[1]
    if classes != len(config["label_names"]):
        raise UserError(f"{path}: {classes} outputs, but config.json names "
                        f"{len(config['label_names'])} labels")
    return session, vocab, config


def predict_probs(session, ids):
    """Softmax probabilities (N, C) for lists of token ids, padded with 0 as in MXNet."""
    width = max([len(x) for x in ids] + [1])   # an empty text still needs one column
    tokens = np.zeros((len(ids), width), dtype=np.float32)
    for row, x in enumerate(ids):
        tokens[row, :len(x)] = x
    valid_length = np.array([len(x) for x in ids], dtype=np.float32)
    (logits,) = session.run([OUTPUT], {INPUTS[0]: tokens, INPUTS[1]: valid_length})
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- CLI

def build_parser():
    parser = ArgumentParser(prog="python -m gluon_rnn.export",
                            description="Write a trained model directory's model as ONNX "
                                        f"({ONNX_FILE}, opset {OPSET}) for onnxruntime.",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="run directory written by gluon_rnn.train")
    parser.add_argument("--int8", action="store_true",
                        help=f"also write {INT8_FILE}: onnxruntime's dynamic int8 quantization")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    _need("onnx")
    if args.int8:
        _need("onnxruntime")
    for path in export_run(args.model, args.int8):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
