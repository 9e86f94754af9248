"""Bad input, crash-safe checkpoints, --resume, Ctrl-C and NaN guards, at the CLI level."""
import json
import os
import pickle
import pickletools
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import (REPO, SMALL, assert_one_line_error, history_without_timings,
                      make_sentences, run_module, sigint_at_default, write_labelled)

# dropout on, so that a resumed run must replay its masks too
DROPOUT = [*SMALL, "--dropout", "0.2"]


def copy_model(model_dir, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(model_dir, dst)
    return dst


# ------------------------------------------------------------------- bad input, every CLI

@pytest.mark.parametrize("content, where", [
    (None, "no such file"),
    (b"", "empty"),
    (b"1\tgood film\n\xff\xfe bad bytes\n", "tiny.tsv:2"),
    (b"1\tgood film\nno label here\n", "tiny.tsv:2"),
])
def test_bad_training_file(tmp_path, content, where):
    path = tmp_path / "tiny.tsv"
    if content is not None:
        path.write_bytes(content)
    proc = run_module("gluon_rnn.train", "--arch", "lstm", "--data", path, "--out", tmp_path / "o")
    assert_one_line_error(proc, "tiny.tsv", where)
    assert not (tmp_path / "o").exists(), "nothing may be written for bad input"


def test_unknown_column(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\n\"fine\",1\n\"poor\",0\n", encoding="utf-8")
    proc = run_module("gluon_rnn.train", "--data", path, "--text-column", "body",
                      "--label-column", "stars")
    assert_one_line_error(proc, "reviews.csv", "body")


@pytest.mark.parametrize("damage, fragment", [
    ("missing_params", "model.params"),
    ("truncated_params", "model.params"),
    ("missing_vocab", "vocab.json"),
    ("bad_config", "config.json"),
    ("unknown_arch", "config.json"),
    ("bad_truncate", "truncate"),
    ("no_dir", "no such model directory"),
])
def test_damaged_model_directory(model_dir, tmp_path, damage, fragment):
    model = copy_model(model_dir, tmp_path)
    if damage == "missing_params":
        (model / "model.params").unlink()
    elif damage == "truncated_params":
        data = (model / "model.params").read_bytes()
        (model / "model.params").write_bytes(data[: len(data) // 2])
    elif damage == "missing_vocab":
        (model / "vocab.json").unlink()
    elif damage == "bad_config":
        (model / "config.json").write_text("{ not json")
    elif damage == "unknown_arch":
        cfg = json.loads((model / "config.json").read_text())
        cfg["model"]["arch"] = "evil"
        (model / "config.json").write_text(json.dumps(cfg))
    elif damage == "bad_truncate":
        cfg = json.loads((model / "config.json").read_text())
        cfg["truncate"] = "middle"
        (model / "config.json").write_text(json.dumps(cfg))
    elif damage == "no_dir":
        model = tmp_path / "nowhere"
    for module in ("gluon_rnn.predict", "gluon_rnn.evaluate"):
        extra = ["some text"] if module.endswith("predict") else ["--data", model_dir / ".." / "x"]
        proc = run_module(module, "--model", model, *extra)
        assert_one_line_error(proc, fragment)


def test_predict_needs_texts(model_dir):
    assert_one_line_error(run_module("gluon_rnn.predict", "--model", model_dir), "nothing to predict")


def test_predict_empty_and_unknown_texts_are_finite_and_flagged(model_dir):
    proc = run_module("gluon_rnn.predict", "--model", model_dir, "--json", "", "qqq zzz xxx")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [r["flag"] for r in rows] == ["empty text", "no known words"]
    assert all(0 < r["probability"] <= 1 for r in rows)


def test_existing_run_is_not_overwritten(model_dir, tiny_tsv):
    proc = run_module("gluon_rnn.train", "--arch", "lstm", "--data", tiny_tsv, "--out", model_dir)
    assert_one_line_error(proc, "--resume")


def test_resume_without_checkpoint(tmp_path, tiny_tsv):
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--out", tmp_path / "x", "--resume")
    assert_one_line_error(proc, "nothing to resume")


# ------------------------------------------------------------------- training failures

def test_nan_loss_stops_with_epoch_and_batch(tiny_tsv, tmp_path):
    proc = run_module("gluon_rnn.train", "--arch", "rnn", "--data", tiny_tsv, "--lr", "1e30",
                      "--clip", "0", "--epochs", "3", "--out", tmp_path / "nan", *DROPOUT)
    assert_one_line_error(proc, "epoch", "batch", "--lr")


def is_pickle(data):
    """Whether `data` parses as a whole pickle stream (read, never run)."""
    try:
        ops = list(pickletools.genops(data))
    except Exception:   # an unknown opcode or a stream cut short: not a pickle
        return False
    return bool(ops) and ops[-1][0].name == "STOP"


class RunsCode:
    """Unpickled, it creates the file `path`: the sign that loading ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_run_writes_no_pickle_and_loading_one_runs_no_code(model_dir, tiny_tsv, tmp_path):
    """Loading never executes code: no file a run writes is a pickle, and a pickle put in
    place of the model's parameters or the checkpoint's optimizer state is refused in one
    line naming where it is, without running what it carries."""
    written = [p for p in model_dir.rglob("*") if p.is_file()]
    assert {"model.params", "epoch-0001.states", "config.json"} <= {p.name for p in written}
    assert [p.name for p in written if is_pickle(p.read_bytes())] == []
    ran = tmp_path / "code-ran"
    payload = pickle.dumps(RunsCode(ran))
    assert is_pickle(payload)
    model = copy_model(model_dir, tmp_path)
    (model / "model.params").write_bytes(payload)
    for module, extra in (("gluon_rnn.predict", ["a fine film"]),
                          ("gluon_rnn.evaluate", ["--data", tiny_tsv])):
        assert_one_line_error(run_module(module, "--model", model, *extra), "model.params")
    shutil.rmtree(model)
    model = copy_model(model_dir, tmp_path)
    (model / "checkpoint" / "epoch-0001.states").write_bytes(payload)
    proc = run_module("gluon_rnn.train", "--resume", "--epochs", "2", "--out", model)
    assert_one_line_error(proc, f"{model / 'checkpoint'}: damaged checkpoint")
    assert not ran.exists(), "loading a pickle ran its code"


# ------------------------------------------------------------------- kill -9, Ctrl-C, resume

@pytest.fixture(scope="module")
def bigger_tsv(tmp_path_factory):
    return write_labelled(tmp_path_factory.mktemp("big") / "big.tsv",
                          make_sentences(3000, seed=1))


def _start_training(data, out, epochs):
    return subprocess.Popen(
        [sys.executable, "-m", "gluon_rnn.train", "--arch", "lstm", "--data", str(data),
         "--epochs", str(epochs), "--out", str(out), "--patience", "9", *DROPOUT],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=sigint_at_default)


def _wait_for_epoch(out, epoch, proc, timeout=240):
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= epoch:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("training made no progress")


def test_kill_9_then_resume_equals_unbroken_run(bigger_tsv, tmp_path):
    unbroken = tmp_path / "unbroken"
    proc = run_module("gluon_rnn.train", "--arch", "lstm", "--data", bigger_tsv, "--epochs", "3",
                      "--out", unbroken, "--patience", "9", *DROPOUT)
    assert proc.returncode == 0, proc.stderr

    killed = tmp_path / "killed"
    proc = _start_training(bigger_tsv, killed, 3)
    _wait_for_epoch(killed, 1, proc)
    time.sleep(0.3)  # into epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # what a kill in the middle of a save leaves (the kill above may land between saves):
    # half-written files under the temporary names, which resuming must never read
    for name in (".epoch-0002.params.tmp99999", ".epoch-0002.states.tmp99999"):
        (killed / "checkpoint" / name).write_bytes(b"half a file")
    (killed / "checkpoint" / ".state.json.tmp99999").write_text(
        '{"epoch": 2, "last_params": ".epoch-0002.params.tmp99999"')
    resumed = run_module("gluon_rnn.train", "--arch", "lstm", "--data", bigger_tsv,
                         "--epochs", "3", "--out", killed, "--patience", "9", "--resume",
                         *DROPOUT)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    metrics = json.loads((killed / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] in (1, 2) and metrics["epochs_completed"] == 3
    assert history_without_timings(killed) == history_without_timings(unbroken)
    reference = json.loads((unbroken / "metrics.json").read_text())
    assert metrics["test_accuracy"] == reference["test_accuracy"]
    assert metrics["final_param_checksum"] == reference["final_param_checksum"]
    # the next save cleans the temporary files away
    assert [p.name for p in (killed / "checkpoint").iterdir() if ".tmp" in p.name] == []


def test_ctrl_c_between_epochs_still_says_how_to_resume(tiny_tsv, tmp_path, monkeypatch,
                                                       capsys):
    """Ctrl-C after epoch 1's checkpoint, while history.csv is written: the committed epoch
    is kept and named, as for an interrupt during training."""
    import gluon_rnn.loop as loop
    import gluon_rnn.train as train

    def interrupted(history):
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, "history_csv", interrupted)
    out = tmp_path / "between"
    # the interrupt goes on to the command line's handler (errors.run_cli), which exits 130
    with pytest.raises(KeyboardInterrupt):
        train.run(train.Config(arch="lstm", data=str(tiny_tsv), epochs=3, out=str(out),
                               embed_size=8, hidden_size=8, vocab_size=200, progress=False))
    assert f"epoch 1 is saved in {out}: continue with --resume" in capsys.readouterr().out
    assert json.loads((out / "checkpoint" / "state.json").read_text())["epoch"] == 1


def test_ctrl_c_saves_complete_epochs_and_exits_cleanly(bigger_tsv, tmp_path):
    out = tmp_path / "interrupted"
    proc = _start_training(bigger_tsv, out, 50)
    _wait_for_epoch(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "interrupted", stderr
    assert "--resume" in stdout
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] >= 1
    assert (out / "checkpoint" / state["last_params"]).exists()
