"""One time step of each recurrent cell, written from its equations in plain NDArray ops.

They take the weights of the matching Gluon cell, so each can be checked against it, and an
LSTM or GRU step also returns its gates, to look at:

    >>> from mxnet import nd
    >>> from mxnet.gluon import rnn
    >>> cell = rnn.LSTMCell(hidden_size=4, input_size=3)
    >>> cell.initialize()
    >>> h, c = nd.zeros((1, 4)), nd.zeros((1, 4))
    >>> h, c, gates = lstm_step(cell_params(cell), nd.ones((1, 3)), h, c)
    >>> gates["forget"]                       # (1, 4), each in (0, 1)

`rnn_bptt` is backpropagation through time for `rnn_step`, written out: the recurrence of
dL/dh_t from the last step back, and the weights' gradients, checkable against autograd.

Shapes: x (N, E) one step's input, h and c (N, H). `params` maps Gluon's names to arrays:
`i2h_weight` (G * H, E), `h2h_weight` (G * H, H), `i2h_bias` and `h2h_bias` (G * H,), with
G = 1 for the RNN, 4 for the LSTM, 3 for the GRU. Gluon stacks the gate blocks in the order
LSTM: input, forget, candidate, output; GRU: reset, update, candidate.
"""
from mxnet import nd

PARAM_NAMES = ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")


def cell_params(cell):
    """The four weight arrays of a Gluon `RNNCell`, `LSTMCell` or `GRUCell`, by name."""
    return {name: getattr(cell, name).data() for name in PARAM_NAMES}


def _affine(params, x, h):
    """W_x x + b_x and W_h h + b_h, every gate block at once: each (N, G * H)."""
    from_x = nd.dot(x, params["i2h_weight"], transpose_b=True) + params["i2h_bias"]
    from_h = nd.dot(h, params["h2h_weight"], transpose_b=True) + params["h2h_bias"]
    return from_x, from_h


def rnn_step(params, x, h):
    """Elman RNN: h_t = tanh(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh) -> h_t (N, H)."""
    from_x, from_h = _affine(params, x, h)
    return nd.tanh(from_x + from_h)


def lstm_step(params, x, h, c):
    """LSTM -> (h_t, c_t, gates), h_t and c_t (N, H):

        i = sigmoid(.)  input gate: how much of the candidate to write
        f = sigmoid(.)  forget gate: how much of the old cell state to keep
        g = tanh(.)     candidate cell state
        o = sigmoid(.)  output gate: how much of the cell state to show
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    where each (.) is W_x x_t + b_x + W_h h_{t-1} + b_h with that gate's block of rows.
    `gates` maps "input", "forget", "candidate", "output" to (N, H) arrays."""
    from_x, from_h = _affine(params, x, h)
    i, f, g, o = nd.split(from_x + from_h, num_outputs=4, axis=1)   # (N, H) each
    i, f, g, o = nd.sigmoid(i), nd.sigmoid(f), nd.tanh(g), nd.sigmoid(o)
    c = f * c + i * g
    h = o * nd.tanh(c)
    return h, c, {"input": i, "forget": f, "candidate": g, "output": o}


def gru_step(params, x, h):
    """GRU, as Gluon (and cuDNN) computes it -> (h_t, gates), h_t (N, H):

        r = sigmoid(W_xr x_t + b_xr + W_hr h_{t-1} + b_hr)     reset gate
        z = sigmoid(W_xz x_t + b_xz + W_hz h_{t-1} + b_hz)     update gate
        n = tanh(W_xn x_t + b_xn + r * (W_hn h_{t-1} + b_hn))  candidate
        h_t = (1 - z) * n + z * h_{t-1}

    The reset gate multiplies W_hn h + b_hn, after the product, not h before it (the
    original paper's form). `gates` maps "reset", "update", "candidate" to (N, H) arrays."""
    from_x, from_h = _affine(params, x, h)
    x_r, x_z, x_n = nd.split(from_x, num_outputs=3, axis=1)        # (N, H) each
    h_r, h_z, h_n = nd.split(from_h, num_outputs=3, axis=1)        # (N, H) each
    r = nd.sigmoid(x_r + h_r)
    z = nd.sigmoid(x_z + h_z)
    n = nd.tanh(x_n + r * h_n)
    h = (1 - z) * n + z * h
    return h, {"reset": r, "update": z, "candidate": n}


def rnn_bptt(params, xs, h0, hs, dh, k=None):
    """Backpropagation through time for `rnn_step`, by hand.

    `xs` the T inputs (N, E), `h0` the state before them, `hs` the T states `rnn_step` made
    from them, `dh` the T arrays dL/dh_t of the loss read directly off each h_t (zeros where
    it reads nothing). With a_t = W_xh x_t + b_xh + W_hh h_{t-1} + b_hh and h_t = tanh(a_t),
    the total gradient delta_t = dL/dh_t obeys, from the last step back,

        delta_T = dh_T
        delta_t = dh_t + W_hh^T [(1 - h_{t+1}^2) * delta_{t+1}]

    and each weight's gradient sums one term per step, of dL/da_t = (1 - h_t^2) * delta_t.
    `k`: truncated BPTT, the state detached before every k-th step (steps 0, k, 2k, ...), so
    no gradient crosses from a step to the one before it there.

    Returns (grads, deltas): grads maps `PARAM_NAMES` to arrays shaped like `params`;
    deltas the T arrays delta_t (N, H)."""
    grads = {name: nd.zeros_like(params[name]) for name in PARAM_NAMES}
    deltas = [None] * len(xs)
    carried = nd.zeros_like(h0)                    # dL/dh_t through h_{t+1}
    for t in reversed(range(len(xs))):
        deltas[t] = dh[t] + carried
        da = (1 - hs[t] ** 2) * deltas[t]          # dL/da_t (N, H)
        h_prev = hs[t - 1] if t else h0
        grads["i2h_weight"] += nd.dot(da, xs[t], transpose_a=True)    # (H, E)
        grads["h2h_weight"] += nd.dot(da, h_prev, transpose_a=True)   # (H, H)
        grads["i2h_bias"] += da.sum(axis=0)
        grads["h2h_bias"] += da.sum(axis=0)
        cut = k is not None and t % k == 0
        carried = nd.zeros_like(h0) if cut else nd.dot(da, params["h2h_weight"])  # (N, H)
    return grads, deltas
