"""The baseline every IMDB paper reports: a linear model on word uni- and bigrams.

    python benchmarks/ngram_baseline.py                      # IMDB, the project's split
    python benchmarks/ngram_baseline.py --ngrams 3           # uni-, bi- and trigrams
    python benchmarks/ngram_baseline.py --data data/sample.tsv --out runs/ngram-sample

Two models, each on exactly the split and the tokens the recurrent models see
(`gluon_rnn.data.load_corpus` with the same `--seed`, `gluon_rnn.data.tokenize`):

* `tfidf_logreg`: TF-IDF of every uni- and bigram of the training split (sublinear term
  frequency), logistic regression.
* `nbsvm`: binary uni+bigram features scaled by their naive-Bayes log-count ratio, then
  logistic regression (NBSVM, Wang & Manning 2012, with a logistic loss instead of the hinge).
  Two classes only; it is the primary model when it applies.

`--ngrams N` reads every n-gram up to N words instead (default 2: uni+bigrams; 3 adds the
trigrams, as NBSVM's best IMDB figures do). Each model's regularisation `C` is chosen on the validation split from a small grid; the test
split is scored once, with that choice. The last line printed is one JSON object:
`test_accuracy`, `num_test` and `seconds` of the primary model (features, fit for each `C`,
scoring), every model's own numbers under `models`. `--out DIR` also writes it to
DIR/metrics.json.

Needs scikit-learn next to the project's set-up (numpy stays at 1.23.5):

    .venv/bin/pip install scikit-learn==1.5.2 scipy==1.13.1 numpy==1.23.5
"""
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gluon_rnn.data import load_corpus, split_fingerprint, tokenize  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from script_out import claim_out, write_out  # noqa: E402

C_GRID = (0.25, 1.0, 4.0, 16.0)
GRAMS = {1: "unigram", 2: "uni+bigram", 3: "uni+bi+trigram"}
INSTALL = ".venv/bin/pip install scikit-learn==1.5.2 scipy==1.13.1 numpy==1.23.5"


def ngrams(tokens, n=2):
    """Every n-gram of one token list up to `n` words, its words joined by spaces:
    ngrams(["not", "bad", "!"]) == ["not", "bad", "!", "not bad", "bad !"]."""
    grams = list(tokens)
    for size in range(2, n + 1):
        grams += [" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)]
    return grams


def count_features(docs, n=2):
    """Counts of every n-gram (up to `n` words) of the training split, in train, valid and
    test: sparse (texts, features) matrices. Both models start from these."""
    from sklearn.feature_extraction.text import CountVectorizer
    vec = CountVectorizer(analyzer=lambda tokens: ngrams(tokens, n))
    return (vec.fit_transform(docs[0]).tocsr(), vec.transform(docs[1]).tocsr(),
            vec.transform(docs[2]).tocsr())


def tfidf(counts):
    """TF-IDF with sublinear term frequency (1 + log tf), idf from the training split."""
    from sklearn.feature_extraction.text import TfidfTransformer
    transform = TfidfTransformer(sublinear_tf=True).fit(counts[0])
    return tuple(transform.transform(x) for x in counts)


def nb_weighted(counts, train_y, alpha=1.0):
    """Binary features scaled by their naive-Bayes log-count ratio: the log of (the share of
    a feature among the positive texts' features) over (the same among the negative ones),
    with `alpha` added to every count (Wang & Manning 2012)."""
    binary = [(x > 0).astype(np.float64) for x in counts]
    y = np.asarray(train_y)
    p = alpha + np.asarray(binary[0][y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(binary[0][y == 0].sum(axis=0)).ravel()
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    return tuple(x.multiply(ratio).tocsr() for x in binary)


def fit_best(features, ys, grid, log):
    """Logistic regression for each C in `grid` on the training features; the one best on
    valid scores test, once. The dual problem: far fewer texts than features.
    Returns (its figures, the fitted model)."""
    from sklearn.linear_model import LogisticRegression
    start = time.perf_counter()
    x_train, x_valid, x_test = features
    best = None
    for c in grid:
        model = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000)
        model.fit(x_train, ys[0])
        acc = float(np.mean(model.predict(x_valid) == ys[1]))
        log(f"  C={c:g}: valid accuracy {acc:.4f}")
        if best is None or acc > best[0]:
            best = (acc, c, model)
    valid_acc, c, model = best
    test_acc = float(np.mean(model.predict(x_test) == ys[2]))
    return {"test_accuracy": round(test_acc, 6), "valid_accuracy": round(valid_acc, 6),
            "C": c, "fit_seconds": round(time.perf_counter() - start, 3)}, model


def main(argv=None):
    parser = ArgumentParser(
        prog="python benchmarks/ngram_baseline.py",
        description="N-gram linear baselines on the project's split and tokenizer.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=["imdb"], help="a named dataset (default: imdb)")
    source.add_argument("--data", help="LABEL<TAB>TEXT file, or CSV/TSV with a header")
    parser.add_argument("--text-column", help="text column of a CSV/TSV")
    parser.add_argument("--label-column", help="label column of a CSV/TSV")
    parser.add_argument("--encoding", help="text encoding of --data, e.g. cp1252 (default "
                                           "UTF-8, with or without a BOM)")
    parser.add_argument("--data-dir", help="dataset cache (default $GLUON_RNN_DATA or ~/.cache/gluon_rnn)")
    parser.add_argument("--limit", type=int, help="a seeded subset of N examples (default: all)")
    parser.add_argument("--no-dedup", action="store_true", help="keep duplicate texts (default: off)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, as in training (default 0)")
    parser.add_argument("--ngrams", type=int, default=2, metavar="N",
                        help="read every n-gram up to N words (default 2: uni+bigrams)")
    parser.add_argument("--out", help="also write the result to OUT/metrics.json")
    args = parser.parse_args(argv)
    out = claim_out(args.out, "ngram_baseline.py")   # said now, before any work
    if args.ngrams < 1:
        raise UserError(f"--ngrams must be at least 1, got {args.ngrams}")
    try:
        import sklearn
    except ImportError:
        raise UserError(f"scikit-learn is not installed: {INSTALL}") from None

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    corpus = load_corpus(dataset=None if args.data else (args.dataset or "imdb"),
                         data=args.data, text_column=args.text_column,
                         label_column=args.label_column, data_dir=args.data_dir,
                         limit=args.limit, dedup=not args.no_dedup, seed=args.seed,
                         encoding=args.encoding)
    splits = (corpus.train, corpus.valid, corpus.test)
    if not all(splits):
        raise UserError(f"{corpus.dataset}: too few examples to split into train/valid/test")
    if len({y for _, y in corpus.train}) < 2:
        raise UserError(f"{corpus.dataset}: the training split holds only one class")
    docs = [[tokenize(text) for text, _ in rows] for rows in splits]
    ys = [np.array([y for _, y in rows]) for rows in splits]
    load_seconds = time.perf_counter() - start
    log(f"data: {corpus.dataset}: {len(corpus.train)} train, {len(corpus.valid)} valid, "
        f"{len(corpus.test)} test ({load_seconds:.1f} s to read and tokenize)")

    tick = time.perf_counter()
    counts = count_features(docs, args.ngrams)
    count_seconds = time.perf_counter() - tick
    grams = GRAMS.get(args.ngrams, f"1- to {args.ngrams}-gram")
    log(f"{counts[0].shape[1]:,} {grams} features in the training split ({count_seconds:.1f} s)")
    make = {"tfidf_logreg": (f"TF-IDF {grams}s, logistic regression", tfidf)}
    if corpus.num_classes == 2:
        make["nbsvm"] = (f"NB-weighted binary {grams}s, logistic regression",
                         lambda c: nb_weighted(c, ys[0]))
    models = {}
    for name, (what, transform) in make.items():
        log(f"{name}: {what}")
        tick = time.perf_counter()
        features = transform(counts)
        model, _ = fit_best(features, ys, C_GRID, log)
        # a model's time: counting the n-grams, its own features, the fits and the scoring
        model["seconds"] = round(count_seconds + time.perf_counter() - tick, 3)
        models[name] = model
        log(f"{name}: test accuracy {model['test_accuracy']:.4f} (C={model['C']:g}, "
            f"{model['seconds']:.1f} s)")
    primary = "nbsvm" if "nbsvm" in models else "tfidf_logreg"
    result = {
        "model": primary, "test_accuracy": models[primary]["test_accuracy"],
        "num_test": len(corpus.test), "seconds": models[primary]["seconds"],
        "train_seconds": models[primary]["seconds"], "models": models,
        "ngrams": args.ngrams,
        "num_features": int(counts[0].shape[1]), "count_seconds": round(count_seconds, 3),
        "dataset": corpus.dataset, "source": corpus.source, "origin": corpus.origin,
        "num_train": len(corpus.train), "num_valid": len(corpus.valid),
        "split_sha256": split_fingerprint(corpus), "seed": args.seed,
        "load_seconds": round(load_seconds, 3),
        "total_seconds": round(time.perf_counter() - start, 3),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scikit-learn": sklearn.__version__},
    }
    if out:
        write_out(out, "ngram_baseline.py", result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
