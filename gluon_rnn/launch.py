"""Start an MXNet parameter-server job: one scheduler, `-s` servers and `-n` workers.

    python -m gluon_rnn.launch -n 2 -s 1 -- python -m gluon_rnn.train --kvstore dist_sync
    python -m gluon_rnn.launch -n 4 -s 2 --launcher ssh --hostfile hosts -- python train.py
    python -m gluon_rnn.launch -n 2 -s 1 --dry-run -- python train.py   # print, start nothing

MXNet 1.9.1 ships its own launcher (`tools/launch.py` on top of `dmlc_tracker`), but it calls
`Thread.isAlive`, which Python 3.9 removed. This one needs only the standard library.

Roles. Every process learns its part from the DMLC environment that ps-lite reads:
`DMLC_ROLE` (scheduler, server or worker), `DMLC_PS_ROOT_URI` and `DMLC_PS_ROOT_PORT` (where the
scheduler listens), `DMLC_NUM_WORKER`, `DMLC_NUM_SERVER`, and `DMLC_NODE_HOST` (the address a
server or worker binds and announces). The scheduler and the servers are plain
`python -c "import mxnet"`: importing mxnet with a non-worker role runs the server loop and
exits when the workers are done (`mxnet/kvstore/kvstore_server.py`). The workers run COMMAND;
the kvstore assigns their ranks, so `GLUON_RNN_WORKER_INDEX` (0..n-1, the start order) is only
a label for logs.

Teardown. Each child leads its own process group, so the launcher can end a child together
with whatever it started. The job ends when every worker has ended; the exit status is the
first non-zero worker status (0 when all succeed). A worker that fails, a scheduler or server
that dies, or SIGINT / SIGTERM / SIGHUP to the launcher stop the whole job: every group gets
SIGTERM, then SIGKILL after `--grace` seconds. A job that is still blocked waiting for a dead
peer never ends by itself, which is why one failure stops everything.

`--launcher ssh` starts the scheduler here and every server and worker through
`ssh HOST 'cd CWD && env DMLC_...=... COMMAND'`, round-robin over the hosts of `--hostfile`
(one `[user@]host[:ssh_port]` per line, `#` comments). It assumes the same paths on every host
(a shared file system) and asks ssh for a terminal (`-tt`) so that ending the local ssh ends
the remote process too (the price: remote output arrives with CRLF line ends).
"""
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .atomic import atomic_write_text
from .errors import ArgumentParser, UserError, run_cli

# Forwarded to remote hosts when set here: they change how ps-lite or MXNet behave.
FORWARDED_ENV = ("DMLC_INTERFACE", "PS_VERBOSE", "OMP_NUM_THREADS",
                 "MXNET_KVSTORE_BIGARRAY_BOUND")
WORKER_INDEX_ENV = "GLUON_RNN_WORKER_INDEX"
SERVER_CODE = "import mxnet"  # with DMLC_ROLE=scheduler/server this import is the server loop


@dataclass
class Spec:
    """One process to start: its role and index, the argv, and the variables added to the
    launcher's environment (for ssh, `argv` carries the remote variables itself)."""
    role: str                   # scheduler, server or worker
    index: int
    argv: list
    env: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.role if self.role == "scheduler" else f"{self.role} {self.index}"


def dmlc_env(role, root_uri, root_port, num_workers, num_servers, node_host=None):
    """The variables ps-lite reads to place one process in the job."""
    env = {"DMLC_ROLE": role, "DMLC_PS_ROOT_URI": root_uri,
           "DMLC_PS_ROOT_PORT": str(root_port), "DMLC_NUM_WORKER": str(num_workers),
           "DMLC_NUM_SERVER": str(num_servers)}
    if node_host is not None:
        env["DMLC_NODE_HOST"] = node_host
    return env


def free_port(host="127.0.0.1"):
    """A TCP port that is free on `host` right now (the scheduler binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def local_plan(command, num_workers, num_servers, port, python=sys.executable, extra_env=None):
    """Every process on this machine, bound to the loopback address only; `extra_env` is
    added to every process's environment."""
    host = "127.0.0.1"

    def env(role):
        return {**(extra_env or {}),
                **dmlc_env(role, host, port, num_workers, num_servers, node_host=host)}

    specs = [Spec("scheduler", 0, [python, "-c", SERVER_CODE], env("scheduler"))]
    specs += [Spec("server", i, [python, "-c", SERVER_CODE], env("server"))
              for i in range(num_servers)]
    specs += [Spec("worker", i, list(command), {**env("worker"), WORKER_INDEX_ENV: str(i)})
              for i in range(num_workers)]
    return specs


# --------------------------------------------------------------------------- ssh

def read_hostfile(path):
    """[(ssh_target, ssh_port or None, node_host)] from `[user@]host[:port]` lines."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise UserError(f"{path}: cannot read the host file ({err.strerror})")
    hosts = []
    for lineno, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise UserError(f"{path}:{lineno}: expected one [user@]host[:port] per line")
        target, _, ssh_port = line.partition(":")
        if ssh_port and not ssh_port.isdigit():
            raise UserError(f"{path}:{lineno}: ssh port must be a number, got {ssh_port!r}")
        hosts.append((target, ssh_port or None, target.rpartition("@")[2]))
    if not hosts:
        raise UserError(f"{path}: no hosts (one [user@]host[:port] per line)")
    return hosts


def ssh_argv(target, ssh_port, cwd, env, command):
    """`ssh TARGET 'cd CWD && env K=V ... COMMAND'`, every part shell-quoted for the remote
    shell. `-tt` gives the remote process a terminal, so it gets SIGHUP when ssh ends."""
    assignments = [f"{k}={shlex.quote(str(v))}" for k, v in env.items()]
    remote = (f"cd {shlex.quote(cwd)} && env {' '.join(assignments)} "
              f"{' '.join(shlex.quote(a) for a in command)}")
    argv = ["ssh", "-tt", "-o", "BatchMode=yes"]
    if ssh_port:
        argv += ["-p", ssh_port]
    return argv + [target, remote]


def routable_address(toward):
    """This machine's address on the route to `toward`: a UDP `connect` only picks the
    route and sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((toward, 9))
        except OSError as err:
            raise UserError(f"cannot find this machine's address toward {toward} ({err}); "
                            f"give it with --scheduler-host")
        return s.getsockname()[0]


def ssh_plan(command, hosts, num_workers, num_servers, scheduler_host, port, cwd,
             python=sys.executable, extra_env=None):
    """The scheduler here at `scheduler_host`, then servers and workers round-robin over
    `hosts` (as `read_hostfile` returns them), each through ssh. The remote processes get
    the DMLC variables, `extra_env`, and those of FORWARDED_ENV that are set here."""
    forwarded = {**{k: os.environ[k] for k in FORWARDED_ENV if k in os.environ},
                 **(extra_env or {})}
    specs = [Spec("scheduler", 0, [python, "-c", SERVER_CODE],
                  {**(extra_env or {}),
                   **dmlc_env("scheduler", scheduler_host, port, num_workers, num_servers)})]
    jobs = ([("server", i, [python, "-c", SERVER_CODE]) for i in range(num_servers)]
            + [("worker", i, list(command)) for i in range(num_workers)])
    for n, (role, index, argv) in enumerate(jobs):
        target, ssh_port, node_host = hosts[n % len(hosts)]
        env = {**forwarded, **dmlc_env(role, scheduler_host, port, num_workers, num_servers,
                                       node_host=node_host)}
        if role == "worker":
            env[WORKER_INDEX_ENV] = str(index)
        specs.append(Spec(role, index, ssh_argv(target, ssh_port, cwd, env, argv)))
    return specs


# --------------------------------------------------------------------------- supervision

def _status(returncode):
    """A shell-style exit status: 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


class Job:
    """The started processes of one launch, each the leader of its own process group."""

    def __init__(self, log):
        self.log = log
        self.procs = []           # [(Spec, subprocess.Popen)]
        self.stop_signal = None   # set by the signal handler, read by the wait loop

    def start(self, spec):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("DMLC_")]:
            del env[key]  # a stale role or address from the caller would mislead ps-lite
        env.update(spec.env)
        try:
            proc = subprocess.Popen(spec.argv, env=env, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as err:
            raise UserError(f"{spec.name}: cannot start {spec.argv[0]!r} ({err.strerror})")
        self.procs.append((spec, proc))
        self.log(f"{spec.name}: pid {proc.pid}: {shlex.join(spec.argv)}")
        return proc

    def pids(self):
        out = {"launcher": os.getpid(), "scheduler": None, "servers": [], "workers": []}
        for spec, proc in self.procs:
            if spec.role == "scheduler":
                out["scheduler"] = proc.pid
            else:
                out[spec.role + "s"].append(proc.pid)
        return out

    def _of(self, role):
        return [(s, p) for s, p in self.procs if s.role == role]

    def wait(self, grace, poll=0.05):
        """Until every worker ends, a worker fails, a scheduler or server dies first, or a
        signal arrives; returns the job's exit status. Never tears down (see `stop`)."""
        while True:
            if self.stop_signal is not None:
                self.log(f"got signal {self.stop_signal}; stopping the job", always=True)
                return 128 + self.stop_signal
            running = 0
            for spec, proc in self._of("worker"):
                code = proc.poll()
                if code is None:
                    running += 1
                elif code != 0:
                    self.log(f"{spec.name} (pid {proc.pid}) exited with status "
                             f"{_status(code)}; stopping the job", always=True)
                    return _status(code)
            if not running:
                break
            # They exit with 0 as the workers finalize, a moment before the workers do.
            for spec, proc in self._of("scheduler") + self._of("server"):
                if proc.poll():
                    self.log(f"{spec.name} (pid {proc.pid}) exited with status "
                             f"{_status(proc.returncode)} while workers were running; "
                             f"stopping the job", always=True)
                    return _status(proc.returncode)
            time.sleep(poll)
        # The servers and the scheduler leave once the workers' kvstores have said goodbye.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.stop_signal is None:
            if all(p.poll() is not None for _, p in self.procs):
                break
            time.sleep(poll)
        return 0

    def stop(self, grace):
        """SIGTERM to every child's process group, SIGKILL to those still there after
        `grace` seconds, then reap every child. Groups whose leader already exited are
        signalled too: something the leader started may still be in them."""
        def signal_groups(sig):
            for _, proc in self.procs:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass  # the group is empty

        def running():
            return [f"{s.name} (pid {p.pid})" for s, p in self.procs if p.poll() is None]

        if running():
            self.log(f"terminating {', '.join(running())}")
        signal_groups(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if running():
            self.log(f"killing {', '.join(running())} after {grace:g}s", always=True)
        signal_groups(signal.SIGKILL)
        for _, proc in self.procs:
            proc.wait()


def supervise(specs, grace=5.0, pid_file=None, verbose=False):
    """Start `specs` in order, wait for the job, always tear it down; returns the exit
    status (see the module docstring)."""
    def log(msg, always=False):
        if verbose or always:
            print(f"launch: {msg}", file=sys.stderr, flush=True)

    job = Job(log)

    def on_signal(signum, _frame):
        if job.stop_signal is None:
            job.stop_signal = signum

    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {s: signal.signal(s, on_signal) for s in stop_signals}
    except ValueError:   # not the main thread: the caller owns the signals
        previous = {}
    try:
        for spec in specs:
            if job.stop_signal is not None:
                break
            job.start(spec)
        if pid_file:
            atomic_write_text(pid_file, json.dumps(job.pids()))
        return job.wait(grace)
    finally:
        # A second Ctrl-C must not cut the teardown short.
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        job.stop(grace)
        for s, handler in previous.items():
            signal.signal(s, handler)


# --------------------------------------------------------------------------- command line

def parse_args(argv):
    if "--" not in argv and not {"-h", "--help"} & set(argv):
        raise UserError("expected the worker command after `--`, e.g. "
                        "python -m gluon_rnn.launch -n 2 -s 1 -- python train.py")
    split = argv.index("--") if "--" in argv else len(argv)
    options, command = argv[:split], argv[split + 1:]
    parser = ArgumentParser(
        prog="python -m gluon_rnn.launch",
        description="Start an MXNet parameter-server job (scheduler, servers, workers).",
        epilog="everything after -- is the worker command")
    parser.add_argument("-n", "--num-workers", type=int, required=True,
                        help="worker processes, each running the command")
    parser.add_argument("-s", "--num-servers", type=int, default=1,
                        help="server processes holding the parameters (default 1)")
    parser.add_argument("--launcher", choices=("local", "ssh"), default="local",
                        help="local: every process here on 127.0.0.1; ssh: over --hostfile "
                             "(default local)")
    parser.add_argument("-H", "--hostfile", help="ssh: one [user@]host[:ssh_port] per line")
    parser.add_argument("--scheduler-host", help="ssh: this machine's address as the "
                        "hosts see it (default: the route toward the first host)")
    parser.add_argument("--port", type=int, default=None,
                        help="scheduler port (default: a free one)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the scheduler and servers (default: this one)")
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds between SIGTERM and SIGKILL at teardown (default 5)")
    parser.add_argument("--pid-file", help="write the children's pids here (JSON)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be started, start nothing")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every child's pid and command; PS_VERBOSE=1 for ps-lite")
    args = parser.parse_args(options)
    args.command = command
    if not command:
        raise UserError("the worker command after `--` is empty")
    if args.num_workers < 1 or args.num_servers < 1:
        raise UserError(f"-n and -s must be at least 1 (got -n {args.num_workers} "
                        f"-s {args.num_servers})")
    if args.grace < 0:
        raise UserError(f"--grace must be >= 0, got {args.grace}")
    if args.launcher == "ssh" and not args.hostfile:
        raise UserError("--launcher ssh needs --hostfile")
    if args.launcher == "local" and (args.hostfile or args.scheduler_host):
        raise UserError("--hostfile and --scheduler-host apply only to --launcher ssh")
    return args


def plan(args):
    """The processes `args` asks for, in start order."""
    extra_env = {"PS_VERBOSE": "1"} if args.verbose else {}
    if args.launcher == "local":
        port = args.port or free_port("127.0.0.1")
        return local_plan(args.command, args.num_workers, args.num_servers, port, args.python,
                          extra_env)
    hosts = read_hostfile(args.hostfile)
    scheduler_host = args.scheduler_host or routable_address(hosts[0][2])
    port = args.port or free_port(scheduler_host)
    return ssh_plan(args.command, hosts, args.num_workers, args.num_servers, scheduler_host,
                    port, os.getcwd(), args.python, extra_env)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    specs = plan(args)
    if args.dry_run:
        for spec in specs:
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in spec.env.items())
            print(f"{spec.name}: {env + ' ' if env else ''}{shlex.join(spec.argv)}")
        return 0
    return supervise(specs, grace=args.grace, pid_file=args.pid_file, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(run_cli(main))
