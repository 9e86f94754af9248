"""The shared loop on several devices and on MXNet's parameter server (2 workers, 1 server)."""
import json
import sys

import pytest

from conftest import assert_one_line_error, run_module

SMALL = ["--embed-size", "8", "--hidden-size", "8", "--batch-size", "32", "--vocab-size", "200",
         "--num-buckets", "4", "--dropout", "0", "--lr", "0.01", "--patience", "9"]


def _history(out):
    rows = (out / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    return [dict(zip(header, map(float, r.split(",")))) for r in rows[1:]]


def test_two_cpu_devices_match_one(tiny_tsv, tmp_path):
    """Data parallel over cpu:0,cpu:1 (split_and_load + kvstore) trains the same model."""
    for name, ctx in (("one", "cpu"), ("two", "cpu:0,cpu:1")):
        proc = run_module("gluon_rnn.train", "--arch", "mean", "--data", tiny_tsv, "--epochs", "2",
                          "--ctx", ctx, "--out", tmp_path / name, *SMALL)
        assert proc.returncode == 0, proc.stderr
    one, two = _history(tmp_path / "one"), _history(tmp_path / "two")
    for a, b in zip(one, two):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-3, (a, b)
        assert abs(a["valid_loss"] - b["valid_loss"]) < 1e-3, (a, b)
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["context"] == "cpu:0,cpu:1"


def test_dist_sync_two_workers_end_with_equal_parameters(tiny_tsv, tmp_path):
    out = tmp_path / "dist"
    proc = run_module("gluon_rnn.launch", "-n", "2", "-s", "1", "--", sys.executable, "-m",
                      "gluon_rnn.train", "--arch", "lstm", "--data", tiny_tsv, "--epochs", "3",
                      "--kvstore", "dist_sync", "--out", out, *SMALL, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    workers = [json.loads((out / f"worker-{r}.json").read_text()) for r in (0, 1)]
    assert workers[0]["param_checksum"] == workers[1]["param_checksum"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_workers"] == 2 and metrics["kvstore"] == "dist_sync"
    losses = [h["train_loss"] for h in _history(out)]
    assert losses[-1] < losses[0], losses
    # every worker saw its own half of the training set: counts add up to the whole
    assert metrics["final_param_checksum"] == workers[0]["param_checksum"]


def test_dist_kvstore_outside_a_job_is_one_clear_line(tiny_tsv):
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--kvstore", "dist_sync")
    assert_one_line_error(proc, "DMLC_", "gluon_rnn.launch")


def test_async_kvstore_is_refused(tiny_tsv):
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--kvstore", "dist_async")
    assert_one_line_error(proc, "dist_async", "dist_sync")


def _num_gpus():
    import mxnet as mx
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


@pytest.mark.gpu
@pytest.mark.skipif(_num_gpus() == 0, reason="needs an MXNet GPU build and a GPU")
def test_gpu_trains_like_cpu(tiny_tsv, tmp_path):
    """cuDNN's fused LSTM on gpu:0 learns the tiny set as the CPU does (run with -m gpu)."""
    for name, ctx in (("cpu", "cpu"), ("gpu", "gpu:0")):
        proc = run_module("gluon_rnn.train", "--arch", "bilstm", "--data", tiny_tsv,
                          "--epochs", "2", "--ctx", ctx, "--out", tmp_path / name, *SMALL)
        assert proc.returncode == 0, proc.stderr
    cpu, gpu = _history(tmp_path / "cpu"), _history(tmp_path / "gpu")
    for a, b in zip(cpu, gpu):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-2, (a, b)


def test_gpu_context_without_gpu_is_one_clear_line(tiny_tsv):
    if _num_gpus():
        pytest.skip("a GPU is present")
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--ctx", "gpu:0")
    assert_one_line_error(proc, "gpu", "--ctx cpu")
