"""The benchmark script runs end to end (`--quick`: tiny shapes, one process) and writes its
report; the speed figures themselves live in benchmarks/RESULTS.md, not in tests."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gluon_rnn import ARCHITECTURES

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
BATCHES = BENCH.with_name("imdb_batches.py")
SAMPLE = BENCH.parents[1] / "data" / "sample.tsv"


def test_quick_benchmark_writes_its_report(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(tmp_path),
                           "--only", "train", "cells", "infer", "side"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["errors"] == []
    rows = results["train"]["rows"]
    assert {(r["arch"], r["mode"]) for r in rows} == {
        (a, m) for a in ARCHITECTURES for m in ("imperative", "static")}
    assert all(r["tokens_per_second"] > 0 for r in rows)
    assert {(r["arch"], r["mode"]) for r in results["cells"]["rows"]} == {
        (a, m) for a in ("lstm", "lstm-cells") for m in ("imperative", "static")}
    assert {r["arch"] for r in results["infer"]["rows"]} >= set(ARCHITECTURES)
    side = results["side"]["rows"]       # one process per thread count, then all at once
    threads = results["settings"]["threads"]
    assert (side[-1]["processes"], side[-1]["threads"], len(side[-1]["each"])) == (threads, 1,
                                                                                   threads)
    assert all(r["tokens_per_second"] > 0 for r in side)
    assert side[-1]["tokens_per_second"] == pytest.approx(sum(side[-1]["each"]))
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## Runs side by side" in report
    assert "## 1. Training throughput" in report and "| `lstm-cells` |" in report
    assert "## 2. Fused `lstm`" in report and "## 5. Inference" in report
    assert (tmp_path / "throughput.png").stat().st_size > 10_000


def test_bad_section_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH), "--only", "nosuch", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "RESULTS.md").exists()


def test_imdb_batches_times_what_it_says_and_no_more_than_one_pass():
    """On the sample: the training texts it reports are the split's, and asked for more
    batches than one pass holds it times one pass, as many as the loop's loader makes, in
    each mode and for the loader alone."""
    from gluon_rnn.train import Config, prepare_data
    corpus, _, loaders, _ = prepare_data(Config(arch="mean", data=str(SAMPLE), progress=False))
    one_pass = len(loaders["train"])
    proc = subprocess.run([sys.executable, str(BATCHES), "--data", str(SAMPLE),
                           "--batches", str(one_pass + 5)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"mean, sample.tsv, {len(corpus.train)} training texts, "
                               f"{one_pass} bucketed batches of 64, "), lines[0]
    speeds = {l.rsplit(None, 2)[0].strip(): float(l.split()[-2].replace(",", ""))
              for l in lines if l.endswith("tok/s")}
    assert set(speeds) == {"static_alloc", "static_alloc + static_shape"}, proc.stdout
    assert all(s > 0 for s in speeds.values()), speeds
    assert f"s for the {one_pass} batches, " in lines[-1], lines[-1]


def test_imdb_batches_bad_argument_is_one_line():
    proc = subprocess.run([sys.executable, str(BATCHES), "--batches", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--batches" in proc.stderr


def test_quick_benchmark_reports_the_peer_ratio_the_peak_shares_and_the_profile(tmp_path):
    """The three figures a speed claim rests on, from one run: `mean` against PyTorch per
    pair and their median, the `mean` step's and the bare layer's shares of FP32 peak, and
    the profile grouped by what each operator is for."""
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(tmp_path),
                           "--only", "torch", "peak", "profile"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "RESULTS.md").read_text()
    torch_rows = results["torch"].get("rows")
    if torch_rows is None:                      # torch is optional: the report says so
        assert "skipped" in results["torch"] and "Not measured" in report
    else:
        row = torch_rows[0]
        gluon, peer = row["samples"]["mean"], row["samples"]["torch"]
        assert row["pair_ratios"] == pytest.approx([g / p for g, p in zip(gluon, peer)])
        assert row["ratio"] == pytest.approx(sorted(row["pair_ratios"])[len(gluon) // 2])
        assert f"median of the pairs' ratios) | {row['ratio']:.2f}x" in report
    peak = results["peak"]
    assert peak["mean_step_tokens_per_second"] > 0 and peak["layer_train_tokens_per_second"] > 0
    share = (peak["mean_step_tokens_per_second"] * peak["train_flops_per_token"]
             / peak["peak_flops_per_second"])
    assert f"`mean` training step (whole step) >= 55% of FP32 peak | {share:.1%}" in report
    profile = report.split("## Profile: where a training step goes")[1]
    assert "| what | ms / step | share of operator time |" in profile
    assert "| operator | calls / step | ms / step |" in profile


def test_profile_groups_split_operator_time_by_purpose():
    sys.path.insert(0, str(BENCH.parent))
    from speed.shares import op_groups
    ops = [{"name": "RNN", "ms": 5.0}, {"name": "_backward_RNN", "ms": 7.0},
           {"name": "SwapAxis", "ms": 1.0}, {"name": "batch_dot", "ms": 0.5},
           {"name": "softmax_cross_entropy", "ms": 0.25}, {"name": "multi_sum_sq", "ms": 0.125},
           {"name": "adam_update", "ms": 2.0}, {"name": "Dropout", "ms": 0.0625}]
    groups = dict(op_groups(ops))
    assert groups == {"fused RNN (forward, backward)": 12.0, "Adam updates": 2.0,
                      "layout copies": 1.0, "pooling (mask, weighted sum, reduce)": 0.5,
                      "head (dense layers, loss)": 0.25,
                      "gradient clipping (norms, scale)": 0.125, "other": 0.0625}
    assert list(groups)[0] == "fused RNN (forward, backward)"   # largest first


def test_the_peak_counts_full_avx512_units_except_on_zen4():
    """Zen 4 (AMD family 25) splits an AVX-512 instruction into two 256-bit halves; Zen 5
    (family 26) and Intel do not: 16 FP32 lanes per unit there, 8 on Zen 4."""
    sys.path.insert(0, str(BENCH.parent))
    from speed.machine import fp32_peak
    base = {"simd_flags": ["avx2", "fma", "avx512f"], "mhz": 1000.0, "cores": 1}
    lanes = {}
    for name, vendor, family in (("zen4", "AuthenticAMD", "25"), ("zen5", "AuthenticAMD", "26"),
                                 ("intel", "GenuineIntel", "6")):
        peak, _ = fp32_peak(dict(base, vendor=vendor, family=family), fma_units=1)
        lanes[name] = peak / (2 * 1e9)   # 1 core, 1 unit, 2 flops per FMA, 1 GHz
    assert lanes == {"zen4": 8, "zen5": 16, "intel": 16}, lanes


@pytest.mark.parametrize("mode", ["hybrid", "static_alloc", "static"])
def test_every_timed_graph_trains_on_the_imperative_numbers(tmp_path, mode):
    """Each architecture as the bench builds it in `mode` gives, on its first training
    step, the imperative net's logits and gradients (same weights, same batch). mxnet
    1.9.1's `foreach` under static_shape left `lstm-cells`' first step's outputs and
    gradients unwritten (whatever the memory held: a NaN loss, or a failed backward)."""
    import mxnet as mx
    from mxnet import autograd
    sys.path.insert(0, str(BENCH.parent))
    from speed.config import QUICK
    from speed.tasks import _build, _make_batch
    spec = dict(QUICK, seq_len=8, embed_size=16, hidden_size=16, vocab_size=50)
    ctx = mx.cpu()
    tokens, valid_length, label = _make_batch(4, spec["seq_len"], spec, ctx)
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()

    def step(net):
        with autograd.record():
            logits = net(tokens, valid_length)
            loss = loss_fn(logits, label)
        loss.backward()
        grads = [p.grad().asnumpy() for p in net.collect_params().values()]
        return logits.asnumpy(), grads

    for arch in ARCHITECTURES:
        imperative = _build(arch, "imperative", spec, ctx)
        imperative.save_parameters(str(tmp_path / "w.params"))
        timed = _build(arch, mode, spec, ctx)
        timed.load_parameters(str(tmp_path / "w.params"), ctx=ctx)
        (want, want_grads), (got, got_grads) = step(imperative), step(timed)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=arch)
        for g, w in zip(got_grads, want_grads):
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-5, err_msg=arch)
