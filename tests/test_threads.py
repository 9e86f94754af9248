"""gluon_rnn gives mxnet one OpenMP thread per core unless told otherwise."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

CODE = "import gluon_rnn, os; print(os.environ.get('OMP_NUM_THREADS'))"


def _threads(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "DMLC_ROLE")}
    proc = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True,
                          text=True, env={**base, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def cores_in_cpuinfo():
    """Cores among the CPUs this process may use, counted from /proc/cpuinfo: the distinct
    (physical id, core id) pairs of those processors; None where the file does not say."""
    try:
        blocks = Path("/proc/cpuinfo").read_text().strip().split("\n\n")
    except OSError:
        return None
    allowed, cores = os.sched_getaffinity(0), set()
    for block in blocks:
        fields = dict(map(str.strip, line.split(":", 1)) for line in block.splitlines()
                      if ":" in line)
        if "physical id" not in fields or "core id" not in fields:
            return None
        if int(fields["processor"]) in allowed:
            cores.add((fields["physical id"], fields["core id"]))
    return len(cores)


def test_one_thread_per_core_by_default():
    cores = cores_in_cpuinfo()
    if cores is None:
        pytest.skip("/proc/cpuinfo does not give each processor's core")
    assert _threads() == str(cores)


def test_the_users_setting_and_distributed_jobs_are_left_alone():
    assert _threads(OMP_NUM_THREADS="1") == "1"
    assert _threads(DMLC_ROLE="worker") == "None"
