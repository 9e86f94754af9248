"""Trained recurrent models and the NB-weighted n-gram model, their log-odds averaged.

    python benchmarks/ensemble.py --model runs/mean-20261123-101500          # its own split
    python benchmarks/ensemble.py --model runs/results/make-run-seed{seed} --seed 1 --ngrams 3
    python benchmarks/ensemble.py --model runs/a-seed{seed} runs/b-seed{seed} --seed 1

The n-gram model (`ngram_baseline.py`'s `nbsvm`) is fitted on exactly the split the runs were
trained on: a run's config.json records its data and split, and `gluon_rnn.evaluate`
rebuilds them (several runs must share one split). Every model gives each review a log-odds
of the positive class (a run's two logits' difference; the logistic regression's decision
function); with one run the ensemble scores

    w * rnn + (1 - w) * ngram,     w in 0, 0.05, ..., 1

and with several, every mix whose weights are multiples of 0.05 summing to 1. The mix best
on the validation split (ties: the lower validation log-loss) scores the test split once.
`{seed}` in --model is replaced by --seed, so one results row covers every seed of a row
whose run directories lie under runs/results/.

The last line printed is one JSON object: `test_accuracy` of the ensemble, `weight` (the
recurrent models' share of the mix; `weights` has each part's), `train_seconds` (the runs'
training plus the n-gram model's counting and fitting: what the parts cost to train), and
each part's own figures under `models`: `rnn` for one run, `rnn1`, `rnn2`, ... for several,
`ngram`, and `ensemble`. `--out DIR` also writes it to DIR/metrics.json, and each test text's
label and every part's log-odds to DIR/test_predictions.csv (`index` in the test split,
`label`, the runs' columns named as under `models`, `ngram`). Two classes only; needs
scikit-learn, as ngram_baseline.py does.
"""
import io
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ngram_baseline  # noqa: E402
from gluon_rnn import evaluate as gevaluate  # noqa: E402
from gluon_rnn.data import PAD_ID, split_fingerprint, tokenize  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from script_out import add_run_args, claim_out, run_dir, write_out  # noqa: E402
from gluon_rnn.model_io import (atomic_write_text, encode_texts,  # noqa: E402
                                load_model_dir)

def rnn_log_odds(net, vocab, config, texts, batch_size=256):
    """log p(positive) - log p(negative) of each text, from the model's two logits. Texts are
    batched shortest first, so a batch is padded only to lengths near its own."""
    import mxnet as mx
    from gluonnlp.data.batchify import Pad
    ids = encode_texts(texts, vocab, config)
    order = np.argsort([len(x) for x in ids], kind="stable")
    pad = Pad(axis=0, pad_val=PAD_ID, ret_length=True, dtype="float32")
    out = np.empty(len(ids))
    for start in range(0, len(ids), batch_size):
        chunk = order[start:start + batch_size]
        # an empty text still needs one (padding) column; its valid_length stays 0
        tokens, _ = pad([ids[i] or [PAD_ID] for i in chunk])
        valid_length = mx.nd.array([len(ids[i]) for i in chunk], dtype="float32")
        # Pad's arrays live in shared memory; the hybridized graph takes one context
        logits = net(tokens.as_in_context(mx.cpu()), valid_length).asnumpy()   # (N, 2)
        out[chunk] = logits[:, 1] - logits[:, 0]
    return out


def log_loss(log_odds, y):
    """Mean negative log-likelihood of labels `y` (0/1) under the log-odds."""
    signed = np.where(y == 1, log_odds, -log_odds)
    return float(np.mean(np.logaddexp(0, -signed)))


def simplex(parts, steps=20):
    """Every tuple of `parts` weights that are multiples of 1/steps and sum to 1, the last
    part's weight falling first: for two parts (0, 1), (0.05, 0.95), ..., (1, 0)."""
    for head in itertools.product(range(steps + 1), repeat=parts - 1):
        if sum(head) <= steps:
            yield tuple(round(k / steps, 2) for k in (*head, steps - sum(head)))


def choose_weights(scores, y):
    """(weights, valid accuracy): the weights of `simplex` whose mix of `scores` (a list of
    log-odds arrays) is most accurate on y, the lower log-loss among equals."""
    def score(weights):
        mix = sum(w * s for w, s in zip(weights, scores))
        return float(np.mean((mix > 0) == y)), -log_loss(mix, y)
    best = max(simplex(len(scores)), key=score)
    return best, score(best)[0]


def choose_weight(rnn, ngram, y):
    """(w, valid accuracy): the w in 0, 0.05, ..., 1 whose mix w * rnn + (1 - w) * ngram is most
    accurate on y, the lower log-loss among equals."""
    (w, _), acc = choose_weights([rnn, ngram], y)
    return float(w), acc


def accuracy(log_odds, y):
    return float(np.mean((log_odds > 0) == y))


def load_run(model, data_dir=None, seed=None, known=None):
    """(net, vocab, config, corpus, run metrics) of a run directory, the corpus split exactly
    as the run split it; with `seed`, the run must have been trained with it. `known`: an
    earlier run's (config, corpus), whose corpus is this run's too when both runs record the
    same data and split (the split follows from that record alone)."""
    argv = ["--model", str(model)] + (["--data-dir", data_dir] if data_dir else [])
    net, vocab, config = load_model_dir(model)
    if config.get("data") is None:
        raise UserError(f"{model}: this model directory does not record its data and split")
    if seed is not None and config["data"].get("seed") != seed:
        raise UserError(f"{model}: trained with --seed {config['data'].get('seed')}, not {seed}")
    if config["model"]["num_classes"] != 2:
        raise UserError(f"{model}: {config['model']['num_classes']} classes; the ensemble "
                        f"takes two")
    if known and known[0]["data"] == config["data"]:
        corpus = known[1]
    else:
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


def ensemble(models, ngrams=2, data_dir=None, seed=None, log=lambda msg: None):
    """Everything the command prints, and the test split's labels and every part's log-odds
    ({"label": ..., "rnn": ..., "ngram": ...}, the runs keyed as under `models`). `models` is
    a list of run directories."""
    names = ["rnn"] if len(models) == 1 else [f"rnn{k}" for k in range(1, len(models) + 1)]
    runs = [load_run(models[0], data_dir, seed)]
    runs += [load_run(model, data_dir, seed, known=runs[0][2:4]) for model in models[1:]]
    corpus = runs[0][3]
    fingerprint = split_fingerprint(corpus)
    for model, run in zip(models[1:], runs[1:]):   # a run that shares the corpus shares its split
        if run[3] is not corpus and split_fingerprint(run[3]) != fingerprint:
            raise UserError(f"{model}: trained on another split than {models[0]}; the "
                            f"ensemble needs one split")
    if not (corpus.train and corpus.valid and corpus.test):
        raise UserError(f"{corpus.dataset}: too few examples to split into train/valid/test")
    y_valid = np.array([y for _, y in corpus.valid])
    y_test = np.array([y for _, y in corpus.test])
    log(f"data: {corpus.dataset}: {len(corpus.train)} train, {len(corpus.valid)} valid, "
        f"{len(corpus.test)} test (the split of {models[0]})")
    parts, valid, test = {}, [], []
    for name, (net, vocab, config, _, metrics) in zip(names, runs):
        tick = time.perf_counter()
        valid.append(rnn_log_odds(net, vocab, config, [t for t, _ in corpus.valid]))
        test.append(rnn_log_odds(net, vocab, config, [t for t, _ in corpus.test]))
        parts[name] = {"test_accuracy": round(accuracy(test[-1], y_test), 6),
                       "valid_accuracy": round(accuracy(valid[-1], y_valid), 6),
                       "seconds": metrics.get("train_seconds"),
                       "arch": config["model"]["arch"]}
        log(f"{name} ({config['model']['arch']}): test accuracy "
            f"{parts[name]['test_accuracy']:.4f} ({time.perf_counter() - tick:.1f} s to score "
            f"valid and test)")
    ngram, ngram_valid, ngram_test = fit_ngram(corpus, ngrams, log)
    log(f"ngram (NB-weighted, up to {ngrams}-grams): test accuracy "
        f"{ngram['test_accuracy']:.4f} ({ngram['seconds']:.1f} s)")
    weights, valid_acc = choose_weights(valid + [ngram_valid], y_valid)
    mix = sum(w * s for w, s in zip(weights, test + [ngram_test]))
    weight = round(sum(weights[:-1]), 2)
    by_part = dict(zip(names + ["ngram"], weights))
    both = {"test_accuracy": round(accuracy(mix, y_test), 6),
            "valid_accuracy": round(valid_acc, 6), "weight": weight}
    log(f"ensemble: weights {by_part} (valid accuracy {valid_acc:.4f}): test accuracy "
        f"{both['test_accuracy']:.4f}")
    seconds = [parts[name]["seconds"] for name in names]
    train_seconds = None if None in seconds else round(sum(seconds) + ngram["seconds"], 3)
    configs = [run[2] for run in runs]

    def per_run(values):   # one run's value as it is, several runs' as a list
        return values[0] if len(values) == 1 else values
    result = {
        "model": "ensemble", "test_accuracy": both["test_accuracy"], "weight": weight,
        "weights": by_part,
        "num_test": len(corpus.test), "num_train": len(corpus.train),
        "num_valid": len(corpus.valid), "train_seconds": train_seconds,
        "models": {**parts, "ngram": ngram, "ensemble": both},
        "run": per_run([str(m) for m in models]),
        "arch": per_run([c["model"]["arch"] for c in configs]),
        "max_len": per_run([c["max_len"] for c in configs]),
        "ngrams": ngrams,
        "seed": configs[0]["data"].get("seed"), "split_sha256": fingerprint,
    }
    return result, {"label": y_test, **dict(zip(names, test)), "ngram": ngram_test}


def predictions_csv(scores):
    """The test split's labels and every part's log-odds, one line per text, in split order."""
    columns = [k for k in scores if k != "label"]
    buf = io.StringIO()
    buf.write(",".join(["index", "label", *columns]) + "\n")
    for i, y in enumerate(scores["label"]):
        buf.write(",".join([str(i), str(int(y))]
                           + [f"{scores[k][i]:.4f}" for k in columns]) + "\n")
    return buf.getvalue()


def main(argv=None):
    parser = ArgumentParser(prog="python benchmarks/ensemble.py",
                            description="Runs' log-odds averaged with the n-gram model's.")
    add_run_args(parser, several=True)
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
    models = [run_dir(args, model) for model in args.model]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    result, scores = ensemble(models, args.ngrams, args.data_dir, args.seed, log)
    result["seconds"] = round(time.perf_counter() - start, 3)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "test_predictions.csv", predictions_csv(scores))
        write_out(out, "ensemble.py", result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
