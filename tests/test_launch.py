"""The parameter-server launcher: what it starts, and that it always cleans up.

Process checks read /proc, so they need Linux. Every address used is loopback.
"""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error
from gluon_rnn import launch
from gluon_rnn.errors import UserError

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def launcher_argv(*args):
    return [sys.executable, "-m", "gluon_rnn.launch", *map(str, args)]


def launcher_env():
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO)) if p)
    return dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED="1")


def run_launcher(*args, cwd, timeout=60):
    return subprocess.run(launcher_argv(*args), cwd=cwd, env=launcher_env(),
                          capture_output=True, text=True, timeout=timeout)


def python_cmd(code):
    return [sys.executable, "-c", code]


# --------------------------------------------------------------------------- /proc

def _stat(pid):
    """(state, pgrp) of a process, or None once it is gone (zombies count as gone: they
    run nothing and only wait for a parent to collect them)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[2]))


def alive(pid):
    return _stat(pid) is not None


def group_members(pgid):
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(entry.name)
            if stat and stat[1] == pgid:
                members.append(int(entry.name))
    return members


def children_of(pid_file):
    pids = json.loads(Path(pid_file).read_text())
    return [pids["scheduler"], *pids["servers"], *pids["workers"]]


def assert_all_gone(pids, within=5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p) or group_members(p)]
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"still running: {[(p, group_members(p)) for p in left]}")


# --------------------------------------------------------------------------- plans

def test_local_plan_roles_and_environment():
    specs = launch.local_plan(["python", "train.py", "--epochs", "1"], num_workers=3,
                              num_servers=2, port=9123, python="/usr/bin/python3")
    assert [s.name for s in specs] == ["scheduler", "server 0", "server 1", "worker 0",
                                       "worker 1", "worker 2"]
    for spec in specs:
        assert spec.env["DMLC_ROLE"] == spec.role
        assert spec.env["DMLC_PS_ROOT_URI"] == spec.env["DMLC_NODE_HOST"] == "127.0.0.1"
        assert spec.env["DMLC_PS_ROOT_PORT"] == "9123"
        assert (spec.env["DMLC_NUM_WORKER"], spec.env["DMLC_NUM_SERVER"]) == ("3", "2")
    assert specs[0].argv == specs[1].argv == ["/usr/bin/python3", "-c", "import mxnet"]
    assert specs[3].argv == ["python", "train.py", "--epochs", "1"]
    assert [s.env.get(launch.WORKER_INDEX_ENV) for s in specs[3:]] == ["0", "1", "2"]


def test_free_port_is_bindable():
    import socket
    port = launch.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


@pytest.fixture
def hostfile(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("# the cluster\n127.0.0.1\n\nalice@localhost:2222   # second\n")
    return path


def test_read_hostfile(hostfile):
    assert launch.read_hostfile(hostfile) == [("127.0.0.1", None, "127.0.0.1"),
                                              ("alice@localhost", "2222", "localhost")]


@pytest.mark.parametrize("content, fragment", [
    ("", "no hosts"),
    ("# only a comment\n", "no hosts"),
    ("127.0.0.1\nlocalhost:ssh\n", ":2: ssh port must be a number"),
    ("127.0.0.1 slots=4\n", ":1: expected one"),
])
def test_read_hostfile_rejects(tmp_path, content, fragment):
    path = tmp_path / "hosts"
    path.write_text(content)
    with pytest.raises(UserError, match=fragment):
        launch.read_hostfile(path)
    with pytest.raises(UserError, match="cannot read"):
        launch.read_hostfile(tmp_path / "missing")


def test_ssh_plan_command_lines(hostfile, monkeypatch):
    monkeypatch.delenv("DMLC_INTERFACE", raising=False)
    monkeypatch.setenv("PS_VERBOSE", "1")   # forwarded to the remote processes
    command = ["python", "train.py", "--out", "runs/it's here"]
    specs = launch.ssh_plan(command, launch.read_hostfile(hostfile), num_workers=2,
                            num_servers=1, scheduler_host="127.0.0.1", port=9000,
                            cwd="/work/my project", python="/opt/py/bin/python")
    scheduler, server, worker0, worker1 = specs
    # The scheduler runs here, on the address the hosts reach this machine at.
    assert scheduler.argv == ["/opt/py/bin/python", "-c", "import mxnet"]
    assert scheduler.env["DMLC_ROLE"] == "scheduler"
    assert scheduler.env["DMLC_PS_ROOT_URI"] == "127.0.0.1"
    # Servers and workers go round-robin over the hosts, each through one ssh.
    assert server.argv[:-1] == ["ssh", "-tt", "-o", "BatchMode=yes", "127.0.0.1"]
    assert worker0.argv[:-1] == ["ssh", "-tt", "-o", "BatchMode=yes", "-p", "2222",
                                 "alice@localhost"]
    assert worker1.argv[-2] == "127.0.0.1"
    for spec in specs[1:]:
        assert spec.env == {}   # everything travels inside the remote command
        # What the remote shell sees, split as it would split it.
        words = shlex.split(spec.argv[-1])
        assert words[:4] == ["cd", "/work/my project", "&&", "env"]
        assignments = dict(w.split("=", 1) for w in words[4:]
                           if re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", w))
        assert assignments["DMLC_ROLE"] == spec.role
        assert assignments["DMLC_PS_ROOT_URI"] == "127.0.0.1"
        assert assignments["DMLC_PS_ROOT_PORT"] == "9000"
        assert assignments["DMLC_NUM_WORKER"] == "2"
        assert assignments["DMLC_NUM_SERVER"] == "1"
        assert assignments["PS_VERBOSE"] == "1"
    assert shlex.split(server.argv[-1])[-3:] == ["/opt/py/bin/python", "-c", "import mxnet"]
    assert shlex.split(worker0.argv[-1])[-4:] == command
    assert "DMLC_NODE_HOST=localhost" in worker0.argv[-1]
    assert f"{launch.WORKER_INDEX_ENV}=1" in worker1.argv[-1]


def test_routable_address_toward_loopback():
    assert launch.routable_address("127.0.0.1") == "127.0.0.1"


def test_dry_run_ssh(hostfile, capsys, monkeypatch):
    monkeypatch.delenv("PS_VERBOSE", raising=False)
    assert launch.main(["-n", "1", "-s", "1", "--launcher", "ssh", "--hostfile", str(hostfile),
                        "--scheduler-host", "127.0.0.1", "--port", "9100", "--dry-run", "--",
                        "python", "train.py"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [l.split(":")[0] for l in lines] == ["scheduler", "server 0", "worker 0"]
    assert "DMLC_PS_ROOT_PORT=9100" in lines[0] and "ssh -tt" in lines[2]
    assert "PS_VERBOSE" not in lines[2]


def test_dry_run_local_verbose(capsys, monkeypatch):
    monkeypatch.delenv("PS_VERBOSE", raising=False)
    assert launch.main(["-n", "2", "-v", "--dry-run", "--", "python", "train.py"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all("PS_VERBOSE=1" in l for l in lines), lines
    assert lines[-1].endswith("GLUON_RNN_WORKER_INDEX=1 python train.py"), lines[-1]
    assert "PS_VERBOSE" not in os.environ   # set for the children only


@pytest.mark.parametrize("args, fragment", [
    (["-n", "2", "python", "x.py"], "after `--`"),
    (["-n", "2", "--"], "empty"),
    (["-n", "0", "--", "python", "x.py"], "at least 1"),
    (["-n", "1", "-s", "0", "--", "python", "x.py"], "at least 1"),
    (["-n", "1", "--launcher", "ssh", "--", "python", "x.py"], "needs --hostfile"),
    (["-n", "1", "--hostfile", "h", "--", "python", "x.py"], "only to --launcher ssh"),
])
def test_bad_arguments(args, fragment):
    with pytest.raises(UserError, match=fragment):
        launch.main(args)


@pytest.mark.parametrize("args, fragment", [
    (["-n", "2", "python", "x.py"], "--"),
    (["--bogus", "--", "python", "x.py"], "required: -n/--num-workers"),
    (["-n", "two", "--", "python", "x.py"], "invalid int value: 'two'"),
])
def test_bad_arguments_cli(tmp_path, args, fragment):
    proc = run_launcher(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, fragment)


# --------------------------------------------------------------------------- real jobs

@needs_proc
def test_missing_command_is_one_line_and_leaves_nothing(tmp_path):
    pid_file = tmp_path / "pids.json"
    proc = run_launcher("-n", "1", "-s", "1", "--pid-file", pid_file, "--",
                        "no-such-program-anywhere", cwd=tmp_path)
    assert_one_line_error(proc, "worker 0", "no-such-program-anywhere")
    assert not pid_file.exists()   # it failed while starting, before writing pids


@needs_proc
def test_failing_worker_stops_the_whole_job(tmp_path):
    """Worker 1 fails at once; worker 0 would sleep for a minute, and the scheduler and
    server would wait forever for workers that never register."""
    pid_file = tmp_path / "pids.json"
    code = ("import os, sys, time\n"
            f"if os.environ['{launch.WORKER_INDEX_ENV}'] == '1': sys.exit(3)\n"
            "time.sleep(60)")
    start = time.monotonic()
    proc = run_launcher("-n", "2", "-s", "1", "--pid-file", pid_file, "--",
                        *python_cmd(code), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert time.monotonic() - start < 30
    assert "worker 1" in proc.stderr and "status 3" in proc.stderr, proc.stderr
    pids = children_of(pid_file)
    assert len(pids) == 4
    assert_all_gone(pids, within=1.0)


@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_launcher_ends_every_process(tmp_path, sig):
    """Workers that ignore SIGTERM and leave a grandchild behind: the launcher must fall
    back to SIGKILL and reach the grandchildren through the process groups."""
    pid_file = tmp_path / "pids.json"
    worker = ["sh", "-c", 'trap "" TERM; sleep 300 & '
              f'echo $! > "grandchild-${launch.WORKER_INDEX_ENV}"; wait']
    launcher = subprocess.Popen(launcher_argv("-n", "2", "-s", "1", "--grace", "1",
                                              "--pid-file", pid_file, "--", *worker),
                                cwd=tmp_path, env=launcher_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and len(list(tmp_path.glob("grandchild-*"))) == 2):
            assert launcher.poll() is None, launcher.communicate()
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        time.sleep(1.0)   # let the scheduler and server reach their loops
        grandchildren = [int(p.read_text()) for p in tmp_path.glob("grandchild-*")]
        assert all(alive(p) for p in grandchildren)
        launcher.send_signal(sig)
        start = time.monotonic()
        _, stderr = launcher.communicate(timeout=15)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    assert time.monotonic() - start < 10
    assert launcher.returncode == 128 + sig, stderr
    assert f"signal {int(sig)}" in stderr and "killing" in stderr, stderr
    assert_all_gone(children_of(pid_file) + grandchildren, within=2.0)
