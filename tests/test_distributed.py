"""Helpers for multi-device and multi-process training, and one real dist_sync job."""
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import dist_tiny_worker
from conftest import REPO
from gluon_rnn import distributed
from gluon_rnn.distributed import (SINGLE, Workers, allgather, allreduce_sum, create_kvstore,
                                   param_checksum, parse_ctx)
from gluon_rnn.errors import UserError


# --------------------------------------------------------------------------- parse_ctx

@pytest.mark.parametrize("spec, expected", [
    ("cpu", [mx.cpu(0)]),
    ("cpu:1", [mx.cpu(1)]),
    ("cpu:0,cpu:1", [mx.cpu(0), mx.cpu(1)]),
    (" CPU:0, 1 ", [mx.cpu(0), mx.cpu(1)]),
])
def test_parse_ctx(spec, expected):
    assert parse_ctx(spec) == expected


@pytest.mark.parametrize("spec", ["", "tpu", "cpu:", "cpu:a", "0", "cpu:0,", "cpu:-1",
                                  "cpu:0,cpu:0", "cpu:0,gpu:0", "gpu:0;gpu:1"])
def test_parse_ctx_rejects(spec):
    with pytest.raises(UserError, match="--ctx"):
        parse_ctx(spec)


def test_parse_ctx_gpus(monkeypatch):
    monkeypatch.setattr(distributed, "_num_gpus", lambda: 2)
    assert parse_ctx("gpu:0,1") == [mx.gpu(0), mx.gpu(1)]
    assert parse_ctx("gpu") == [mx.gpu(0)]
    with pytest.raises(UserError, match="gpu:0..gpu:1"):
        parse_ctx("gpu:2")
    monkeypatch.setattr(distributed, "_num_gpus", lambda: 0)
    with pytest.raises(UserError, match="no GPU"):
        parse_ctx("gpu:0")


def test_parse_ctx_gpu_on_this_machine():
    """Whatever this machine has: a GPU either parses or is refused with a clear message."""
    if mx.context.num_gpus() == 0:
        with pytest.raises(UserError, match="no GPU"):
            parse_ctx("gpu:0")
    else:
        assert parse_ctx("gpu:0") == [mx.gpu(0)]


# --------------------------------------------------------------------------- param_checksum

def small_net(seed):
    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, in_units=3), gluon.nn.Dense(2, in_units=4))
    net.initialize()
    return net


def test_checksum_ignores_block_prefixes_but_not_values():
    a, b = small_net(0), small_net(0)   # same values, different global names (dense0_ / dense2_)
    assert list(a.collect_params()) != list(b.collect_params())
    assert param_checksum(a) == param_checksum(b)
    assert len(param_checksum(a)) == 64
    assert param_checksum(small_net(1)) != param_checksum(a)
    w = b[0].weight.data()
    flat = w.asnumpy().ravel()
    flat[0] = np.nextafter(flat[0], np.float32(np.inf))   # one ulp
    b[0].weight.set_data(mx.nd.array(flat.reshape(w.shape)))
    assert param_checksum(b) != param_checksum(a)


def test_checksum_of_dicts():
    x = np.arange(6, dtype=np.float32)
    assert param_checksum({"w": x}) == param_checksum({"w": mx.nd.array(x)})
    assert param_checksum({"w": x}) == param_checksum({"w": x.astype(np.float64)})
    assert param_checksum({"w": x}) != param_checksum({"w": x.reshape(2, 3)})
    assert param_checksum({"w": x}) != param_checksum({"v": x})
    assert param_checksum({"a": x, "b": -x}) == param_checksum({"b": -x, "a": x})
    net = small_net(0)
    assert param_checksum(net.collect_params()) == param_checksum(
        {k: p.data() for k, p in net.collect_params().items()})


def test_checksum_uses_first_device_copy():
    net = small_net(0)
    one = param_checksum(net)
    net.collect_params().reset_ctx([mx.cpu(0), mx.cpu(1)])
    assert param_checksum(net) == one


# --------------------------------------------------------------------------- kvstores

@pytest.mark.parametrize("name", ["local", "device"])
def test_create_kvstore_single_process(name):
    assert create_kvstore(name, environ={}) == (name, 0, 1)


def test_create_kvstore_unknown_name():
    with pytest.raises(UserError, match="expected one of local, device, dist_sync"):
        create_kvstore("nccl2", environ={})


def test_create_kvstore_dist_needs_a_launched_job():
    with pytest.raises(UserError) as err:
        create_kvstore("dist_sync", environ={"DMLC_NUM_WORKER": "2"})
    msg = str(err.value)
    for fragment in ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "gluon_rnn.launch", "--kvstore dist_sync"):
        assert fragment in msg, msg
    assert "DMLC_NUM_WORKER" not in msg
    env = dict(DMLC_ROLE="server", DMLC_PS_ROOT_URI="127.0.0.1", DMLC_PS_ROOT_PORT="9000",
               DMLC_NUM_WORKER="1", DMLC_NUM_SERVER="1")
    with pytest.raises(UserError, match="only workers train"):
        create_kvstore("dist_async", environ=env)


def test_allreduce_sum_single_process_returns_the_values():
    assert allreduce_sum("device", {"loss": 1.5, "count": 4}) == {"loss": 1.5, "count": 4.0}
    out = allreduce_sum(None, [1, 2, 3])
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    kv = mx.kv.create("local")   # a kvstore object, but one process: nothing to add
    assert allreduce_sum(kv, np.array([2.0])).tolist() == [2.0]


def test_allreduce_sum_refuses_async():
    with pytest.raises(ValueError, match="synchronous"):
        allreduce_sum(SimpleNamespace(type="dist_async"), [1.0])


def test_allgather_single_process():
    assert allgather("local", [1.5, 2.0]).tolist() == [[1.5, 2.0]]
    assert allgather(None, 3.0).shape == (1,)


def test_allgather_bits_survive_a_float32_server(monkeypatch):
    """Two simulated workers and a server that sums in float32 (what the 1.9.1 servers
    sometimes do with float64 pushes): every float64 comes back bit for bit."""
    values = [np.array([[2.0 ** 30 + 1, 0.1], [-1e300, np.inf]]),
              np.array([[5e-324, np.nan], [-0.0, 123456789.123456789]])]
    pushes = {}

    def float32_server(kv, flat):
        pushes[kv.rank] = flat.astype(np.float32)
        return sum(pushes.values()).astype(np.float32)

    monkeypatch.setattr(distributed, "_push_pull_sum", float32_server)
    allgather(SimpleNamespace(type="dist_sync", rank=1, num_workers=2), values[1])
    gathered = allgather(SimpleNamespace(type="dist_sync", rank=0, num_workers=2), values[0])
    assert gathered.shape == (2, 2, 2) and gathered.dtype == np.float64
    assert gathered.tobytes() == np.stack(values).tobytes()
    pushes.clear()
    allreduce_sum(SimpleNamespace(type="dist_sync", rank=1, num_workers=2), [0.2, 2.0 ** 53])
    total = allreduce_sum(SimpleNamespace(type="dist_sync", rank=0, num_workers=2), [0.1, 1.0])
    assert total.tolist() == [0.1 + 0.2, 2.0 ** 53 + 1.0]


# --------------------------------------------------------------------------- Workers

@pytest.mark.parametrize("name", ["local", "device"])
def test_workers_of_one_machine_add_nothing(name):
    workers = Workers.from_kvstore(name, environ={})
    assert (workers.kv, workers.rank, workers.count, workers.batches) == (name, 0, 1, None)
    assert workers.is_chief and SINGLE.is_chief and SINGLE.count == 1
    values = {"loss_sum": 1.5, "count": 4}
    array = np.array([1, 2])
    # the very values back, ints still ints: one machine's loop is untouched by the sum
    assert workers.sum(values) is values and workers.sum(array) is array
    assert workers.sum(7) == 7 and isinstance(workers.sum(7), int)


def test_workers_sum_over_two_simulated_workers(monkeypatch):
    """Several workers: `sum` is `allreduce_sum` over the kvstore, for a number, an array
    or a dict, the same total on each worker."""
    pushes = {}

    def server(kv, flat):
        pushes[kv.rank] = flat.astype(np.float32)
        return sum(pushes.values()).astype(np.float32)

    monkeypatch.setattr(distributed, "_push_pull_sum", server)
    pair = [Workers(SimpleNamespace(type="dist_sync", rank=r, num_workers=2), r, 2)
            for r in (0, 1)]
    assert pair[0].is_chief and not pair[1].is_chief
    for own, total in (((3, 5), 8), (({"n": 1, "x": 0.25}, {"n": 2, "x": 0.5}),
                                       {"n": 3.0, "x": 0.75})):
        pushes.clear()
        pair[1].sum(own[1])
        assert pair[0].sum(own[0]) == total
    pushes.clear()
    pair[1].sum(np.array([1.0, 2.0]))
    assert pair[0].sum(np.array([10.0, 20.0])).tolist() == [11.0, 22.0]


def test_only_the_chief_says(capsys):
    Workers("dist_sync", 1, 2).say("from rank 1")
    Workers("dist_sync", 0, 2).say("from rank 0")
    SINGLE.say("alone")
    assert capsys.readouterr().out == "from rank 0\nalone\n"


def test_with_batches_leaves_the_original():
    workers = Workers("dist_sync", 1, 2)
    assert workers.with_batches(12) == Workers("dist_sync", 1, 2, 12)
    assert workers.batches is None


# --------------------------------------------------------------------------- a real job

def test_two_workers_one_server(tmp_path):
    """Two workers train through one parameter server on their own shards and end with
    the parameters that one process computes by replaying the job, bit for bit, though
    each worker initialised its own differently."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), str(REPO)) if p))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gluon_rnn.launch", "-n", "2", "-s", "1", "--",
         sys.executable, str(REPO / "tests" / "dist_tiny_worker.py"), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    print(f"2 workers x 1 server: {seconds:.1f}s")
    workers = [json.loads((tmp_path / f"worker-{r}.json").read_text()) for r in range(2)]
    assert [w["rank"] for w in workers] == [0, 1]
    assert all(w["num_workers"] == 2 and w["shard_size"] == 128 for w in workers)
    assert workers[0]["param_checksum"] == workers[1]["param_checksum"]
    assert workers[0]["param_checksum"] == dist_tiny_worker.replay(num_workers=2)
    for w in workers:
        losses = w["losses"]
        assert losses[-1] < 0.6 * losses[0], losses
        # Sums over ranks 0 and 1, exact in float64 where float32 would round.
        assert w["summed"] == {"rank": 1.0, "one": 2.0, "big": 2.0 ** 31 + 1,
                               "tenth": 0.1 + 0.2}
        assert w["summed_array"] == [[1.0, 20.0]]
