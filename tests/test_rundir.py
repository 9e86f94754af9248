"""What a run leaves behind can be trusted: --resume continues the saved run, evaluate scores
the run's own test split, a directory is a model only once complete, one run at a time."""
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import SMALL, assert_exit_2, make_sentences, run_module, write_labelled

from gluon_rnn.train import Config


def history_rows(out):
    return (out / "history.csv").read_text().splitlines()[1:]


@pytest.fixture(scope="module")
def lstm_run(tiny_tsv, tmp_path_factory):
    """An lstm run of 2 epochs with a seed and a limit: nothing about it is a default."""
    out = tmp_path_factory.mktemp("r") / "lstm"
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--arch", "lstm", "--epochs", "2",
                      "--seed", "3", "--limit", "300", "--patience", "9", "--out", out, *SMALL)
    assert proc.returncode == 0, proc.stderr
    return out


# ------------------------------------------------------------------- --resume

def test_resume_takes_the_saved_settings(lstm_run, tiny_tsv, tmp_path):
    """The issue's case: `--resume --epochs 3` without the other flags continues the lstm run
    (seed, limit, sizes), not a new default `mean` model; the data may be a copy elsewhere."""
    out = tmp_path / "lstm"
    shutil.copytree(lstm_run, out)
    copy = tmp_path / "moved.tsv"
    shutil.copy(tiny_tsv, copy)
    proc = run_module("gluon_rnn.train", "--resume", "--epochs", "3", "--data", copy,
                      "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stdout and "epoch 3/3" in proc.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["arch"] == "lstm" and config["model"]["hidden_size"] == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["seed"] == 3 and metrics["config"]["limit"] == 300
    assert metrics["resumed_from_epoch"] == 2 and metrics["epochs_completed"] == 3
    assert history_rows(out)[:2] == history_rows(lstm_run)[:2]
    assert metrics["num_train"] + metrics["num_valid"] + metrics["num_test"] == 300


@pytest.mark.parametrize("flag, value, shown", [
    ("--arch", "gru", "--arch gru differs from the run being resumed (lstm)"),
    ("--hidden-size", "16", "--hidden-size 16 differs from the run being resumed (8)"),
    ("--seed", "0", "--seed 0 differs from the run being resumed (3)"),
    ("--limit", "100", "--limit 100 differs from the run being resumed (300)"),
    ("--max-len", "5", "--max-len 5 differs from the run being resumed (400)"),
    ("--no-dedup", None, "--no-dedup on differs from the run being resumed (off)"),
    ("--lr", "0.5", f"--lr 0.5 differs from the run being resumed ({Config().lr})"),
])
def test_resume_refuses_a_flag_that_changes_the_run(lstm_run, flag, value, shown):
    before = {p.name: p.stat().st_mtime_ns for p in lstm_run.rglob("*")}
    proc = run_module("gluon_rnn.train", "--resume", "--epochs", "3", "--out", lstm_run, flag,
                      *([value] if value else []))
    assert_exit_2(proc, shown)
    assert {p.name: p.stat().st_mtime_ns for p in lstm_run.rglob("*")} == before


def test_resume_refuses_other_data(lstm_run, tiny_tsv, tmp_path):
    other = write_labelled(tmp_path / "other.tsv", make_sentences(400, seed=9))
    proc = run_module("gluon_rnn.train", "--resume", "--epochs", "3", "--data", other,
                      "--out", lstm_run)
    assert_exit_2(proc, f"--data {other} is not the data the run in {lstm_run} was trained on",
                  "other.tsv", "tiny.tsv")
    # the same path, edited since: refused too
    out = tmp_path / "lstm"
    shutil.copytree(lstm_run, out)
    edited = tmp_path / "edited.tsv"
    shutil.copy(tiny_tsv, edited)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    state["config"]["data"] = str(edited)
    (out / "checkpoint" / "state.json").write_text(json.dumps(state))
    with open(edited, "a") as f:
        f.write("1\tone more very good line\n")
    assert_exit_2(run_module("gluon_rnn.train", "--resume", "--epochs", "3", "--out", out),
                  "is not the data the run", "edited.tsv")


def test_resume_config_keeps_given_changes_only_where_allowed():
    from gluon_rnn.checkpoint import resume_config
    from gluon_rnn.errors import UserError
    from gluon_rnn.train import Config
    saved = {**vars(Config(arch="lstm", data="a.tsv", seed=3, epochs=2, patience=2)),
             "out": "x"}
    cfg = resume_config(Config(epochs=5, patience=4, out="x", resume=True, progress=False),
                        {"epochs", "patience", "out", "resume"}, saved)
    assert (cfg.arch, cfg.seed, cfg.data, cfg.epochs, cfg.patience) == ("lstm", 3, "a.tsv", 5, 4)
    assert cfg.resume and not cfg.progress   # this process's, not the saved run's
    # a value equal to the saved one may be repeated
    cfg = resume_config(Config(arch="lstm", out="x", resume=True), {"arch", "out", "resume"},
                        saved)
    assert cfg.arch == "lstm" and cfg.epochs == 2
    with pytest.raises(UserError, match="--batch-size 8 differs .* [(]64[)]"):
        resume_config(Config(batch_size=8, out="x", resume=True), {"batch_size", "out"}, saved)


def test_what_resume_may_change_is_each_fields_own_rule():
    """The fields --resume may change are marked so in their own metadata, next to their
    help: epochs, patience, ctx and data_dir, and resume_config lets exactly those differ."""
    import dataclasses
    from gluon_rnn.checkpoint import resume_config
    from gluon_rnn.errors import UserError
    from gluon_rnn.options import RESUME_MAY_CHANGE, Config, resume_rule
    fields = dataclasses.fields(Config)
    may = {f.name for f in fields if resume_rule(f) == RESUME_MAY_CHANGE}
    assert may == {"epochs", "patience", "ctx", "data_dir"}
    saved = vars(Config(ctx="cpu:0", data_dir="/old"))
    cfg = resume_config(Config(ctx="cpu:0,cpu:1", data_dir="/new", out="x", resume=True),
                        {"ctx", "data_dir", "out", "resume"}, saved)
    assert (cfg.ctx, cfg.data_dir) == ("cpu:0,cpu:1", "/new")
    with pytest.raises(UserError, match="--max-len 9 differs"):
        resume_config(Config(max_len=9, out="x", resume=True), {"max_len"}, saved)


def test_a_checkpoint_that_records_no_settings_is_damaged(lstm_run, tiny_tsv, tmp_path):
    """A resume is checked against the run's settings and data: without them it would go
    on unchecked, so it stops in one line naming the file, and writes nothing."""
    out = tmp_path / "damaged"
    shutil.copytree(lstm_run, out)
    path = out / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    del state["config"]
    path.write_text(json.dumps(state))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*"))
    proc = run_module("gluon_rnn.train", "--resume", "--data", tiny_tsv, "--epochs", "3",
                      "--out", out, *SMALL)
    assert_exit_2(proc, str(path), "damaged checkpoint (no 'config')")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*")) == before


def test_resume_needs_the_run_directory(tiny_tsv):
    from gluon_rnn.errors import UserError
    from gluon_rnn.train import main
    with pytest.raises(UserError, match="--resume needs --out DIR"):
        main(["--resume", "--data", str(tiny_tsv)])


# ------------------------------------------------------------------- evaluate

def test_evaluate_scores_the_runs_own_test_split(lstm_run, tiny_tsv):
    """The issue's case: trained with --seed 3 --limit 300, evaluate with only --data
    rebuilds that split (not seed 0 and every line), and prints the run's test accuracy."""
    metrics = json.loads((lstm_run / "metrics.json").read_text())
    for args in (["--data", tiny_tsv], []):
        proc = run_module("gluon_rnn.evaluate", "--model", lstm_run, *args, "--json")
        assert proc.returncode == 0, proc.stderr
        rep = json.loads(proc.stdout)
        assert rep["split"] == "test" and rep["num_examples"] == metrics["num_test"]
        assert rep["accuracy"] == metrics["test_accuracy"]
        assert rep["confusion_matrix"] == metrics["confusion_matrix"]
    text = run_module("gluon_rnn.evaluate", "--model", lstm_run, "--data", tiny_tsv)
    assert f"{metrics['test_accuracy']:.4f}" in text.stdout, text.stdout


def test_evaluate_on_other_data_scores_all_of_it(lstm_run, tmp_path):
    other = write_labelled(tmp_path / "other.tsv", make_sentences(50, seed=9))
    proc = run_module("gluon_rnn.evaluate", "--model", lstm_run, "--data", other, "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["split"] == "all" and rep["num_examples"] == 50
    assert "not the data this model was trained on" in proc.stderr
    assert_exit_2(run_module("gluon_rnn.evaluate", "--model", lstm_run, "--data", other,
                             "--split", "test"),
                  "other.tsv", "not the data this model was trained on", "--split all")


# ------------------------------------------------------------------- complete or not

def test_an_interrupted_run_is_no_model(tiny_tsv, tmp_path, monkeypatch):
    """Ctrl-C after epoch 1 leaves a checkpoint, not a model: predict and evaluate say so in
    one line and point at --resume; the resumed run then makes it one."""
    import gluon_rnn.loop as loop
    import gluon_rnn.train as train

    def interrupted(history):
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, "history_csv", interrupted)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        train.run(train.Config(arch="lstm", data=str(tiny_tsv), epochs=2, out=str(out),
                               embed_size=8, hidden_size=8, vocab_size=200, progress=False))
    monkeypatch.undo()
    assert not (out / "config.json").exists() and not (out / ".lock").exists()
    for module, extra in (("gluon_rnn.predict", ["fine film"]),
                          ("gluon_rnn.evaluate", ["--data", tiny_tsv])):
        assert_exit_2(run_module(module, "--model", out, *extra),
                      "training has not finished", f"--resume --out {out}")
    proc = run_module("gluon_rnn.train", "--resume", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert run_module("gluon_rnn.predict", "--model", out, "fine film").returncode == 0


def test_model_files_are_written_before_config_json(tiny_tsv, tmp_path, monkeypatch):
    """config.json is the last file a run writes: while the model is written, it is absent."""
    import gluon_rnn.run as run
    import gluon_rnn.train as train
    seen = []
    real_write = run.atomic_write_json

    def spy(path, obj):
        seen.append((path.name, (path.parent / "config.json").exists()))
        return real_write(path, obj)
    monkeypatch.setattr(run, "atomic_write_json", spy)
    out = tmp_path / "run"
    train.run(train.Config(arch="mean", data=str(tiny_tsv), epochs=1, out=str(out),
                           embed_size=8, hidden_size=8, vocab_size=200, progress=False))
    assert ("metrics.json", False) in seen
    names = {p.name for p in out.iterdir()}
    assert {"model.params", "vocab.json", "model-symbol.json", "config.json"} <= names
    assert (out / "config.json").stat().st_mtime_ns >= max(
        (out / n).stat().st_mtime_ns for n in ("model.params", "vocab.json", "metrics.json"))


# ------------------------------------------------------------------- one run at a time

def test_a_second_run_on_a_held_directory_fails_at_once(tiny_tsv, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        held.flush()
        proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--epochs", "1", "--out", out,
                          *SMALL)
        assert_exit_2(proc, str(out), "in use by another run", f"pid {os.getpid()}")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
        assert_exit_2(run_module("gluon_rnn.predict", "--model", out, "fine"),
                      "still training", f"pid {os.getpid()}")


def test_a_stale_lock_of_a_dead_run_is_taken_over(tiny_tsv, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    out = tmp_path / "stale"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": int(dead), "host": "here"}))
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--epochs", "1", "--out", out,
                      *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert (out / "config.json").exists() and not (out / ".lock").exists()


def test_two_runs_at_once_one_wins_and_the_directory_is_not_mixed(tiny_tsv, tmp_path):
    out = tmp_path / "race"
    cmd = [sys.executable, "-m", "gluon_rnn.train", "--data", str(tiny_tsv), "--epochs", "2",
           "--out", str(out), *SMALL]
    procs = [subprocess.Popen(cmd + ["--arch", arch], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for arch in ("gru", "lstm")]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    loser = next(err for p, _, err in results if p.returncode != 0)
    assert codes == [0, 2], [(p.returncode, err[-300:]) for p, _, err in results]
    # at once, or (on a starved machine) after the winner has finished: never mixed
    assert "Traceback" not in loser, loser
    assert "in use by another run" in loser or "holds a run already" in loser, loser
    winner = next(arch for (p, _, _), arch in zip(results, ("gru", "lstm")) if p.returncode == 0)
    assert json.loads((out / "config.json").read_text())["model"]["arch"] == winner
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["config"]["arch"] == winner
    assert (out / "checkpoint" / state["last_params"]).exists()
