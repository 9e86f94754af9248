"""ONNX export: every exportable architecture gives MXNet's probabilities in onnxruntime,
keeps padding invariance, and is served by `predict --runtime onnx` in a process where
importing mxnet fails. Needs the `export` extra (onnx, onnxruntime); skipped without it."""
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from conftest import REPO, assert_exit_2, run_module
from gluon_rnn.blocks import ARCHITECTURES, LastStep, build_model

onnx = pytest.importorskip("onnx", reason="the export extra is not installed: "
                                          "pip install -e '.[export]'")
ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed: "
                                                "pip install -e '.[export]'")

from gluon_rnn import data as gdata  # noqa: E402
from gluon_rnn.export import (INPUTS, NOT_EXPORTABLE, OPSET, export_run, load_session,  # noqa: E402
                              predict_probs)
from gluon_rnn.model_io import save_model_dir  # noqa: E402

SEED = 0
VOCAB, CLASSES = 40, 3
EXPORTABLE = sorted(set(ARCHITECTURES) - set(NOT_EXPORTABLE))
WORDS = [f"w{i}" for i in range(VOCAB - 2)]

# A sitecustomize that makes `import mxnet` (and gluonnlp, which imports it) fail in the
# process it is put on the path of, as where mxnet does not install.
BLOCKER = '''
import sys
class _NotHere:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked}:
            raise ImportError(f"{{name}} is not installed here")
sys.meta_path.insert(0, _NotHere())
'''


def test_last_step_reads_exactly_what_sequence_last_reads():
    mx.random.seed(SEED)
    outputs = nd.random.normal(shape=(5, 7, 3))
    valid_length = nd.array([7, 3, 1, 0, 5])
    expected = nd.SequenceLast(outputs, nd.maximum(valid_length, 1), use_sequence_length=True,
                               axis=1).asnumpy()
    block = LastStep()
    eager = block(outputs, valid_length).asnumpy()
    block.hybridize()
    hybrid = block(outputs, valid_length).asnumpy()
    assert np.array_equal(eager, expected) and np.array_equal(hybrid, expected)
    assert np.array_equal(eager[3], outputs[3, 0].asnumpy())   # length 0 reads step 0, finite


def padded(lengths, T, garbage=False, seed=SEED):
    """tokens (N, T) float32 with real ids in [2, VOCAB); padding 0, or random ids."""
    rng = np.random.RandomState(seed)
    tokens = rng.randint(2, VOCAB, size=(len(lengths), T)).astype(np.float32)
    pad = rng.randint(2, VOCAB, size=tokens.shape) if garbage else np.zeros(tokens.shape)
    for row, n in enumerate(lengths):
        tokens[row, n:] = pad[row, n:]
    return tokens, np.array(lengths, dtype=np.float32)


def trained(arch, **kwargs):
    """A small `arch` net after a few Adam steps on random padded rows, so that its weights
    are no longer the initialisation's; hybridized, as `load_model_dir` gives it."""
    mx.random.seed(SEED)
    net = build_model(arch, VOCAB, num_classes=CLASSES, embed_size=8, hidden_size=6, **kwargs)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for step in range(3):
        tokens, lengths = padded([9, 6, 3, 1], 9, seed=step)
        with autograd.record():
            loss = loss_fn(net(nd.array(tokens), nd.array(lengths)), nd.array([0, 1, 2, 1]))
        loss.backward()
        trainer.step(4)
    return net


def write_run(out, net):
    """A model directory for `net`, as training writes it."""
    vocab = gdata.build_vocab([WORDS], max_size=None)
    save_model_dir(out, net, vocab, ["neg", "neutral", "pos"][:CLASSES], max_len=50)
    return out


def mx_probs(net, tokens, lengths):
    return nd.softmax(net(nd.array(tokens), nd.array(lengths))).asnumpy()


@pytest.mark.parametrize("arch, num_layers", [(a, None) for a in EXPORTABLE] + [
    ("bilstm", 2), ("gru", 2), ("attention", 2)])
def test_onnx_gives_mxnets_probabilities_and_keeps_padding_invariance(arch, num_layers,
                                                                      tmp_path):
    net = trained(arch, num_layers=num_layers)
    (path,) = export_run(write_run(tmp_path / "run", net))
    model = onnx.load(str(path))
    assert [o.version for o in model.opset_import] == [OPSET]
    session, _, _ = load_session(tmp_path / "run", threads=1)
    # padded batches of two shapes, an empty text among them, and a batch of one
    for lengths, T in (([12, 9, 5, 1, 0], 12), ([3, 0, 7], 20), ([6], 6)):
        tokens, valid_length = padded(lengths, T)
        (logits,) = session.run(None, {INPUTS[0]: tokens, INPUTS[1]: valid_length})
        assert logits.shape == (len(lengths), CLASSES), logits.shape
        got = predict_probs(session, [list(row[:n]) for row, n in zip(tokens, lengths)])
        assert np.abs(got - mx_probs(net, tokens, valid_length)).max() <= 1e-5, (arch, lengths)
    # the same rows, padded longer with other ids, give the same output in onnxruntime
    tokens, valid_length = padded([5, 2, 4, 0], 5)
    base = session.run(None, {INPUTS[0]: tokens, INPUTS[1]: valid_length})[0]
    longer = np.concatenate([tokens, padded([0] * 4, 11, garbage=True, seed=7)[0]], axis=1)
    again = session.run(None, {INPUTS[0]: longer, INPUTS[1]: valid_length})[0]
    np.testing.assert_allclose(again, base, rtol=0, atol=1e-5, err_msg=arch)
    assert np.isfinite(base).all()


def test_the_export_leaves_onnx_as_it_found_it(tmp_path):
    newest = onnx.defs.onnx_opset_version()
    export_run(write_run(tmp_path / "run", trained("max")))
    assert onnx.defs.onnx_opset_version() == newest
    assert onnx.checker.DEFAULT_CONTEXT.opset_imports == {"": newest}


def test_lstm_cells_is_refused_in_one_line(tmp_path):
    write_run(tmp_path / "run", trained("lstm-cells"))
    assert_exit_2(run_module("gluon_rnn.export", "--model", tmp_path / "run"),
                  "lstm-cells cannot be exported", "foreach")
    assert not (tmp_path / "run" / "model.onnx").exists()


@pytest.fixture
def exported(model_dir, tmp_path):
    """A copy of the CLI-trained `lstm` run, exported (and quantized) by the CLI."""
    out = tmp_path / "run"
    shutil.copytree(model_dir, out)
    proc = run_module("gluon_rnn.export", "--model", out, "--int8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["wrote", str(out / "model.onnx"),
                                   "wrote", str(out / "model-int8.onnx")]
    return out


def without_mxnet(tmp_path, *args, blocked=("mxnet", "gluonnlp"), **kwargs):
    """`python args...` from the repository root, in a process where importing mxnet (or the
    modules `blocked`) fails."""
    site = tmp_path / "_".join(("no",) + blocked)
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=repr(blocked)))
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
        [str(site)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env, **kwargs)


TEXTS = ["wonderful superb charming film", "awful tedious boring plot", "", "zzzz qqqq",
         "the acting was quite good but the ending was dull"]


def test_predict_with_onnx_runs_without_mxnet_and_agrees_with_it(exported, tmp_path):
    assert "not installed here" in without_mxnet(tmp_path, "-c", "import mxnet").stderr
    onnx_run = without_mxnet(tmp_path, "-m", "gluon_rnn.predict", "--model", exported,
                             "--runtime", "onnx", "--json", *TEXTS)
    assert onnx_run.returncode == 0, onnx_run.stderr
    mx_run = run_module("gluon_rnn.predict", "--model", exported, "--json", *TEXTS)
    assert mx_run.returncode == 0, mx_run.stderr
    onnx_rows = [json.loads(l) for l in onnx_run.stdout.splitlines()]
    mx_rows = [json.loads(l) for l in mx_run.stdout.splitlines()]
    assert len(onnx_rows) == len(mx_rows) == len(TEXTS)
    for a, b in zip(onnx_rows, mx_rows):
        assert (a["text"], a["label"], a["known_tokens"], a["flag"]) == \
            (b["text"], b["label"], b["known_tokens"], b["flag"])
        for name, p in b["probabilities"].items():
            assert abs(a["probabilities"][name] - p) <= 1e-5, (a, b)
    assert onnx_rows[2]["flag"] == "empty text"
    # the int8 model is served the same way, its labels from the same texts
    int8 = without_mxnet(tmp_path, "-m", "gluon_rnn.predict", "--model", exported,
                         "--runtime", "onnx-int8", "--file", "-", input="\n".join(TEXTS) + "\n")
    assert int8.returncode == 0, int8.stderr
    assert len(int8.stdout.splitlines()) == len(TEXTS)


def test_a_stale_or_missing_export_is_refused(exported, tmp_path):
    with open(exported / "model.params", "ab") as f:   # trained on after the export
        f.write(b"\0")
    assert_exit_2(without_mxnet(tmp_path, "-m", "gluon_rnn.predict", "--model", exported,
                                "--runtime", "onnx", "fine"),
                  "exported from an earlier model.params", "gluon_rnn.export")
    (exported / "model.onnx").unlink()
    assert_exit_2(without_mxnet(tmp_path, "-m", "gluon_rnn.predict", "--model", exported,
                                "--runtime", "onnx", "fine"),
                  "model.onnx: missing", f"python -m gluon_rnn.export --model {exported}")


def test_text_module_needs_neither_mxnet_nor_gluonnlp(tmp_path):
    proc = without_mxnet(tmp_path, "-m", "gluon_rnn.export", "--help")
    assert proc.returncode == 0, proc.stderr
    code = ("import gluon_rnn.text as t, sys; print(t.tokenize(\"Don't<br />go!\")); "
            "print('mxnet' in sys.modules)")
    out = without_mxnet(tmp_path, "-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[\"don't\", 'go', '!']", "False"]


def test_int8_script_scores_the_runs_test_split_three_ways(exported, model_dir, tmp_path):
    script = REPO / "benchmarks" / "onnx_int8.py"
    proc = subprocess.run([sys.executable, str(script), "--model", exported, "--out",
                           tmp_path / "out"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert result == json.loads(proc.stdout.splitlines()[-1])
    trained = json.loads((model_dir / "metrics.json").read_text())
    assert result["num_test"] == trained["num_test"]
    assert set(result["models"]) == {"mxnet", "onnx", "onnx-int8"}
    assert result["models"]["mxnet"]["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    assert result["models"]["onnx"]["test_accuracy"] == result["models"]["mxnet"]["test_accuracy"]
    assert result["test_accuracy"] == result["models"]["onnx-int8"]["test_accuracy"]
    assert result["max_probability_difference"]["onnx_vs_mxnet"] <= 1e-5
    assert_exit_2(subprocess.run([sys.executable, str(script), "--model", tmp_path / "none"],
                                 cwd=REPO, capture_output=True, text=True, timeout=300),
                  "no trained run here")


def test_a_missing_extra_is_named_in_one_line(exported, tmp_path):
    for module, command in (("onnxruntime", ["gluon_rnn.predict", "--model", exported,
                                             "--runtime", "onnx", "fine"]),
                            ("onnx", ["gluon_rnn.export", "--model", exported])):
        assert_exit_2(without_mxnet(tmp_path, "-m", *command, blocked=(module,)),
                      f"{module} is not installed", "pip install -e '.[export]'")
