"""Shared fixtures and helpers: small labelled files the tests write themselves (no network),
one finished run to read back, and the checks every command's bad input must pass."""
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
UMICH = SHARED / "data" / "umich-sentiment-train.txt"

POSITIVE = "good great wonderful lovely superb moving brilliant fun charming delightful".split()
NEGATIVE = "bad awful boring dull terrible weak clumsy tedious painful bland".split()
FILLER = ("the film movie story plot acting was is and a of it this very quite rather "
          "cast scenes ending music script").split()


def make_sentences(n, seed=0):
    """`n` distinct (label, text) pairs whose label is decided by a few sentiment words
    among filler, with lengths from 3 to 30 tokens."""
    rng = random.Random(seed)
    seen, rows = set(), []
    while len(rows) < n:
        label = rng.randrange(2)
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 28))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1),
                         rng.choice(POSITIVE if label else NEGATIVE))
        text = " ".join(words)
        if text not in seen:
            seen.add(text)
            rows.append((label, text))
    return rows


def write_labelled(path, rows):
    """`rows` of (label, text) as the post's format, LABEL<TAB>TEXT, no header; returns `path`."""
    path.write_text("".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    return path


# a model and batches small enough that a run on `tiny_tsv` takes seconds
SMALL = ["--embed-size", "8", "--hidden-size", "8", "--batch-size", "32", "--vocab-size", "200",
         "--num-buckets", "4"]


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory):
    """A 400-line file in the post's format: LABEL<TAB>TEXT, no header."""
    return write_labelled(tmp_path_factory.mktemp("data") / "tiny.tsv", make_sentences(400))


@pytest.fixture(scope="session")
def model_dir(tiny_tsv, tmp_path_factory):
    """A finished one-epoch `lstm` run on `tiny_tsv`, to read back (copy it to change it)."""
    out = tmp_path_factory.mktemp("model") / "run"
    proc = run_module("gluon_rnn.train", "--arch", "lstm", "--data", tiny_tsv, "--epochs", "1",
                      "--out", out, *SMALL)
    assert proc.returncode == 0, proc.stderr
    return out


def history(out):
    """history.csv of the run in `out`: one dict of floats per epoch."""
    rows = (Path(out) / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    return [dict(zip(header, map(float, r.split(",")))) for r in rows[1:]]


def history_without_timings(out):
    """history.csv without the columns that time the epoch: what two runs must agree on."""
    return [{k: v for k, v in row.items() if k not in ("seconds", "tokens_per_second")}
            for row in history(out)]


def run_module(module, *args, timeout=300, **kwargs):
    """`python -m module args...` in a subprocess, from the repository root."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def assert_one_line_error(proc, *fragments):
    """A bad-input failure: non-zero exit, no traceback, one `error:` line naming the fragments."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert lines and lines[-1].startswith("error: "), proc.stderr
    assert len([l for l in lines if l.startswith("error: ")]) == 1, proc.stderr
    for frag in fragments:
        assert frag in lines[-1], (frag, lines[-1])


def sigint_at_default():
    """`preexec_fn` for a command the test will Ctrl-C: SIGINT back at its default action. A
    process started from a background job (`make test &`, a CI runner) inherits SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler at all; a command started
    from a terminal, where Ctrl-C is pressed, has it at the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_exit_2(proc, *fragments):
    """`assert_one_line_error`, with the exit status of bad input: 2."""
    assert_one_line_error(proc, *fragments)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
