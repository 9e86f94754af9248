"""Every registered architecture against the block contract: shapes, padding, states,
hybridization, export, the hand-written cell loop, frozen embeddings and the config.

Seeds are fixed (SEED below, mx.random.seed(SEED) before each net), so a failure replays."""
import json
import re
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from conftest import REPO
from gluon_rnn.blocks import (ARCHITECTURES, Bidirectional, Recurrent, attention_penalty,
                              build_model)

SEED = 0
ARCHS = sorted(ARCHITECTURES)
VOCAB, EMBED, HIDDEN, CLASSES = 50, 8, 8, 3
LSTM_ARCHS = {"lstm", "stacked", "mean", "max", "bilstm", "bilstm-mean", "bilstm-meanmax",
              "lstm-cells", "attention"}
LAYERS = {"stacked": 2}
DIRECTIONS = {"bilstm": 2, "bilstm-mean": 2, "bilstm-meanmax": 2, "attention": 2}
hybrid = pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])


def make_net(arch, hybridize=False, **kwargs):
    mx.random.seed(SEED)
    net = build_model(arch, VOCAB, num_classes=CLASSES, embed_size=EMBED, hidden_size=HIDDEN,
                      **kwargs)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    return net


def make_batch(lengths, T):
    """tokens (N, T) with real ids in [2, VOCAB) and padding id 0 after each length."""
    rng = np.random.RandomState(SEED)
    tokens = rng.randint(2, VOCAB, size=(len(lengths), T)).astype(np.float32)
    for row, n in enumerate(lengths):
        tokens[row, n:] = 0
    return nd.array(tokens), nd.array(lengths)


def repad(tokens, lengths, T, garbage):
    """The same rows padded to T: with id 0, or with random non-zero ids (`garbage`)."""
    rng = np.random.RandomState(SEED + 1)
    old = tokens.asnumpy()
    new = rng.randint(2, VOCAB, size=(old.shape[0], T)).astype(np.float32) if garbage \
        else np.zeros((old.shape[0], T), np.float32)
    for row, n in enumerate(lengths):
        new[row, :n] = old[row, :n]
    return nd.array(new)


@pytest.mark.parametrize("arch", ARCHS)
@hybrid
def test_output_shape(arch, hybridize):
    net = make_net(arch, hybridize)
    tokens, valid_length = make_batch([9, 4, 1, 6], T=9)
    out = net(tokens, valid_length)
    assert out.shape == (4, CLASSES), out.shape
    assert np.isfinite(out.asnumpy()).all()


@pytest.mark.parametrize("arch, num_layers", [(a, None) for a in ARCHS] + [
    ("bilstm", 2), ("bilstm-mean", 2), ("gru", 2), ("mean", 3), ("attention", 2)])
@hybrid
def test_padding_does_not_change_logits(arch, num_layers, hybridize):
    # dropout configured (on the word vectors, between layers), off in predict mode
    net = make_net(arch, hybridize, dropout=0.5, embed_dropout=0.5, word_dropout=0.5,
                   num_layers=num_layers)
    lengths = [5, 2, 4]
    tokens, valid_length = make_batch(lengths, T=5)
    base = net(tokens, valid_length).asnumpy()
    for garbage in (False, True):
        longer = repad(tokens, lengths, T=12, garbage=garbage)
        out = net(longer, valid_length).asnumpy()
        np.testing.assert_allclose(out, base, rtol=0, atol=1e-5,
                                   err_msg=f"{arch}: padding with garbage={garbage}")


@pytest.mark.parametrize("arch", ARCHS)
@hybrid
def test_empty_row_gives_finite_logits(arch, hybridize):
    net = make_net(arch, hybridize)
    tokens, valid_length = make_batch([0, 3], T=4)
    assert np.isfinite(net(tokens, valid_length).asnumpy()).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_hybridized_equals_eager(arch):
    net = make_net(arch)
    tokens, valid_length = make_batch([6, 3, 1], T=6)
    eager = net(tokens, valid_length).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(tokens, valid_length).asnumpy(), eager, rtol=0, atol=1e-6)


@hybrid
def test_masked_max_reads_only_real_steps(hybridize):
    """Outputs all below zero, so a zero-filled mask would win the max; padding holds the
    largest values of all. Gradient reaches only each unit's arg-max real step."""
    from gluon_rnn.blocks import MaskedMax
    rng = np.random.RandomState(0)
    outputs = -1 - rng.rand(3, 6, 4).astype(np.float32)          # (N, T, H), all < -1
    lengths = np.array([6, 2, 0], np.float32)
    outputs[1, 2:] = 5.0                                         # padding of row 1
    pool = MaskedMax()
    if hybridize:
        pool.hybridize()
    x = nd.array(outputs)
    x.attach_grad()
    with autograd.record():
        out = pool(x, nd.array(lengths))                         # (N, H)
    out.backward()
    expected = np.stack([outputs[0].max(0), outputs[1, :2].max(0), outputs[2, 0]])
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=0, atol=0)
    grad = x.grad.asnumpy()
    assert grad[1, 2:].sum() == 0 and grad[2, 1:].sum() == 0
    np.testing.assert_array_equal(grad.sum(axis=1), np.ones((3, 4)))


@hybrid
def test_mean_max_pooling_is_both_over_real_steps_and_feeds_a_wider_head(hybridize):
    """[mean, max] over real steps only, (N, T, H) -> (N, 2H); `bilstm-meanmax` pools
    (N, T, 2H) into (N, 4H), which is what its head reads."""
    from gluon_rnn.blocks import MaskedMax, MaskedMean, MaskedMeanMax
    rng = np.random.RandomState(0)
    outputs = nd.array(rng.randn(3, 5, 4).astype(np.float32))     # (N, T, H)
    lengths = nd.array([5, 2, 0])
    pool = MaskedMeanMax(4)
    if hybridize:
        pool.hybridize()
    out = pool(outputs, lengths)
    assert out.shape == (3, 8) and pool.output_size == 8, out.shape
    np.testing.assert_allclose(out.asnumpy(), np.concatenate(
        [MaskedMean()(outputs, lengths).asnumpy(), MaskedMax()(outputs, lengths).asnumpy()],
        axis=1), rtol=0, atol=0)
    net = make_net("bilstm-meanmax", hybridize)
    first_dense = net.head[0]
    assert first_dense.weight.shape[1] == 4 * HIDDEN, first_dense.weight.shape


LOAD_EXPORTED = textwrap.dedent("""
    import sys
    import mxnet as mx
    import numpy as np
    from mxnet import gluon
    folder, archs = sys.argv[1], sys.argv[2:]
    tokens = mx.nd.array(np.load(f"{folder}/tokens.npy", allow_pickle=False))
    valid_length = mx.nd.array(np.load(f"{folder}/valid_length.npy", allow_pickle=False))
    for arch in archs:
        prefix = f"{folder}/{arch}"
        net = gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data0", "data1"],
                                        f"{prefix}-0000.params")
        np.save(f"{prefix}-imported.npy", net(tokens, valid_length).asnumpy(), allow_pickle=False)
    assert "gluon_rnn" not in sys.modules
""")


def test_export_loads_in_a_process_without_gluon_rnn(tmp_path):
    tokens, valid_length = make_batch([7, 2, 5], T=7)
    np.save(tmp_path / "tokens.npy", tokens.asnumpy(), allow_pickle=False)
    np.save(tmp_path / "valid_length.npy", valid_length.asnumpy(), allow_pickle=False)
    expected = {}
    for arch in ARCHS:
        net = make_net(arch, hybridize=True)
        expected[arch] = net(tokens, valid_length).asnumpy()
        net.export(str(tmp_path / arch))
    proc = subprocess.run([sys.executable, "-c", LOAD_EXPORTED, str(tmp_path), *ARCHS],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for arch in ARCHS:
        imported = np.load(tmp_path / f"{arch}-imported.npy", allow_pickle=False)
        np.testing.assert_allclose(imported, expected[arch], rtol=0, atol=1e-6, err_msg=arch)


def copy_weights(src, dst, rename):
    """Copy every parameter of `src` into `dst`, mapping structural names with `rename`."""
    dst_params = dst._collect_params_with_prefix()
    src_params = src._collect_params_with_prefix()
    assert len(src_params) == len(dst_params)
    for name, param in src_params.items():
        dst_params[rename(name)].set_data(param.data())


@pytest.mark.parametrize("layer_arch, bidirectional", [("lstm", False), ("bilstm", True)])
@hybrid
def test_lstm_cells_equal_the_fused_layer(layer_arch, bidirectional, hybridize):
    tokens, valid_length = make_batch([6, 2, 4], T=6)
    layer_net = make_net(layer_arch)
    cells_net = build_model("lstm-cells", VOCAB, num_classes=CLASSES, embed_size=EMBED,
                            hidden_size=HIDDEN, bidirectional=bidirectional)
    cells_net.initialize(mx.init.Normal(1.0))      # different weights until copied
    layer_net(tokens, valid_length)                # finish deferred shapes on both
    cells_net(tokens, valid_length)
    copy_weights(layer_net, cells_net, lambda name: name.replace("layers.0._unfused.0.", "cell."))
    states = [nd.random.normal(shape=s.shape) for s in layer_net.begin_state(3)]
    if hybridize:
        layer_net.hybridize()
        cells_net.hybridize()
    np.testing.assert_allclose(cells_net(tokens, valid_length, states).asnumpy(),
                               layer_net(tokens, valid_length, states).asnumpy(),
                               rtol=0, atol=1e-5)


# a unidirectional encoder never reads `valid_length`, and says so when hybridized alone
@pytest.mark.filterwarnings("ignore:The 1-th input to HybridBlock is not used")
@pytest.mark.parametrize("mode, bidirectional", [("lstm", False), ("gru", False),
                                                ("lstm", True)])
@hybrid
def test_encoders_equal_gluons_fused_layer_on_rows_without_padding(mode, bidirectional,
                                                                   hybridize):
    """Same weights, same non-zero states, no padding: the two-layer encoders give the
    numbers of one fused two-layer Gluon layer (state layout, reversal, stacking)."""
    L, N, T = 2, 3, 5
    mx.random.seed(SEED)
    if bidirectional:
        encoder = Bidirectional(lambda i, h: Recurrent(mode, i, h, layout="TNC"), EMBED, HIDDEN,
                                num_layers=L)
        # fused parameter prefix -> the one-layer fused op holding those weights here
        pairs = [(f"{side}{layer}_", stack[layer].layers[0]) for layer in range(L)
                 for side, stack in (("l", encoder.fwd), ("r", encoder.bwd))]
    else:
        encoder = Recurrent(mode, EMBED, HIDDEN, num_layers=L)
        pairs = [(f"l{layer}_", encoder.layers[layer]) for layer in range(L)]
    fused = Recurrent.LAYERS[mode](HIDDEN, L, layout="NTC", bidirectional=bidirectional,
                                   input_size=EMBED)
    encoder.initialize()
    fused.initialize()
    for param in fused.collect_params().values():
        param.set_data(nd.random.normal(scale=0.5, shape=param.shape))
    for prefix, one in pairs:
        for name in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"):
            getattr(one, f"l0_{name}").set_data(getattr(fused, prefix + name).data())
    x = nd.random.normal(shape=(N, T, EMBED))
    states = [nd.random.normal(shape=s.shape) for s in encoder.begin_state(N)]
    assert [s.shape for s in states] == [s.shape for s in fused.begin_state(N)]
    if hybridize:
        encoder.hybridize()
        fused.hybridize()
    expected, _ = fused(x, states)
    out = encoder(x, nd.full((N,), T), states)
    assert out.shape == (N, T, encoder.output_size), out.shape
    np.testing.assert_allclose(out.asnumpy(), expected.asnumpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@hybrid
def test_begin_state_shapes_and_use(arch, hybridize):
    net = make_net(arch)
    N = 3
    tokens, valid_length = make_batch([5, 3, 1], T=5)
    default = net(tokens, valid_length).asnumpy()
    states = net.begin_state(N)
    expected = (LAYERS.get(arch, 1) * DIRECTIONS.get(arch, 1), N, HIDDEN)
    assert len(states) == (2 if arch in LSTM_ARCHS else 1)
    assert [s.shape for s in states] == [expected] * len(states)
    assert all((s.asnumpy() == 0).all() for s in states)
    if hybridize:
        net.hybridize()
    zeros = net(tokens, valid_length, states).asnumpy()
    np.testing.assert_allclose(zeros, default, rtol=0, atol=1e-6)
    mx.random.seed(SEED)
    random = [nd.random.normal(shape=expected) for _ in states]
    changed = net(tokens, valid_length, random).asnumpy()
    assert np.abs(changed - default).max() > 1e-4


@pytest.mark.parametrize("arch", ARCHS)
def test_hybridized_net_takes_calls_with_and_without_states(arch):
    """A hybridized net first called without states, then with them, then without again:
    every call answers as the same net does eagerly (MXNet alone refuses the second call,
    "argument structure does not match the cached version")."""
    net = make_net(arch)
    tokens, valid_length = make_batch([5, 3, 1], T=5)
    mx.random.seed(SEED)
    states = [nd.random.normal(shape=s.shape) for s in net.begin_state(3)]
    eager_default = net(tokens, valid_length).asnumpy()
    eager_states = net(tokens, valid_length, states).asnumpy()
    net.hybridize(static_alloc=True)
    for with_states in (False, True, False, True):
        out = net(tokens, valid_length, states) if with_states else net(tokens, valid_length)
        expected = eager_states if with_states else eager_default
        np.testing.assert_allclose(out.asnumpy(), expected, rtol=0, atol=1e-5)


def train_step(net, tokens, valid_length):
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
    label = nd.array([0, 1, 2])
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        loss = loss_fn(net(tokens, valid_length), label)
    loss.backward()
    trainer.step(len(label))


@pytest.mark.parametrize("how", ["constructor", "set_embedding", "not frozen"])
@hybrid
def test_frozen_embedding_does_not_train(how, hybridize):
    net = make_net("lstm", hybridize, freeze_embedding=(how == "constructor"))
    tokens, valid_length = make_batch([4, 2, 3], T=4)
    vectors = np.random.RandomState(SEED).normal(size=(VOCAB, EMBED)).astype(np.float32)
    if how == "set_embedding":
        net.set_embedding(vectors, freeze=True)
        np.testing.assert_array_equal(net.embedding.weight.data().asnumpy(), vectors)
    before = {k: p.data().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()}
    train_step(net, tokens, valid_length)
    after = {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}
    frozen = how != "not frozen"
    assert np.array_equal(before["embedding.weight"], after["embedding.weight"]) == frozen
    assert net.config["freeze_embedding"] == frozen
    changed = [k for k in before if k != "embedding.weight"
               and not np.array_equal(before[k], after[k])]
    assert any(k.startswith("encoder.") for k in changed), changed
    assert any(k.startswith("head.") for k in changed), changed


def test_set_embedding_checks_the_shape_and_initialisation():
    net = make_net("lstm")
    with pytest.raises(ValueError, match=r"\(50, 8\)"):
        net.set_embedding(np.zeros((VOCAB + 1, EMBED)))
    fresh = build_model("lstm", VOCAB, embed_size=EMBED, hidden_size=HIDDEN)
    with pytest.raises(RuntimeError, match="initialize"):
        fresh.set_embedding(np.zeros((VOCAB, EMBED)))


@pytest.mark.parametrize("arch, num_layers", [("lstm", 1), ("stacked", 2), ("bilstm", 1),
                                             ("bilstm", 2)])
def test_dropout_acts_between_layers_and_before_the_head_in_training_only(arch, num_layers):
    net = make_net(arch, dropout=0.5, num_layers=num_layers)
    tokens, valid_length = make_batch([5, 3, 4], T=5)
    x = net.embedding(tokens)

    def twice(f):
        return f().asnumpy(), f().asnumpy()

    a, b = twice(lambda: net(tokens, valid_length))
    assert np.array_equal(a, b)                    # predict mode: no dropout anywhere
    with autograd.train_mode():
        a, b = twice(lambda: net(tokens, valid_length))
        assert not np.array_equal(a, b)
        a, b = twice(lambda: net.encoder(x, valid_length))
        assert np.array_equal(a, b) == (num_layers == 1)   # between layers only


@pytest.mark.parametrize("arch", ["mean", "bilstm"])
def test_embed_dropout_zeroes_word_vector_entries_in_training_only(arch):
    net = make_net(arch, embed_dropout=0.5)
    tokens, valid_length = make_batch([5, 3, 4], T=5)
    x = net.embedding(tokens).asnumpy()
    assert np.array_equal(net.embed_dropout(net.embedding(tokens)).asnumpy(), x)
    with autograd.train_mode():
        dropped = net.embed_dropout(net.embedding(tokens)).asnumpy()
        a, b = net(tokens, valid_length).asnumpy(), net(tokens, valid_length).asnumpy()
    kept = dropped != 0
    assert 0.3 < kept.mean() < 0.7                        # about half the entries survive
    np.testing.assert_allclose(dropped[kept], 2 * x[kept], rtol=1e-6)  # scaled by 1 / (1 - p)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("arch", ["mean", "lstm-cells"])
def test_word_dropout_drops_whole_word_vectors_in_training_only(arch):
    net = make_net(arch, word_dropout=0.5)
    tokens, valid_length = make_batch([40, 30, 35], T=40)
    x = net.embedding(tokens).asnumpy()                   # (N, T, E)
    assert np.array_equal(net.word_dropout(net.embedding(tokens)).asnumpy(), x)
    with autograd.train_mode():
        dropped = net.word_dropout(net.embedding(tokens)).asnumpy()
    zero_words = (dropped == 0).all(axis=2)              # (N, T): the word's whole vector
    some_zero = (dropped == 0).any(axis=2)
    assert np.array_equal(zero_words, some_zero)          # a word goes whole or not at all
    assert 0.3 < zero_words.mean() < 0.7
    kept = ~zero_words
    np.testing.assert_allclose(dropped[kept], 2 * x[kept], rtol=1e-6)  # scaled by 1 / (1 - p)


def test_stacked_defaults_to_two_layers_and_rejects_fewer():
    assert build_model("stacked", VOCAB).config["num_layers"] == 2
    assert build_model("stacked", VOCAB, num_layers=3).config["num_layers"] == 3
    with pytest.raises(ValueError, match="num_layers >= 2"):
        build_model("stacked", VOCAB, num_layers=1)


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        build_model("transformer", VOCAB)
    assert "'transformer'" in str(err.value)
    assert ", ".join(ARCHS) in str(err.value)


@pytest.mark.parametrize("arch, kwargs", [
    ("lstm", dict(vocab_size=0)), ("lstm", dict(hidden_size=-1)), ("lstm", dict(dropout=1.0)),
    ("lstm", dict(embed_dropout=-0.1)), ("lstm", dict(word_dropout=1.0)),
    ("lstm", dict(head_hidden=[0])), ("attention", dict(attention_hops=0)),
    ("attention", dict(attention_size=1.5)), ("attention", dict(attention_penalty=-1)),
    ("attention", dict(attention_penalty=float("nan")))])
def test_bad_hyper_parameters_raise_value_error(arch, kwargs):
    args = {"vocab_size": VOCAB, **kwargs}
    with pytest.raises(ValueError):
        build_model(arch, **args)


@pytest.mark.parametrize("arch, extra", [(a, {}) for a in ARCHS] + [
    ("lstm-cells", {"bidirectional": True}), ("gru", {"head_hidden": [4], "num_layers": 2}),
    ("attention", {"attention_hops": 2, "attention_size": 5, "attention_penalty": 0.25})])
def test_config_round_trips_through_json(arch, extra, tmp_path):
    net = make_net(arch, dropout=0.25, **extra)
    tokens, valid_length = make_batch([4, 1, 3], T=4)
    expected = net(tokens, valid_length).asnumpy()
    net.save_parameters(str(tmp_path / "net.params"))
    config = json.loads(json.dumps(net.config))
    assert config == net.config and config["arch"] == arch
    assert all(config[k] == v for k, v in extra.items())
    rebuilt = build_model(**config)
    assert type(rebuilt) is type(net) and rebuilt.config == net.config
    rebuilt.load_parameters(str(tmp_path / "net.params"))
    np.testing.assert_allclose(rebuilt(tokens, valid_length).asnumpy(), expected,
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("arch, extra", [(a, {}) for a in ARCHS] + [
    ("lstm-cells", {"bidirectional": True}), ("bilstm-meanmax", {"num_layers": 2}),
    ("attention", {"attention_hops": 2, "attention_size": 5})])
def test_parts_are_built_from_the_config_alone(arch, extra):
    """`parts` is a classmethod of the config: given a net's config it builds an encoder and a
    pooling with the net's own parameter shapes, with no net made yet."""
    net = make_net(arch, **extra)
    encoder, pooling = type(net).parts(net.config)

    def shapes(block):
        return [p.shape for p in block.collect_params().values()]
    assert shapes(encoder) == shapes(net.encoder) and shapes(pooling) == shapes(net.pooling)
    assert type(encoder) is type(net.encoder) and type(pooling) is type(net.pooling)


def test_saved_parameter_names_of_the_architectures_with_arguments_of_their_own():
    """Saved .params files are keyed by these names: a renamed part would stop old runs from
    loading."""
    cells = build_model("lstm-cells", VOCAB, bidirectional=True, head_hidden=[3])
    gates = ["i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"]
    assert list(cells._collect_params_with_prefix()) == (
        ["embedding.weight"] + [f"encoder.{d}.0.cell.{g}" for d in ("fwd", "bwd") for g in gates]
        + ["head.0.weight", "head.0.bias", "head.1.weight", "head.1.bias"])
    attention = build_model("attention", VOCAB, attention_hops=2, head_hidden=[])
    assert list(attention._collect_params_with_prefix()) == (
        ["embedding.weight"]
        + [f"encoder.{d}.0.layers.0._unfused.0.{g}" for d in ("fwd", "bwd") for g in gates]
        + ["pooling.w1.weight", "pooling.w2.weight", "head.0.weight", "head.0.bias"])
    assert [k[len(attention.prefix):] for k in attention.collect_params()][-4:] == [
        "selfattentivepooling0_dense0_weight", "selfattentivepooling0_dense1_weight",
        "head_dense0_weight", "head_dense0_bias"]


# --------------------------------------------------------------------------- attention

def parameter_count(net):
    net.initialize()
    net(nd.array([[2, 3]]), nd.array([2]))        # finish deferred shapes
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values())


def test_attention_parameter_count_is_its_parts():
    """Vocabulary 20,000 + 2, embedding and hidden 128: a bidirectional LSTM, 4 hops of a
    64-unit attention layer, the post's head on the 4 x 256 pooled vector."""
    count = parameter_count(build_model("attention", 20002))
    bilstm = 20002 * 128 + 2 * 4 * (128 * 128 + 128 * 128 + 2 * 128)
    attention = 64 * 256 + 4 * 64
    head = (4 * 256 * 16 + 16) + (16 * 8 + 8) + (8 * 2 + 2)
    assert count == bilstm + attention + head


def readme_parameter_counts():
    """{arch: count} from the README's table of architectures (its "parameters" column)."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("| `--arch` |"))
    column = [c.strip() for c in lines[start].split("|")].index("parameters*")
    counts = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.split("|")]
        counts[cells[1].split("`")[1]] = int(cells[column].replace(",", ""))
    return counts


def test_the_readme_prints_each_architectures_parameter_count():
    """The README's counts are those of the models `train` builds with its defaults: the
    vocabulary plus <pad> and <unk>, the default embedding and hidden sizes. A count given
    in prose, "`mean` (vocabulary 20,000: N parameters", is that model's with that vocabulary."""
    from gluon_rnn.train import Config

    def count(arch, vocab_size):
        return parameter_count(build_model(arch, vocab_size + 2, embed_size=Config.embed_size,
                                           hidden_size=Config.hidden_size))
    assert readme_parameter_counts() == {arch: count(arch, Config.vocab_size) for arch in ARCHS}
    prose = re.compile(r"`([a-z-]+)` \(vocabulary ([\d,]+): ([\d,]+) parameters")
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for arch, vocab, said in prose.findall(page.read_text(encoding="utf-8")):
            assert int(said.replace(",", "")) == count(arch, int(vocab.replace(",", ""))), \
                (page.name, arch, vocab, said)


@hybrid
def test_attention_weights_are_a_softmax_over_real_tokens_only(hybridize):
    hops, T = 3, 7
    net = make_net("attention", hybridize, attention_hops=hops)
    lengths = [7, 3, 1, 0]
    tokens, valid_length = make_batch(lengths, T)
    weights = net.attention_weights(tokens, valid_length).asnumpy()
    assert weights.shape == (len(lengths), hops, T), weights.shape
    for row, n in enumerate(lengths):
        assert (weights[row, :, n:] == 0).all(), (row, weights[row])   # exactly 0
        expected = np.ones(hops) if n else np.zeros(hops)              # an empty row: none
        np.testing.assert_allclose(weights[row].sum(axis=1), expected, rtol=0, atol=1e-6)
        assert (weights[row, :, :n] > 0).all()
    assert weights[2, :, 0].tolist() == [1.0] * hops       # one token takes all the weight
    # the hops differ (their own rows of W2), and garbage in the padding changes nothing
    assert np.abs(weights[0, 0] - weights[0, 1]).max() > 1e-4
    garbage = net.attention_weights(repad(tokens, lengths, T=12, garbage=True),
                                    valid_length).asnumpy()
    np.testing.assert_allclose(garbage[:, :, :T], weights, rtol=0, atol=1e-6)
    assert (garbage[:, :, T:] == 0).all()


def test_attention_penalty_is_zero_for_disjoint_one_hot_hops_and_large_for_equal_ones():
    T = 5
    disjoint = np.zeros((2, 3, T), np.float32)
    for hop, step in enumerate([4, 0, 2]):
        disjoint[:, hop, step] = 1.0                 # each hop one token, a different one
    equal = np.zeros((2, 3, T), np.float32)
    equal[:, :, 1] = 1.0                             # every hop the same token
    spread = np.full((1, 3, T), 1.0 / T, np.float32)  # every hop uniform over the tokens
    assert attention_penalty(nd, nd.array(disjoint), 3).asnumpy().tolist() == [0.0, 0.0]
    assert attention_penalty(nd, nd.array(equal), 3).asnumpy().tolist() == [6.0, 6.0]  # r² - r
    # uniform hops: A Aᵀ is 1/T everywhere: r (1 - 1/T)² on the diagonal, (r² - r) / T² off it
    expected = 3 * (1 - 1 / T) ** 2 + 6 / T ** 2
    np.testing.assert_allclose(attention_penalty(nd, nd.array(spread), 3).asnumpy(),
                               [expected], rtol=1e-6)


@hybrid
def test_forward_with_extra_loss_is_the_forward_plus_the_scaled_penalty(hybridize):
    net = make_net("attention", hybridize, attention_hops=2, attention_penalty=0.5)
    tokens, valid_length = make_batch([6, 2, 4], T=6)
    logits, extra = net.forward_with_extra_loss(tokens, valid_length)
    np.testing.assert_allclose(logits.asnumpy(), net(tokens, valid_length).asnumpy(),
                               rtol=0, atol=1e-6)
    weights = net.attention_weights(tokens, valid_length)
    expected = 0.5 * attention_penalty(nd, weights, 2).asnumpy()
    assert extra.shape == (3,) and (expected > 0).all()
    np.testing.assert_allclose(extra.asnumpy(), expected, rtol=1e-5)
    # no term without a penalty, with one hop, or for the other architectures
    for arch, kwargs in (("attention", dict(attention_penalty=0.0)),
                         ("attention", dict(attention_hops=1)), ("bilstm-mean", {})):
        other = make_net(arch, hybridize, **kwargs)
        assert not other.has_extra_loss
        assert other.forward_with_extra_loss(tokens, valid_length)[1] is None


@hybrid
def test_the_penalty_gradient_reaches_the_attention_and_spreads_the_hops(hybridize):
    """Gradient steps on the penalty alone move W1, W2 and the encoder, and drive the two
    hops apart: from nearly the same weights (overlap sum_t min(a1_t, a2_t) near 1) to
    disjoint tokens, with the penalty falling towards 0."""
    net = make_net("attention", hybridize, attention_hops=2, attention_penalty=1.0)
    tokens, valid_length = make_batch([8, 8, 6, 7], T=8)

    def overlap():
        weights = net.attention_weights(tokens, valid_length).asnumpy()      # (N, 2, T)
        return float(np.minimum(weights[:, 0], weights[:, 1]).sum(axis=1).mean())

    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    before, penalties = overlap(), []
    for step in range(10):
        with autograd.record():
            _, extra = net.forward_with_extra_loss(tokens, valid_length)
        extra.backward()
        if step == 0:
            for part in (net.pooling.w1, net.pooling.w2):
                assert np.abs(part.weight.grad().asnumpy()).sum() > 0
            assert np.abs(net.encoder.fwd[0].layers[0].l0_i2h_weight.grad().asnumpy()).sum() > 0
        trainer.step(len(valid_length), ignore_stale_grad=True)   # the head has no part in it
        penalties.append(float(extra.mean().asscalar()))
    assert before > 0.9 and overlap() < 0.01, (before, overlap())
    assert penalties[0] > 0.5 and penalties[-1] < 0.01, penalties


@hybrid
def test_masked_mean_is_the_mean_over_real_steps_whatever_the_padding_holds(hybridize):
    from gluon_rnn.blocks import MaskedMean
    rng = np.random.RandomState(SEED)
    outputs = rng.normal(size=(3, 5, 4)).astype(np.float32)
    lengths = [5, 2, 0]
    pool = MaskedMean()
    if hybridize:
        pool.hybridize()
    got = pool(nd.array(outputs), nd.array(lengths)).asnumpy()
    expected = np.stack([outputs[i, :n].sum(axis=0) / max(n, 1) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    outputs[1, 2:] = 1e6                         # padding: large values change nothing
    again = pool(nd.array(outputs), nd.array(lengths)).asnumpy()
    np.testing.assert_allclose(again, got, rtol=0, atol=0)


@pytest.mark.parametrize("arch", sorted(set(ARCHS) - {"lstm-cells"}))
def test_fused_architectures_transpose_the_ids_not_the_word_vectors(arch, tmp_path):
    """The embedding reads the transposed (N, T) ids, so the graph swaps no (N, T, E)
    activations into time-major order: one swap is left, the encoder's outputs' to the
    poolings' (N, T, ...), where a batch-major fused layer swaps in and out of each layer."""
    net = make_net(arch, hybridize=True)
    tokens, valid_length = make_batch([5, 3], T=5)
    net(tokens, valid_length)
    net.export(str(tmp_path / "net"))
    nodes = json.loads((tmp_path / "net-symbol.json").read_text())["nodes"]
    ops = [n["op"] for n in nodes]
    embedding = next(n for n in nodes if n["op"] == "Embedding")
    assert nodes[embedding["inputs"][0][0]]["op"] == "transpose"     # the ids, transposed
    # attention's pooling swaps its (N, T, r) scores too, r = 4 numbers a step
    assert ops.count("SwapAxis") == (2 if arch == "attention" else 1), ops
