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


def test_several_runs_share_one_mix(trained, tmp_path):
    """Two runs and the n-gram model: one weight per part, chosen together on valid; one
    column per part in the predictions; runs of another split refused."""
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    data, run = trained
    other = tmp_path / "lstm-seed1"
    proc = run_module("gluon_rnn.train", "--arch", "lstm", "--data", data, "--seed", 1,
                      "--out", other, *TINY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "out"
    proc = run_ensemble("--model", run, other, "--seed", 1, "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    parts = result["models"]
    assert set(parts) == {"rnn1", "rnn2", "ngram", "ensemble"}
    assert parts["rnn1"]["arch"] == "mean" and parts["rnn2"]["arch"] == "lstm"
    weights = result["weights"]
    assert list(weights) == ["rnn1", "rnn2", "ngram"]
    assert sum(weights.values()) == pytest.approx(1)
    assert result["weight"] == pytest.approx(weights["rnn1"] + weights["rnn2"])
    # every single part and every pair is among the mixes: valid can only be as good or better
    assert parts["ensemble"]["valid_accuracy"] >= max(
        parts[k]["valid_accuracy"] for k in ("rnn1", "rnn2", "ngram"))
    for k in ("rnn1", "rnn2"):
        assert parts[k]["test_accuracy"] == pytest.approx(json.loads(
            ((run if k == "rnn1" else other) / "metrics.json").read_text())["test_accuracy"],
            abs=1e-6)
    with open(out / "test_predictions.csv") as f:
        assert f.readline().strip() == "index,label,rnn1,rnn2,ngram"
    table = np.loadtxt(out / "test_predictions.csv", delimiter=",", skiprows=1)
    mix = table[:, 2:] @ np.array(list(weights.values()))
    assert np.mean((mix > 0) == table[:, 1]) == pytest.approx(result["test_accuracy"], abs=2e-3)

    seed2 = tmp_path / "mean-seed2"
    proc = run_module("gluon_rnn.train", "--arch", "mean", "--data", data, "--seed", 2,
                      "--out", seed2, *TINY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_one_line_error(run_ensemble("--model", run, seed2), "trained on another split")


def test_simplex_holds_every_mix_once():
    pairs = list(ensemble.simplex(2))
    assert pairs[0] == (0, 1) and pairs[-1] == (1, 0) and len(pairs) == 21
    triples = list(ensemble.simplex(3))
    assert len(triples) == len(set(triples)) == 231        # (20 + 2 choose 2)
    assert all(abs(sum(t) - 1) < 1e-9 and min(t) >= 0 for t in triples)


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
