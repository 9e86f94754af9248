"""One table per section of RESULTS.md, from the numbers that section kept: `report_NAME(res,
...)` gives the Markdown lines of section NAME (`report_serve` lives with its section, in
serving.py). Each says how its numbers were taken, then lays them out."""
import json

from .config import NO_STATIC_SHAPE
from .sections import find_row
from .shares import op_groups, pair_ratio


def num(x):
    """A count or a speed as a whole number with thousands separators; n/a when missing."""
    return "n/a" if x is None else f"{x:,.0f}"


def ratios_text(row):
    """Each pair's `mean` / PyTorch ratio of a `torch` row, or - when it kept none."""
    return ", ".join(f"{x:.2f}x" for x in row.get("pair_ratios", [])) or "-"


def report_train(res, spec):
    lines = [f"Tokens per second of one training step on identical batches "
             f"({spec['batch_size']} x {spec['seq_len']} tokens, all real, embed = hidden = "
             f"{spec['embed_size']}, vocabulary {spec['vocab_size']:,}, 2 classes, dropout 0), "
             "through the project's own `train_epoch` (forward, loss, backward, clip, Adam, "
             "loss read back). Hybridized = `hybridize(static_alloc=True, static_shape=True)`; "
             f"{', '.join(f'`{a}`' for a in sorted(NO_STATIC_SHAPE))}: static_alloc alone "
             "(mxnet 1.9.1's `foreach` leaves its first step unwritten under static_shape).",
             "", "| architecture | imperative tok/s | hybridized tok/s | hybridized / imperative |",
             "|---|---:|---:|---:|"]
    archs = list(dict.fromkeys(r["arch"] for r in res["rows"]))
    for arch in archs:
        imp, hyb = find_row(res["rows"], arch, "imperative"), find_row(res["rows"], arch, "static")
        lines.append(f"| `{arch}` | {num(imp and imp['tokens_per_second'])} | "
                     f"{num(hyb and hyb['tokens_per_second'])} | "
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
        if mode == "static" and arch in NO_STATIC_SHAPE:
            mode = "static_alloc (no static_shape: see the training table)"
        lines.append(f"| `{arch}` | {mode} | {num(r['tokens_per_second'])} | "
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
        lines.append(f"| {r['threads']} | {num(r['mean'])} | {num(r['plain_probe'])} | "
                     f"{num(r['torch'])} | {ratios_text(r)} | {pair_ratio(r):.2f}x | "
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
        return (f"| {name} | {num(tok)} | {tok * flops / 1e9:.1f} | "
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
                     f"{num(r['throughput']['reviews_per_second'])} | "
                     f"{num(r['throughput']['tokens_per_second'])} |")
    t = res.get("torch")
    if t:
        lines.append(f"| PyTorch peer of `mean` | {1e3 * t['latency']['seconds']:.2f} | "
                     f"{num(t['throughput']['reviews_per_second'])} | "
                     f"{num(t['throughput']['tokens_per_second'])} |")
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
                     f"{r['padding_fraction']:.1%} | {num(r['tokens_per_second'])} | "
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
        lines.append(f"| hybridize | {r['mode']} | {num(r['tokens_per_second'])} | |")
    for r in res.get("batch_sizes", []):
        lines.append(f"| batch size (static) | {r['batch_size']} x {r['seq_len']} | "
                     f"{num(r['tokens_per_second'])} | |")
    for r in res.get("env", []):
        lines.append(f"| environment (fresh process) | {r['setting']} | {num(r['mean'])} | "
                     f"{num(r['lstm'])} |")
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
        each = ", ".join(num(x) for x in r.get("each", [r["tokens_per_second"]]))
        lines.append(f"| {r['processes']} | {r['threads']} | {num(r['tokens_per_second'])} | "
                     f"{each} |")
    return lines


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
            f"{res['step_seconds']:.2f} | {num(res['tokens_per_second'])} |"]


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
