"""Label new texts with a trained model directory (nothing else is needed).

    python -m gluon_rnn.predict --model runs/mean-20261123-101500 "a moving, funny film" "dull"
    python -m gluon_rnn.predict --model DIR --file reviews.txt --json     # one text a line
    echo "what a waste of time" | python -m gluon_rnn.predict --model DIR --file -
    python -m gluon_rnn.predict --model DIR --file export.txt --encoding cp1252
    python -m gluon_rnn.predict --model DIR --runtime onnx "dull"    # model.onnx, no mxnet

Each text gets one line: the label name, its probability, the text. A text with no word the
vocabulary knows (or no word at all) still gets a finite prediction, flagged as such: the
model then sees only padding or unknown tokens, so its answer reflects the training prior.

`--runtime onnx` serves the directory's model.onnx (written by `python -m gluon_rnn.export`)
with onnxruntime, and `onnx-int8` its int8 model-int8.onnx (`export --int8`): these need
only onnxruntime, numpy, vocab.json and config.json, not mxnet, and read the text the same way.
A file and standard input are read alike: as bytes, decoded as UTF-8 (a BOM dropped) or
`--encoding`, undecodable bytes refused.
"""
import argparse
import codecs
import json
import re
import sys

import numpy as np

from .errors import ArgumentParser, UserError, run_cli
from .options import check_setting
from .text import PAD_ID, decode_bytes, encode_texts

RUNTIMES = ("mxnet", "onnx", "onnx-int8")


def _results(texts, ids, probs, names, unk):
    """One dict per text from its ids and probabilities: label, probability, probabilities
    by label, known_tokens, and a flag when the model saw no known word."""
    results = []
    for text, x, p in zip(texts, ids, probs):
        best = int(np.argmax(p))
        known = sum(1 for i in x if i != unk)
        results.append({
            "text": text, "label": names[best], "probability": float(p[best]),
            "probabilities": {n: float(v) for n, v in zip(names, p)},
            "known_tokens": known,
            "flag": None if known else ("empty text" if not x else "no known words"),
        })
    return results


def predict_texts(net, vocab, config, texts, batch_size=256, ctx=None):
    """One dict per text: label, probability, probabilities by label, known_tokens."""
    import mxnet as mx
    from gluonnlp.data.batchify import Pad
    ctx = ctx or mx.cpu()
    pad = Pad(axis=0, pad_val=PAD_ID, ret_length=True, dtype="float32")
    results = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        ids = encode_texts(chunk, vocab, config)
        # An empty text still needs one (padding) column; its valid_length stays 0.
        tokens, _ = pad([x or [PAD_ID] for x in ids])
        valid_length = mx.nd.array([len(x) for x in ids], dtype="float32")
        probs = mx.nd.softmax(net(tokens.as_in_context(ctx), valid_length.as_in_context(ctx)))
        results += _results(chunk, ids, probs.asnumpy(), config["label_names"],
                            vocab[vocab.unknown_token])
    return results


def predict_texts_onnx(session, vocab, config, texts, batch_size=256):
    """`predict_texts` through onnxruntime (`gluon_rnn.export.load_session`)."""
    from .export import predict_probs
    results = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        ids = encode_texts(chunk, vocab, config)
        results += _results(chunk, ids, predict_probs(session, ids), config["label_names"],
                            vocab[vocab.unknown_token])
    return results


def _read_texts(args):
    if args.file is None:
        if not args.texts:
            raise UserError("nothing to predict: give texts as arguments or --file F ('-' for stdin)")
        return list(args.texts)
    if args.texts:
        raise UserError(f"texts given as arguments and --file {args.file}: give one or the other")
    if args.file == "-":
        # bytes, decoded as a file is: the same BOM, the same refusal of undecodable bytes,
        # whatever encoding Python chose for its standard input
        raw, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            with open(args.file, "rb") as f:
                raw, name = f.read(), args.file
        except FileNotFoundError:
            raise UserError(f"{args.file}: no such file") from None
        except IsADirectoryError:
            raise UserError(f"{args.file}: is a directory, expected a text file") from None
        except OSError as err:
            raise UserError(f"{args.file}: cannot read: {err.strerror}") from None
    text = decode_bytes(raw, name, args.encoding)
    if not text:
        raise UserError(f"{name}: empty, no text to predict (one text a line)")
    # one text a line, split at \n, \r\n or \r as reading the file as text would split it
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines[-1] == "" else lines


def build_parser():
    parser = ArgumentParser(prog="python -m gluon_rnn.predict",
                            description="Label texts with a trained model directory.",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="run directory written by gluon_rnn.train")
    parser.add_argument("texts", nargs="*", help="texts to label")
    parser.add_argument("--file", help="one text a line; '-' reads standard input")
    parser.add_argument("--encoding", help="text encoding of --file, e.g. cp1252 or latin-1 "
                                           "(none: UTF-8, with or without a BOM)")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--batch-size", type=int, default=256, help="texts per batch")
    parser.add_argument("--runtime", choices=RUNTIMES, default="mxnet",
                        help="mxnet: model.params; onnx: model.onnx with onnxruntime, no mxnet "
                             "(python -m gluon_rnn.export writes it); onnx-int8: model-int8.onnx")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_setting("batch_size", args.batch_size)   # training's rule for the same flag
    texts = _read_texts(args)
    if args.runtime == "mxnet":
        from .model_io import load_model_dir
        net, vocab, config = load_model_dir(args.model)
        results = predict_texts(net, vocab, config, texts, args.batch_size)
    else:
        from .export import load_session
        session, vocab, config = load_session(args.model, args.runtime)
        results = predict_texts_onnx(session, vocab, config, texts, args.batch_size)
    # an output that cannot hold a character gets an escape, not a traceback: JSON's own
    # \u escapes in JSON, Python's in plain lines
    utf = codecs.lookup(sys.stdout.encoding or "ascii").name.startswith("utf")
    sys.stdout.reconfigure(errors="backslashreplace")
    for r in results:
        if args.json:
            print(json.dumps(r, ensure_ascii=not utf))
        else:
            flag = f"  [{r['flag']}]" if r["flag"] else ""
            print(f"{r['label']}\t{r['probability']:.4f}\t{r['text']}{flag}")
    return 0


if __name__ == "__main__":
    run_cli(main)
