"""benchmarks/ngram_baseline.py's n-gram order: `--ngrams N` reads every n-gram up to N words."""
import json
import subprocess
import sys

import pytest

from conftest import REPO, assert_one_line_error, make_sentences

BASELINE = REPO / "benchmarks" / "ngram_baseline.py"
sys.path.insert(0, str(REPO / "benchmarks"))
import ngram_baseline  # noqa: E402


def run_baseline(*args):
    return subprocess.run([sys.executable, str(BASELINE), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_ngrams_up_to_n_words():
    tokens = ["not", "at", "all", "good"]
    assert ngram_baseline.ngrams(tokens, 1) == tokens
    assert ngram_baseline.ngrams(tokens) == tokens + ["not at", "at all", "all good"]
    assert ngram_baseline.ngrams(tokens, 3)[-2:] == ["not at all", "at all good"]
    assert len(ngram_baseline.ngrams(tokens, 4)) == 4 + 3 + 2 + 1
    assert ngram_baseline.ngrams(["good"], 3) == ["good"]


def test_trigrams_add_features_and_are_recorded(tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    data = tmp_path / "sentences.tsv"
    data.write_text("".join(f"{y}\t{t}\n" for y, t in make_sentences(300, seed=4)),
                    encoding="utf-8")
    found = {}
    for n in (2, 3):
        proc = run_baseline("--data", data, "--ngrams", n)
        assert proc.returncode == 0, proc.stderr[-2000:]
        found[n] = json.loads(proc.stdout.strip().splitlines()[-1])
        assert found[n]["ngrams"] == n
        assert f"{'uni+bi+trigram' if n == 3 else 'uni+bigram'} features" in proc.stderr
    assert found[3]["num_features"] > found[2]["num_features"]
    assert found[3]["split_sha256"] == found[2]["split_sha256"]


def test_ngrams_must_be_positive(tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    assert_one_line_error(run_baseline("--data", tmp_path / "x.tsv", "--ngrams", "0"),
                          "--ngrams must be at least 1")
