"""Write the IMDB predictions notebook 08 reads, so that it runs without IMDB and trains nothing.

    python benchmarks/ensemble.py --model runs/results/make-run-seed0 --ngrams 3 --out runs/ensemble
    python notebooks/data/make_imdb_predictions.py --ensemble runs/ensemble

From what `benchmarks/ensemble.py --out DIR` wrote (metrics.json and test_predictions.csv:
a run's model and the NB-weighted n-gram model fitted on the same split, their log-odds on
each test review) and the test reviews' texts, it writes next to itself (or into --out):

* imdb_test_predictions.csv: one line per review of the standard test set, `index` (its
  position in the test split, the same for every seed), `label` (1 = positive), each
  model's log-odds of "positive", `rnn` and `ngram` (log p / (1 - p), to 3 decimals: a
  probability near 1 would round to 1 and lose what the ensemble adds up), and `length`,
  the review's tokens (`gluon_rnn.data.tokenize`; the run may have read only the first ones);
* imdb_test_predictions.json: where they come from (the run, its architecture, seed and
  `max_len`, the n-gram order, the ensemble's weight and each model's test accuracy) and, for
  each way the two models can disagree, the EXAMPLES reviews of at most MAX_TOKENS tokens on
  which the model that is right is surest, with their text.
"""
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from gluon_rnn.data import load_corpus, split_fingerprint, tokenize  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from gluon_rnn.model_io import atomic_write_json, atomic_write_text  # noqa: E402

EXAMPLES, MAX_TOKENS = 4, 150


def examples(texts, label, right, other_wrong, sureness):
    """The reviews where `right` holds and `other_wrong` too, short enough to read, the
    surest first."""
    picked = [i for i in np.argsort(-sureness, kind="stable")
              if right[i] and other_wrong[i] and len(tokenize(texts[i])) <= MAX_TOKENS]
    return [{"index": int(i), "label": int(label[i]), "text": texts[i]}
            for i in picked[:EXAMPLES]]


def read_ensemble(folder):
    """(metrics, labels, rnn log-odds, n-gram log-odds) of an ensemble.py --out directory."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        with open(folder / "test_predictions.csv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        columns = [np.array([float(r[k]) for r in rows]) for k in ("label", "rnn", "ngram")]
    except FileNotFoundError as err:
        raise UserError(f"{err.filename}: missing (not written by benchmarks/ensemble.py "
                        f"--out?)") from None
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{folder}: not an ensemble.py output ({err})") from None
    return metrics, columns[0].astype(int), columns[1], columns[2]


def main(argv=None):
    parser = ArgumentParser(prog="python notebooks/data/make_imdb_predictions.py",
                            description="Notebook 08's IMDB files from an ensemble.py output.")
    parser.add_argument("--ensemble", required=True,
                        help="the --out directory of benchmarks/ensemble.py on an IMDB run")
    parser.add_argument("--data-dir", help="dataset cache (default $GLUON_RNN_DATA or "
                                           "~/.cache/gluon_rnn)")
    parser.add_argument("--out", default=str(HERE), help="where to write the two files")
    args = parser.parse_args(argv)
    metrics, label, rnn, ngram = read_ensemble(Path(args.ensemble))
    corpus = load_corpus(dataset="imdb", data_dir=args.data_dir, seed=metrics["seed"])
    if split_fingerprint(corpus) != metrics["split_sha256"] or len(corpus.test) != len(label):
        raise UserError(f"{args.ensemble}: its split is not IMDB's with --seed {metrics['seed']}")
    texts = [text for text, _ in corpus.test]
    if [y for _, y in corpus.test] != label.tolist():
        raise UserError(f"{args.ensemble}: its labels are not those of IMDB's test split")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "label", "rnn", "ngram", "length"])
    for i, (y, a, b, text) in enumerate(zip(label, rnn, ngram, texts)):
        writer.writerow([i, int(y), f"{a:.3f}", f"{b:.3f}", len(tokenize(text))])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "imdb_test_predictions.csv", buf.getvalue())
    rnn_right, ngram_right = (rnn > 0) == label, (ngram > 0) == label
    atomic_write_json(out / "imdb_test_predictions.json", {
        "made_by": ["python benchmarks/ensemble.py --model RUN --ngrams "
                    f"{metrics['ngrams']} --out DIR",
                    "python notebooks/data/make_imdb_predictions.py --ensemble DIR"],
        "run": metrics["run"], "arch": metrics["arch"], "seed": metrics["seed"],
        "max_len": metrics["max_len"], "ngrams": metrics["ngrams"], "weight": metrics["weight"],
        "models": metrics["models"], "max_tokens": MAX_TOKENS,
        "rnn_right_ngram_wrong": examples(texts, label, rnn_right, ~ngram_right, np.abs(rnn)),
        "ngram_right_rnn_wrong": examples(texts, label, ngram_right, ~rnn_right, np.abs(ngram)),
    })
    print(f"wrote {out / 'imdb_test_predictions.csv'} and {out / 'imdb_test_predictions.json'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
