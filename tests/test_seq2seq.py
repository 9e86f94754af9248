"""The encoder-decoder against its contract: shapes, the encoder's final [h, c] as the
decoder's begin_state, padding that changes neither that state nor a decoding (eager and
hybridized), a loss that reads only the real target steps, and a short run that learns.

Seeds are fixed (SEED below), so a failure replays."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import rnn

from gluon_rnn import ARCHITECTURES
from gluon_rnn.seq2seq import (BOS, EOS, PAD, TASKS, VOCAB_SIZE, Seq2Seq, decode, digit_pairs,
                               fit, greedy, make_batch, masked_loss, sequence_accuracy, to_ids,
                               to_text)

SEED = 0
EMBED, HIDDEN = 8, 16
hybrid = pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])


def make_net(hybridize=False, embed_size=EMBED, hidden_size=HIDDEN):
    mx.random.seed(SEED)
    net = Seq2Seq(VOCAB_SIZE, embed_size=embed_size, hidden_size=hidden_size)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    return net


def padded(rows, width, garbage):
    """Rows of ids padded to `width` with PAD, or with random digit ids (`garbage`)."""
    rng = np.random.RandomState(SEED + 1)
    array = rng.randint(3, VOCAB_SIZE, size=(len(rows), width)).astype(np.float32) if garbage \
        else np.full((len(rows), width), PAD, np.float32)
    for r, ids in enumerate(rows):
        array[r, :len(ids)] = ids
    return nd.array(array)


SOURCES = ["31415", "9", "2718281", "", "66"]
ROWS = [to_ids(s) for s in SOURCES]
LENGTHS = nd.array([len(r) for r in ROWS])


def test_make_batch_places_bos_eos_and_padding():
    src, src_len, tgt_in, tgt_out, tgt_len = make_batch([("12", "21"), ("345", "543")])
    assert src.asnumpy().tolist() == [[4, 5, PAD], [6, 7, 8]]
    assert src_len.asnumpy().tolist() == [2, 3]
    assert tgt_in.asnumpy().tolist() == [[BOS, 5, 4, PAD], [BOS, 8, 7, 6]]
    assert tgt_out.asnumpy().tolist() == [[5, 4, EOS, PAD], [8, 7, 6, EOS]]
    assert tgt_len.asnumpy().tolist() == [3, 4]
    assert to_text([BOS, 5, 4, EOS, 9]) == "21" and to_text(to_ids("907")) == "907"


def test_digit_pairs_follow_the_task_and_the_seed():
    pairs = digit_pairs(300, task="reverse", length=(2, 5), seed=3)
    assert pairs == digit_pairs(300, task="reverse", length=(2, 5), seed=3)
    assert pairs != digit_pairs(300, task="reverse", length=(2, 5), seed=4)
    assert all(t == s[::-1] for s, t in pairs)
    assert {len(s) for s, _ in pairs} == {2, 3, 4, 5}
    assert all(t == "".join(sorted(s)) for s, t in digit_pairs(50, task="sort"))
    assert sorted(TASKS) == ["reverse", "sort"]


def test_not_a_registered_classifier():
    assert all(cls is not Seq2Seq for cls in ARCHITECTURES.values())
    assert "seq2seq" not in ARCHITECTURES


@hybrid
def test_shapes(hybridize):
    net = make_net(hybridize)
    N, S, T = 5, 7, 4
    src = padded(ROWS, S, garbage=False)
    tgt_in = nd.array(np.random.RandomState(SEED).randint(3, VOCAB_SIZE, size=(N, T)))
    h, c = net.encoder(src, LENGTHS)
    assert h.shape == c.shape == (1, N, HIDDEN), (h.shape, c.shape)
    logits, states = net.decoder(tgt_in, [h, c])
    assert logits.shape == (N, T, VOCAB_SIZE), logits.shape
    assert [s.shape for s in states] == [(1, N, HIDDEN)] * 2
    assert net(src, LENGTHS, tgt_in).shape == (N, T, VOCAB_SIZE)
    assert greedy(net, src, LENGTHS, max_len=6).shape == (N, 6)


@hybrid
def test_encoder_state_ignores_padding(hybridize):
    """[h, c] after the last real token, whatever follows it: PAD or digits, short or long,
    and equal to the state of each row run alone without padding."""
    net = make_net(hybridize)
    reference = [s.asnumpy() for s in net.encoder(padded(ROWS, 7, garbage=False), LENGTHS)]
    assert np.abs(reference[1]).max() > 0.05          # a state that padding could move
    for width, garbage in ((7, True), (12, False), (12, True)):
        states = net.encoder(padded(ROWS, width, garbage), LENGTHS)
        for got, want in zip(states, reference):
            np.testing.assert_allclose(got.asnumpy(), want, rtol=0, atol=1e-6)
    for r, ids in enumerate(ROWS):
        if ids:
            alone = net.encoder(nd.array([ids]), nd.array([len(ids)]))
            for got, want in zip(alone, reference):
                np.testing.assert_allclose(got.asnumpy()[:, 0], want[:, r], rtol=0, atol=1e-6)
    # an empty row keeps the zero begin state
    assert not np.any(reference[0][:, SOURCES.index("")])


def test_encoder_equals_the_cell_stepped_by_hand():
    net = make_net()
    cell = rnn.LSTMCell(HIDDEN, input_size=EMBED)
    cell.initialize()
    for name in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"):
        getattr(cell, name).set_data(getattr(net.encoder.cell, name).data())
    ids = to_ids("2718281")
    state = [nd.zeros((1, HIDDEN)), nd.zeros((1, HIDDEN))]
    for i in ids:
        _, state = cell(net.encoder.embedding(nd.array([i])), state)
    got = net.encoder(nd.array([ids]), nd.array([len(ids)]))
    for g, want in zip(got, state):
        np.testing.assert_allclose(g.asnumpy()[0], want.asnumpy(), rtol=0, atol=1e-6)


@hybrid
def test_the_encoder_state_is_the_decoders_begin_state(hybridize):
    """The full forward is the decoder started from the encoder's [h, c], and it equals the
    decoder stepped one token at a time with the state handed back in by hand."""
    net = make_net(hybridize)
    src, src_len, tgt_in, _, _ = make_batch([(s, s[::-1]) for s in SOURCES])
    logits = net(src, src_len, tgt_in).asnumpy()
    states = net.encoder(src, src_len)
    whole, _ = net.decoder(tgt_in, states)
    np.testing.assert_allclose(whole.asnumpy(), logits, rtol=0, atol=1e-6)
    steps = []
    for t in range(tgt_in.shape[1]):
        step, states = net.decoder(tgt_in[:, t:t + 1], states)
        steps.append(step.asnumpy())
    np.testing.assert_allclose(np.concatenate(steps, axis=1), logits, rtol=0, atol=1e-5)
    # a different source gives different logits: the decoder does read the state
    other = net(src[::-1], src_len[::-1], tgt_in).asnumpy()
    assert np.abs(other - logits).max() > 1e-3


@hybrid
def test_padding_changes_no_decoding_and_no_real_logit(hybridize):
    net = make_net(hybridize)
    fit(net, digit_pairs(200, seed=SEED), epochs=1)     # weights away from the initial ones
    reference = greedy(net, padded(ROWS, 7, garbage=False), LENGTHS, max_len=9).asnumpy()
    for width, garbage in ((7, True), (15, True), (15, False)):
        got = greedy(net, padded(ROWS, width, garbage), LENGTHS, max_len=9).asnumpy()
        assert np.array_equal(got, reference), (width, garbage)
    # target padding after the real steps reaches none of them
    src, src_len, tgt_in, _, tgt_len = make_batch([(s, s[::-1]) for s in SOURCES])
    short = net(src, src_len, tgt_in).asnumpy()
    rows = [list(r[:int(n)]) for r, n in zip(tgt_in.asnumpy(), tgt_len.asnumpy())]
    long = net(src, src_len, padded(rows, tgt_in.shape[1] + 5, garbage=True)).asnumpy()
    for r, n in enumerate(tgt_len.asnumpy().astype(int)):
        np.testing.assert_allclose(long[r, :n], short[r, :n], rtol=0, atol=1e-6)


def test_masked_loss_reads_only_the_real_target_steps():
    rng = np.random.RandomState(SEED)
    N, T = 3, 5
    logits = rng.normal(size=(N, T, VOCAB_SIZE)).astype(np.float32)
    labels = rng.randint(3, VOCAB_SIZE, size=(N, T)).astype(np.float32)
    lengths = np.array([5, 2, 1], np.float32)
    loss = masked_loss(nd.array(logits), nd.array(labels), nd.array(lengths)).asnumpy()

    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = [-sum(log_p[r, t, int(labels[r, t])] for t in range(int(n)))
            for r, n in enumerate(lengths)]
    np.testing.assert_allclose(loss, want, rtol=1e-5)

    # anything at a padded step, logits or labels, leaves the loss as it is
    noisy_logits, noisy_labels = logits.copy(), labels.copy()
    noisy_logits[1, 2:] = 100 * rng.normal(size=(T - 2, VOCAB_SIZE))
    noisy_labels[2, 1:] = PAD
    again = masked_loss(nd.array(noisy_logits), nd.array(noisy_labels), nd.array(lengths))
    np.testing.assert_allclose(again.asnumpy(), loss, rtol=1e-6)
    # a change at a real step does move it
    noisy_logits[1, 1] += 5 * rng.normal(size=VOCAB_SIZE)
    moved = masked_loss(nd.array(noisy_logits), nd.array(labels), nd.array(lengths)).asnumpy()
    assert abs(moved[1] - loss[1]) > 1e-3 and moved[0] == loss[0]


@pytest.mark.parametrize("task", ["reverse", "sort"])
def test_a_short_run_learns_the_task(task):
    """A few epochs on 2,000 pairs: exactly right on most unseen sources, far above copying
    the source unchanged (right only where source and target agree)."""
    train = digit_pairs(2000, task=task, length=(1, 6), seed=SEED)
    seen = {s for s, _ in train}
    test = [p for p in digit_pairs(600, task=task, length=(1, 6), seed=SEED + 1)
            if p[0] not in seen]
    copy = np.mean([s == t for s, t in test])
    net = make_net(hybridize=True, embed_size=32, hidden_size=64)
    before = sequence_accuracy(net, test)
    history = fit(net, train, epochs=6, seed=SEED)
    accuracy = sequence_accuracy(net, test)
    print(f"seed {SEED}, {task}: losses {history}, sequence accuracy {before:.3f} -> "
          f"{accuracy:.3f} on {len(test)} unseen, copying {copy:.3f}")
    assert history[-1] < history[0] / 2, history
    assert accuracy >= 0.5 and accuracy > 2 * copy + 0.2, (accuracy, copy)
    assert before < 0.05
