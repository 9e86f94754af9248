"""A trained recurrent model and the NB-weighted n-gram model, their log-odds averaged.

    python benchmarks/ensemble.py --model runs/mean-20261123-101500          # its own split
    python benchmarks/ensemble.py --model runs/results/make-run-seed{seed} --seed 1 --ngrams 3

The n-gram model (`ngram_baseline.py`'s `nbsvm`) is fitted on exactly the split the run was
trained on: the run's config.json records its data and split, and `gluon_rnn.evaluate`
rebuilds them. Both models give each review a log-odds of the positive class (the run's two
logits' difference; the logistic regression's decision function); the ensemble scores

    w * rnn + (1 - w) * ngram,     w in 0, 0.05, ..., 1

with the `w` best on the validation split (ties: the lower validation log-loss), then scores
the test split once. `{seed}` in --model is replaced by --seed, so one results row covers
every seed of a row whose run directories lie under runs/results/.

The last line printed is one JSON object: `test_accuracy` of the ensemble, `weight`,
`train_seconds` (the run's training plus the n-gram model's counting and fitting: what the
pair cost to train), and each part's own figures under `models`. `--out DIR` also writes it
to DIR/metrics.json, and each test text's label and log-odds of both models to
DIR/test_predictions.csv (`index` in the test split, `label`, `rnn`, `ngram`). Two classes
only; needs scikit-learn, as ngram_baseline.py does.
"""
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ngram_baseline  # noqa: E402
from gluon_rnn import evaluate as gevaluate  # noqa: E402
from gluon_rnn.data import split_fingerprint, tokenize  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from script_out import add_run_args, claim_out, run_dir, write_out  # noqa: E402
from gluon_rnn.model_io import (atomic_write_text, encode_texts,  # noqa: E402
                                load_model_dir)

WEIGHTS = np.round(np.linspace(0, 1, 21), 2)


def rnn_log_odds(net, vocab, config, texts, batch_size=256):
    """log p(positive) - log p(negative) of each text, from the model's two logits. Texts are
    batched shortest first, so a batch is padded only to lengths near its own."""
    import mxnet as mx
    from gluonnlp.data.batchify import Pad
    ids = encode_texts(texts, vocab, config)
    order = np.argsort([len(x) for x in ids], kind="stable")
    pad = Pad(axis=0, pad_val=0, ret_length=True, dtype="float32")
    out = np.empty(len(ids))
    for start in range(0, len(ids), batch_size):
        chunk = order[start:start + batch_size]
        # an empty text still needs one (padding) column; its valid_length stays 0
        tokens, _ = pad([ids[i] or [0] for i in chunk])
        valid_length = mx.nd.array([len(ids[i]) for i in chunk], dtype="float32")
        # Pad's arrays live in shared memory; the hybridized graph takes one context
        logits = net(tokens.as_in_context(mx.cpu()), valid_length).asnumpy()   # (N, 2)
        out[chunk] = logits[:, 1] - logits[:, 0]
    return out


def log_loss(log_odds, y):
    """Mean negative log-likelihood of labels `y` (0/1) under the log-odds."""
    signed = np.where(y == 1, log_odds, -log_odds)
    return float(np.mean(np.logaddexp(0, -signed)))


def choose_weight(rnn, ngram, y):
    """(w, valid accuracy): the w of `WEIGHTS` whose mix is most accurate on (rnn, ngram, y),
    the lower log-loss among equals."""
    def score(w):
        mix = w * rnn + (1 - w) * ngram
        return float(np.mean((mix > 0) == y)), -log_loss(mix, y)
    best = max(WEIGHTS, key=score)
    return float(best), score(best)[0]


def accuracy(log_odds, y):
    return float(np.mean((log_odds > 0) == y))


def load_run(model, data_dir=None, seed=None):
    """(net, vocab, config, corpus, run metrics) of a run directory, the corpus split exactly
    as the run split it; with `seed`, the run must have been trained with it."""
    argv = ["--model", str(model)] + (["--data-dir", data_dir] if data_dir else [])
    net, vocab, config = load_model_dir(model)
    if config.get("data") is None:
        raise UserError(f"{model}: this model directory does not record its data and split")
    if seed is not None and config["data"].get("seed") != seed:
        raise UserError(f"{model}: trained with --seed {config['data'].get('seed')}, not {seed}")
    if config["model"]["num_classes"] != 2:
        raise UserError(f"{model}: {config['model']['num_classes']} classes; the ensemble "
                        f"takes two")
    corpus, _, _ = gevaluate.load_examples(gevaluate.build_parser().parse_args(argv),
                                           config["data"])
    if corpus.label_names != config["label_names"]:
        raise UserError(f"{model}: its classes {config['label_names']} are not the data's "
                        f"{corpus.label_names}")
    metrics_path = Path(model) / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) \
        if metrics_path.exists() else {}
    return net, vocab, config, corpus, metrics


def fit_ngram(corpus, n, log):
    """The NB-weighted n-gram model on the corpus's training split: (its figures, its
    log-odds on valid, on test)."""
    tick = time.perf_counter()
    splits = (corpus.train, corpus.valid, corpus.test)
    docs = [[tokenize(text) for text, _ in rows] for rows in splits]
    ys = [np.array([y for _, y in rows]) for rows in splits]
    counts = ngram_baseline.count_features(docs, n)
    features = ngram_baseline.nb_weighted(counts, ys[0])
    figures, model = ngram_baseline.fit_best(features, ys, ngram_baseline.C_GRID, log)
    figures["seconds"] = round(time.perf_counter() - tick, 3)
    return figures, model.decision_function(features[1]), model.decision_function(features[2])


def ensemble(model, ngrams=2, data_dir=None, seed=None, log=lambda msg: None):
    """Everything the command prints, and the test split's texts, labels and log-odds of
    both models ({"text": [...], "label": ..., "rnn": ..., "ngram": ...})."""
    net, vocab, config, corpus, metrics = load_run(model, data_dir, seed)
    if not (corpus.train and corpus.valid and corpus.test):
        raise UserError(f"{corpus.dataset}: too few examples to split into train/valid/test")
    y_valid = np.array([y for _, y in corpus.valid])
    y_test = np.array([y for _, y in corpus.test])
    log(f"data: {corpus.dataset}: {len(corpus.train)} train, {len(corpus.valid)} valid, "
        f"{len(corpus.test)} test (the split of {model})")
    tick = time.perf_counter()
    rnn_valid = rnn_log_odds(net, vocab, config, [t for t, _ in corpus.valid])
    rnn_test = rnn_log_odds(net, vocab, config, [t for t, _ in corpus.test])
    rnn = {"test_accuracy": round(accuracy(rnn_test, y_test), 6),
           "valid_accuracy": round(accuracy(rnn_valid, y_valid), 6),
           "seconds": metrics.get("train_seconds")}
    log(f"rnn ({config['model']['arch']}): test accuracy {rnn['test_accuracy']:.4f} "
        f"({time.perf_counter() - tick:.1f} s to score valid and test)")
    ngram, ngram_valid, ngram_test = fit_ngram(corpus, ngrams, log)
    log(f"ngram (NB-weighted, up to {ngrams}-grams): test accuracy "
        f"{ngram['test_accuracy']:.4f} ({ngram['seconds']:.1f} s)")
    weight, valid_acc = choose_weight(rnn_valid, ngram_valid, y_valid)
    mix = weight * rnn_test + (1 - weight) * ngram_test
    both = {"test_accuracy": round(accuracy(mix, y_test), 6),
            "valid_accuracy": round(valid_acc, 6), "weight": weight}
    log(f"ensemble: weight {weight:g} on the rnn (valid accuracy {valid_acc:.4f}): test "
        f"accuracy {both['test_accuracy']:.4f}")
    train_seconds = None if rnn["seconds"] is None else round(rnn["seconds"] + ngram["seconds"], 3)
    result = {
        "model": "ensemble", "test_accuracy": both["test_accuracy"], "weight": weight,
        "num_test": len(corpus.test), "num_train": len(corpus.train),
        "num_valid": len(corpus.valid), "train_seconds": train_seconds,
        "models": {"rnn": rnn, "ngram": ngram, "ensemble": both},
        "run": str(model), "arch": config["model"]["arch"], "max_len": config["max_len"],
        "ngrams": ngrams,
        "seed": config["data"].get("seed"), "split_sha256": split_fingerprint(corpus),
    }
    return result, {"text": [t for t, _ in corpus.test], "label": y_test, "rnn": rnn_test,
                    "ngram": ngram_test}


def predictions_csv(scores):
    """The test split's labels and both models' log-odds, one line per text, in split order."""
    buf = io.StringIO()
    buf.write("index,label,rnn,ngram\n")
    for i, (y, a, b) in enumerate(zip(scores["label"], scores["rnn"], scores["ngram"])):
        buf.write(f"{i},{int(y)},{a:.4f},{b:.4f}\n")
    return buf.getvalue()


def main(argv=None):
    parser = ArgumentParser(prog="python benchmarks/ensemble.py",
                            description="A run's log-odds averaged with the n-gram model's.")
    add_run_args(parser)
    parser.add_argument("--ngrams", type=int, default=2, metavar="N",
                        help="the n-gram model reads every n-gram up to N words")
    parser.add_argument("--data-dir", help="dataset cache (default $GLUON_RNN_DATA or "
                                           "~/.cache/gluon_rnn)")
    parser.add_argument("--out", help="also write the result to OUT/metrics.json")
    args = parser.parse_args(argv)
    # said now, before any work
    out = claim_out(args.out, "ensemble.py", extra=("test_predictions.csv",))
    if args.ngrams < 1:
        raise UserError(f"--ngrams must be at least 1, got {args.ngrams}")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise UserError(f"scikit-learn is not installed: {ngram_baseline.INSTALL}") from None
    model = run_dir(args)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    result, scores = ensemble(model, args.ngrams, args.data_dir, args.seed, log)
    result["seconds"] = round(time.perf_counter() - start, 3)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "test_predictions.csv", predictions_csv(scores))
        write_out(out, "ensemble.py", result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
