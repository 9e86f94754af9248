"""benchmarks/ensemble.py on a tiny run it trains itself: the run's own split is rebuilt, the
recurrent part scores what the run scored, and the weight is chosen on valid."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, make_sentences, run_module
from gluon_rnn import data as gdata

ENSEMBLE = REPO / "benchmarks" / "ensemble.py"
TINY = ["--epochs", "2", "--embed-size", "8", "--hidden-size", "8", "--batch-size", "32",
        "--vocab-size", "200", "--num-buckets", "4"]

sys.path.insert(0, str(REPO / "benchmarks"))
import ensemble  # noqa: E402  (benchmarks/ensemble.py)


def run_ensemble(*args):
    return subprocess.run([sys.executable, str(ENSEMBLE), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data file, run directory) of a tiny `mean` run, seed 1."""
    tmp = tmp_path_factory.mktemp("ensemble")
    data = tmp / "sentences.tsv"
    data.write_text("".join(f"{y}\t{t}\n" for y, t in make_sentences(400, seed=5)),
                    encoding="utf-8")
    out = tmp / "run-seed1"
    proc = run_module("gluon_rnn.train", "--arch", "mean", "--data", data, "--seed", 1,
                      "--out", out, *TINY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return data, out


def test_ensemble_scores_the_runs_own_split(trained, tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    data, run = trained
    proc = run_ensemble("--model", str(run).replace("seed1", "seed{seed}"), "--seed", 1,
                        "--ngrams", 3, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "metrics.json").read_text()) == result
    corpus = gdata.load_corpus(data=str(data), seed=1)
    assert result["split_sha256"] == gdata.split_fingerprint(corpus)
    assert result["num_test"] == len(corpus.test) and result["ngrams"] == 3
    metrics = json.loads((run / "metrics.json").read_text())
    rnn, ngram, both = (result["models"][k] for k in ("rnn", "ngram", "ensemble"))
    # the recurrent part is the run's model on the run's test split: the run's own figure
    assert rnn["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert rnn["valid_accuracy"] == pytest.approx(metrics["valid_accuracy"], abs=1e-6)
    # weights 0 and 1 are among the choices: the mix is at least as good on valid as either
    assert 0 <= result["weight"] <= 1 and both["weight"] == result["weight"]
    assert both["valid_accuracy"] >= max(rnn["valid_accuracy"], ngram["valid_accuracy"])
    assert result["test_accuracy"] == both["test_accuracy"]
    assert result["train_seconds"] == pytest.approx(metrics["train_seconds"] + ngram["seconds"],
                                                    abs=1e-2)
    # each test text's log-odds, in split order: the accuracies follow from them
    table = np.loadtxt(tmp_path / "test_predictions.csv", delimiter=",", skiprows=1)
    assert table.shape == (len(corpus.test), 4)
    assert (table[:, 1] == [y for _, y in corpus.test]).all()
    for column, part in ((2, rnn), (3, ngram)):
        assert np.mean((table[:, column] > 0) == table[:, 1]) == pytest.approx(
            part["test_accuracy"], abs=1e-6)


def test_ensemble_bad_input_is_one_error_line(trained, tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    _, run = trained
    assert_one_line_error(run_ensemble("--model", run, "--seed", 2), "trained with --seed 1")
    assert_one_line_error(run_ensemble("--model", tmp_path / "none"), "no such model directory")
    assert_one_line_error(run_ensemble("--model", "runs/x-seed{seed}"), "give --seed")
    assert_one_line_error(run_ensemble("--model", run, "--ngrams", 0), "--ngrams")
    assert not (tmp_path / "none").exists()


def test_the_weight_is_chosen_on_valid():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, size=400)
    right = np.where(y == 1, 2.0, -2.0)            # always right
    noise = rng.normal(size=400)                   # right half the time
    assert ensemble.choose_weight(right, noise, y) == (1.0, 1.0)
    weight, acc = ensemble.choose_weight(noise, right, y)
    assert weight < 0.5 and acc == 1.0
    # among equally accurate mixes the more confident, lower log-loss one wins
    assert ensemble.choose_weight(right, 0.1 * right, y)[0] == 1.0
    assert ensemble.log_loss(right, y) < ensemble.log_loss(0.1 * right, y)


def test_notebook_data_maker_says_what_is_missing(tmp_path):
    maker = REPO / "notebooks" / "data" / "make_imdb_predictions.py"
    proc = subprocess.run([sys.executable, str(maker), "--ensemble", str(tmp_path),
                           "--out", str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert_one_line_error(proc, "metrics.json: missing")
    assert not (tmp_path / "out").exists()
