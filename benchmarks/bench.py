"""Training and inference speed of every architecture, next to PyTorch, in one run.

    python benchmarks/bench.py                         # full run, ~12 min on 2 cores
    python benchmarks/bench.py --quick --out /tmp/b    # smoke run on tiny shapes, < 1 min
    python benchmarks/bench.py --only torch peak       # some sections only
    python benchmarks/bench.py --ctx gpu:0             # needs an MXNet GPU build

Writes `RESULTS.md` (tables, machine, the command), `results.json` (every raw number) and
`throughput.png` into `--out` (default: this folder). Sections, one function each
(speed/sections.py):

    train    training tokens/s of every architecture, imperative and hybridized
    cells    the fused `lstm` against the post's per-step `lstm-cells` loop
    torch    the Gluon `mean` model against its PyTorch peer (torch_peer.py), same threads,
             three pairs of processes: each pair's ratio and their median
    peak     the `mean` and `lstm` steps and the bare fused layer as shares of the CPU's
             FP32 peak, with the arithmetic
    infer    latency of one review (batch 1) and throughput of batches of 256
    imdb     one IMDB epoch of `mean`, with and without length bucketing: time, padding, RSS
    knobs    hybridize flags, OpenMP threads, MXNET_USE_MKLDNN_RNN, batch size
    side     the frontier's bilstm-meanmax 256 x 256: all threads in one process, or one
             single-thread process per core at once (results.py --jobs)
    frontier the same model with the frontier row's settings on real IMDB batches
    profile  mx.profiler's per-operator times: where a training step goes
    serve    a trained run's predictions/s in MXNet and onnxruntime, float32 and int8
             (--serve-model RUN_DIR; speed/serving.py)

Every measurement runs in a fresh child process (`bench.py --child TASK --spec JSON`, one
JSON line back) with its environment set explicitly: mxnet reads OMP_NUM_THREADS and
MXNET_USE_MKLDNN_RNN once, when it loads, and peak RSS belongs to a whole process. Each
timing is warm-up steps, then several timed windows of steps; the median window is reported.

This file holds the command line and the order of a run; its parts are in speed/: what a
child measures (tasks), starting children (runner), the CPU and its FP32 peak (machine), the
sections, RESULTS.md (report, its tables and the figures they show: tables, shares) and
throughput.png (plot).
"""
import argparse
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench.py` from a checkout
    sys.path.insert(0, str(REPO))
if str(HERE) not in sys.path:  # speed/, this script's parts, under `python -m` too
    sys.path.insert(1, str(HERE))

# The parent gives every child OMP_NUM_THREADS except the one that measures mxnet's own
# default. `import gluon_rnn` would fill the variable in for that child too (it does so when
# it is unset and mxnet is not loaded yet), so that child loads mxnet first.
if "--child" in sys.argv and "OMP_NUM_THREADS" not in os.environ:
    import mxnet  # noqa: E402,F401

from gluon_rnn.errors import UserError, run_cli  # noqa: E402

from speed.config import FULL, QUICK, SECTIONS, TARGETS  # noqa: E402
from speed.machine import machine_info  # noqa: E402
from speed.plot import plot  # noqa: E402
from speed.report import write_report  # noqa: E402
from speed.runner import Runner  # noqa: E402
from speed.sections import SECTION_FUNCS  # noqa: E402
from speed.tasks import child_main  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python benchmarks/bench.py",
                                description="Speed of every architecture, next to PyTorch.")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny shapes, one repeat, well under a minute")
    p.add_argument("--only", nargs="+", metavar="SECTION",
                   help="run only these sections: " + ", ".join(SECTIONS))
    p.add_argument("--ctx", default="cpu", help="cpu (default) or gpu:N (needs an MXNet GPU build)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="OMP_NUM_THREADS and torch threads for every row (default: usable CPUs)")
    p.add_argument("--fma-units", type=int, default=2,
                   help="FMA units per core in the peak arithmetic (2 on Zen 2-4 and most "
                        "Intel server cores since Haswell)")
    p.add_argument("--out", type=Path, default=HERE,
                   help="where RESULTS.md, results.json and throughput.png go (default: benchmarks/)")
    p.add_argument("--serve-model", type=Path, metavar="RUN_DIR",
                   help="section serve: the trained run to export and time (a `make run` directory)")
    p.add_argument("--child-timeout", type=int, default=900, help=argparse.SUPPRESS)
    p.add_argument("--verbose", action="store_true", help="show the children's stderr")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--spec", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _check_args(args):
    unknown = [s for s in args.only or [] if s not in SECTIONS]
    if unknown:
        raise UserError(f"--only: unknown section(s) {', '.join(unknown)}; choose from "
                        + ", ".join(SECTIONS))
    if args.threads < 1:
        raise UserError("--threads must be at least 1")
    kind, _, index = args.ctx.partition(":")
    if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
        raise UserError(f"--ctx {args.ctx!r}: expected cpu or gpu:N")
    if kind == "gpu":
        import mxnet as mx
        if mx.context.num_gpus() == 0:
            raise UserError(f"--ctx {args.ctx}: this mxnet {mx.__version__} build sees no GPU; "
                            "install a CUDA build (pip install mxnet-cu112==1.9.1) on a machine "
                            "with an NVIDIA GPU")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {args.out}: cannot create it: {err.strerror}")


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child_main(args.child, args.spec)
        return 0
    _check_args(args)
    spec = dict(QUICK if args.quick else FULL, ctx=args.ctx)
    runner = Runner(args, spec)
    command = "python benchmarks/bench.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    started = time.time()
    results = {"started": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
               "command": command.strip(), "machine": machine_info(),
               "settings": dict(spec, threads=args.threads, quick=args.quick),
               "load_before": list(os.getloadavg()), "targets": TARGETS}
    for name in args.only or SECTIONS:
        results[name] = SECTION_FUNCS[name](runner, results)
    results["load_after"] = list(os.getloadavg())
    results["minutes"] = (time.time() - started) / 60
    results["errors"] = runner.errors
    results["contention"] = runner.contention
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n",
                                           encoding="utf-8")
    if (results.get("train") or {}).get("rows"):
        plot(results, args.out / "throughput.png")
    write_report(results, args, args.out)
    print(f"wrote {args.out / 'RESULTS.md'}, results.json"
          + (", throughput.png" if (results.get("train") or {}).get("rows") else "")
          + f" in {results['minutes']:.1f} min")
    if runner.errors:
        raise UserError(f"{len(runner.errors)} measurement(s) failed: {runner.errors[0]}")
    return 0


if __name__ == "__main__":
    run_cli(main)
