"""RESULTS.md: the header (when, on what, with which command, how quiet the machine was),
the targets met or not, the findings that follow from this run's numbers, one table per
section, and the notes on profiling and GPUs. `write_report` puts them together."""
import json

from .config import SECTIONS, TARGETS
from .sections import find_row
from .serving import report_serve


def _k(x):
    return "n/a" if x is None else f"{x:,.0f}"


def _met(ok):
    return "**met**" if ok else "**not met**"


def _pair_ratio(row):
    """`mean` / PyTorch: the median of the pairs' ratios (older results: of the medians)."""
    return row.get("ratio") or row["mean"] / row["torch"]


def _ratios(row):
    return ", ".join(f"{x:.2f}x" for x in row.get("pair_ratios", [])) or "-"


def _share(peak, key):
    """The share of FP32 peak of a training speed in `peak` (tokens/s under `key`)."""
    return peak[key] * peak["train_flops_per_token"] / peak["peak_flops_per_second"]


def targets_table(results):
    """The issue's targets, each with the measured number and met / not met."""
    lines = ["| target | measured | result |", "|---|---|---|"]
    torch_rows = (results.get("torch") or {}).get("rows") or []
    for r in torch_rows:
        ratio = _pair_ratio(r)
        lines.append(f"| `mean` >= {TARGETS['torch_ratio']}x PyTorch tokens/s "
                     f"({r['threads']} thread{'s' if r['threads'] > 1 else ''}; median of "
                     f"the pairs' ratios) | {ratio:.2f}x (pairs: {_ratios(r)}; medians "
                     f"{_k(r['mean'])} vs {_k(r['torch'])} tok/s) | "
                     f"{_met(ratio >= TARGETS['torch_ratio'])} |")
    if not torch_rows:
        lines.append(f"| `mean` >= {TARGETS['torch_ratio']}x PyTorch | not measured (torch "
                     "missing or section not run) | - |")
    cells = (results.get("cells") or {}).get("rows")
    if cells:
        fused, loop = find_row(cells, "lstm", "static"), find_row(cells, "lstm-cells", "static")
        loop_imp = find_row(cells, "lstm-cells", "imperative")
        ratio = fused["tokens_per_second"] / loop["tokens_per_second"]
        ratio_imp = fused["tokens_per_second"] / loop_imp["tokens_per_second"]
        lines.append(f"| fused `lstm` >= {TARGETS['cells_ratio']:g}x `lstm-cells` | "
                     f"{ratio:.1f}x against the hybridized loop, {ratio_imp:.1f}x against the "
                     f"imperative one | {_met(min(ratio, ratio_imp) >= TARGETS['cells_ratio'])} |")
    peak = results.get("peak")
    if peak and peak.get("mean_step_tokens_per_second"):
        share = _share(peak, "mean_step_tokens_per_second")
        layer = _share(peak, "layer_train_tokens_per_second")
        lines.append(f"| `mean` training step (whole step) >= {TARGETS['peak_share']:.0%} of "
                     f"FP32 peak | {share:.1%} (the bare fused layer alone: {layer:.1%}) | "
                     f"{_met(share >= TARGETS['peak_share'])} |")
    imdb = [r for r in (results.get("imdb") or {}).get("rows", []) if r["num_buckets"] > 1]
    if imdb:
        r = imdb[0]
        lines.append(f"| IMDB epoch of `mean` < {TARGETS['imdb_seconds']:.0f} s | "
                     f"{r['end_to_end_seconds']:.0f} s end to end "
                     f"({r['phases']['train_epoch']:.0f} s training) | "
                     f"{_met(r['end_to_end_seconds'] < TARGETS['imdb_seconds'])} |")
        lines.append(f"| padding < {TARGETS['imdb_padding']:.0%} | "
                     f"{r['padding_fraction']:.1%} ({r['num_buckets']} buckets) | "
                     f"{_met(r['padding_fraction'] < TARGETS['imdb_padding'])} |")
        lines.append(f"| peak RSS < {TARGETS['imdb_rss_mb'] / 1024:.0f} GB | "
                     f"{r['peak_rss_mb']:,.0f} MB | "
                     f"{_met(r['peak_rss_mb'] < TARGETS['imdb_rss_mb'])} |")
    return lines


def report_train(res, spec):
    lines = [f"Tokens per second of one training step on identical batches "
             f"({spec['batch_size']} x {spec['seq_len']} tokens, all real, embed = hidden = "
             f"{spec['embed_size']}, vocabulary {spec['vocab_size']:,}, 2 classes, dropout 0), "
             "through the project's own `train_epoch` (forward, loss, backward, clip, Adam, "
             "loss read back). Hybridized = `hybridize(static_alloc=True, static_shape=True)`.",
             "", "| architecture | imperative tok/s | hybridized tok/s | hybridized / imperative |",
             "|---|---:|---:|---:|"]
    archs = list(dict.fromkeys(r["arch"] for r in res["rows"]))
    for arch in archs:
        imp, hyb = find_row(res["rows"], arch, "imperative"), find_row(res["rows"], arch, "static")
        lines.append(f"| `{arch}` | {_k(imp and imp['tokens_per_second'])} | "
                     f"{_k(hyb and hyb['tokens_per_second'])} | "
                     f"{hyb['tokens_per_second'] / imp['tokens_per_second']:.2f}x |"
                     if imp and hyb else f"| `{arch}` | - | - | - |")
    lines += ["", "![tokens/s per architecture](throughput.png)"]
    return lines


def report_cells(res):
    rows = {(r["arch"], r["mode"]): r for r in res["rows"]}
    fused = rows[("lstm", "static")]["tokens_per_second"]
    lines = ["| model | mode | tok/s | ms per step | fused `lstm` (hybridized) is |",
             "|---|---|---:|---:|---:|"]
    for (arch, mode), r in rows.items():
        lines.append(f"| `{arch}` | {mode} | {_k(r['tokens_per_second'])} | "
                     f"{1e3 * r['step_seconds']:.0f} | {fused / r['tokens_per_second']:.1f}x |")
    return lines


def report_torch(res):
    if "skipped" in res:
        return [f"Not measured: {res['skipped']}. Install the optional peer with "
                "`pip install torch==2.13.0` (CPU build) and run `--only torch`."]
    lines = ["Embedding -> LSTM -> mean over the real steps -> Dense, Adam, gradient clipping "
             "at 5, loss read back every step, on identical shapes; each framework pinned to "
             "the same number of OpenMP threads (`OMP_NUM_THREADS` for mxnet, "
             "`torch.set_num_threads` for PyTorch), alternating fresh processes.", "",
             "| threads | Gluon `mean` tok/s | Gluon plain probe tok/s | PyTorch tok/s | "
             "`mean` / PyTorch, each pair | `mean` / PyTorch, median pair | probe / PyTorch |",
             "|---:|---:|---:|---:|---|---:|---:|"]
    for r in res["rows"]:
        lines.append(f"| {r['threads']} | {_k(r['mean'])} | {_k(r['plain_probe'])} | "
                     f"{_k(r['torch'])} | {_ratios(r)} | {_pair_ratio(r):.2f}x | "
                     f"{r['plain_probe'] / r['torch']:.2f}x |")
    if res["rows"]:
        r = res["rows"][0]
        lines += ["", f"PyTorch {r['torch_version']}. The plain probe is the same model "
                  "without the length mask (mean over all steps); it is right only for "
                  "unpadded rows such as these and is kept in `speed/tasks.py`, not in the "
                  "package. Samples per process: "
                  + json.dumps({k: [round(v) for v in vs] for k, vs in r["samples"].items()})]
    return lines


def report_peak(res, spec):
    if res.get("lstm_step_tokens_per_second") is None:
        return ["The `lstm` training step was not measured."]
    peak = res["peak_flops_per_second"]
    fwd, train = res["forward_flops_per_token"], res["train_flops_per_token"]
    step = res["lstm_step_tokens_per_second"]
    e, h = spec["embed_size"], spec["hidden_size"]

    def row(name, tok, flops):
        return (f"| {name} | {_k(tok)} | {tok * flops / 1e9:.1f} | "
                f"{tok * flops / peak:.1%} |")

    return ["Peak: " + res["arithmetic"] + ".", "",
            f"Flops per token: forward 2 x 4H x (E + H) = 2 x {4 * h} x {e + h} = {fwd:,}; "
            f"training about 3x that = {train:,} (the gate nonlinearities, the embedding, "
            "the head and Adam are not counted, so these shares are lower bounds). The step and "
            "the bare layer are timed in one process, their windows taking turns.", "",
            "| what | tokens/s | GFLOP/s | share of peak |", "|---|---:|---:|---:|",
            row("`mean` training step (whole step: embedding, LSTM, masked mean, head, "
                "clip, Adam)", res["mean_step_tokens_per_second"], train)
            if res.get("mean_step_tokens_per_second") else "| `mean` step | - | - | - |",
            row("`lstm` training step (whole step: embedding, LSTM, head, clip, Adam)",
                step, train),
            row("bare fused LSTM layer, forward + backward", res["layer_train_tokens_per_second"],
                train),
            row("bare fused LSTM layer, forward only", res["layer_forward_tokens_per_second"],
                fwd),
            f"| SGEMM {res['gemm_size']}x{res['gemm_size']} through mxnet's BLAS (the "
            f"practical ceiling) | - | {res['gemm_flops_per_second'] / 1e9:.1f} | "
            f"{res['gemm_flops_per_second'] / peak:.1%} |"]


def report_infer(res, spec):
    lines = [f"Static graph, reviews of {spec['seq_len']} tokens. Latency: one review, logits "
             f"read back to the host each call. Throughput: batches of "
             f"{spec['infer_batch_size']}.", "",
             "| model | latency (ms / review) | throughput (reviews/s) | throughput (tok/s) |",
             "|---|---:|---:|---:|"]
    for r in res["rows"]:
        lines.append(f"| `{r['arch']}` | {1e3 * r['latency']['seconds']:.2f} | "
                     f"{_k(r['throughput']['reviews_per_second'])} | "
                     f"{_k(r['throughput']['tokens_per_second'])} |")
    t = res.get("torch")
    if t:
        lines.append(f"| PyTorch peer of `mean` | {1e3 * t['latency']['seconds']:.2f} | "
                     f"{_k(t['throughput']['reviews_per_second'])} | "
                     f"{_k(t['throughput']['tokens_per_second'])} |")
    return lines


def report_imdb(res):
    if "skipped" in res:
        return [f"Not measured: {res['skipped']}."]
    lines = ["`mean`, max-len 400, batch 64, one training epoch over IMDB's training "
             "reviews (the project's split: the de-duplicated train half less the 10% carved "
             "out as valid), `hybridize(static_alloc=True)` as `gluon_rnn.train` does, each variant in a "
             "fresh process; peak RSS from `resource.getrusage` of that process. End to end = "
             "read the cache + tokenize + vocabulary + ids + one loader pass + the epoch.", "",
             "| buckets | reviews | batches | end to end (s) | of which training (s) | "
             "load (s) | tokenize+vocab+ids (s) | loader pass alone (s) | padding | "
             "real tok/s | peak RSS (MB) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        p = r["phases"]
        lines.append(f"| {r['num_buckets']} | {r['num_reviews']:,} | {r['num_batches']} | "
                     f"{r['end_to_end_seconds']:.1f} | {p['train_epoch']:.1f} | "
                     f"{p['load']:.1f} | {p['prepare']:.1f} | {p['loader_pass']:.1f} | "
                     f"{r['padding_fraction']:.1%} | {_k(r['tokens_per_second'])} | "
                     f"{r['peak_rss_mb']:,.0f} |")
    if res.get("padding"):
        lines += ["", "Padding of one pass over the training batches per bucket count "
                  "(`FixedBucketSampler`, batch 64):", "",
                  "| buckets | " + " | ".join(str(p["num_buckets"]) for p in res["padding"]) + " |",
                  "|---|" + "---:|" * len(res["padding"]),
                  "| padding | " + " | ".join(f"{p['padding_fraction']:.1%}"
                                               for p in res["padding"]) + " |"]
    return lines


def report_knobs(res, threads):
    lines = [f"`mean`, one training step of the benchmark's shapes, OMP_NUM_THREADS={threads} "
             "unless the row says otherwise.", "",
             "| knob | setting | `mean` tok/s | `lstm` tok/s |", "|---|---|---:|---:|"]
    for r in res.get("modes", []):
        lines.append(f"| hybridize | {r['mode']} | {_k(r['tokens_per_second'])} | |")
    for r in res.get("batch_sizes", []):
        lines.append(f"| batch size (static) | {r['batch_size']} x {r['seq_len']} | "
                     f"{_k(r['tokens_per_second'])} | |")
    for r in res.get("env", []):
        lines.append(f"| environment (fresh process) | {r['setting']} | {_k(r['mean'])} | "
                     f"{_k(r['lstm'])} |")
    return lines


def report_side(res, quick):
    lines = [f"`bilstm-meanmax` {res['embed_size']} x {res['hidden_size']}, one training step "
             "of the benchmark's batch, hybridized with static_alloc as the training loop does, "
             "in fresh processes; the last row is the sum over "
             "processes started together" + (" (in --quick, one after the other)" if quick
                                              else "") + ".", "",
             "| processes | OMP_NUM_THREADS each | tok/s, all processes | tok/s each |",
             "|---:|---:|---:|---|"]
    for r in res["rows"]:
        each = ", ".join(_k(x) for x in r.get("each", [r["tokens_per_second"]]))
        lines.append(f"| {r['processes']} | {r['threads']} | {_k(r['tokens_per_second'])} | "
                     f"{each} |")
    return lines


def _op_share(ops, *fragments):
    return sum(o["ms"] for o in ops if any(f in o["name"] for f in fragments))


# What each operator of a training step is for, by the first matching fragment of its name
# (forward and `_backward_` alike); the rest is "other". Order matters: `softmax` and
# `multi_sum_sq` would match the pooling's "max" and "sum".
OP_GROUPS = (("fused RNN (forward, backward)", ("RNN",)),
             ("layout copies", ("SwapAxis", "transpose")),
             ("embedding", ("Embedding",)),
             ("Adam updates", ("adam",)),
             ("gradient clipping (norms, scale)", ("norm", "multi_sum_sq", "_mul_scalar",
                                                   "multi_all_finite")),
             ("head (dense layers, loss)", ("FullyConnected", "Activation", "softmax", "pick")),
             ("pooling (mask, weighted sum, reduce)", ("batch_dot", "SequenceMask", "sum", "max",
                                                        "ones_like", "slice_axis")))


def op_groups(ops):
    """[(group, ms per step)] of a profile's operators, largest first."""
    totals = {}
    for o in ops:
        group = next((g for g, frags in OP_GROUPS if any(f in o["name"] for f in frags)),
                     "other")
        totals[group] = totals.get(group, 0.0) + o["ms"]
    return sorted(totals.items(), key=lambda kv: -kv[1])


def report_frontier(res):
    if "skipped" in res:
        return [f"Not measured: {res['skipped']}."]
    return ["The frontier row's model (`bilstm-meanmax` 256 x 256, max-len 800, vocabulary "
            "30,000, dropout 0.5, embedding dropout 0.3, word dropout 0.2, Adam 2e-3, clip 5) "
            "trained on the loop's own bucketed IMDB batches (a seeded subset of the reviews), "
            "hybridized with static_alloc as the loop does, through `train_epoch`.", "",
            "| batches timed | batch size | real tokens | padding | s / step | real tok/s |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {res['batches']} | {res['batch_size']} | {res['tokens']:,.0f} | "
            f"{res['padded_tokens'] / (res['tokens'] + res['padded_tokens']):.1%} | "
            f"{res['step_seconds']:.2f} | {_k(res['tokens_per_second'])} |"]


def report_profile(res):
    lines = []
    for run in res["runs"]:
        ops, wall = run["ops"], run["wall_ms"]
        total = sum(o["ms"] for o in ops)
        count = sum(o["count"] for o in ops)
        lines += [f"`{run['arch']}` ({run['mode']}), per training step: {wall:.0f} ms wall, "
                  f"{total:.0f} ms inside {count:,.0f} operator calls "
                  f"({total / wall:.0%} of the wall time).", "",
                  "| what | ms / step | share of operator time |", "|---|---:|---:|"]
        lines += [f"| {group} | {ms:.1f} | {ms / total:.1%} |" for group, ms in op_groups(ops)]
        lines += ["", "| operator | calls / step | ms / step | share of operator time |",
                  "|---|---:|---:|---:|"]
        for o in ops[:15]:
            lines.append(f"| `{o['name'][:60]}` | {o['count']:,.0f} | {o['ms']:.1f} | "
                         f"{o['ms'] / total:.1%} |")
        lines.append("")
    return lines


def findings(results, args):
    """Sentences that follow from this run's numbers (regenerated with them)."""
    out = []
    knobs = results.get("knobs") or {}
    env = {r["setting"]: r for r in knobs.get("env", [])}
    static = next((r for r in knobs.get("modes", []) if r["mode"] == "static"), None)
    unset = env.get("OMP_NUM_THREADS unset (mxnet's default)")
    if static and unset:
        out.append(f"- **Threads are the largest knob.** Without OMP_NUM_THREADS, mxnet 1.9.1 "
                   f"gives its operators half the logical CPUs (it assumes two hyper-threads "
                   f"per core: `omp_thread_max_ >>= 1` in `src/engine/openmp.cc`); on this "
                   f"{results['machine']['logical_cpus']}-CPU machine with one thread per core "
                   f"that leaves cores idle: `mean` trains at {_k(unset['mean'])} tok/s by "
                   f"default against {_k(static['tokens_per_second'])} with "
                   f"OMP_NUM_THREADS={args.threads} "
                   f"({static['tokens_per_second'] / unset['mean']:.2f}x). Importing mxnet "
                   "also lowers PyTorch's thread count in the same process, which is why the "
                   "peer runs in its own.")
    nodnn = next((r for s, r in env.items() if "MKLDNN_RNN=0" in s), None)
    if static and nodnn:
        out.append(f"- **oneDNN's fused RNN matters.** MXNET_USE_MKLDNN_RNN=0 falls back to "
                   f"mxnet's own CPU kernel: `mean` {_k(nodnn['mean'])} tok/s against "
                   f"{_k(static['tokens_per_second'])} ({static['tokens_per_second'] / nodnn['mean']:.2f}x "
                   f"slower without it). Keep the default (1).")
    modes = {r["mode"]: r["tokens_per_second"] for r in knobs.get("modes", [])}
    if len(modes) == 4:
        out.append(f"- **Hybridize.** `mean`: imperative {_k(modes['imperative'])}, hybridize() "
                   f"{_k(modes['hybrid'])}, static_alloc {_k(modes['static_alloc'])}, "
                   f"static_alloc + static_shape {_k(modes['static'])} tok/s.")
    torch_rows = (results.get("torch") or {}).get("rows") or []
    for r in torch_rows:
        out.append(f"- **Against PyTorch ({r['threads']} thread{'s' if r['threads'] > 1 else ''}).** "
                   f"`mean` {_pair_ratio(r):.2f}x (median of the pairs), the unmasked probe "
                   f"{r['plain_probe'] / r['torch']:.2f}x PyTorch's tokens/s: the length mask "
                   f"costs {1 - r['mean'] / r['plain_probe']:.1%} of `mean`'s speed.")
    for run in (results.get("profile") or {}).get("runs", []):
        ops, wall = run["ops"], run["wall_ms"]
        total = sum(o["ms"] for o in ops) or 1
        rnn = _op_share(ops, "RNN")
        adam = _op_share(ops, "adam")
        if run["arch"] == "mean":
            out.append(f"- **Profile of `mean` (static graph).** The fused RNN forward and "
                       f"backward take {rnn / total:.0%} of the operator time, Adam's updates "
                       f"{adam / total:.0%} (the 20,000 x 128 embedding is updated densely every "
                       f"step), the rest is embedding, mask, head and clipping; operators cover "
                       f"{total / wall:.0%} of the step's wall time.")
        else:
            count = sum(o["count"] for o in ops)
            out.append(f"- **Profile of `{run['arch']}` ({run['mode']}).** {count:,.0f} operator "
                       f"calls per step ({count / results['settings']['seq_len']:.0f} per time "
                       f"step), {wall / max(1, count) * 1e3:.0f} us of wall time per call: the "
                       "per-step loop is bound by dispatching many small operators.")
    return out


def header(results):
    """When, on what, with which command, and how quiet the machine was."""
    m, s = results["machine"], results["settings"]
    hypervisor = f", under a {m['hypervisor']} hypervisor" if m["hypervisor"] else ""
    lines = ["# Speed benchmark", "",
             f"Measured {results['started']} ({results['minutes']:.1f} min) on **{m['cpu']}** "
             f"({m['vendor']}, family {m['family']} model {m['model']}), {m['cores']} cores, "
             f"{m['threads_per_core']} thread(s) per core, {m['usable_cpus']} usable CPUs, "
             f"{m['memory_gb']} GB RAM{hypervisor}; SIMD flags: {', '.join(m['simd_flags'])}; "
             f"clock {m['mhz']} MHz ({m['mhz_source']}).", "",
             f"Versions: Python {m['python']}, "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", "",
             "Regenerate with:", "", "```", results["command"], "```", "",
             f"Every row uses OMP_NUM_THREADS={s['threads']} (PyTorch: the same count through "
             f"`torch.set_num_threads`) unless it says otherwise; medians of {s['repeats']} "
             f"timed windows after {s['warmup']} warm-up steps, each window about "
             f"{s['window_seconds']} s long.", ""]
    busy = [c for c in results["contention"] if c["others"] > 0.05 or c["steal"] > 0.05]
    load = (f"Load average (1 min) before the run {results['load_before'][0]:.2f}, after "
            f"{results['load_after'][0]:.2f}.")
    if not busy and results["load_before"][0] < 1.0:
        lines += [load + " Other processes used under 5% of the CPUs during every "
                  "measurement (from /proc/stat less this run's own CPU time): a quiet "
                  "machine.", ""]
    else:
        worst = max(results["contention"], key=lambda c: c["others"] + c["steal"],
                    default={"others": 0, "steal": 0, "label": "-"})
        lines += [load + f" **The machine was shared during this run**: other processes "
                  f"used more than 5% of the CPUs during {len(busy)} of "
                  f"{len(results['contention'])} measurements (worst: {worst['others']:.0%} "
                  f"plus {worst['steal']:.0%} steal during `{worst['label']}`). Multi-threaded "
                  "rows suffer most: an OpenMP thread that loses its core stalls every "
                  "barrier of the recurrent loop. Treat those rows as lower bounds.", ""]
    return lines


def write_report(results, args, out):
    s = results["settings"]
    lines = header(results)
    if args.quick:
        lines += ["**Smoke run (`--quick`): tiny shapes, single repeats, every task in one "
                  "process (thread and environment settings not applied); these numbers say "
                  "nothing about speed.**", ""]
    if results["errors"]:
        lines += ["**Failures in this run:**", ""] + [f"- `{e}`" for e in results["errors"]] + [""]
    lines += ["## Targets", ""] + targets_table(results) + [""]
    found = findings(results, args)
    if found:
        lines += ["## What the measurements say", ""] + found + [""]
    titles = {"train": "1. Training throughput of every architecture",
              "cells": "2. Fused `lstm` against the post's per-step `lstm-cells` loop",
              "torch": "3. PyTorch peer", "peak": "4. Share of the CPU's FP32 peak",
              "infer": "5. Inference", "imdb": "6. One IMDB epoch end to end",
              "knobs": "Knobs", "side": "Runs side by side: the frontier's model",
              "frontier": "The frontier's model on IMDB batches",
              "profile": "Profile: where a training step goes",
              "serve": "Serving a trained run: MXNet against onnxruntime, float32 and int8"}
    writers = {"train": lambda r: report_train(r, s), "cells": report_cells,
               "torch": report_torch, "peak": lambda r: report_peak(r, s),
               "infer": lambda r: report_infer(r, s), "imdb": report_imdb,
               "knobs": lambda r: report_knobs(r, s["threads"]),
               "side": lambda r: report_side(r, args.quick), "frontier": report_frontier,
               "profile": report_profile, "serve": report_serve}
    for name in SECTIONS:
        if name in results and results[name]:
            lines += [f"## {titles[name]}", ""] + writers[name](results[name]) + [""]
    lines += static_notes(results, args)
    (out / "RESULTS.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def static_notes(results, args):
    return [
        "## Profiling method", "",
        "`mx.runtime.Features()` lists PROFILER as off in this mxnet build, yet `mx.profiler` "
        "works: `set_config(profile_all=True, aggregate_stats=True)`, `set_state('run')`, "
        "then `dumps(format='json')` gives per-operator counts and times. With "
        "`hybridize(static_alloc=True)` mxnet bulks a graph's operators into segments that "
        "the profiler reports as one entry (`SwapAxis,Reshape,...,RNN,...`), so the profile "
        "section sets MXNET_EXEC_BULK_EXEC_TRAIN=0 and MXNET_EXEC_BULK_EXEC_INFERENCE=0 to "
        "time operators one by one (this slows the step slightly).", "",
        "## GPU", "",
        "GPU rows: **not measured**. No MXNet build usable on a GPU was available for this "
        "run (the pinned `mxnet==1.9.1` wheel is CPU-only: `mx.context.num_gpus()` is 0). "
        "With an NVIDIA GPU and CUDA 11.2:", "",
        "```", "pip install mxnet-cu112==1.9.1", "python benchmarks/bench.py --ctx gpu:0", "```",
        "", "`--ctx gpu:0` puts every Gluon measurement on that GPU and runs the PyTorch peer "
        "with `--device cuda` (it needs a CUDA build of torch).", ""]
