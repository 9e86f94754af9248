"""gluon_rnn gives mxnet one OpenMP thread per core unless told otherwise."""
import os
import subprocess
import sys

from conftest import REPO

CODE = "import gluon_rnn, os; print(os.environ.get('OMP_NUM_THREADS'))"


def _threads(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "DMLC_ROLE")}
    proc = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True,
                          text=True, env={**base, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_one_thread_per_core_by_default():
    from gluon_rnn import physical_cores
    cores = physical_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    assert _threads() == str(cores)


def test_the_users_setting_and_distributed_jobs_are_left_alone():
    assert _threads(OMP_NUM_THREADS="1") == "1"
    assert _threads(DMLC_ROLE="worker") == "None"
