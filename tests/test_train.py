"""The shared loop and the train / predict / evaluate command lines, on tiny data."""
import json

import numpy as np
import pytest

from conftest import REPO, SMALL, UMICH, history, history_without_timings, run_module
from gluon_rnn.train import Config, run

TINY = dict(embed_size=16, hidden_size=16, batch_size=32, vocab_size=200, lr=0.02,
            dropout=0.0, num_buckets=4, progress=False)
RUN_FILES = ["config.json", "vocab.json", "model.params", "model-symbol.json",
             "model-0000.params", "metrics.json", "history.csv", "learning_curves.png",
             "confusion_matrix.png"]


@pytest.fixture(scope="module")
def trained(tiny_tsv, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mean"
    metrics = run(Config(arch="mean", data=str(tiny_tsv), epochs=4, out=str(out), **TINY))
    return out, metrics


def test_loop_learns_and_writes_every_file(trained):
    out, metrics = trained
    for name in RUN_FILES:
        assert (out / name).stat().st_size > 0, name
    history = [l.split(",") for l in (out / "history.csv").read_text().splitlines()]
    header, rows = history[0], history[1:]
    losses = [float(r[header.index("train_loss")]) for r in rows]
    assert len(rows) == metrics["epochs_completed"] == 4
    assert losses[-1] < losses[0], losses
    assert metrics["test_accuracy"] > 0.8, metrics["test_accuracy"]
    on_disk = json.loads((out / "metrics.json").read_text())
    for key in ("arch", "dataset", "source", "num_train", "num_valid", "num_test",
                "num_classes", "label_names", "duplicates_removed", "epochs_completed",
                "best_epoch", "test_accuracy", "test_loss", "valid_accuracy", "macro_f1",
                "train_seconds", "tokens_per_second", "padding_fraction", "param_count",
                "seed", "context", "num_workers", "versions"):
        assert key in on_disk, key
    assert on_disk["num_train"] + on_disk["num_valid"] + on_disk["num_test"] == 400
    assert 0 <= on_disk["padding_fraction"] < 1


def test_best_epoch_parameters_are_the_ones_saved(trained):
    """The test set is scored with the best validation epoch's parameters, and
    model.params holds exactly those."""
    import mxnet as mx
    out, metrics = trained
    saved = mx.nd.load(str(out / "model.params"))
    best = mx.nd.load(str(out / "checkpoint" / f"epoch-{metrics['best_epoch']:04d}.params"))
    assert saved.keys() == best.keys()
    for k in saved:
        np.testing.assert_array_equal(saved[k].asnumpy(), best[k].asnumpy())


def test_same_seed_same_metrics(tiny_tsv, tmp_path):
    a = run(Config(arch="lstm", data=str(tiny_tsv), epochs=2, out=str(tmp_path / "a"), **TINY))
    b = run(Config(arch="lstm", data=str(tiny_tsv), epochs=2, out=str(tmp_path / "b"), **TINY))
    assert history_without_timings(tmp_path / "a") == history_without_timings(tmp_path / "b")
    assert a["test_accuracy"] == b["test_accuracy"] and a["test_loss"] == b["test_loss"]


def test_predict_reads_the_directory_back(trained):
    out, _ = trained
    proc = run_module("gluon_rnn.predict", "--model", out, "--json",
                      "wonderful superb charming film", "awful tedious boring plot", "",
                      "zzzz qqqq")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [r["label"] for r in rows[:2]] == ["1", "0"]
    for r in rows:
        assert np.isfinite(r["probability"]) and 0 < r["probability"] <= 1
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-5
    assert rows[0]["flag"] is None
    assert rows[2]["flag"] == "empty text" and rows[3]["flag"] == "no known words"


def test_predict_from_stdin_plain_text(trained):
    out, _ = trained
    proc = run_module("gluon_rnn.predict", "--model", out, "--file", "-",
                      input="lovely delightful\nterrible dull\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] == "1" and lines[1].split("\t")[0] == "0"


def test_evaluate_matches_training_test_score(trained, tiny_tsv, tmp_path):
    out, metrics = trained
    proc = run_module("gluon_rnn.evaluate", "--model", out, "--data", tiny_tsv, "--json",
                      "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["num_examples"] == metrics["num_test"]
    assert rep["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert set(rep["per_class"]) == {"0", "1"}
    assert (tmp_path / "evaluation.json").exists() and (tmp_path / "confusion_matrix.png").exists()
    text = run_module("gluon_rnn.evaluate", "--model", out, "--data", tiny_tsv, "--split", "all")
    assert text.returncode == 0 and "confusion matrix" in text.stdout and "400 examples" in text.stdout


@pytest.mark.parametrize("run_dir", ["trained", "attention_run"])
def test_the_runs_export_gives_the_models_logits(run_dir, request):
    """model-symbol.json + model-0000.params, as the run wrote them (after training, for
    attention through its penalty's forward), give the logits alone of the model that
    config.json, vocab.json and model.params rebuild. That the export loads without
    gluon_rnn is test_blocks' test_export_loads_in_a_process_without_gluon_rnn."""
    import mxnet as mx
    from gluon_rnn.model_io import load_model_dir
    out = request.getfixturevalue(run_dir)
    out = out[0] if isinstance(out, tuple) else out
    net, _, _ = load_model_dir(out)
    exported = mx.gluon.SymbolBlock.imports(str(out / "model-symbol.json"), ["data0", "data1"],
                                            str(out / "model-0000.params"))
    tokens, valid_length = mx.nd.array([[5, 6, 7, 0], [8, 9, 0, 0]]), mx.nd.array([3, 2])
    logits = exported(tokens, valid_length)
    assert isinstance(logits, mx.nd.NDArray) and logits.shape == (2, 2)   # logits alone
    np.testing.assert_allclose(logits.asnumpy(), net(tokens, valid_length).asnumpy(),
                               rtol=1e-5, atol=1e-6)


def test_cli_prints_what_the_run_records(tiny_tsv, tmp_path):
    """One line per epoch with history.csv's losses and accuracies, then the test accuracy,
    test size and best epoch of metrics.json."""
    out = tmp_path / "gru"
    proc = run_module("gluon_rnn.train", "--arch", "gru", "--data", tiny_tsv, "--epochs", "2",
                      "--patience", "9", "--out", out, *SMALL)
    assert proc.returncode == 0, proc.stderr
    epochs = [l for l in proc.stdout.splitlines() if l.startswith("epoch ")]
    rows = history(out)
    assert len(epochs) == len(rows) == 2
    for line, row in zip(epochs, rows):
        assert line.startswith(f"epoch {row['epoch']:.0f}/2 "), line
        assert (f"train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | valid loss "
                f"{row['valid_loss']:.4f} acc {row['valid_acc']:.4f}") in line, (line, row)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arch"] == "gru"
    assert (f"test accuracy {metrics['test_accuracy']:.4f} (loss {metrics['test_loss']:.4f}, "
            f"macro F1 {metrics['macro_f1']:.4f}) on {metrics['num_test']} examples, best epoch "
            f"{metrics['best_epoch']}") in proc.stdout, proc.stdout


def test_list_archs_names_every_architecture():
    import gluon_rnn
    proc = run_module("gluon_rnn.train", "--list-archs")
    assert proc.returncode == 0
    listed = [l.split()[0] for l in proc.stdout.splitlines()]
    assert listed == sorted(gluon_rnn.ARCHITECTURES)


@pytest.mark.skipif(not UMICH.exists(), reason="../shared/data is not beside this checkout")
def test_umich_deduplicated_run_has_no_leak(tmp_path):
    metrics = run(Config(arch="lstm", data=str(UMICH), epochs=1, out=str(tmp_path / "u"), **TINY))
    assert metrics["duplicates_removed"] > 5000
    assert metrics["num_train"] + metrics["num_valid"] + metrics["num_test"] < 1500


def test_regularisation_knobs_reach_the_model_and_optimizer(tiny_tsv, tmp_path):
    """--lr-decay sets each epoch's rate from the epoch number (history.csv records it),
    --weight-decay reaches Adam, --embed-dropout, --word-dropout and --truncate are part
    of the saved model's config."""
    out = tmp_path / "reg"
    run(Config(arch="lstm", data=str(tiny_tsv), epochs=3, patience=3, out=str(out),
               **dict(TINY, lr=0.01, lr_decay=0.5, weight_decay=1e-4, embed_dropout=0.2,
                      word_dropout=0.1, truncate="tail", max_len=8)))
    history = [l.split(",") for l in (out / "history.csv").read_text().splitlines()]
    lrs = [float(r[history[0].index("lr")]) for r in history[1:]]
    np.testing.assert_allclose(lrs, [0.01, 0.005, 0.0025])
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["embed_dropout"] == 0.2
    assert config["model"]["word_dropout"] == 0.1
    assert config["truncate"] == "tail"
    assert json.loads((out / "metrics.json").read_text())["config"]["weight_decay"] == 1e-4


def test_weight_average_follows_its_formula_and_swaps_in_place():
    """avg <- d * avg + (1 - d) * w with d = min(decay, (1 + n) / (10 + n)); swapped() puts the
    average into a hybridized (static_alloc) net and the trained weights back afterwards."""
    import mxnet as mx
    from gluon_rnn import build_model
    from gluon_rnn.loop import WeightAverage
    net = build_model("mean", 50, embed_size=4, hidden_size=4)
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True)
    tokens, valid_length = mx.nd.array([[3, 4, 5, 0]]), mx.nd.array([3])
    net(tokens, valid_length)
    params = list(net.collect_params().values())
    w0 = [p.data().asnumpy() for p in params]
    average = WeightAverage(net, decay=0.5, ctx=[mx.cpu()])
    expected = w0
    for n, shift in ((1, 1.0), (2, -3.0), (30, 0.25)):
        average.num_updates = n - 1
        for p, w in zip(params, w0):
            p.set_data(mx.nd.array(w + shift))
        average.update()
        d = min(0.5, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * (w + shift) for e, w in zip(expected, w0)]
        for avg, e in zip(average.shadow, expected):
            np.testing.assert_allclose(avg.asnumpy(), e, rtol=1e-5, atol=1e-6)
    trained_out = net(tokens, valid_length).asnumpy()
    with average.swapped():
        for p, e in zip(params, expected):
            np.testing.assert_allclose(p.data().asnumpy(), e, rtol=1e-5, atol=1e-6)
        averaged_out = net(tokens, valid_length).asnumpy()
    assert not np.allclose(averaged_out, trained_out)
    for p, w in zip(params, w0):
        np.testing.assert_array_equal(p.data().asnumpy(), w + 0.25)
    np.testing.assert_array_equal(net(tokens, valid_length).asnumpy(), trained_out)


def test_average_is_validated_kept_and_resumed_exactly(tiny_tsv, tmp_path):
    """With --average the checkpoint keeps both the average (validated, kept as the model)
    and the trained weights, and a resumed run continues both exactly."""
    import mxnet as mx
    cfg = dict(arch="lstm", data=str(tiny_tsv), patience=9, average=0.9, **TINY)
    whole = run(Config(epochs=3, out=str(tmp_path / "whole"), **cfg))
    run(Config(epochs=2, out=str(tmp_path / "split"), **cfg))
    split = run(Config(epochs=3, out=str(tmp_path / "split"), resume=True, **cfg))
    assert history_without_timings(tmp_path / "split") == \
        history_without_timings(tmp_path / "whole")
    assert split["final_param_checksum"] == whole["final_param_checksum"]
    assert split["test_accuracy"] == whole["test_accuracy"]
    ckpt = tmp_path / "whole" / "checkpoint"
    averaged = mx.nd.load(str(ckpt / "epoch-0003.params"))
    trained = mx.nd.load(str(ckpt / "epoch-0003.trained.params"))
    assert averaged.keys() == trained.keys()
    assert any(not np.allclose(averaged[k].asnumpy(), trained[k].asnumpy()) for k in averaged)
    kept = mx.nd.load(str(tmp_path / "whole" / "model.params"))
    best = mx.nd.load(str(ckpt / f"epoch-{whole['best_epoch']:04d}.params"))
    for k in kept:
        np.testing.assert_array_equal(kept[k].asnumpy(), best[k].asnumpy())


@pytest.fixture(scope="module")
def attention_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("attention") / "run"
    proc = run_module("gluon_rnn.train", "--arch", "attention", "--attention-hops", "2",
                      "--attention-penalty", "0.5", "--data", REPO / "data" / "sample.tsv",
                      "--epochs", "2", "--embed-size", "8", "--hidden-size", "8",
                      "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cli_trains_attention_with_its_flags_and_the_run_serves(attention_run):
    """`--attention-hops` and `--attention-penalty` reach the model and its config.json;
    predict rebuilds it from the directory."""
    out = attention_run
    model = json.loads((out / "config.json").read_text())["model"]
    assert (model["arch"], model["attention_hops"], model["attention_penalty"]) == \
        ("attention", 2, 0.5)
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "nan" not in "".join(history)
    pred = run_module("gluon_rnn.predict", "--model", out, "--json", "a lovely film", "")
    assert pred.returncode == 0, pred.stderr
    rows = [json.loads(l) for l in pred.stdout.splitlines()]
    assert len(rows) == 2 and all(0 < r["probability"] <= 1 for r in rows)
