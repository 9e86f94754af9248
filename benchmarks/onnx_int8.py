"""A trained run in onnxruntime, float32 and dynamic int8, scored on the run's test split next
to MXNet.

    python benchmarks/onnx_int8.py --model runs/make-run-seed0
    python benchmarks/onnx_int8.py --model runs/results/make-run-seed{seed} --seed 0 --out OUT

Exports the run (`python -m gluon_rnn.export --model RUN --int8`: model.onnx, and
model-int8.onnx from onnxruntime's `quantize_dynamic`, int8 weights and activations quantized
at run time), rebuilds the run's test split as `gluon_rnn.evaluate` does, and predicts it
three ways: MXNet (model.params, hybridized), onnxruntime float32 and onnxruntime int8, each
in batches of 256 on the machine's threads. The last line printed is one JSON object:
`test_accuracy` of the int8 model, `train_seconds` (the run's training, then the export and
the quantization), each runtime's accuracy and scoring seconds under
`models`, how often int8 and float32 agree on the label, the largest probability differences
(float32 against MXNet, int8 against float32) and the files' sizes. `--out DIR` also writes
it to DIR/metrics.json. `{seed}` in --model is replaced by --seed, so one results row covers
each seed of the `make-run` row (whose runs lie under runs/results/).
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gluon_rnn import evaluate as gevaluate  # noqa: E402
from gluon_rnn.data import split_fingerprint  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from script_out import add_run_args, claim_out, run_dir, write_out  # noqa: E402
from gluon_rnn.export import INT8_FILE, ONNX_FILE, export_run, load_session  # noqa: E402
from gluon_rnn.model_io import load_model_dir  # noqa: E402
from gluon_rnn.predict import predict_texts, predict_texts_onnx  # noqa: E402


def probabilities(results, names):
    return np.array([[r["probabilities"][n] for n in names] for r in results])


def score(model, seed=None, log=lambda msg: None):
    model = Path(model)
    if not (model / "config.json").exists():
        raise UserError(f"{model}: no trained run here; train it first (the make-run row: "
                        f"python benchmarks/results.py --only make-run)")
    tick = time.perf_counter()
    export_run(model, int8=True)
    export_seconds = time.perf_counter() - tick
    net, vocab, config = load_model_dir(model)
    if seed is not None and (config.get("data") or {}).get("seed") != seed:
        raise UserError(f"{model}: not trained with --seed {seed}")
    corpus, examples, split = gevaluate.load_examples(
        gevaluate.build_parser().parse_args(["--model", str(model)]), config.get("data"))
    if split != "test":
        raise UserError(f"{model}: its test split cannot be rebuilt (scored: {split})")
    texts = [t for t, _ in examples]
    labels = np.array([y for _, y in examples])
    names = config["label_names"]
    log(f"data: {corpus.dataset}: {len(texts)} test texts (the split of {model})")
    runs = {"mxnet": lambda: predict_texts(net, vocab, config, texts)}
    for runtime in ("onnx", "onnx-int8"):
        session, onnx_vocab, _ = load_session(model, runtime)
        runs[runtime] = lambda s=session, v=onnx_vocab: predict_texts_onnx(s, v, config, texts)
    models, probs = {}, {}
    for runtime, run in runs.items():
        tick = time.perf_counter()
        probs[runtime] = probabilities(run(), names)
        seconds = time.perf_counter() - tick
        accuracy = float(np.mean(probs[runtime].argmax(axis=1) == labels))
        models[runtime] = {"test_accuracy": round(accuracy, 6), "seconds": round(seconds, 3)}
        log(f"{runtime}: test accuracy {accuracy:.4f} ({seconds:.1f} s to score)")
    trained = json.loads((model / "metrics.json").read_text(encoding="utf-8")) \
        if (model / "metrics.json").exists() else {}
    agree = float(np.mean(probs["onnx-int8"].argmax(axis=1) == probs["onnx"].argmax(axis=1)))
    return {
        "model": "onnx-int8", "test_accuracy": models["onnx-int8"]["test_accuracy"],
        "num_test": len(texts), "num_train": len(corpus.train), "num_valid": len(corpus.valid),
        # what the int8 model cost: the run's training, then the export and quantization
        "train_seconds": None if trained.get("train_seconds") is None else
        round(trained["train_seconds"] + export_seconds, 3),
        "export_seconds": round(export_seconds, 3),
        "models": models, "int8_agrees_with_float32": round(agree, 6),
        "max_probability_difference": {
            "onnx_vs_mxnet": float(np.abs(probs["onnx"] - probs["mxnet"]).max()),
            "int8_vs_onnx": float(np.abs(probs["onnx-int8"] - probs["onnx"]).max())},
        "bytes": {name: (model / name).stat().st_size
                  for name in ("model.params", ONNX_FILE, INT8_FILE)},
        "run": str(model), "arch": config["model"]["arch"], "max_len": config["max_len"],
        "seed": (config.get("data") or {}).get("seed"), "split_sha256": split_fingerprint(corpus),
    }


def main(argv=None):
    parser = ArgumentParser(prog="python benchmarks/onnx_int8.py",
                            description="A run in onnxruntime, float32 and int8, next to MXNet.")
    add_run_args(parser)
    parser.add_argument("--out", help="also write the result to OUT/metrics.json")
    args = parser.parse_args(argv)
    out = claim_out(args.out, "onnx_int8.py")   # said now, before any work
    model = run_dir(args)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = score(model, args.seed, log)
    result["seconds"] = round(time.perf_counter() - start, 3)
    if out:
        write_out(out, "onnx_int8.py", result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
