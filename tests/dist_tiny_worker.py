"""One worker of a tiny dist_sync job, for tests/test_distributed.py:

    python -m gluon_rnn.launch -n 2 -s 1 -- python tests/dist_tiny_worker.py OUTDIR

Trains a Dense classifier on its own shard of a fixed synthetic problem through
`gluon.Trainer(..., kvstore=kv)` and writes OUTDIR/worker-RANK.json: the loss after every
step, the parameter checksum, and `allreduce_sum` of per-worker values whose sum is known.

Each worker seeds its initialisation differently on purpose: the kvstore must broadcast
rank 0's parameters. `replay` computes in one process, without any kvstore, what the job
must end with, so the test can check the workers against it bit for bit.
"""
import json
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from gluon_rnn.distributed import allreduce_grads, allreduce_sum, create_kvstore, param_checksum

STEPS, BATCH, LR = 15, 16, 0.5


def synthetic(n=256, dim=8, seed=0):
    """Two linearly separable classes; the same on every worker."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    y = (x @ rng.normal(size=dim) > 0).astype(np.float32)
    return x, y


def worker_data(rank, num_workers):
    x, y = synthetic()
    # every num_workers-th example from its rank on, as the training loop's loader shards
    return mx.nd.array(x[rank::num_workers]), mx.nd.array(y[rank::num_workers])


def make_net(rank):
    mx.random.seed(100 + rank)   # different on each worker, see the docstring
    net = gluon.nn.Dense(2, in_units=8)
    net.initialize(mx.init.Normal(1.0))
    return net


def batch(x, y, step):
    start = (step * BATCH) % (len(x) - BATCH + 1)
    return x[start:start + BATCH], y[start:start + BATCH]


def gradients(net, xb, yb, loss_fn):
    with autograd.record():
        loss = loss_fn(net(xb), yb)
    loss.backward()
    return [p.grad().copy() for p in net.collect_params().values()]


def replay(num_workers=2):
    """The job's final parameter checksum, computed in this process. On step 0 every worker
    computes its gradient with its own initial parameters (the Trainer broadcasts rank 0's
    inside the first allreduce, after the backward pass); the servers sum the gradients;
    every worker applies the sum to rank 0's parameters."""
    assert num_workers == 2, "float sums of more than two pushes depend on arrival order"
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    data = [worker_data(r, num_workers) for r in range(num_workers)]
    own = [make_net(r) for r in range(num_workers)]
    net = own[0]
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR}, kvstore=None)
    for step in range(STEPS):
        grads = [gradients(own[r] if step == 0 else net, *batch(*data[r], step), loss_fn)
                 for r in range(num_workers)]
        for param, parts in zip(net.collect_params().values(), zip(*grads)):
            param.grad()[:] = parts[0] + parts[1]
        trainer.update(BATCH * num_workers)
    return param_checksum(net)


def main(outdir):
    kv, rank, num_workers = create_kvstore("dist_sync")
    x, y = worker_data(rank, num_workers)
    net = make_net(rank)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR},
                            kvstore=kv, update_on_kvstore=False)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for step in range(STEPS):
        xb, yb = batch(x, y, step)
        with autograd.record():
            loss = loss_fn(net(xb), yb)
        loss.backward()
        allreduce_grads(trainer)              # not trainer.step: see allreduce_grads
        trainer.update(BATCH * num_workers)   # the gradients are sums over all workers
        losses.append(float(loss_fn(net(x), y).mean().asscalar()))

    summed = allreduce_sum(kv, {"rank": rank, "one": 1.0, "big": 2.0 ** 30 + rank,
                                "tenth": 0.1 * (rank + 1)})
    summed_array = allreduce_sum(kv, np.array([[rank, 10.0]]))
    record = {"rank": rank, "num_workers": num_workers, "losses": losses,
              "param_checksum": param_checksum(net), "summed": summed,
              "summed_array": summed_array.tolist(), "shard_size": len(x)}
    Path(outdir, f"worker-{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1])
