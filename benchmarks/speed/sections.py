"""One function per section of a run: which children to start, with which spec, and what of
their results to keep. Each takes the Runner and the results so far (a section may reuse an
earlier one's rows or read the machine) and returns its part of results.json, or None when
its child failed (the Runner has recorded why). `SECTION_FUNCS` maps --only's names to them.
"""
import statistics
from pathlib import Path

from .machine import fp32_peak, lstm_flops_per_token
from .serving import section_serve


def _archs():
    from gluon_rnn import ARCHITECTURES
    return list(ARCHITECTURES)


def section_train(runner, results):
    runs = [{"arch": a, "mode": m} for a in _archs() for m in ("imperative", "static")]
    out = runner.child("train", runs=runs, label="every architecture")
    return {"rows": out["rows"]} if out else None


def find_row(rows, arch, mode):
    """The row of `arch` in `mode` among a train task's rows, or None."""
    return next((r for r in rows or [] if r["arch"] == arch and r["mode"] == mode), None)


def section_cells(runner, results):
    """Reuses section `train`'s rows when it ran in this run."""
    rows = (results.get("train") or {}).get("rows") or []
    wanted = [(a, m) for a in ("lstm", "lstm-cells") for m in ("imperative", "static")]
    if not all(find_row(rows, a, m) for a, m in wanted):
        out = runner.child("train", runs=[{"arch": a, "mode": m} for a, m in wanted],
                           label="lstm vs lstm-cells")
        if not out:
            return None
        rows = out["rows"]
    return {"rows": [find_row(rows, a, m) for a, m in wanted]}


def section_torch(runner, results):
    """Gluon (`mean`, and the unmasked probe) and PyTorch alternate in fresh processes,
    `peer_repeats` times per thread count, so a load change hits both alike. Each Gluon
    process and the PyTorch one after it are a pair; the ratio reported is the median of
    the pairs' ratios."""
    thread_counts = sorted({1, runner.args.threads}) if not runner.args.quick else [runner.args.threads]
    rows = []
    for threads in thread_counts:
        gluon_runs, peer_runs = [], []
        for _ in range(runner.spec["peer_repeats"]):
            out = runner.child("train", env=runner.env(threads), label=f"mean threads={threads}",
                               runs=[{"arch": "mean", "mode": "static"},
                                     {"arch": "plain-probe", "mode": "static"}])
            if out:
                gluon_runs.append(out["rows"])
            peer = runner.peer(threads)
            if peer and "train" in peer:
                peer_runs.append(peer)
            elif peer:
                return {"skipped": peer.get("skipped", "torch peer gave no result")}
        if not gluon_runs or not peer_runs:
            continue
        med = statistics.median
        ratios = [g[0]["tokens_per_second"] / p["train"]["tokens_per_second"]
                  for g, p in zip(gluon_runs, peer_runs)]
        rows.append({
            "threads": threads, "pair_ratios": ratios, "ratio": med(ratios),
            "mean": med(r[0]["tokens_per_second"] for r in gluon_runs),
            "plain_probe": med(r[1]["tokens_per_second"] for r in gluon_runs),
            "torch": med(p["train"]["tokens_per_second"] for p in peer_runs),
            "torch_version": peer_runs[0]["torch"], "torch_threads": peer_runs[0]["threads"],
            "samples": {"mean": [r[0]["tokens_per_second"] for r in gluon_runs],
                        "plain_probe": [r[1]["tokens_per_second"] for r in gluon_runs],
                        "torch": [p["train"]["tokens_per_second"] for p in peer_runs]}})
    return {"rows": rows}


def section_peak(runner, results):
    out = runner.child("peak", label="sgemm, a bare LSTM layer and the lstm step")
    if not out:
        return None
    peak, arithmetic = fp32_peak(results["machine"], runner.args.fma_units)
    forward, train = lstm_flops_per_token(runner.spec)
    out.update(peak_flops_per_second=peak, arithmetic=arithmetic,
               forward_flops_per_token=forward, train_flops_per_token=train)
    return out


def section_infer(runner, results):
    out = runner.child("infer", archs=_archs(), label="every architecture")
    if not out or runner.args.quick:
        return out
    peer = runner.peer(runner.args.threads, infer=True)
    out["torch"] = peer.get("infer") if peer else None
    return out


def _imdb_cached():
    from gluon_rnn.sources import IMDB_CACHE, default_data_dir
    return (default_data_dir() / IMDB_CACHE).is_file()


def section_imdb(runner, results):
    if runner.args.quick and not _imdb_cached() and "imdb" not in (runner.args.only or []):
        return {"skipped": "no IMDB cache yet; a run without --quick (or --only imdb) fetches it"}
    spec = dict(max_len=400, batch_size=64)
    rows = []
    for num_buckets in (10, 1):
        rows.append(runner.child("imdb", num_buckets=num_buckets, **spec,
                                 label=f"mean, {num_buckets} bucket(s)"))
    padding = runner.child("padding", bucket_counts=[1, 2, 5, 10, 20, 40], **spec,
                           label="padding per bucket count")
    return {"rows": [r for r in rows if r], "padding": padding["rows"] if padding else []}


def section_knobs(runner, results):
    threads = runner.args.threads
    mean = lambda mode="static", n=None: dict(arch="mean", mode=mode, batch_size=n)  # noqa: E731
    modes = ("imperative", "hybrid", "static_alloc", "static")
    base = runner.child("train", label="hybridize flags and batch sizes",
                        runs=[mean(m) for m in modes] + [dict(arch="lstm", mode="static")]
                        + [mean(n=n) for n in (16, 32, 128)])
    if not base:
        return None
    rows = base["rows"]
    out = {"modes": rows[:len(modes)], "batch_sizes": rows[len(modes) + 1:],
           "env": [{"setting": f"OMP_NUM_THREADS={threads} (every other row's setting)",
                    "mean": rows[len(modes) - 1]["tokens_per_second"],
                    "lstm": rows[len(modes)]["tokens_per_second"]}]}
    if runner.args.quick:
        return out
    variants = [("OMP_NUM_THREADS unset (mxnet's default)", runner.env("unset")),
                ("OMP_NUM_THREADS=1", runner.env(1)),
                (f"OMP_NUM_THREADS={threads}, MXNET_USE_MKLDNN_RNN=0",
                 runner.env(threads, MXNET_USE_MKLDNN_RNN=0))]
    for label, env in variants:
        got = runner.child("train", env=env, runs=[mean(), dict(arch="lstm", mode="static")],
                           label=label)
        if got:
            out["env"].append({"setting": label, "mean": got["rows"][0]["tokens_per_second"],
                               "lstm": got["rows"][1]["tokens_per_second"]})
    return out


def section_side(runner, results):
    """The frontier's model, `bilstm-meanmax` 256 x 256: one process with the run's threads,
    one with a single thread, and one single-thread process per thread, all at once. Whether
    seeds run side by side (`benchmarks/results.py --jobs`) get more from the cores than one
    run given all of them. Hybridized as the training loop does it (static_alloc only: its
    batches change shape). The processes at once time longer windows, so that the median
    window falls while all of them run, not while one of them is still starting."""
    threads = runner.args.threads
    spec = dict(runs=[{"arch": "bilstm-meanmax", "mode": "static_alloc"}])
    if not runner.args.quick:
        spec.update(embed_size=256, hidden_size=256, repeats=5, window_seconds=4.0)
    rows = []
    for n in sorted({threads, 1}, reverse=True):
        out = runner.child("train", env=runner.env(n), label=f"bilstm-meanmax, {n} thread(s)",
                           **spec)
        if out:
            rows.append({"processes": 1, "threads": n,
                         "tokens_per_second": out["rows"][0]["tokens_per_second"]})
    outs = runner.children_at_once("train", [runner.env(1)] * threads,
                                   label="bilstm-meanmax, one thread each", **spec)
    if all(outs):
        each = [o["rows"][0]["tokens_per_second"] for o in outs]
        rows.append({"processes": threads, "threads": 1, "tokens_per_second": sum(each),
                     "each": each})
    if not rows:
        return None
    return {"rows": rows, "embed_size": spec.get("embed_size", runner.spec["embed_size"]),
            "hidden_size": spec.get("hidden_size", runner.spec["hidden_size"])}


def section_frontier(runner, results):
    """The frontier row's model on real IMDB batches (speed/tasks.py: task_frontier)."""
    if runner.args.quick and not _imdb_cached() and "frontier" not in (runner.args.only or []):
        return {"skipped": "no IMDB cache yet; a run without --quick (or --only frontier) "
                           "fetches it"}
    return runner.child("frontier", label="bilstm-meanmax 256 x 256 on IMDB batches")


def section_profile(runner, results):
    env = runner.env(MXNET_EXEC_BULK_EXEC_TRAIN=0, MXNET_EXEC_BULK_EXEC_INFERENCE=0)
    runs = [{"arch": "mean", "mode": "static", "steps": 3},
            {"arch": "lstm-cells", "mode": "imperative", "steps": 1}]
    out = runner.child("profile", env=env, runs=runs, tmp=str(runner.args.out),
                       label="mean and lstm-cells")
    profile_file = Path(runner.args.out) / "profile.json"
    if profile_file.exists():
        profile_file.unlink()  # the chrome trace is large and not part of the results
    return out


SECTION_FUNCS = {"train": section_train, "cells": section_cells, "torch": section_torch,
                 "peak": section_peak, "infer": section_infer, "imdb": section_imdb,
                 "knobs": section_knobs, "side": section_side, "frontier": section_frontier,
                 "profile": section_profile, "serve": section_serve}
