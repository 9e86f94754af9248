"""The shared loop on several devices, with stand-in workers, and on MXNet's parameter server
(2 workers, 1 server)."""
import json
import sys

import pytest

from conftest import REPO, SMALL, assert_one_line_error, history, run_module

# no dropout: the devices or workers draw no masks of their own, so runs can be compared
NO_DROPOUT = [*SMALL, "--dropout", "0", "--lr", "0.01", "--patience", "9"]
SAMPLE = REPO / "data" / "sample.tsv"


def test_the_readmes_two_cpu_devices_train_as_one(tmp_path):
    """The README's way to try several devices on one machine, `--ctx cpu:0,cpu:1` on the
    sample (whose buckets end in batches of one example, fewer than the devices), trains
    the same model as one device (split_and_load + kvstore)."""
    from gluon_rnn.train import Config, prepare_data
    _, _, loaders, _ = prepare_data(Config(data=str(SAMPLE), progress=False))
    assert min(len(label) for _, _, label in loaders["train"]) == 1
    for name, ctx in (("one", "cpu"), ("two", "cpu:0,cpu:1")):
        proc = run_module("gluon_rnn.train", "--data", SAMPLE, "--ctx", ctx, "--epochs", "2",
                          "--dropout", "0", "--out", tmp_path / name)
        assert proc.returncode == 0, proc.stderr
    one, two = history(tmp_path / "one"), history(tmp_path / "two")
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-3, (a, b)
        assert abs(a["valid_loss"] - b["valid_loss"]) < 1e-3, (a, b)
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["context"] == "cpu:0,cpu:1"


def random_batches(sizes, seed=0):
    """(tokens, valid_length, label) batches of `sizes` examples, tokens 2..29, up to 6 long."""
    import mxnet as mx
    import numpy as np
    rng = np.random.RandomState(seed)
    batches = []
    for n in sizes:
        lengths = rng.randint(1, 7, size=n)
        tokens = rng.randint(2, 30, size=(n, 6)).astype("float32")
        for row, length in enumerate(lengths):
            tokens[row, length:] = 0
        batches.append((mx.nd.array(tokens), mx.nd.array(lengths),
                        mx.nd.array(rng.randint(0, 2, size=n))))
    return batches


def same_start_net(ctx, initial=None):
    """A tiny `mean` net on `ctx`, set to `initial` (name -> NDArray) when given; returns it
    and its parameters, to pass as `initial` to the next."""
    import mxnet as mx
    from gluon_rnn import build_model
    net = build_model("mean", 30, embed_size=4, hidden_size=4)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    params = net._collect_params_with_prefix()
    if initial is None:
        initial = {k: p.data(ctx[0]).copy() for k, p in params.items()}
    for k, p in params.items():
        p.set_data(initial[k])
    net.hybridize(static_alloc=True)
    return net, initial


def test_two_devices_sum_the_gradients_of_one_for_every_batch_size():
    """Batches of 5, 1, 3 and 1 examples (1 is fewer than the 2 devices) on cpu:0,cpu:1 move
    every parameter exactly as one device does: the devices' gradients add up to the one
    device's gradient (plain SGD, so a wrong sum shows in the step)."""
    import mxnet as mx
    import numpy as np
    from mxnet import gluon
    from gluon_rnn.loop import train_epoch

    batches = random_batches((5, 1, 3, 1))
    initial, trained = None, []
    for ctx in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        net, initial = same_start_net(ctx, initial)
        params = net._collect_params_with_prefix()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5},
                                kvstore="device", update_on_kvstore=False)
        stats = train_epoch(net, batches, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, ctx,
                            clip=0, progress=False)
        assert stats["count"] == 10
        trained.append([{k: p.data(c).asnumpy() for k, p in params.items()} for c in ctx])
    (one,), two = trained
    for device in two:
        for k in one:
            assert not np.allclose(one[k], initial[k].asnumpy()), k   # it trained
            np.testing.assert_allclose(device[k], one[k], rtol=1e-5, atol=1e-6, err_msg=k)


def twin_workers(rank):
    """`distributed.Workers` of two, whose other worker takes a batch of the same size as
    this one's and adds nothing to the gradients: `sum` doubles."""
    from gluon_rnn.distributed import Workers

    class Twin(Workers):
        def sum(self, values):
            if isinstance(values, dict):
                return {k: 2.0 * v for k, v in values.items()}
            return 2 * values
    return Twin(kv="device", rank=rank, count=2)


def test_the_step_divides_by_the_batch_summed_over_the_workers():
    """`train_epoch` divides each step's gradient by `workers.sum` of the batch sizes: with a
    second worker that brings as many examples and no gradient, plain SGD at twice the rate
    takes the very steps of one worker."""
    import mxnet as mx
    import numpy as np
    from mxnet import gluon
    from gluon_rnn.loop import train_epoch

    batches, ctx = random_batches((5, 1, 3)), [mx.cpu(0)]
    initial, trained = None, []
    for rate, workers in ((0.5, None), (1.0, twin_workers(0)), (0.5, twin_workers(0))):
        net, initial = same_start_net(ctx, initial)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": rate},
                                kvstore="device", update_on_kvstore=False)
        extra = {"workers": workers} if workers else {}
        train_epoch(net, batches, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, ctx, clip=0,
                    progress=False, **extra)
        trained.append({k: p.data().asnumpy()
                        for k, p in net._collect_params_with_prefix().items()})
    one, twin, half = trained
    for k in one:
        np.testing.assert_allclose(twin[k], one[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert any(not np.allclose(half[k], one[k]) for k in one)   # the sum does change the step


def test_fit_adds_the_statistics_over_workers_and_only_the_chief_writes(tmp_path, capsys):
    """An epoch's training statistics are `workers.sum` of every worker's (twice the tokens
    for two equal workers, the same mean loss); a worker other than the chief prints
    nothing and writes no checkpoint, yet counts the epoch as done."""
    import random
    import mxnet as mx
    from mxnet import gluon
    from gluon_rnn import data as gdata
    from gluon_rnn.distributed import SINGLE
    from gluon_rnn.loop import fit
    from gluon_rnn.options import Config

    rng = random.Random(0)
    ids = [[rng.randrange(2, 30) for _ in range(rng.randint(1, 9))] for _ in range(40)]
    labels = [rng.randrange(2) for _ in ids]
    loaders = {name: gdata.make_loader(ids, labels, 8, shuffle=name == "train")
               for name in ("train", "valid")}
    ctx, initial, rows = [mx.cpu(0)], None, {}
    for name, rate, workers in (("one", 0.5, SINGLE), ("chief", 1.0, twin_workers(0)),
                                ("other", 1.0, twin_workers(1))):
        net, initial = same_start_net(ctx, initial)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": rate},
                                kvstore="device", update_on_kvstore=False)
        cfg = Config(epochs=1, lr=rate, clip=0, progress=False)
        capsys.readouterr()
        state = fit(cfg, net, trainer, loaders, 2, ctx, tmp_path / name, {}, workers)
        printed = capsys.readouterr().out
        assert state["epoch"] == 1 and len(state["history"]) == 1
        rows[name] = state["history"][0]
        if name == "other":
            assert printed == "" and not (tmp_path / name).exists()
        else:
            assert printed.startswith("epoch 1/1") and (tmp_path / name / "checkpoint").is_dir()
    one = rows["one"]
    for name in ("chief", "other"):
        assert rows[name]["tokens"] == 2 * one["tokens"]
        assert rows[name]["padded_tokens"] == 2 * one["padded_tokens"]
        assert abs(rows[name]["train_loss"] - one["train_loss"]) < 1e-5
        assert rows[name]["valid_loss"] == rows["chief"]["valid_loss"]


def test_dist_sync_two_workers_train_on_halves_and_end_with_equal_parameters(tiny_tsv,
                                                                            tmp_path):
    """Two workers and a server: both end with the same parameters, and each epoch they
    trained on the training set's tokens once between them (each its own half)."""
    from gluon_rnn import data as gdata
    out = tmp_path / "dist"
    # one length bucket: the two halves make batches of the same count, so no worker has a
    # batch left over when the other stops, and together they take every example
    proc = run_module("gluon_rnn.launch", "-n", "2", "-s", "1", "--", sys.executable, "-m",
                      "gluon_rnn.train", "--arch", "lstm", "--data", tiny_tsv, "--epochs", "3",
                      "--kvstore", "dist_sync", "--out", out, *NO_DROPOUT, "--num-buckets", "1",
                      timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    workers = [json.loads((out / f"worker-{r}.json").read_text()) for r in (0, 1)]
    assert workers[0]["param_checksum"] == workers[1]["param_checksum"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_workers"] == 2 and metrics["kvstore"] == "dist_sync"
    assert metrics["final_param_checksum"] == workers[0]["param_checksum"]
    rows = history(out)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"], rows
    corpus = gdata.load_corpus(data=str(tiny_tsv), seed=0)
    assert metrics["num_train"] == len(corpus.train)
    whole = sum(len(gdata.tokenize(text)) for text, _ in corpus.train)
    assert [row["tokens"] for row in rows] == [whole] * 3


def test_dist_kvstore_outside_a_job_is_one_clear_line(tiny_tsv):
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--kvstore", "dist_sync")
    assert_one_line_error(proc, "DMLC_", "gluon_rnn.launch")


def test_async_kvstore_is_refused(tiny_tsv):
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--kvstore", "dist_async")
    assert_one_line_error(proc, "dist_async", "dist_sync")


def _num_gpus():
    import mxnet as mx
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


@pytest.mark.gpu
@pytest.mark.skipif(_num_gpus() == 0, reason="needs an MXNet GPU build and a GPU")
def test_gpu_trains_like_cpu(tiny_tsv, tmp_path):
    """cuDNN's fused LSTM on gpu:0 learns the tiny set as the CPU does (run with -m gpu)."""
    for name, ctx in (("cpu", "cpu"), ("gpu", "gpu:0")):
        proc = run_module("gluon_rnn.train", "--arch", "bilstm", "--data", tiny_tsv,
                          "--epochs", "2", "--ctx", ctx, "--out", tmp_path / name, *NO_DROPOUT)
        assert proc.returncode == 0, proc.stderr
    cpu, gpu = history(tmp_path / "cpu"), history(tmp_path / "gpu")
    for a, b in zip(cpu, gpu):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-2, (a, b)


def test_gpu_context_without_gpu_is_one_clear_line(tiny_tsv):
    if _num_gpus():
        pytest.skip("a GPU is present")
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--ctx", "gpu:0")
    assert_one_line_error(proc, "gpu", "--ctx cpu")
