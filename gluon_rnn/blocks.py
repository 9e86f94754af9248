"""Every architecture: a short HybridBlock of named parts, embedding -> encoder -> pooling -> head.

    >>> net = build_model("bilstm", vocab_size=20000, hidden_size=64)
    >>> net.initialize()
    >>> logits = net(tokens, valid_length)            # (N, T), (N,) -> (N, num_classes)
    >>> net.config                                    # build_model(**net.config) rebuilds it

| arch          | encoder                      | pooling                                        |
|---------------|------------------------------|------------------------------------------------|
| `rnn`         | Elman RNN (tanh)             | output at the last real token                  |
| `gru`         | GRU                          | output at the last real token                  |
| `lstm`        | LSTM                         | h at the last real token (the post's model)    |
| `stacked`     | LSTM, num_layers >= 2        | top layer's h at the last real token           |
| `mean`        | LSTM                         | mean of the outputs over the real tokens       |
| `max`         | LSTM                         | max of each unit's output over the real tokens |
| `bilstm`      | forward + backward LSTM      | [forward h at last token, backward h at first] |
| `bilstm-mean` | forward + backward LSTM      | mean of [forward, backward] over real tokens   |
| `bilstm-meanmax` | forward + backward LSTM   | [mean, max] of [forward, backward] over real tokens |
| `lstm-cells`  | an `rnn.LSTMCell` stepped by hand (`bidirectional=True`: one per direction)   |
| `attention`   | forward + backward LSTM      | r learned weightings of the real tokens (hops) |

Names: `tokens` (N, T) float32 token ids, padding id 0; `valid_length` (N,) float32, the number
of real tokens in each row; `hidden_size` (H) units per direction; `states` the recurrent
state, a list: `[h]` for RNN / GRU, `[h, c]` for LSTM, each (num_layers * directions, N, H).

`attention` (Lin et al. 2017) also has `net.attention_weights(tokens, valid_length)` -> (N, r, T),
and a loss term of its own, which the training loop adds through `forward_with_extra_loss`.

Padding never changes a row's logits, whatever ids the padding holds. MXNet 1.9's own
`use_sequence_length=True` gives wrong outputs on CPU (apache/mxnet#19323, #20524), and a fused
`bidirectional=True` layer reads the padding first in its backward direction, so the blocks
mask with `SequenceMask` and `SequenceReverse` instead.

This module imports only mxnet and numpy, so it can be copied into another project alone.
"""
import operator
import warnings

import numpy as np
from mxnet import nd
from mxnet.gluon import HybridBlock, nn, rnn


def zero_states(mode, shape, ctx=None):
    """Zero initial states of shape `shape` (layers * directions, N, H): `[h, c]` for an
    LSTM, `[h]` otherwise."""
    h = nd.zeros(shape, ctx=ctx)
    if mode == "lstm":
        c = nd.zeros(shape, ctx=ctx)
        return [h, c]
    return [h]


# --------------------------------------------------------------------------- pooling

class LastStep(HybridBlock):
    """The output at each row's last real step: outputs (N, T, H), valid_length (N,) -> (N, H).

    A row of length 0 reads step 0 (finite) instead of an invalid index. The step is picked
    by two masks, the steps before L minus the steps before L - 1, summed over time: every
    other step contributes an exact zero, so this equals `SequenceLast` to the bit, and it is
    made of operators that ONNX has (`SequenceLast` has no converter)."""

    def hybrid_forward(self, F, outputs, valid_length):
        length = F.maximum(valid_length, 1)
        upto_last = F.SequenceMask(outputs, length, use_sequence_length=True, axis=1)
        before_last = F.SequenceMask(outputs, length - 1, use_sequence_length=True, axis=1)
        return F.sum(upto_last - before_last, axis=1)                     # (N, H)


def real_steps(F, outputs, valid_length):
    """The 0/1 mask of each row's real steps: outputs (N, T, H), valid_length (N,) -> (N, 1, T),
    shaped to weigh the steps in one `batch_dot` with the outputs."""
    ones = F.ones_like(F.slice_axis(outputs, axis=2, begin=0, end=1))     # (N, T, 1)
    mask = F.SequenceMask(ones, valid_length, use_sequence_length=True, axis=1)  # (N, T, 1)
    return F.reshape(mask, shape=(0, 1, -1))                               # (N, 1, T)


class MaskedMean(HybridBlock):
    """The mean of each row's outputs over its real steps: (N, T, H), (N,) -> (N, H).

    A row of length 0 gives zeros: the sum is divided by max(length, 1)."""

    def hybrid_forward(self, F, outputs, valid_length):
        # The masked sum over time as one batched product (N, 1, T) x (N, T, H): a matrix
        # product masks and sums in one call, where mxnet's `sum(axis=1)`, a reduce over the
        # middle axis, is several times slower forward and backward (the profile section of
        # benchmarks/bench.py shows the pooling's share of a step).
        weights = real_steps(F, outputs, valid_length)                     # (N, 1, T)
        total = F.reshape(F.batch_dot(weights, outputs), shape=(0, -1))   # (N, H)
        count = F.reshape(F.maximum(valid_length, 1), shape=(-1, 1))       # (N, 1)
        return F.broadcast_div(total, count)


class MaskedMax(HybridBlock):
    """Each unit's largest output over a row's real steps: (N, T, H), (N,) -> (N, H).

    Padding is overwritten with a value below any output before the max, so it can never
    win. A row of length 0 reads step 0, as in `LastStep`, so the result stays finite."""

    def hybrid_forward(self, F, outputs, valid_length):
        length = F.maximum(valid_length, 1)
        real = F.SequenceMask(outputs, length, use_sequence_length=True, axis=1,
                              value=-1e30)                                # (N, T, H)
        return F.max(real, axis=1)                                         # (N, H)


class MaskedMeanMax(HybridBlock):
    """[mean, max] of each row's outputs over its real steps: (N, T, H), (N,) -> (N, 2H).
    The mean says how much of the text leans one way, the max where it leans most."""

    def __init__(self, input_size, **kwargs):
        super().__init__(**kwargs)
        self.output_size = 2 * input_size          # H -> 2H
        with self.name_scope():
            self.mean, self.max = MaskedMean(), MaskedMax()

    def hybrid_forward(self, F, outputs, valid_length):
        return F.concat(self.mean(outputs, valid_length), self.max(outputs, valid_length),
                        dim=1)                                             # (N, 2H)


class BiFinalState(HybridBlock):
    """Both directions' final states from time-aligned bidirectional outputs (N, T, 2H):
    the forward half at the last real step, the backward half at step 0 (where the backward
    direction has read the whole sequence) -> (N, 2H)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.last = LastStep()

    def hybrid_forward(self, F, outputs, valid_length):
        fwd, bwd = F.split(outputs, num_outputs=2, axis=2)                  # (N, T, H) each
        first = F.squeeze(F.slice_axis(bwd, axis=1, begin=0, end=1), axis=1)  # (N, H)
        return F.concat(self.last(fwd, valid_length), first, dim=1)       # (N, 2H)


class SelfAttentivePooling(HybridBlock):
    """Structured self-attention (Lin et al. 2017, "A structured self-attentive sentence
    embedding"): `hops` (r) weightings of the steps, each a softmax over the real tokens.

    outputs H (N, T, D), valid_length (N,) -> (M (N, r * D), A (N, r, T)), where
    A = softmax(W2 tanh(W1 Hᵀ)) with W1 (attention_size, D), W2 (r, attention_size), no biases,
    and M = A H, flattened. The softmax runs over each row's first valid_length steps only:
    padding gets weight exactly 0 and each of the r rows of A sums to 1. A row of length 0 has
    no token to weigh: its weights are all 0, so M is 0 (as `MaskedMean` gives zeros)."""

    def __init__(self, input_size, attention_size, hops, **kwargs):
        super().__init__(**kwargs)
        self.hops, self.output_size = hops, hops * input_size
        with self.name_scope():
            self.w1 = nn.Dense(attention_size, use_bias=False, flatten=False, in_units=input_size)
            self.w2 = nn.Dense(hops, use_bias=False, flatten=False, in_units=attention_size)

    def hybrid_forward(self, F, outputs, valid_length):
        scores = self.w2(F.tanh(self.w1(outputs)))                   # (N, T, r)
        scores = F.swapaxes(scores, 1, 2)                              # (N, r, T)
        # softmax's own length mask (integer lengths, one per row of the softmax): the
        # padded steps get exactly 0 and a length of 0 gives a row of zeros, not NaN
        length = F.cast(F.expand_dims(valid_length, axis=1), "int32")   # (N, 1)
        length = F.broadcast_axis(length, axis=1, size=self.hops)      # (N, r)
        weights = F.softmax(scores, length=length, use_length=True, axis=-1)  # (N, r, T)
        pooled = F.batch_dot(weights, outputs)                         # (N, r, D)
        return F.flatten(pooled), weights                              # (N, r * D), (N, r, T)


def attention_penalty(F, weights, hops):
    """||A Aᵀ - I||²_F of each example: weights A (N, r, T), r = `hops` -> (N,).

    0 when the r hops put all their weight on r different tokens; largest (r² - r for
    one-hot rows) when they all weigh the same tokens. Lin et al. add it to the loss so that
    the hops read different parts of the sentence instead of r copies of one. (A row of
    length 0, all-zero weights, gives r: a constant, with no gradient.)"""
    gram = F.batch_dot(weights, weights, transpose_b=True)            # (N, r, r)
    eye = F.expand_dims(F.eye(hops), axis=0)                           # (1, r, r)
    return F.sum(F.square(F.broadcast_sub(gram, eye)), axis=(1, 2))   # (N,)


# --------------------------------------------------------------------------- encoders
#
# Every encoder is called `encoder(x, valid_length, states=None) -> outputs`, x (N, T, E) ->
# outputs (N, T, D * H) where D * H is its `output_size`, and has `begin_state(batch_size,
# ctx)`. A unidirectional encoder never looks at `valid_length`: its output at step t depends
# only on steps <= t, so the padding after a row cannot reach the step the pooling reads.
#
# Each also has `time_major(F, x, valid_length, states=None)`: the same, time-major both ways,
# x (T, N, E) -> (T, N, D * H). The recurrent ops run time-major, so the classifiers call it
# on the embedding of the transposed (N, T) ids: a batch-major call copies the (N, T, E) word
# vectors into (T, N, E) on the way in, and back in the backward pass.

def layer_states(F, states, layer):
    """Layer `layer`'s slice (1, N, H) of each state (layers * directions, N, H)."""
    return [F.slice_axis(s, axis=0, begin=layer, end=layer + 1) for s in states]


class Recurrent(HybridBlock):
    """`num_layers` fused Gluon layers (`rnn.RNN` with tanh, `rnn.GRU` or `rnn.LSTM`), with
    dropout between them: x (N, T, E) -> the top layer's outputs (N, T, H); time-major
    (T, N, ...) both ways when layout='TNC'. The layers themselves always run time-major:
    a batch-major call swaps once in and once out, not once in and out of every layer.

    One fused op per layer, not one `num_layers` op: on CPU MXNet runs the fused op with
    oneDNN, which silently skips the op's own dropout between layers (oneDNN#807)."""

    LAYERS = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}

    def __init__(self, mode, input_size, hidden_size, num_layers=1, dropout=0.0, layout="NTC",
                 **kwargs):
        super().__init__(**kwargs)
        self.mode, self.hidden_size, self.num_layers = mode, hidden_size, num_layers
        self.output_size, self.layout = hidden_size, layout
        with self.name_scope():
            self.layers = nn.HybridSequential()    # a container indexed by layer
            for layer in range(num_layers):
                size = input_size if layer == 0 else hidden_size
                self.layers.add(self.LAYERS[mode](hidden_size, layout="TNC", input_size=size))
            self.dropout = nn.Dropout(dropout)

    def begin_state(self, batch_size, ctx=None):
        return zero_states(self.mode, (self.num_layers, batch_size, self.hidden_size), ctx)

    def hybrid_forward(self, F, x, valid_length, states=None):
        if self.layout == "NTC":
            x = F.swapaxes(x, 0, 1)                                        # (T, N, E)
        x = self.time_major(F, x, valid_length, states)                    # (T, N, H)
        return F.swapaxes(x, 0, 1) if self.layout == "NTC" else x

    def time_major(self, F, x, valid_length, states=None):
        """x (T, N, E) -> the top layer's outputs (T, N, H), whatever `layout` says."""
        for i, layer in enumerate(self.layers):
            if i:
                x = self.dropout(x)
            if states is None:
                # the layer makes its own zeros: a hybridized block does not know N
                x = layer(x)                                               # (T, N, H)
            else:
                x, _ = layer(x, layer_states(F, states, i))                # (T, N, H)
        return x


class LSTMCellLoop(HybridBlock):
    """The post's hand-written loop: one `rnn.LSTMCell`, stepped over time with the state
    `[h, c]` passed from step to step by hand. Same contract and, with the same weights, the
    same numbers as `Recurrent("lstm", input_size, hidden_size)`: x (N, T, E) -> (N, T, H)."""

    def __init__(self, input_size, hidden_size, layout="NTC", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size, self.output_size, self.layout = hidden_size, hidden_size, layout
        with self.name_scope():
            self.cell = rnn.LSTMCell(hidden_size, input_size=input_size)

    def begin_state(self, batch_size, ctx=None):
        return zero_states("lstm", (1, batch_size, self.hidden_size), ctx)

    def _zero_h(self, F, x):
        """Zeros (N, H) built from time-major x (T, N, E), since a symbol has no batch size."""
        column = F.sum(F.zeros_like(F.slice_axis(x, axis=0, begin=0, end=1)), axis=(0, 2))  # (N,)
        return F.broadcast_axis(F.expand_dims(column, axis=1), axis=1, size=self.hidden_size)

    def hybrid_forward(self, F, x, valid_length, states=None):
        if self.layout == "NTC":
            x = F.swapaxes(x, 0, 1)                # (T, N, E): `foreach` steps over axis 0
        outputs = self.time_major(F, x, valid_length, states)              # (T, N, H)
        return F.swapaxes(outputs, 0, 1) if self.layout == "NTC" else outputs  # (N, T, H)

    def time_major(self, F, x, valid_length, states=None):
        """x (T, N, E) -> (T, N, H), whatever `layout` says."""
        if states is None:
            h = self._zero_h(F, x)                 # (N, H)
            c = F.zeros_like(h)                    # its own node: foreach wants distinct inputs
        else:
            h, c = [F.reshape(s, shape=(-3, -2)) for s in states]  # (1, N, H) -> (N, H)

        def step(x_t, state):                      # x_t (N, E), state [h, c] each (N, H)
            h_t, state = self.cell(x_t, state)
            return h_t, state

        # `foreach` is the loop `for x_t in x: h_t, [h, c] = cell(x_t, [h, c])`, written so
        # that it also runs hybridized (a Python loop needs T, which a symbol does not know)
        outputs, _ = F.contrib.foreach(step, x, [h, c])                    # (T, N, H)
        return outputs


class Bidirectional(HybridBlock):
    """`num_layers` bidirectional layers: in each, a forward encoder reads each row left to
    right and a backward one reads it right to left, starting at its last real token; layer
    l + 1 reads [forward, backward] of layer l, as in Gluon's fused bidirectional layer.
    x (N, T, E) -> outputs (N, T, 2H), aligned in time:
    outputs[:, t] = [forward after tokens 0..t, backward after tokens len-1..t].

    `make_direction(input_size, hidden_size)` builds one direction of one layer: a time-major
    encoder (layout 'TNC'). On rows without padding this equals `rnn.LSTM(bidirectional=True)`
    with the same weights and states; that layer is not used because its backward direction
    starts at the padding, so the padding would change the logits."""

    def __init__(self, make_direction, input_size, hidden_size, num_layers=1, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_layers, self.output_size = num_layers, 2 * hidden_size
        with self.name_scope():
            # containers indexed by layer, never called as a whole
            self.fwd, self.bwd = nn.HybridSequential(), nn.HybridSequential()
            for layer in range(num_layers):
                size = input_size if layer == 0 else 2 * hidden_size
                self.fwd.add(make_direction(size, hidden_size))
                self.bwd.add(make_direction(size, hidden_size))
            self.dropout = nn.Dropout(dropout)

    def begin_state(self, batch_size, ctx=None):
        # Gluon's order in (layers * 2, N, H): l0 forward, l0 backward, l1 forward, ...
        directions = [d for pair in zip(self.fwd, self.bwd) for d in pair]
        per_direction = [d.begin_state(batch_size, ctx) for d in directions]
        return [nd.concat(*kind, dim=0) for kind in zip(*per_direction)]

    def hybrid_forward(self, F, x, valid_length, states=None):
        # `SequenceReverse` reverses axis 0 only: the layers run time-major inside, with one
        # swap in and one out
        x = self.time_major(F, F.swapaxes(x, 0, 1), valid_length, states)   # (T, N, 2H)
        return F.swapaxes(x, 0, 1)                                             # (N, T, 2H)

    def time_major(self, F, x, valid_length, states=None):
        """x (T, N, E) -> (T, N, 2H), aligned in time as the block's outputs are."""
        def direction_states(i):   # the order of begin_state
            return None if states is None else layer_states(F, states, i)

        for layer in range(self.num_layers):
            if layer:
                x = self.dropout(x)
            rev = F.SequenceReverse(x, valid_length, use_sequence_length=True)  # real steps flipped
            fwd = self.fwd[layer](x, valid_length, direction_states(2 * layer))  # (T, N, H)
            bwd = self.bwd[layer](rev, valid_length, direction_states(2 * layer + 1))  # reversed
            bwd = F.SequenceReverse(bwd, valid_length, use_sequence_length=True)  # aligned with x
            x = F.concat(fwd, bwd, dim=2)                                      # (T, N, 2H)
        return x


# --------------------------------------------------------------------------- classifiers

def _positive_int(name, value):
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def make_head(in_units, head_hidden, num_classes):
    """Dense(units, relu) for each entry of `head_hidden`, then Dense(num_classes):
    (N, in_units) -> logits (N, num_classes). The post's head is head_hidden=(16, 8)."""
    head = nn.HybridSequential(prefix="head_")
    with head.name_scope():
        for units in head_hidden:
            head.add(nn.Dense(units, activation="relu", in_units=in_units))
            in_units = units
        head.add(nn.Dense(num_classes, in_units=in_units))
    return head


class SentimentNet(HybridBlock):
    """tokens (N, T), valid_length (N,) [, states] -> logits (N, num_classes).

    The parts every architecture shares: embedding (E = embed_size) -> dropout of whole
    words (`word_dropout`) and of single entries (`embed_dropout`) -> encoder -> pooling ->
    dropout -> head. `dropout` also acts between stacked recurrent layers.

    A subclass names itself (`arch`) and builds its encoder and pooling in the classmethod
    `parts(config)`, from the net's config alone. The config is complete before `parts` runs:
    a subclass with hyper-parameters of its own checks them and hands them to this constructor
    as `arch_config` (keys added to `config` after the shared ones), so `parts` never reads a
    half-made net. The parts are built here, inside the net's name scope, because that scope
    names their parameters (`collect_params()`, exported graphs) under the net's prefix.

    `states` (optional, a list as from `begin_state(N)`) are the encoder's initial states;
    zeros when left out. Calls with and without states may alternate, hybridized too."""

    arch = None

    def __init__(self, vocab_size, num_classes=2, embed_size=128, hidden_size=128,
                 num_layers=1, dropout=0.0, head_hidden=(16, 8), freeze_embedding=False,
                 embed_dropout=0.0, word_dropout=0.0, *, arch_config=None, **kwargs):
        super().__init__(**kwargs)
        for name, p in (("dropout", dropout), ("embed_dropout", embed_dropout),
                        ("word_dropout", word_dropout)):
            if not 0 <= float(p) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")
        self.config = {
            "arch": self.arch,
            "vocab_size": _positive_int("vocab_size", vocab_size),
            "num_classes": _positive_int("num_classes", num_classes),
            "embed_size": _positive_int("embed_size", embed_size),
            "hidden_size": _positive_int("hidden_size", hidden_size),
            "num_layers": _positive_int("num_layers", num_layers),
            "dropout": float(dropout),
            "head_hidden": [_positive_int("head_hidden", u) for u in head_hidden],
            "freeze_embedding": bool(freeze_embedding),
            "embed_dropout": float(embed_dropout),
            "word_dropout": float(word_dropout),
            **(arch_config or {}),
        }
        cfg = self.config
        with self.name_scope():
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embed_size"])
            # Dropout on the word vectors: the embedding holds most of the parameters, and
            # it is what overfits first on a corpus of a few thousand reviews.
            self.embed_dropout = nn.Dropout(cfg["embed_dropout"])
            # Whole words: one mask per (example, step), shared along E (axes=2), so the
            # encoder must read the sentiment from the other words of the review.
            self.word_dropout = nn.Dropout(cfg["word_dropout"], axes=(2,))
            self.encoder, self.pooling = self.parts(cfg)
            self.dropout = nn.Dropout(cfg["dropout"])
            # the sentence vector's size: the encoder's, unless the pooling makes its own
            pooled_size = getattr(self.pooling, "output_size", self.encoder.output_size)
            self.head = make_head(pooled_size, cfg["head_hidden"], cfg["num_classes"])
        if freeze_embedding:
            self.embedding.weight.grad_req = "null"

    @classmethod
    def parts(cls, config):
        """(encoder, pooling) of this architecture, built from the net's `config`; the encoder
        has `output_size` (D * H)."""
        raise NotImplementedError

    def begin_state(self, batch_size, ctx=None):
        """Zero initial states: `[h]` or `[h, c]`, each (num_layers * directions, N, H)."""
        return self.encoder.begin_state(batch_size, ctx)

    def set_embedding(self, array, freeze=False):
        """Copy `array` (vocab_size, embed_size) into the embedding, e.g. pretrained vectors
        in vocabulary order; `freeze=True` keeps it fixed in training (grad_req 'null').
        Call it after `net.initialize()`."""
        weight = self.embedding.weight
        array = np.asarray(array.asnumpy() if isinstance(array, nd.NDArray) else array,
                           dtype=np.float32)
        expected = (self.config["vocab_size"], self.config["embed_size"])
        if array.shape != expected:
            raise ValueError(f"embedding array has shape {array.shape}; this net needs "
                             f"(vocab_size, embed_size) = {expected}")
        try:
            weight.list_ctx()
        except RuntimeError:
            raise RuntimeError("call net.initialize() before set_embedding()") from None
        weight.set_data(nd.array(array))
        if freeze:
            weight.grad_req = "null"
            self.config["freeze_embedding"] = True

    def forward(self, tokens, valid_length, states=None):
        # A hybridized block caches the graph of its first call's argument list and refuses
        # another one ("argument structure does not match the cached version"). With and
        # without states are two graphs: switching from one to the other rebuilds it.
        with_states = states is not None
        if getattr(self, "_graph_with_states", with_states) != with_states:
            self._clear_cached_op()
        self._graph_with_states = with_states
        if with_states:
            return super().forward(tokens, valid_length, states)
        return super().forward(tokens, valid_length)

    def encode(self, F, tokens, valid_length, states=None):
        """tokens (N, T), valid_length (N,) -> the encoder's outputs (N, T, D * H).

        Time-major from the ids on: transposing the (N, T) ids is cheap, the (N, T, E) word
        vectors are not, and the recurrent ops read (T, N, E). The one swap left is the
        outputs' to the poolings' (N, T, ...)."""
        x = self.embedding(F.transpose(tokens))                      # (T, N, E)
        # word dropout's mask is shared along axis 2 (E) in this layout too
        x = self.embed_dropout(self.word_dropout(x))                 # (T, N, E)
        outputs = self.encoder.time_major(F, x, valid_length, states)  # (T, N, D * H)
        return F.swapaxes(outputs, 0, 1)                             # (N, T, D * H)

    def hybrid_forward(self, F, tokens, valid_length, states=None):
        outputs = self.encode(F, tokens, valid_length, states)       # (N, T, D * H)
        pooled = self.pooling(outputs, valid_length)                 # (N, D * H)
        return self.head(self.dropout(pooled))                       # (N, C)

    # An architecture may add a term of its own to the training loss (`attention`'s
    # penalty). The net's forward, and so `predict`, `evaluate` and the export, stays
    # logits alone; the training loop asks for the term separately.
    has_extra_loss = False

    def forward_with_extra_loss(self, tokens, valid_length):
        """(logits (N, C), extra loss (N,)) from one forward pass; extra is None for an
        architecture without a term of its own (`has_extra_loss` False)."""
        return self(tokens, valid_length), None


class _OneWayClassifier(SentimentNet):
    """What the one-way architectures share: `num_layers` fused layers of `mode` ('rnn',
    'gru' or 'lstm') read left to right, pooled by a `pooling_class()` block. Each subclass
    names its mode and pooling, nothing else."""
    mode = pooling_class = None

    @classmethod
    def parts(cls, config):
        encoder = Recurrent(cls.mode, config["embed_size"], config["hidden_size"],
                            config["num_layers"], config["dropout"])
        return encoder, cls.pooling_class()


class RNNClassifier(_OneWayClassifier):
    """Elman RNN (tanh): the output at the last real token."""
    arch, mode, pooling_class = "rnn", "rnn", LastStep


class GRUClassifier(_OneWayClassifier):
    """GRU: the output at the last real token."""
    arch, mode, pooling_class = "gru", "gru", LastStep


class LSTMClassifier(_OneWayClassifier):
    """LSTM: the hidden state h at the last real token (the post's basic model)."""
    arch, mode, pooling_class = "lstm", "lstm", LastStep


class StackedLSTMClassifier(LSTMClassifier):
    """Stacked LSTM (num_layers >= 2, default 2): the top layer's h at the last real token."""
    arch = "stacked"

    def __init__(self, vocab_size, num_layers=2, **kwargs):
        if _positive_int("num_layers", num_layers) < 2:
            raise ValueError(f"'stacked' needs num_layers >= 2, got {num_layers}")
        super().__init__(vocab_size, num_layers=num_layers, **kwargs)


class MeanLSTMClassifier(_OneWayClassifier):
    """LSTM: the mean of its outputs over the real tokens."""
    arch, mode, pooling_class = "mean", "lstm", MaskedMean


class MaxLSTMClassifier(_OneWayClassifier):
    """LSTM: each unit's largest output over the real tokens (max pooling over time)."""
    arch, mode, pooling_class = "max", "lstm", MaskedMax


def _bilstm(config):
    """`config["num_layers"]` bidirectional layers of fused LSTMs: (T, N, E) -> (T, N, 2H)."""
    def direction(input_size, hidden_size):
        return Recurrent("lstm", input_size, hidden_size, layout="TNC")
    return Bidirectional(direction, config["embed_size"], config["hidden_size"],
                         config["num_layers"], config["dropout"])


class BiLSTMClassifier(SentimentNet):
    """Bidirectional LSTM: [forward h at the last real token, backward h at the first]."""
    arch = "bilstm"

    @classmethod
    def parts(cls, config):
        return _bilstm(config), BiFinalState()


class BiLSTMMeanClassifier(SentimentNet):
    """Bidirectional LSTM: the mean of [forward, backward] outputs over the real tokens."""
    arch = "bilstm-mean"

    @classmethod
    def parts(cls, config):
        return _bilstm(config), MaskedMean()


class BiLSTMMeanMaxClassifier(SentimentNet):
    """Bidirectional LSTM: [mean, max] of [forward, backward] outputs over the real tokens.

    tokens (N, T), valid_length (N,) -> logits (N, C); the encoder's outputs are (N, T, 2H)
    and the pooled vector (N, 4H): the mean and the max of both directions, each over the
    real steps only."""
    arch = "bilstm-meanmax"

    @classmethod
    def parts(cls, config):
        encoder = _bilstm(config)
        return encoder, MaskedMeanMax(encoder.output_size)


class LSTMCellsClassifier(SentimentNet):
    """LSTMCell stepped by hand (the post's loop); equals `lstm`, or `bilstm` if bidirectional."""
    arch = "lstm-cells"

    def __init__(self, vocab_size, bidirectional=False, num_layers=1, **kwargs):
        if num_layers != 1:
            raise ValueError(f"'lstm-cells' steps one cell per direction: num_layers must be 1, "
                             f"got {num_layers}")
        super().__init__(vocab_size, num_layers=1,
                         arch_config={"bidirectional": bool(bidirectional)}, **kwargs)

    @classmethod
    def parts(cls, config):
        embed_size, hidden_size = config["embed_size"], config["hidden_size"]
        if not config["bidirectional"]:
            return LSTMCellLoop(embed_size, hidden_size), LastStep()

        def direction(input_size, hidden_size):
            return LSTMCellLoop(input_size, hidden_size, layout="TNC")
        return Bidirectional(direction, embed_size, hidden_size), BiFinalState()


class SelfAttentiveClassifier(SentimentNet):
    """Bidirectional LSTM pooled by structured self-attention: r hops over the real tokens."""
    arch = "attention"

    def __init__(self, vocab_size, attention_hops=4, attention_size=64, attention_penalty=0.1,
                 **kwargs):
        hops = _positive_int("attention_hops", attention_hops)
        size = _positive_int("attention_size", attention_size)
        penalty = float(attention_penalty)
        if not 0 <= penalty < float("inf"):
            raise ValueError(f"attention_penalty must be a finite number >= 0, "
                             f"got {attention_penalty!r}")
        super().__init__(vocab_size, arch_config={"attention_hops": hops, "attention_size": size,
                                                  "attention_penalty": penalty}, **kwargs)

    @classmethod
    def parts(cls, config):
        encoder = _bilstm(config)
        return encoder, SelfAttentivePooling(encoder.output_size, config["attention_size"],
                                             config["attention_hops"])

    def _logits_and_weights(self, F, tokens, valid_length, states=None):
        # Called outside the net's graph (`attention_weights`, the training loop's
        # `forward_with_extra_loss`), the directions of a hybridized net run as graphs of
        # their own, and each warns that it never reads `valid_length` (it need not: see
        # the note above the encoders).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The 1-th input to HybridBlock is not used")
            outputs = self.encode(F, tokens, valid_length, states)   # (N, T, 2H)
        pooled, weights = self.pooling(outputs, valid_length)        # (N, r * 2H), (N, r, T)
        return self.head(self.dropout(pooled)), weights              # (N, C), (N, r, T)

    def hybrid_forward(self, F, tokens, valid_length, states=None):
        return self._logits_and_weights(F, tokens, valid_length, states)[0]   # (N, C)

    def attention_weights(self, tokens, valid_length, states=None):
        """A (N, r, T): how much each hop weighs each token; exactly 0 on padding, each
        hop's row sums to 1 over a row's real tokens."""
        return self._logits_and_weights(nd, tokens, valid_length, states)[1]

    @property
    def has_extra_loss(self):
        # with one hop the penalty is (|a|² - 1)², which only pushes towards one-hot weights
        return self.config["attention_hops"] > 1 and self.config["attention_penalty"] > 0

    def forward_with_extra_loss(self, tokens, valid_length):
        """(logits (N, C), penalty ||A Aᵀ - I||²_F * attention_penalty (N,)), one pass.

        The children run hybridized when the net is; the net's own graph keeps one output."""
        logits, weights = self._logits_and_weights(nd, tokens, valid_length)
        if not self.has_extra_loss:
            return logits, None
        penalty = attention_penalty(nd, weights, self.config["attention_hops"])
        return logits, self.config["attention_penalty"] * penalty


ARCHITECTURES = {cls.arch: cls for cls in (
    RNNClassifier, GRUClassifier, LSTMClassifier, StackedLSTMClassifier, MeanLSTMClassifier,
    MaxLSTMClassifier, BiLSTMClassifier, BiLSTMMeanClassifier, LSTMCellsClassifier,
    SelfAttentiveClassifier, BiLSTMMeanMaxClassifier)}


def build_model(arch, vocab_size, num_classes=2, embed_size=128, hidden_size=128,
                num_layers=None, dropout=0.0, **kwargs):
    """The `arch` classifier, not yet initialised. `num_layers=None` takes the architecture's
    default (1; `stacked`: 2). Other keyword arguments go to the class (`head_hidden`,
    `freeze_embedding`, `embed_dropout`, `word_dropout`, `bidirectional` for `lstm-cells`,
    `attention_hops`, `attention_size` and `attention_penalty` for `attention`).
    `build_model(**net.config)`
    rebuilds a net. An unknown `arch` raises ValueError listing the known ones."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from: "
                         + ", ".join(sorted(ARCHITECTURES)))
    if num_layers is not None:
        kwargs["num_layers"] = num_layers
    return ARCHITECTURES[arch](vocab_size, num_classes=num_classes, embed_size=embed_size,
                               hidden_size=hidden_size, dropout=dropout, **kwargs)
