"""Sequence to sequence: an encoder LSTM reads the source, and its final `[h, c]` is the
`begin_state` of a decoder LSTM that writes the target one token at a time (many-to-many).

    >>> pairs = digit_pairs(2000, task="reverse")          # [("3141", "1413"), ...]
    >>> net = Seq2Seq(VOCAB_SIZE, embed_size=32, hidden_size=128)
    >>> net.initialize(mx.init.Xavier())
    >>> history = fit(net, pairs, epochs=10)               # teacher forcing, masked loss
    >>> decode(net, ["2718"])                              # greedy; "8172" once it has learned
    >>> sequence_accuracy(net, pairs)                      # share decoded exactly right

Names: `src` (N, S) token ids of the source, padding id 0 after each row's `src_len` (N,)
real tokens; `tgt_in` (N, T) the decoder's inputs, BOS then the target; `tgt_out` (N, T) what
it should predict at each step, the target then EOS; `tgt_len` (N,) the real steps of both.
Every id array is float32, as Gluon's `Embedding` takes it.

Padding never changes the encoder's final state: the encoder steps an `LSTMCell` by hand and
carries `[h, c]` unchanged through the padding steps (a `SequenceMask` of ones says which steps
are real). The fused `rnn.LSTM` returns the state after the last step, padding included, and its
`use_sequence_length=True` gives wrong outputs on CPU in MXNet 1.9 (see `blocks`). The decoder
can be fused: its output at step t depends only on steps <= t, so padding after a target
reaches no real position, and the loss ignores the padded ones.

This block is not one of the sentiment classifiers behind `--arch`: it maps a sequence to a
sequence, not to a class.
"""
import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import HybridBlock, nn, rnn

PAD, BOS, EOS = 0, 1, 2
DIGITS = "0123456789"
VOCAB_SIZE = 3 + len(DIGITS)              # ids 3..12 are the digits
TASKS = {"reverse": lambda s: s[::-1], "sort": lambda s: "".join(sorted(s))}


# --------------------------------------------------------------------------- the task

def digit_pairs(n, task="reverse", length=(1, 8), seed=0):
    """`n` (source, target) pairs: a random digit string of `length[0]` to `length[1]` digits
    (both included) and its image under `TASKS[task]`."""
    rng = np.random.RandomState(seed)
    sources = ["".join(rng.choice(list(DIGITS), size=rng.randint(length[0], length[1] + 1)))
               for _ in range(n)]
    return [(s, TASKS[task](s)) for s in sources]


def to_ids(text):
    return [3 + DIGITS.index(ch) for ch in text]


def to_text(ids):
    """Digits up to the first EOS or padding id; BOS and any other id are dropped."""
    out = []
    for i in ids:
        i = int(i)
        if i in (EOS, PAD):
            break
        if i >= 3:
            out.append(DIGITS[i - 3])
    return "".join(out)


def _pad(rows, width):
    array = np.full((len(rows), width), PAD, dtype=np.float32)
    for r, ids in enumerate(rows):
        array[r, :len(ids)] = ids
    return nd.array(array)


def make_batch(pairs):
    """(src, src_len, tgt_in, tgt_out, tgt_len) for a list of (source, target) strings:
    src (N, S), tgt_in and tgt_out (N, T) with T = longest target + 1 (BOS or EOS)."""
    src = [to_ids(s) for s, _ in pairs]
    tgt = [to_ids(t) for _, t in pairs]
    width = max(map(len, tgt)) + 1
    return (_pad(src, max(max(map(len, src)), 1)), nd.array([len(s) for s in src]),
            _pad([[BOS] + t for t in tgt], width), _pad([t + [EOS] for t in tgt], width),
            nd.array([len(t) + 1 for t in tgt]))


# --------------------------------------------------------------------------- the blocks

class Encoder(HybridBlock):
    """src (N, S), src_len (N,) -> [h, c], each (1, N, H): the state after each row's last
    real token (zeros for an empty row), whatever the padding holds.

    An `LSTMCell` stepped over time by `foreach`; at a padding step the new state is thrown
    away and the old one carried on: state = m * new + (1 - m) * old, m = 1 on real steps."""

    def __init__(self, vocab_size, embed_size, hidden_size, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        with self.name_scope():
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.cell = rnn.LSTMCell(hidden_size, input_size=embed_size)

    def hybrid_forward(self, F, src, src_len):
        x = F.swapaxes(self.embedding(src), 0, 1)              # (S, N, E): foreach steps axis 0
        ones = F.ones_like(F.slice_axis(x, axis=2, begin=0, end=1))             # (S, N, 1)
        real = F.SequenceMask(ones, src_len, use_sequence_length=True, axis=0)  # (S, N, 1)
        # zeros (N, H) made from x, since a hybridized block does not know N
        column = F.sum(F.zeros_like(F.slice_axis(x, axis=0, begin=0, end=1)), axis=(0, 2))
        h = F.broadcast_axis(F.expand_dims(column, axis=1), axis=1, size=self.hidden_size)
        c = F.zeros_like(h)                     # its own node: foreach wants distinct inputs

        def step(inputs, state):                # x_t (N, E), m_t (N, 1), state [h, c] (N, H)
            x_t, m_t = inputs
            _, new = self.cell(x_t, state)
            kept = [F.broadcast_mul(m_t, n) + F.broadcast_mul(1 - m_t, o)
                    for n, o in zip(new, state)]
            return kept[0], kept

        _, (h, c) = F.contrib.foreach(step, [x, real], [h, c])
        return [F.expand_dims(h, axis=0), F.expand_dims(c, axis=0)]   # (1, N, H) each


class Decoder(HybridBlock):
    """tgt_in (N, T), states [h, c] each (1, N, H) -> logits (N, T, V), states after step T.

    A fused `rnn.LSTM` started from the given `[h, c]`; called with T = 1 it is one step of
    greedy decoding, its state handed back in by the caller."""

    def __init__(self, vocab_size, embed_size, hidden_size, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.lstm = rnn.LSTM(hidden_size, layout="NTC", input_size=embed_size)
            self.output = nn.Dense(vocab_size, flatten=False, in_units=hidden_size)

    def hybrid_forward(self, F, tgt_in, states):
        outputs, states = self.lstm(self.embedding(tgt_in), states)   # (N, T, H)
        return self.output(outputs), states                          # (N, T, V)


class Seq2Seq(HybridBlock):
    """src (N, S), src_len (N,), tgt_in (N, T) -> logits (N, T, V).

    The encoder's final `[h, c]` is the decoder's `begin_state`: all the decoder knows of the
    source is that pair. Trained with teacher forcing (the decoder reads the true previous
    token, `tgt_in`); `decode` feeds it its own previous prediction instead."""

    def __init__(self, vocab_size, embed_size=32, hidden_size=64, **kwargs):
        super().__init__(**kwargs)
        self.config = {"vocab_size": vocab_size, "embed_size": embed_size,
                       "hidden_size": hidden_size}
        with self.name_scope():
            self.encoder = Encoder(vocab_size, embed_size, hidden_size)
            self.decoder = Decoder(vocab_size, embed_size, hidden_size)

    def hybrid_forward(self, F, src, src_len, tgt_in):
        states = self.encoder(src, src_len)                  # [h, c], each (1, N, H)
        logits, _ = self.decoder(tgt_in, states)             # (N, T, V)
        return logits


def masked_loss(logits, tgt_out, tgt_len):
    """Cross-entropy summed over each row's `tgt_len` real steps: (N, T, V), (N, T), (N,) ->
    (N,). The padded steps contribute nothing, whatever the logits say there."""
    picked = nd.pick(nd.log_softmax(logits, axis=-1), tgt_out, axis=-1)        # (N, T)
    real = nd.SequenceMask(picked, tgt_len, use_sequence_length=True, axis=1)  # (N, T)
    return -real.sum(axis=1)


# --------------------------------------------------------------------------- use

def greedy(net, src, src_len, max_len):
    """Greedy decoding: ids (N, max_len), each step's most likely token fed back as the next
    input, `[h, c]` passed from step to step by hand. Steps after a row's EOS are PAD."""
    states = net.encoder(src, src_len)
    token = nd.full((src.shape[0], 1), BOS)                   # (N, 1)
    done = nd.zeros((src.shape[0],))
    out = []
    for _ in range(max_len):
        logits, states = net.decoder(token, states)           # (N, 1, V)
        token = logits.argmax(axis=-1)                        # (N, 1)
        step = token[:, 0] * (1 - done)                       # PAD once a row is done
        out.append(step)
        done = nd.maximum(done, step == EOS)
    return nd.stack(*out, axis=1)                             # (N, max_len)


def decode(net, sources, max_len=None):
    """Greedy decodings of a list of digit strings, as strings."""
    src, src_len, *_ = make_batch([(s, s) for s in sources])
    max_len = max_len or int(src_len.max().asscalar()) + 2
    return [to_text(row) for row in greedy(net, src, src_len, max_len).asnumpy()]


def sequence_accuracy(net, pairs, batch_size=256):
    """The share of pairs whose greedy decoding equals the target exactly."""
    right = 0
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        right += sum(d == t for d, (_, t) in zip(decode(net, [s for s, _ in chunk]), chunk))
    return right / len(pairs)


def fit(net, pairs, epochs, batch_size=64, lr=5e-3, clip=1.0, seed=0):
    """Adam on the masked loss with teacher forcing, the global gradient norm clipped at
    `clip`; returns the mean loss per real target token of each epoch."""
    rng = np.random.RandomState(seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    params = [p for p in net.collect_params().values() if p.grad_req != "null"]
    history = []
    for _ in range(epochs):
        total = tokens = 0.0
        order = rng.permutation(len(pairs))
        for i in range(0, len(pairs), batch_size):
            src, src_len, tgt_in, tgt_out, tgt_len = make_batch(
                [pairs[k] for k in order[i:i + batch_size]])
            with autograd.record():
                loss = masked_loss(net(src, src_len, tgt_in), tgt_out, tgt_len).sum()
            loss.backward()
            count = float(tgt_len.sum().asscalar())
            grads = [p.grad() for p in params]
            for g in grads:
                g /= count                              # the mean over real target tokens
            gluon.utils.clip_global_norm(grads, clip)
            trainer.step(1)
            total += float(loss.asscalar())
            tokens += count
        history.append(total / tokens)
    return history
