"""What the training loop needs to run on several devices or several processes.

    ctx = parse_ctx("gpu:0,1")                        # [gpu(0), gpu(1)]
    workers = Workers.from_kvstore("dist_sync")       # this process's rank, how many, the kv
    trainer = gluon.Trainer(params, "adam", kvstore=workers.kv, update_on_kvstore=False)
    allreduce_grads(trainer); trainer.update(workers.sum(batch_size))   # each step
    totals = workers.sum({"loss_sum": 12.5, "correct": 40, "count": 64})
    allgather(workers.kv, [seconds])                  # (workers.count, 1): every worker's
    param_checksum(net)                               # equal on every worker of a sync job

The processes of a distributed run are its workers: each has a rank (0..count-1), and rank
0, the chief, alone prints and writes the run directory. `Workers` holds that for the loop;
`SINGLE` is the one worker of a run on one machine, where `Workers.sum` adds nothing.
(MXNet calls the count `num_workers`, as metrics.json and the launcher's -n do; a
DataLoader's `num_workers` are its batchify processes, another thing.)

A `dist_*` kvstore only works inside a parameter-server job, which `python -m
gluon_rnn.launch` starts: each process finds its role in the `DMLC_*` environment.
`update_on_kvstore=False` keeps the optimizer on the workers (the servers only add), which
`allreduce_sum` relies on; it rules out `dist_async`, where MXNet requires the optimizer on
the servers.
"""
import dataclasses
import hashlib
import os
import weakref
from typing import Optional

import mxnet as mx
import numpy as np

from .errors import UserError

KVSTORES = ("local", "device", "dist_sync", "dist_device_sync", "dist_async")
DMLC_ENV = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER",
            "DMLC_NUM_SERVER")

# `allreduce_sum` keeps its sums on the parameter servers under integer keys far above the
# Trainer's (0..P-1 for P parameters). They must be integers: a kvstore refuses to mix
# string and integer keys. And small: the dist kvstore picks a server with `key * 9973` in
# a C int, so keys above ~200,000 overflow.
METRIC_KEY_BASE = 1 << 16
MAX_SUM_SIZE = 1 << 16   # float32 values per push
_initialized_keys = weakref.WeakKeyDictionary()   # kvstore -> keys `allreduce_sum` created


def parse_ctx(spec):
    """'cpu', 'cpu:0,cpu:1', 'gpu:0', 'gpu:0,1' -> a list of distinct `mx.Context`.
    A bare index repeats the previous device type; one run uses one device type."""
    contexts, kind = [], None
    for part in str(spec).replace(" ", "").lower().split(","):
        name, sep, index = part.partition(":")
        if not sep and name.isdigit() and kind:       # 'gpu:0,1': the 1 is gpu:1
            name, index = kind, name
        if name not in ("cpu", "gpu") or (sep and not index.isdigit()):
            raise UserError(f"--ctx {spec!r}: expected cpu, cpu:0,cpu:1, gpu:0 or gpu:0,1 "
                            f"(bad part {part!r})")
        if kind and name != kind:
            raise UserError(f"--ctx {spec!r}: mixes cpu and gpu; use one kind of device")
        kind = name
        contexts.append(mx.Context(name, int(index or 0)))
    if len(set(contexts)) != len(contexts):
        raise UserError(f"--ctx {spec!r}: a device is listed twice")
    if kind == "gpu":
        available = _num_gpus()
        if available == 0:
            raise UserError(f"--ctx {spec!r}: MXNet sees no GPU (a CPU build of mxnet, or "
                            f"no CUDA device visible); use --ctx cpu")
        missing = [c for c in contexts if c.device_id >= available]
        if missing:
            raise UserError(f"--ctx {spec!r}: {missing[0]} does not exist; MXNet sees "
                            f"{available} GPU(s): gpu:0..gpu:{available - 1}")
    return contexts


def _num_gpus():
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:   # no CUDA driver at all
        return 0


def create_kvstore(name, environ=None):
    """`name` -> (kvstore for `gluon.Trainer`, rank, num_workers).

    'local' and 'device' come back as the name: the Trainer then creates a kvstore only
    when there are several devices to reduce over. `dist_*` names create the process's one
    distributed kvstore, which needs the `DMLC_*` environment of a launched job."""
    environ = os.environ if environ is None else environ
    if name not in KVSTORES:
        raise UserError(f"--kvstore {name!r}: expected one of {', '.join(KVSTORES)}")
    if not name.startswith("dist"):
        return name, 0, 1
    missing = [k for k in DMLC_ENV if not environ.get(k)]
    if missing:
        raise UserError(
            f"--kvstore {name} runs inside a parameter-server job, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set; start it with "
            f"`python -m gluon_rnn.launch -n 2 -s 1 -- python -m gluon_rnn.train "
            f"--kvstore {name} ...`")
    if environ["DMLC_ROLE"] != "worker":
        raise UserError(f"--kvstore {name}: DMLC_ROLE is {environ['DMLC_ROLE']!r}; only "
                        f"workers train (the launcher starts schedulers and servers itself)")
    kv = mx.kv.create(name)
    return kv, kv.rank, kv.num_workers


@dataclasses.dataclass(frozen=True)
class Workers:
    """The workers of a run as the loop sees them: this process's `rank`, how many there
    are (`count`), the kvstore that joins them (`kv`, for `gluon.Trainer`), and `batches`,
    how many batches each takes per epoch (None: its whole loader). A synchronous job needs
    every worker to take the same number of steps, so a run of several sets the shortest
    shard's length (`with_batches`)."""
    kv: object = None
    rank: int = 0
    count: int = 1
    batches: Optional[int] = None

    @classmethod
    def from_kvstore(cls, name, environ=None):
        """The workers of a run with `--kvstore name` (see `create_kvstore`)."""
        return cls(*create_kvstore(name, environ))

    @property
    def is_chief(self):
        """Rank 0: the worker that prints, holds and writes the run directory."""
        return self.rank == 0

    def with_batches(self, batches):
        return dataclasses.replace(self, batches=batches)

    def sum(self, values):
        """`values` (a number, an array or a dict of numbers) summed over every worker, the
        same on each: `values` itself on one worker. See `allreduce_sum`."""
        if self.count == 1:
            return values
        return allreduce_sum(self.kv, values)

    def say(self, msg):
        """Print a line of the run's progress, from the chief only."""
        if self.is_chief:
            print(msg, flush=True)


SINGLE = Workers()   # the one worker of a run on one machine


def is_distributed(kv):
    """Whether `kv` (a kvstore, a kvstore name or None) spans several processes."""
    return kv is not None and not isinstance(kv, str) and "dist" in kv.type


def allreduce_grads(trainer):
    """`trainer.allreduce_grads()`, safe on the first step of a dist job.

    MXNet 1.9 sets up a Trainer's kvstore lazily, inside the first allreduce: it broadcasts
    rank 0's parameters (init + pull) and then sums the gradients (pushpull) under the same
    keys, and nothing orders the pull before the pushpull. With `update_on_kvstore=False`
    the servers keep the gradient sum under each parameter's key, so a pull that loses the
    race brings back gradients as weights and that worker silently trains something else
    (about one run in three of tests/dist_tiny_worker.py without this). Finishing the
    broadcast before the first pushpull closes the race; later calls cost nothing extra."""
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
        mx.nd.waitall()   # the broadcast pulls have landed
    trainer.allreduce_grads()


def _named_arrays(net_or_params):
    """(name, NDArray or ndarray) pairs of a Block (structural names such as
    `encoder.l0_i2h_weight`, which do not depend on how many blocks the process built
    before), a ParameterDict, or a dict of Parameters or arrays."""
    if hasattr(net_or_params, "_collect_params_with_prefix"):   # a gluon Block
        items = net_or_params._collect_params_with_prefix().items()
    else:
        items = net_or_params.items()
    for name, value in items:
        if isinstance(value, mx.gluon.Parameter):
            value = value.list_data()[0]   # copies on several devices are equal
        yield name, value


def param_checksum(net_or_params):
    """sha256 over every parameter's name, shape and float32 bytes in sorted name order:
    equal exactly when the parameters are bit-for-bit equal."""
    digest = hashlib.sha256()
    for name, value in sorted(_named_arrays(net_or_params), key=lambda kv: kv[0]):
        array = value.asnumpy() if isinstance(value, mx.nd.NDArray) else np.asarray(value)
        array = np.ascontiguousarray(array, dtype=np.float32)
        digest.update(f"{name}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def allgather(kv, values):
    """Every worker's `values` (float64, the same shape on every worker), stacked in rank
    order: shape (num_workers, *values.shape). Without a dist kvstore: (1, *values.shape).

    The servers only add, so each worker pushes its values into its own row of zeros and
    the sum is everyone's rows. A row carries each float64 as four 16-bit pieces, one per
    float32: the 1.9.1 servers keep float64 pushes as float32 in some runs and not in others,
    and a float32 holds an integer below 2**24 exactly, so the bits come back whole.

    The servers must not run an optimizer: create the Trainer with
    `update_on_kvstore=False` (otherwise the pushes would be treated as gradients)."""
    array = np.array(values, dtype=np.float64)
    if not is_distributed(kv):
        return array[None]
    if "async" in kv.type:
        raise ValueError(f"allgather needs a synchronous kvstore, not {kv.type}: an async "
                         f"server keeps the latest push instead of the sum")
    if array.size == 0:
        return np.zeros((kv.num_workers, *array.shape))
    num_workers, pieces = kv.num_workers, array.size * 4
    if num_workers * pieces > MAX_SUM_SIZE:
        raise ValueError(f"allgather is for a few metrics: at most "
                         f"{MAX_SUM_SIZE // (4 * num_workers)} values with {num_workers} "
                         f"workers, got {array.size}")
    rows = np.zeros((num_workers, pieces), dtype=np.float32)
    rows[kv.rank] = array.astype("<f8").reshape(-1).view("<u2")
    total = _push_pull_sum(kv, rows.reshape(-1))
    gathered = total.reshape(num_workers, pieces).astype("<u2")
    return gathered.view("<f8").astype(np.float64).reshape(num_workers, *array.shape)


def allreduce_sum(kv, values):
    """The sum of `values` over every worker of a dist job (each worker passes the same
    shape, or a dict with the same keys): for metrics such as summed loss, correct
    predictions and counts. Exact per-worker float64 values, added in rank order, so every
    worker gets the same float64 result. Without a dist kvstore it returns `values`.
    See `allgather` for the requirements."""
    if isinstance(values, dict):
        names = sorted(values)
        total = allreduce_sum(kv, [values[k] for k in names])
        return {k: float(v) for k, v in zip(names, total)}
    gathered = allgather(kv, values)
    total = gathered[0].copy()
    for row in gathered[1:]:
        total += row
    return total


def _push_pull_sum(kv, flat):
    """Sum of the float32 vector `flat` over all workers, through the servers."""
    # One key per size: a kvstore key keeps the shape it was created with.
    key = METRIC_KEY_BASE + flat.size
    data = mx.nd.array(flat, dtype=np.float32)
    created = _initialized_keys.setdefault(kv, set())
    if key not in created:
        kv.init(key, mx.nd.zeros_like(data))   # every worker calls it: init is a barrier
        created.add(key)
    kv.push(key, data)    # a sync server answers once all workers have pushed...
    out = mx.nd.zeros_like(data)
    kv.pull(key, out=out)  # ...and holds their sum until the next round
    return out.asnumpy()
