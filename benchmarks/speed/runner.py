"""The parent side: starts each measurement in a fresh process and keeps what it reports.

A child is `bench.py --child TASK --spec JSON` (tasks.py) or torch_peer.py, each with its
environment set explicitly. `Runner` also notes how much of the machine other work used while
each child ran (`cpu_snapshot`, `others_share`), for the header of RESULTS.md.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .config import RESULT_MARK
from .tasks import TASKS

BENCHMARKS = Path(__file__).resolve().parents[1]
REPO = BENCHMARKS.parent
# A child runs the script, not tasks.py: bench.py puts the repository on sys.path and, for
# the child that measures mxnet's own thread default, loads mxnet before gluon_rnn.
BENCH = BENCHMARKS / "bench.py"


class Runner:
    """Starts the child processes and keeps what they report."""

    def __init__(self, args, spec):
        self.args, self.spec = args, spec
        self.errors = []
        self.contention = []  # per child: share of the machine other work used meanwhile

    def env(self, threads="default", **extra):
        """The child's environment: OMP_NUM_THREADS = `threads` ("unset" leaves mxnet to
        choose), plus `extra` variables; "default" is the run's --threads."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("OMP_NUM_THREADS", None)
        if threads == "default":
            threads = self.args.threads
        if threads != "unset":
            env["OMP_NUM_THREADS"] = str(threads)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def child(self, task, env=None, **spec):
        """Run `task` in a fresh `bench.py --child` process; its JSON result, or None after
        recording the error (the run goes on; the report shows what failed)."""
        full = dict(self.spec, **spec)
        label = f"{task} {spec.get('label', '')}".strip()
        if self.args.quick:
            return self._in_process(task, full, label)
        return self._run(_child_command(task, full), env or self.env(), label)

    def children_at_once(self, task, envs, **spec):
        """`task` in one fresh process per environment of `envs`, all started together; their
        JSON results (None for a failed one). --quick runs them one after the other in this
        process, so there they say nothing about running at once."""
        full = dict(self.spec, **spec)
        label = f"{task} {spec.get('label', '')}".strip()
        if self.args.quick:
            return [self._in_process(task, full, label) for _ in envs]
        print(f"[{time.strftime('%H:%M:%S')}] {label} ({len(envs)} processes at once)",
              flush=True)
        procs = [subprocess.Popen(_child_command(task, full), env=env, cwd=REPO,
                                  stdout=subprocess.PIPE,
                                  stderr=None if self.args.verbose else subprocess.PIPE,
                                  text=True) for env in envs]
        results = []
        for proc in procs:
            try:
                stdout, stderr = proc.communicate(timeout=self.args.child_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                self.errors.append(f"{label}: killed after {self.args.child_timeout} s")
                results.append(None)
                continue
            results.append(self._result(proc.returncode, stdout, stderr, label))
        return results

    def _in_process(self, task, spec, label):
        """--quick runs the tasks in this process: one mxnet start-up instead of one per
        task (the environment knobs, which need fresh processes, are left out)."""
        print(f"[{time.strftime('%H:%M:%S')}] {label} (in process)", flush=True)
        before = cpu_snapshot()
        try:
            return TASKS[task](spec)
        except Exception as err:  # record it and go on, like a failed child
            self.errors.append(f"{label}: {type(err).__name__}: {err}")
            print(f"  failed: {self.errors[-1]}", file=sys.stderr, flush=True)
            return None
        finally:
            self.contention.append(dict(others_share(before, cpu_snapshot()), label=label))

    def peer(self, threads, infer=False):
        """torch_peer.py in its own process (it never imports mxnet)."""
        s = self.spec
        cmd = [sys.executable, str(BENCHMARKS / "torch_peer.py"), "--threads", str(threads),
               "--device", "cuda" if self.args.ctx.startswith("gpu") else "cpu",
               "--batch-size", str(s["batch_size"]), "--seq-len", str(s["seq_len"]),
               "--vocab-size", str(s["vocab_size"]), "--embed-size", str(s["embed_size"]),
               "--hidden-size", str(s["hidden_size"]), "--warmup", str(s["warmup"]),
               "--steps", str(max(1, s["max_steps"] // 4)), "--repeats", str(s["repeats"]),
               "--infer-batch-size", str(s["infer_batch_size"])] + (["--infer"] if infer else [])
        return self._run(cmd, self.env(threads), f"torch_peer threads={threads}",
                         plain_json=True)

    def _run(self, cmd, env, label, plain_json=False):
        print(f"[{time.strftime('%H:%M:%S')}] {label}", flush=True)
        before = cpu_snapshot()
        try:
            # --verbose lets the child's progress lines through as they come
            proc = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=None if self.args.verbose else subprocess.PIPE,
                                  text=True, timeout=self.args.child_timeout)
        except subprocess.TimeoutExpired:
            self.errors.append(f"{label}: killed after {self.args.child_timeout} s")
            return None
        self.contention.append(dict(others_share(before, cpu_snapshot()), label=label))
        return self._result(proc.returncode, proc.stdout, proc.stderr, label, plain_json)

    def _result(self, returncode, stdout, stderr, label, plain_json=False):
        """A child's JSON result from its output, or None after recording why not."""
        lines = [l for l in stdout.splitlines() if l.strip()]
        if plain_json and returncode == 0 and lines:
            return json.loads(lines[-1])
        for line in reversed(lines):
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK):])
        tail = ((stderr or "").strip().splitlines() or ["see the output above"])[-1]
        self.errors.append(f"{label}: exit {returncode}: {tail}")
        print(f"  failed: {tail}", file=sys.stderr, flush=True)
        return None


def _child_command(task, spec):
    return [sys.executable, str(BENCH), "--child", task, "--spec", json.dumps(spec)]


def cpu_snapshot():
    """(wall, machine busy CPU-seconds, steal CPU-seconds, this process tree's CPU-seconds)
    from /proc/stat and os.times(); children count once they have been waited for."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        cpu = [0] * 8
    user, nice, system, idle, iowait, irq, softirq, steal = cpu
    t = os.times()
    return (time.time(), (user + nice + system + irq + softirq) / ticks, steal / ticks,
            t.user + t.system + t.children_user + t.children_system)


def others_share(before, after):
    """How much of the machine other processes (and, under a hypervisor, other guests:
    steal) used between two snapshots, as shares of all CPUs over that time."""
    wall = max(after[0] - before[0], 1e-9) * (os.cpu_count() or 1)
    others = (after[1] - before[1]) - (after[3] - before[3])
    return {"seconds": round(after[0] - before[0], 1),
            "others": round(max(others, 0) / wall, 3),
            "steal": round((after[2] - before[2]) / wall, 3)}
