"""RESULTS.md: the header (when, on what, with which command, how quiet the machine was),
the targets met or not, the findings that follow from this run's numbers, one table per
section (tables.py, serving.py), and the notes on profiling and GPUs. `write_report` puts
them together."""
from .config import SECTIONS, TARGETS
from .sections import find_row
from .serving import report_serve
from .shares import op_share, pair_ratio, peak_share
from .tables import (num, ratios_text, report_cells, report_frontier, report_imdb,
                     report_infer, report_knobs, report_peak, report_profile, report_side,
                     report_torch, report_train)


def _met(ok):
    return "**met**" if ok else "**not met**"


def targets_table(results):
    """The issue's targets, each with the measured number and met / not met."""
    lines = ["| target | measured | result |", "|---|---|---|"]
    torch_rows = (results.get("torch") or {}).get("rows") or []
    for r in torch_rows:
        ratio = pair_ratio(r)
        lines.append(f"| `mean` >= {TARGETS['torch_ratio']}x PyTorch tokens/s "
                     f"({r['threads']} thread{'s' if r['threads'] > 1 else ''}; median of "
                     f"the pairs' ratios) | {ratio:.2f}x (pairs: {ratios_text(r)}; medians "
                     f"{num(r['mean'])} vs {num(r['torch'])} tok/s) | "
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
        share = peak_share(peak, "mean_step_tokens_per_second")
        layer = peak_share(peak, "layer_train_tokens_per_second")
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
                   f"that leaves cores idle: `mean` trains at {num(unset['mean'])} tok/s by "
                   f"default against {num(static['tokens_per_second'])} with "
                   f"OMP_NUM_THREADS={args.threads} "
                   f"({static['tokens_per_second'] / unset['mean']:.2f}x). Importing mxnet "
                   "also lowers PyTorch's thread count in the same process, which is why the "
                   "peer runs in its own.")
    nodnn = next((r for s, r in env.items() if "MKLDNN_RNN=0" in s), None)
    if static and nodnn:
        out.append(f"- **oneDNN's fused RNN matters.** MXNET_USE_MKLDNN_RNN=0 falls back to "
                   f"mxnet's own CPU kernel: `mean` {num(nodnn['mean'])} tok/s against "
                   f"{num(static['tokens_per_second'])} ({static['tokens_per_second'] / nodnn['mean']:.2f}x "
                   f"slower without it). Keep the default (1).")
    modes = {r["mode"]: r["tokens_per_second"] for r in knobs.get("modes", [])}
    if len(modes) == 4:
        out.append(f"- **Hybridize.** `mean`: imperative {num(modes['imperative'])}, hybridize() "
                   f"{num(modes['hybrid'])}, static_alloc {num(modes['static_alloc'])}, "
                   f"static_alloc + static_shape {num(modes['static'])} tok/s.")
    torch_rows = (results.get("torch") or {}).get("rows") or []
    for r in torch_rows:
        out.append(f"- **Against PyTorch ({r['threads']} thread{'s' if r['threads'] > 1 else ''}).** "
                   f"`mean` {pair_ratio(r):.2f}x (median of the pairs), the unmasked probe "
                   f"{r['plain_probe'] / r['torch']:.2f}x PyTorch's tokens/s: the length mask "
                   f"costs {1 - r['mean'] / r['plain_probe']:.1%} of `mean`'s speed.")
    for run in (results.get("profile") or {}).get("runs", []):
        ops, wall = run["ops"], run["wall_ms"]
        total = sum(o["ms"] for o in ops) or 1
        rnn = op_share(ops, "RNN")
        adam = op_share(ops, "adam")
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
