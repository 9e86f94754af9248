"""The results path on tiny data: the n-gram baseline, and `benchmarks/results.py` running
a row list end to end (real runs, one epoch) and printing the README's tables from them."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error, make_sentences
from gluon_rnn import data as gdata

BASELINE = REPO / "benchmarks" / "ngram_baseline.py"


def run_script(script, *args, timeout=600):
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sentences(tmp_path_factory):
    """300 distinct sentences whose label a few sentiment words decide."""
    path = tmp_path_factory.mktemp("results") / "sentences.tsv"
    path.write_text("".join(f"{y}\t{t}\n" for y, t in make_sentences(300, seed=3)),
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------- the n-gram baseline

def test_baseline_scores_the_projects_test_split(sentences, tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    proc = run_script(BASELINE, "--data", sentences, "--seed", 2, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    corpus = gdata.load_corpus(data=str(sentences), seed=2)
    assert result["num_test"] == len(corpus.test) and result["num_train"] == len(corpus.train)
    assert result["split_sha256"] == gdata.split_fingerprint(corpus)
    assert set(result["models"]) == {"tfidf_logreg", "nbsvm"} and result["model"] == "nbsvm"
    assert result["test_accuracy"] == result["models"]["nbsvm"]["test_accuracy"]
    assert result["seconds"] > 0
    # the sentiment words decide the label: a linear model on them beats the majority class
    majority = max(sum(y == c for _, y in corpus.test) for c in (0, 1)) / len(corpus.test)
    for model in result["models"].values():
        assert model["test_accuracy"] > majority, (model, majority)
    assert json.loads((tmp_path / "metrics.json").read_text()) == result


def test_baseline_bad_input_is_one_error_line(tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    assert_one_line_error(run_script(BASELINE, "--data", tmp_path / "missing.tsv"),
                          "missing.tsv: no such file")
