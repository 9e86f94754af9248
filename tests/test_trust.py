"""What a careful user relies on: a schedule that trains for any number of epochs, a run that
never deletes a user's files, resumes and device splits that change nothing, and bad input
reported in one line."""
import csv
import json
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error, make_sentences, run_module

SMALL = ["--embed-size", "4", "--hidden-size", "4", "--vocab-size", "60", "--num-buckets", "1",
         "--batch-size", "16"]


@pytest.fixture(scope="module")
def small_tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("trust") / "small.tsv"
    path.write_text("".join(f"{y}\t{t}\n" for y, t in make_sentences(60)), encoding="utf-8")
    return path


def history(out):
    with open(Path(out) / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ the learning-rate schedule

def test_a_long_run_with_a_steep_decay_finishes_and_keeps_a_floor(small_tsv, tmp_path):
    """Without a floor 0.1 ** 39 takes the rate out of float32 (an MXNet traceback)."""
    out = tmp_path / "long"
    proc = run_module("gluon_rnn.train", "--data", small_tsv, "--arch", "mean", *SMALL,
                      "--epochs", "40", "--patience", "40", "--lr-decay", "0.1", "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rates = [float(r["lr"]) for r in history(out)]
    assert len(rates) == 40
    assert rates[:2] == pytest.approx([2e-3, 2e-4])
    assert rates[-1] == pytest.approx(2e-3 * 0.05) and min(rates) == rates[-1]


def test_the_floor_keeps_make_runs_two_rates_and_every_recorded_runs_rates():
    """The floor's default changes no rate that a recorded result trained with: every
    recorded epoch's rate is above it, so the records keep their meaning."""
    from gluon_rnn.train import Config, learning_rate
    cfg = Config()
    assert [learning_rate(cfg, e) for e in (1, 2)] == [cfg.lr, cfg.lr * 0.5]
    checked = 0
    for path in sorted((REPO / "benchmarks" / "results").glob("*.json")):
        for seed in json.loads(path.read_text())["seeds"].values():
            config = seed.get("config")
            if not config:
                continue
            assert "lr_floor" not in config or config["lr_floor"] == cfg.lr_floor
            assert config["lr_decay"] ** (seed["epochs"] - 1) >= cfg.lr_floor, (path, seed)
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("flags, fragment", [
    (["--lr-floor", "0"], "--lr-floor must be in (0, 1]"),
    (["--lr-floor", "1.5"], "--lr-floor must be in (0, 1]"),
    (["--lr", "1e-36", "--lr-floor", "0.01"], "too small for float32"),
    (["--lr", "1e39"], "--lr must be at most 3.4e38"),
    (["--weight-decay", "1e39"], "--weight-decay must be 0 or in"),
    (["--weight-decay", "1e-40"], "--weight-decay must be 0 or in"),
])
def test_rates_outside_float32_are_one_line(small_tsv, tmp_path, flags, fragment):
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *flags, "--out", tmp_path / "o")
    assert_one_line_error(proc, fragment)
    assert not (tmp_path / "o").exists()


def test_a_run_recorded_without_a_floor_resumes_with_the_default(small_tsv, tmp_path):
    out = tmp_path / "old"
    base = ["--data", small_tsv, *SMALL, "--out", out, "--patience", "9"]
    assert run_module("gluon_rnn.train", *base, "--epochs", "1").returncode == 0
    state_path = out / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    del state["config"]["lr_floor"]
    state_path.write_text(json.dumps(state))
    proc = run_module("gluon_rnn.train", "--resume", "--out", out, "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["config"]["lr_floor"] == 0.05


# ------------------------------------------------------------------ a user's files

def user_dir(root):
    """The files of a user's own project, which happen to carry a run's names."""
    root.mkdir()
    (root / "config.json").write_text('{"mine": 1}\n')
    (root / "history.csv").write_text("when,what\n2026,notes\n")
    (root / "checkpoint").mkdir()
    (root / "checkpoint" / "model_v1.ckpt").write_bytes(b"weights of another project")
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_unchanged(before, root):
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("flags", [[], ["--overwrite"]])
def test_a_directory_of_a_users_files_is_refused_and_left_as_it_was(small_tsv, tmp_path, flags):
    root = tmp_path / "mine"
    before = user_dir(root)
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--epochs", "1",
                      "--out", root, *flags)
    assert_one_line_error(proc, "model_v1.ckpt", "not a run's")
    assert_unchanged(before, root)


def test_a_subfolder_in_checkpoint_is_refused_before_anything_is_written(small_tsv, tmp_path):
    root = tmp_path / "mine"
    before = user_dir(root)
    (root / "checkpoint" / "model_v1.ckpt").unlink()
    (root / "checkpoint" / "old").mkdir()
    (root / "checkpoint" / "old" / "notes.txt").write_text("keep me\n")
    del before[root / "checkpoint" / "model_v1.ckpt"]
    before[root / "checkpoint" / "old" / "notes.txt"] = b"keep me\n"
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--epochs", "1",
                      "--out", root)
    assert_one_line_error(proc, "checkpoint/old")
    assert_unchanged(before, root)


def test_a_users_lock_file_is_not_taken_for_a_run_lock(small_tsv, tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / ".lock").write_text("held by my editor\n")
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--out", root)
    assert_one_line_error(proc, ".lock")
    assert (root / ".lock").read_text() == "held by my editor\n"


def test_a_run_refuses_a_finished_run_unless_overwrite_and_keeps_files_it_did_not_write(
        small_tsv, tmp_path):
    out = tmp_path / "run"
    base = ["--data", small_tsv, *SMALL, "--out", out]
    assert run_module("gluon_rnn.train", *base, "--epochs", "2", "--patience", "9").returncode == 0
    (out / "notes.txt").write_text("what I tried\n")
    (out / "checkpoint" / "README").write_text("mine too\n")
    proc = run_module("gluon_rnn.train", *base, "--epochs", "1")
    assert_one_line_error(proc, "--overwrite", "--resume")
    # a run's directory with the user's notes in it: --resume goes on beside them
    proc = run_module("gluon_rnn.train", "--resume", "--out", out, "--epochs", "3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "checkpoint" / "README").read_text() == "mine too\n"
    # --overwrite replaces the run's own files: its checkpoint starts again at epoch 1
    proc = run_module("gluon_rnn.train", *base, "--epochs", "1", "--overwrite")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(history(out)) == 1
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == [
        "README", "epoch-0001.params", "epoch-0001.states", "state.json"]
    assert (out / "notes.txt").read_text() == "what I tried\n"
    proc = run_module("gluon_rnn.train", *base, "--resume", "--overwrite")
    assert_one_line_error(proc, "--overwrite")


def test_what_a_run_killed_before_its_first_epoch_left_needs_no_overwrite(small_tsv, tmp_path):
    out = tmp_path / "run"
    (out / "checkpoint").mkdir(parents=True)
    (out / ".lock").write_text("")
    (out / "checkpoint" / ".epoch-0001.params.tmp123").write_bytes(b"half")
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--epochs", "1",
                      "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (out / "checkpoint" / ".epoch-0001.params.tmp123").exists()


@pytest.fixture(scope="module")
def model(small_tsv, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "run"
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--epochs", "1",
                      "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_evaluate_out_keeps_a_runs_files_and_a_users(model, tmp_path):
    picture = (model / "confusion_matrix.png").read_bytes()
    proc = run_module("gluon_rnn.evaluate", "--model", model, "--out", model)
    assert_one_line_error(proc, "--out")
    assert (model / "confusion_matrix.png").read_bytes() == picture
    assert not (model / "evaluation.json").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "confusion_matrix.png").write_bytes(b"my own figure")
    proc = run_module("gluon_rnn.evaluate", "--model", model, "--out", mine)
    assert_one_line_error(proc, "confusion_matrix.png")
    assert (mine / "confusion_matrix.png").read_bytes() == b"my own figure"
    # a new directory, then the same one again: an evaluation replaces its own two files
    for _ in range(2):
        proc = run_module("gluon_rnn.evaluate", "--model", model, "--out", tmp_path / "ev")
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == [
        "confusion_matrix.png", "evaluation.json"]


# ------------------------------------------------------------------ devices

NO_DROPOUT = ["--dropout", "0", "--lr", "0.01", "--lr-decay", "1", "--patience", "9"]


def last_params(out):
    """The last epoch's parameters (model.params holds the best epoch's, maybe the first)."""
    import mxnet as mx
    state = json.loads((Path(out) / "checkpoint" / "state.json").read_text())
    path = Path(out) / "checkpoint" / state["last_params"]
    return {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items()}


def assert_same_model(a, b):
    import numpy as np
    pa, pb = last_params(a), last_params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_allclose(pa[k], pb[k], rtol=0, atol=1e-6, err_msg=k)
    for ra, rb in zip(history(a), history(b), strict=True):
        assert float(ra["valid_loss"]) == pytest.approx(float(rb["valid_loss"]), abs=1e-5)
    ma, mb = (json.loads((Path(o) / "metrics.json").read_text()) for o in (a, b))
    assert ma["test_accuracy"] == mb["test_accuracy"]
    assert ma["confusion_matrix"] == mb["confusion_matrix"]


@pytest.mark.parametrize("before, after", [("cpu", "cpu:0,cpu:1"), ("cpu:0,cpu:1", "cpu")])
def test_resuming_on_another_device_count_is_the_unbroken_run(small_tsv, tmp_path, before, after):
    """Each device keeps its own Adam state: a device the saved run did not have must get the
    saved state, not a fresh one (which trained another model)."""
    base = ["--data", small_tsv, *SMALL, *NO_DROPOUT]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert run_module("gluon_rnn.train", *base, "--epochs", "3", "--out", whole).returncode == 0
    proc = run_module("gluon_rnn.train", *base, "--epochs", "1", "--ctx", before, "--out", split)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_module("gluon_rnn.train", "--resume", "--out", split, "--epochs", "3",
                      "--ctx", after)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_same_model(whole, split)


def test_what_is_equal_across_device_counts_is_what_help_says(small_tsv, tmp_path):
    """Without dropout one device and two train the same model; with dropout on, the same
    --ctx repeats a run exactly. --help says both."""
    help_text = " ".join(run_module("gluon_rnn.train", "--help").stdout.split())
    assert "only with every dropout 0" in help_text
    assert "the same --seed and --ctx repeat a run" in help_text
    base = ["--data", small_tsv, *SMALL, "--lr", "0.01", "--epochs", "2", "--patience", "9"]
    for name, ctx, dropout in (("one", "cpu", "0"), ("two", "cpu:0,cpu:1", "0"),
                               ("drop-a", "cpu:0,cpu:1", "0.3"), ("drop-b", "cpu:0,cpu:1", "0.3")):
        proc = run_module("gluon_rnn.train", *base, "--ctx", ctx, "--dropout", dropout,
                          "--word-dropout", dropout, "--out", tmp_path / name)
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert_same_model(tmp_path / "one", tmp_path / "two")
    assert_same_model(tmp_path / "drop-a", tmp_path / "drop-b")


# ------------------------------------------------------------------ what counts as the same text

def test_texts_with_the_same_tokens_are_one_text(tmp_path):
    """The model sees tokens: a sentence repeated in another letter case or spacing must
    not reach both training and test."""
    from gluon_rnn.data import load_corpus, tokenize
    rows = [(y, t) for y, t in make_sentences(150)]
    rows += [(y, t.upper().replace(" ", "  ")) for y, t in rows[:50]]
    rows += [(1, "The Da Vinci Code sucked."), (1, "the da vinci code sucked .")]
    path = tmp_path / "cased.tsv"
    path.write_text("".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    for seed in range(5):
        corpus = load_corpus(data=str(path), seed=seed)
        assert corpus.num_distinct == 151 and corpus.duplicates_removed == 51
        seen = {" ".join(tokenize(t)) for t, _ in corpus.train + corpus.valid}
        assert not [t for t, _ in corpus.test if " ".join(tokenize(t)) in seen]


UMICH = REPO.parent / "shared" / "data" / "umich-sentiment-train.txt"


@pytest.mark.skipif(not UMICH.exists(), reason="../shared/data is not beside this checkout")
def test_no_umich_test_sentence_has_the_tokens_of_a_training_one():
    from gluon_rnn.data import load_corpus, tokenize
    corpus = load_corpus(data=str(UMICH), seed=0)
    seen = {" ".join(tokenize(t)) for t, _ in corpus.train + corpus.valid}
    assert len(corpus.test) > 100
    assert not [t for t, _ in corpus.test if " ".join(tokenize(t)) in seen]


def imdb_cached():
    from gluon_rnn.sources import IMDB_CACHE, default_data_dir
    return (default_data_dir() / IMDB_CACHE).is_file()


def test_imdbs_split_is_the_one_every_record_was_measured_on():
    """IMDB's rules compare tokens across its halves, text within its training half: the
    split, and so every IMDB record, stays what it was."""
    from gluon_rnn.data import load_corpus, split_fingerprint, tokenize
    if not imdb_cached():
        pytest.skip("IMDB is not cached on this machine")
    corpus = load_corpus(dataset="imdb", seed=0)
    record = json.loads((REPO / "benchmarks" / "results" / "make-run.json").read_text())
    assert split_fingerprint(corpus) == record["seeds"]["0"]["split_sha256"]
    test = {" ".join(tokenize(t)) for t, _ in corpus.test}
    assert not [t for t, _ in corpus.train + corpus.valid if " ".join(tokenize(t)) in test]


def test_evaluate_on_a_changed_file_says_what_it_has_seen_and_scores_the_rest(
        model, small_tsv, tmp_path):
    from gluon_rnn.data import load_corpus
    corpus = load_corpus(data=str(small_tsv))
    changed = tmp_path / "changed.tsv"
    changed.write_text(small_tsv.read_text() + "1\tan entirely new lovely line\n")
    proc = run_module("gluon_rnn.evaluate", "--model", model, "--data", changed, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = len(corpus.train) + len(corpus.valid)
    rep = json.loads(proc.stdout)
    assert (rep["num_examples"], rep["num_seen"]) == (61, seen)
    assert f"{seen} of the 61 examples are texts the model trained or validated on" in proc.stderr
    assert "--unseen" in proc.stderr
    proc = run_module("gluon_rnn.evaluate", "--model", model, "--data", changed, "--json",
                      "--unseen")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(proc.stdout)
    assert (rep["num_examples"], rep["num_seen"]) == (61 - seen, 0) == (len(corpus.test) + 1, 0)
    # the run's own test split: nothing in it was seen
    proc = run_module("gluon_rnn.evaluate", "--model", model, "--json")
    assert json.loads(proc.stdout)["num_seen"] == 0 and "trained or validated on" not in proc.stderr


# ------------------------------------------------------------------ labels and headers

def test_a_header_of_unknown_names_is_not_an_example(tmp_path):
    path = tmp_path / "quotes.tsv"
    rows = make_sentences(40)
    path.write_text("verdict\tquote\n" + "".join(f"{y}\t{t}\n" for y, t in rows))
    proc = run_module("gluon_rnn.data", "info", "--data", path)
    assert_one_line_error(proc, "quotes.tsv:1", "'verdict'", "--text-column")
    proc = run_module("gluon_rnn.data", "info", "--data", path, "--text-column", "quote",
                      "--label-column", "verdict")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["num_classes"] == 2


def test_labels_that_python_reads_as_one_number_stay_two_classes(tmp_path):
    from gluon_rnn.data import load_corpus
    path = tmp_path / "stars.tsv"
    rows = make_sentences(40)
    path.write_text("".join(f"{['1_0', '10'][y]}\t{t}\n" for y, t in rows))
    assert load_corpus(data=str(path)).label_names == ["10", "1_0"]
    path.write_text("".join(f"{['01', '2'][y]}\t{t}\n" for y, t in rows))
    assert load_corpus(data=str(path)).label_names == ["1", "2"]   # numbers, as before


# ------------------------------------------------------------------ the last tracebacks

@pytest.mark.parametrize("flags", [["--hidden-size", "99999"],
                                   ["--arch", "attention", "--hidden-size", "4",
                                    "--attention-hops", "100000"]])
def test_a_model_too_large_for_mxnet_is_one_line(small_tsv, tmp_path, flags):
    proc = run_module("gluon_rnn.train", "--data", small_tsv, "--embed-size", "4",
                      "--vocab-size", "60", "--batch-size", "2", "--max-len", "4", *flags,
                      "--out", tmp_path / "big")
    assert_one_line_error(proc, "too large", flags[-2])
    assert not (tmp_path / "big").exists()


@pytest.mark.parametrize("layout", ["post", "csv"])
def test_a_file_with_cr_line_endings_reads_like_lf(tmp_path, layout):
    rows = make_sentences(40)
    if layout == "post":
        lines = [f"{y}\t{t}" for y, t in rows]
    else:
        lines = ["label,text"] + [f'{y},"{t}"' for y, t in rows]
    lf, cr = tmp_path / "lf.txt", tmp_path / "cr.txt"
    lf.write_bytes("\n".join(lines).encode() + b"\n")
    cr.write_bytes("\r".join(lines).encode() + b"\r")
    reports = []
    for path in (lf, cr):
        proc = run_module("gluon_rnn.data", "info", "--data", path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        reports.append({k: v for k, v in json.loads(proc.stdout).items() if k not in ("source", "dataset")})
    assert reports[0] == reports[1] and reports[0]["num_examples"] == 40


def test_a_csv_field_over_128_kib_is_read(tmp_path):
    from gluon_rnn.data import load_corpus
    rows = make_sentences(30)
    long_text = " ".join(["wonderful"] * 40000)   # 400 KB
    path = tmp_path / "long.csv"
    path.write_text("label,text\n" + "".join(f'{y},"{t}"\n' for y, t in rows)
                    + f'1,"{long_text}"\n')
    corpus = load_corpus(data=str(path))
    assert max(len(t) for t, _ in corpus.train + corpus.valid + corpus.test) == len(long_text)


# ------------------------------------------------------------------ what a run says

def test_resume_accepts_the_value_the_run_used_spelled_out(model, small_tsv, tmp_path):
    import shutil
    run_dir = tmp_path / "run"
    shutil.copytree(model, run_dir)
    proc = run_module("gluon_rnn.train", "--resume", "--out", run_dir, "--epochs", "1",
                      "--num-layers", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_module("gluon_rnn.train", "--resume", "--out", run_dir, "--num-layers", "2")
    assert_one_line_error(proc, "--num-layers 2 differs", "(1, the mean default)")


@pytest.mark.parametrize("clip, hint", [("5", "clip harder (--clip, now 5)"),
                                        ("0", "turn gradient clipping on (--clip 5)")])
def test_the_divergence_hint_fits_the_clipping_in_use(small_tsv, tmp_path, clip, hint):
    proc = run_module("gluon_rnn.train", "--arch", "rnn", "--data", small_tsv, *SMALL,
                      "--lr", "1e30", "--clip", clip, "--epochs", "3", "--out", tmp_path / "nan")
    assert_one_line_error(proc, "--lr", hint)


def test_early_stopping_is_announced_and_a_resume_says_why_it_does_nothing(small_tsv, tmp_path):
    out = tmp_path / "flat"
    # a rate too small to change any prediction: valid accuracy never improves after epoch 1
    base = ["--data", small_tsv, *SMALL, "--lr", "1e-30", "--lr-decay", "1", "--out", out]
    proc = run_module("gluon_rnn.train", *base, "--epochs", "5", "--patience", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "stopping early after epoch 2: no better valid accuracy for 1 epochs" in proc.stdout
    assert len(history(out)) == 2
    proc = run_module("gluon_rnn.train", "--resume", "--out", out, "--epochs", "8")
    assert "stopping early after epoch 2" in proc.stdout and "raise it" in proc.stdout
    proc = run_module("gluon_rnn.train", "--resume", "--out", out, "--epochs", "2")
    assert "nothing to train (raise --epochs" in proc.stdout
    proc = run_module("gluon_rnn.train", "--resume", "--out", out, "--epochs", "3",
                      "--patience", "9")
    assert proc.returncode == 0 and len(history(out)) == 3


def test_an_interrupted_extension_keeps_the_finished_model_servable(model, tmp_path,
                                                                     monkeypatch, capsys):
    import shutil
    import gluon_rnn.loop as loop
    import gluon_rnn.train as train
    run_dir = tmp_path / "run"
    shutil.copytree(model, run_dir)
    before = run_module("gluon_rnn.predict", "--model", run_dir, "lovely film", "dull plot")
    assert before.returncode == 0, before.stderr[-2000:]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.run(train.Config(resume=True, out=str(run_dir), epochs=3, progress=False),
                  given={"resume", "out", "epochs"})
    monkeypatch.undo()
    assert "interrupted in epoch 2; epoch 1 is saved in" in capsys.readouterr().out
    after = run_module("gluon_rnn.predict", "--model", run_dir, "lovely film", "dull plot")
    assert after.returncode == 0, after.stderr[-2000:]
    assert after.stdout == before.stdout


# ------------------------------------------------------------------ evaluate, as the run did

def fake_imdb(directory, n, seed):
    """A tiny IMDB cache: what `--data-dir` finds instead of the real reviews."""
    directory.mkdir()
    rows = make_sentences(n, seed=seed)
    lines = [json.dumps({"format": "gluon_rnn.imdb/1", "origin": f"made by a test, {n}"})]
    lines += [json.dumps({"split": "train" if i % 2 else "test",
                          "label": ["negative", "positive"][y], "text": t})
              for i, (y, t) in enumerate(rows)]
    (directory / "imdb.jsonl").write_text("\n".join(lines) + "\n")
    return directory


def run_in(cwd, module, *args, env=None):
    import os
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})))


def test_evaluate_reads_the_runs_dataset_cache(tmp_path):
    mine = fake_imdb(tmp_path / "mine", 200, seed=1)
    other = fake_imdb(tmp_path / "other", 120, seed=2)
    out = tmp_path / "run"
    proc = run_in(REPO, "gluon_rnn.train", "--dataset", "imdb", "--data-dir", mine, *SMALL,
                  "--epochs", "1", "--out", out, env={"GLUON_RNN_DATA": str(other)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_in(REPO, "gluon_rnn.evaluate", "--model", out, "--json",
                  env={"GLUON_RNN_DATA": str(other)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(proc.stdout)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (rep["split"], rep["num_examples"]) == ("test", metrics["num_test"])
    assert rep["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_evaluate_split_all_keeps_the_runs_limit(small_tsv, tmp_path):
    out = tmp_path / "run"
    proc = run_module("gluon_rnn.train", "--data", small_tsv, *SMALL, "--epochs", "1",
                      "--limit", "40", "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_module("gluon_rnn.evaluate", "--model", out, "--split", "all", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["num_examples"] == 40


def test_a_relative_data_path_works_from_another_directory(small_tsv, tmp_path):
    import shutil
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(small_tsv, work / "d.tsv")
    proc = run_in(work, "gluon_rnn.train", "--data", "d.tsv", *SMALL, "--epochs", "1",
                  "--patience", "9", "--out", "run")
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_in(tmp_path, "gluon_rnn.evaluate", "--model", "work/run", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["split"] == "test"
    proc = run_in(tmp_path, "gluon_rnn.train", "--resume", "--out", "work/run", "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (work / "d.tsv").rename(work / "moved.tsv")
    proc = run_in(tmp_path, "gluon_rnn.evaluate", "--model", "work/run")
    assert_one_line_error(proc, "d.tsv: no such file", "--data PATH")


def test_a_lock_naming_a_reused_pid_is_not_a_run_in_progress(model, tmp_path):
    """PID 1 runs (it is init), but holds no lock on the file: the run that wrote it died."""
    import shutil
    import socket
    run_dir = tmp_path / "run"
    shutil.copytree(model, run_dir)
    (run_dir / "config.json").unlink()      # as a run killed in its second epoch leaves it
    (run_dir / ".lock").write_text(json.dumps({"pid": 1, "host": socket.gethostname()}))
    proc = run_module("gluon_rnn.evaluate", "--model", run_dir)
    assert_one_line_error(proc, "training has not finished", f"--resume --out {run_dir}")


# ------------------------------------------------------------------ the results script

RESULTS = REPO / "benchmarks" / "results.py"


def script(cwd, path, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, str(path), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_results_tables_do_not_depend_on_the_working_directory(tmp_path):
    if not imdb_cached():   # the tables rebuild IMDB's split: without a cache, a download
        pytest.skip("IMDB is not cached on this machine")
    here = script(REPO, RESULTS, "--tables")
    elsewhere = script(tmp_path, RESULTS, "--tables")
    assert here.returncode == elsewhere.returncode == 0, elsewhere.stderr[-2000:]
    assert here.stdout == elsewhere.stdout


def test_results_relative_runs_are_the_callers_and_rerunning_keeps_a_users_file(
        small_tsv, tmp_path):
    rows = {"tables": {"tiny": "tiny data"},
            "rows": [dict(name="tiny", table="tiny", what="tiny run", seeds=[0],
                          args=["--data", str(small_tsv), "--epochs", "1", *SMALL])]}
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    for _ in range(2):
        proc = script(tmp_path, RESULTS, "--rows", "rows.json", "--runs", "myruns",
                      "--results", "records")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "| tiny run | " in proc.stdout and "not measured" not in proc.stdout
        (tmp_path / "myruns" / "tiny-seed0" / "notes.txt").write_text("mine\n")
    assert (tmp_path / "records" / "tiny.json").exists()
    assert (tmp_path / "myruns" / "tiny-seed0" / "notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize("path", [RESULTS, REPO / "benchmarks" / "ngram_baseline.py"])
def test_script_flag_errors_are_one_line_and_help_shows_defaults(tmp_path, path):
    proc = script(REPO, path, "--no-such-flag")
    assert_one_line_error(proc, "--no-such-flag")
    assert "usage:" not in proc.stderr
    help_text = script(REPO, path, "--help").stdout
    assert help_text.count("default") >= 4, help_text


def test_ngram_baseline_takes_the_encoding_its_error_suggests(tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    path = tmp_path / "cp1252.tsv"
    rows = make_sentences(60)
    path.write_bytes("".join(f"{y}\t{t} caf\u00e9\n" for y, t in rows).encode("cp1252"))
    baseline = REPO / "benchmarks" / "ngram_baseline.py"
    proc = script(REPO, baseline, "--data", path)
    assert_one_line_error(proc, "--encoding")
    proc = script(REPO, baseline, "--data", path, "--encoding", "cp1252")
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("flag", ["--encoding", "--text-column"])
def test_a_file_flag_with_a_named_dataset_is_refused_not_ignored(tmp_path, flag):
    proc = run_module("gluon_rnn.data", "info", "--dataset", "imdb", flag, "cp1252",
                      "--data-dir", tmp_path / "nowhere")
    assert_one_line_error(proc, f"{flag} applies to a --data file")
    assert not (tmp_path / "nowhere").exists()


def test_duplicates_removed_before_a_limit_are_said_to_be(tmp_path):
    path = tmp_path / "twice.tsv"
    rows = make_sentences(60)
    path.write_text("".join(f"{y}\t{t}\n" for y, t in rows + rows))
    proc = run_module("gluon_rnn.train", "--data", path, *SMALL, "--epochs", "1",
                      "--limit", "50", "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("40 train, 5 valid, 5 test, 2 classes (60 duplicates removed from all 120 "
            "examples, before taking --limit 50)") in proc.stdout


def test_a_runs_files_without_its_checkpoint_need_overwrite(small_tsv, tmp_path):
    out = tmp_path / "model-only"
    out.mkdir()
    (out / "config.json").write_text("{}\n")
    (out / "history.csv").write_text("epoch\n")
    base = ["--data", small_tsv, *SMALL, "--epochs", "1", "--out", out]
    proc = run_module("gluon_rnn.train", *base)
    assert_one_line_error(proc, "config.json, history.csv", "--overwrite")
    assert "--resume" not in proc.stderr
    assert (out / "config.json").read_text() == "{}\n"
    proc = run_module("gluon_rnn.train", *base, "--overwrite")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "config.json").read_text())["model"]["arch"] == "mean"


def test_benchmark_scripts_write_only_into_their_own_output(tmp_path):
    """`--out` of the scripts results.py runs follows train's rule: a new or empty directory,
    or the same script's earlier output; a user's metrics.json (or any other file) stops the
    script before it does any work, and is left as it was."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from script_out import claim_out, write_out
    from gluon_rnn.errors import UserError

    assert claim_out(None, "ngram_baseline.py") is None
    out = claim_out(tmp_path / "new", "ngram_baseline.py")
    write_out(out, "ngram_baseline.py", {"test_accuracy": 0.5})
    assert claim_out(out, "ngram_baseline.py") == out            # its own: may be replaced
    with pytest.raises(UserError, match="not written by ensemble.py"):
        claim_out(out, "ensemble.py")
    users = tmp_path / "mine"
    users.mkdir()
    (users / "metrics.json").write_text('{"mine": true}\n')
    with pytest.raises(UserError, match="not written by onnx_int8.py"):
        claim_out(users, "onnx_int8.py")
    (users / "notes.txt").write_text("mine too\n")
    with pytest.raises(UserError, match="holds notes.txt"):
        claim_out(users, "onnx_int8.py")
    # through the command line: one error line, before any work, the user's files untouched
    proc = script(REPO, REPO / "benchmarks" / "onnx_int8.py", "--model", tmp_path / "nowhere",
                  "--out", users)
    assert_one_line_error(proc, "holds notes.txt")
    assert (users / "metrics.json").read_text() == '{"mine": true}\n'
    assert sorted(p.name for p in users.iterdir()) == ["metrics.json", "notes.txt"]
