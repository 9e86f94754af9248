"""Section `serve`: a trained run's prediction throughput in MXNet (hybridized) and in
onnxruntime (float32, and dynamic int8), same threads, batches of 1 and 256.

    python benchmarks/bench.py --only serve --serve-model runs/make-run-seed0 --out /tmp/serve

The run is exported first (`python -m gluon_rnn.export --model RUN --int8`, which rewrites
model.onnx and model-int8.onnx from its model.params); then `onnx_speed.py` measures each
runtime in a fresh process (see there for what a pass times). Without --serve-model, or
without onnx and onnxruntime, the section says why and measures nothing.
"""
import subprocess
import sys

from .runner import BENCHMARKS, REPO

RUNTIMES = ("mxnet", "onnx", "onnx-int8")
TEXTS = {False: 1000, True: 40}     # test reviews timed: a full run, a --quick one


def section_serve(runner, results):
    model = getattr(runner.args, "serve_model", None)
    if not model:
        return {"skipped": "give --serve-model RUN_DIR (a `make run` directory) to measure it"}
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        return {"skipped": f"the export extra is not installed ({err}): pip install -e '.[export]'"}
    export = subprocess.run([sys.executable, "-m", "gluon_rnn.export", "--model", str(model),
                             "--int8"], cwd=REPO, capture_output=True, text=True)
    if export.returncode != 0:
        runner.errors.append(f"serve: export failed: {export.stderr.strip()[-300:]}")
        return None
    threads = runner.args.threads
    runs = []
    for runtime in RUNTIMES:
        cmd = [sys.executable, str(BENCHMARKS / "onnx_speed.py"), "--model", str(model),
               "--runtime", runtime, "--threads", str(threads),
               "--texts", str(TEXTS[runner.args.quick]),
               "--repeats", "1" if runner.args.quick else "3"]
        out = runner._run(cmd, runner.env(threads), f"serve {runtime} threads={threads}",
                          plain_json=True)
        if out:
            runs.append(out)
    return {"model": str(model), "threads": threads, "runs": runs}


def report_serve(res):
    if "skipped" in res:
        return [f"Not measured: {res['skipped']}."]
    runs = res["runs"]
    if not runs:
        return ["No runtime gave a result (see the failures above)."]
    first = runs[0]
    sizes = [r["batch_size"] for r in first["rows"]]
    lines = [f"`{res['model']}` (max-len {first['max_len']}), {first['texts']:,} IMDB test "
             f"reviews ({first['tokens']:,} tokens after the cut), {res['threads']} threads in "
             "every runtime; texts/s from the median of the passes, tokenizing excluded "
             "(benchmarks/onnx_speed.py).", "",
             "| runtime | " + " | ".join(f"batch {b} (texts/s)" for b in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    base = {r["batch_size"]: r["texts_per_second"] for r in first["rows"]}
    for run in runs:
        cells = [f"{r['texts_per_second']:,.0f} ({r['texts_per_second'] / base[r['batch_size']]:.2f}x)"
                 for r in run["rows"]]
        lines.append(f"| `{run['runtime']}` | " + " | ".join(cells) + " |")
    return lines
