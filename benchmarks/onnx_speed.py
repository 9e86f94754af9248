"""Prediction throughput of one trained run in one runtime, on IMDB test reviews, as JSON.

    python benchmarks/onnx_speed.py --model runs/make-run-seed0 --runtime mxnet --threads 2
    python benchmarks/onnx_speed.py --model runs/make-run-seed0 --runtime onnx --threads 2

`bench.py --only serve` runs it once per runtime, each in a fresh process: `mxnet` (the
hybridized model.params, as `predict` loads it), `onnx` (model.onnx in onnxruntime) and
`onnx-int8` (model-int8.onnx), all on `--threads` threads (OMP_NUM_THREADS for mxnet,
onnxruntime's intra-op threads), at each of `--batch-sizes`. The texts are a seeded sample of
the 25,000 test reviews, tokenized and cut to the run's max_len once, before any timing; a
timed pass pads each batch of consecutive texts to its longest (as `predict` does), runs the
model and takes the softmax. One untimed pass first; the median of `--repeats` timed passes
is reported as texts/s.
"""
import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNTIMES = ("mxnet", "onnx", "onnx-int8")


def test_texts(count, seed=0):
    """A seeded sample of `count` IMDB test reviews (all of them for count >= 25,000)."""
    from gluon_rnn.sources import load_imdb
    records, _, _ = load_imdb()
    texts = [text for text, _, segment in records if segment == "test"]
    return texts if count >= len(texts) else random.Random(seed).sample(texts, count)


def mxnet_predictor(model):
    import mxnet as mx
    from gluon_rnn.model_io import load_model_dir
    net, vocab, config = load_model_dir(model)

    def probs(tokens, valid_length):
        return mx.nd.softmax(net(mx.nd.array(tokens), mx.nd.array(valid_length))).asnumpy()
    return probs, vocab, config


def onnx_predictor(model, runtime, threads):
    from gluon_rnn.export import INPUTS, OUTPUT, load_session
    session, vocab, config = load_session(model, runtime, threads=threads)

    def probs(tokens, valid_length):
        (logits,) = session.run([OUTPUT], {INPUTS[0]: tokens, INPUTS[1]: valid_length})
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    return probs, vocab, config


def one_pass(probs, ids, batch_size):
    """Seconds to predict every text of `ids` in batches of `batch_size`."""
    start = time.perf_counter()
    for at in range(0, len(ids), batch_size):
        chunk = ids[at:at + batch_size]
        tokens = np.zeros((len(chunk), max([len(x) for x in chunk] + [1])), np.float32)
        for row, x in enumerate(chunk):
            tokens[row, :len(x)] = x
        probs(tokens, np.array([len(x) for x in chunk], np.float32)).argmax(axis=1)
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description="Prediction throughput of a run in one runtime.")
    p.add_argument("--model", required=True, help="run directory (exported for onnx runtimes)")
    p.add_argument("--runtime", choices=RUNTIMES, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--texts", type=int, default=2500, help="test reviews in the sample")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256])
    p.add_argument("--repeats", type=int, default=3, help="timed passes per batch size")
    args = p.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)   # before mxnet loads
    from gluon_rnn.text import encode_texts
    if args.runtime == "mxnet":
        probs, vocab, config = mxnet_predictor(args.model)
    else:
        probs, vocab, config = onnx_predictor(args.model, args.runtime, args.threads)
    texts = test_texts(args.texts)
    ids = encode_texts(texts, vocab, config)
    rows = []
    for batch_size in args.batch_sizes:
        # warm-up: one untimed pass, so that every batch shape has been seen once (a
        # hybridized MXNet graph plans its memory anew for each new shape)
        one_pass(probs, ids, batch_size)
        seconds = [one_pass(probs, ids, batch_size) for _ in range(args.repeats)]
        rows.append({"batch_size": batch_size, "texts_per_second": len(ids) / statistics.median(seconds),
                     "seconds": seconds})
    print(json.dumps({"runtime": args.runtime, "threads": args.threads, "texts": len(ids),
                      "tokens": sum(len(x) for x in ids), "max_len": config["max_len"],
                      "model": str(args.model), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
