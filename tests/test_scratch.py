"""The from-scratch steps equal Gluon's cells for the same random weights, over several
steps, and their gates mean what their names say. Seed: SEED below."""
import mxnet as mx
import numpy as np
from mxnet import nd
from mxnet.gluon import rnn

from gluon_rnn.scratch import cell_params, gru_step, lstm_step, rnn_step

SEED = 0
N, E, H, STEPS = 3, 5, 4, 4


def random_cell(cell_class):
    """A Gluon cell whose four arrays, biases included, are random."""
    mx.random.seed(SEED)
    cell = cell_class(H, input_size=E)
    cell.initialize()
    for param in cell.collect_params().values():
        param.set_data(nd.random.normal(scale=0.5, shape=param.shape))
    return cell


def random_inputs(num_states):
    mx.random.seed(SEED + 1)
    xs = [nd.random.normal(shape=(N, E)) for _ in range(STEPS)]
    states = [nd.random.normal(shape=(N, H)) for _ in range(num_states)]
    return xs, states


def close(a, b):
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=0, atol=1e-5)


def test_rnn_step_equals_rnn_cell():
    cell = random_cell(rnn.RNNCell)
    params = cell_params(cell)
    xs, [h] = random_inputs(1)
    expected = h
    for x in xs:
        h = rnn_step(params, x, h)
        _, [expected] = cell(x, [expected])
        close(h, expected)


def test_lstm_step_equals_lstm_cell():
    cell = random_cell(rnn.LSTMCell)
    params = cell_params(cell)
    xs, [h, c] = random_inputs(2)
    expected = [h, c]
    for x in xs:
        h, c, gates = lstm_step(params, x, h, c)
        _, expected = cell(x, expected)
        close(h, expected[0])
        close(c, expected[1])
        assert sorted(gates) == ["candidate", "forget", "input", "output"]
        assert all(g.shape == (N, H) for g in gates.values())


def test_gru_step_equals_gru_cell():
    cell = random_cell(rnn.GRUCell)
    params = cell_params(cell)
    xs, [h] = random_inputs(1)
    expected = h
    for x in xs:
        h, gates = gru_step(params, x, h)
        _, [expected] = cell(x, [expected])
        close(h, expected)
        assert sorted(gates) == ["candidate", "reset", "update"]


def gate_bias(cell, num_gates, values):
    """Set the i2h bias of gate blocks: `values` maps block index -> bias value."""
    bias = np.zeros(num_gates * H, np.float32)
    for block, value in values.items():
        bias[block * H:(block + 1) * H] = value
    cell.i2h_bias.set_data(nd.array(bias))


def test_lstm_gates_are_named_by_what_they_do():
    # forget gate wide open, input gate shut: the cell state carries over unchanged
    cell = random_cell(rnn.LSTMCell)
    gate_bias(cell, 4, {0: -30.0, 1: 30.0})
    xs, [h, c] = random_inputs(2)
    _, c_next, gates = lstm_step(cell_params(cell), xs[0], h, c)
    close(c_next, c)
    assert gates["forget"].min().asscalar() > 0.999
    assert gates["input"].max().asscalar() < 0.001
    assert gates["output"].min().asscalar() > 0 and gates["output"].max().asscalar() < 1
    assert gates["candidate"].min().asscalar() > -1 and gates["candidate"].max().asscalar() < 1


def test_gru_update_gate_keeps_the_state():
    # update gate at 1: h_t = h_{t-1}, whatever the input
    cell = random_cell(rnn.GRUCell)
    gate_bias(cell, 3, {1: 30.0})
    xs, [h] = random_inputs(1)
    h_next, gates = gru_step(cell_params(cell), xs[0], h)
    close(h_next, h)
    assert gates["update"].min().asscalar() > 0.999



def test_rnn_bptt_equals_autograd():
    """The hand-written recurrence of dL/dh_t and the weights' gradients equal autograd's, in
    float64, for full and truncated BPTT. dL/dh_t is read off autograd as the gradient of a
    zero added to each h_t."""
    from mxnet import autograd

    from gluon_rnn.scratch import PARAM_NAMES, rnn_bptt

    rng = np.random.RandomState(SEED)
    T = 7
    params = {"i2h_weight": (H, E), "h2h_weight": (H, H), "i2h_bias": (H,), "h2h_bias": (H,)}
    params = {name: nd.array(rng.normal(scale=0.7, size=shape), dtype="float64")
              for name, shape in params.items()}
    xs = [nd.array(rng.normal(size=(N, E)), dtype="float64") for _ in range(T)]
    h0 = nd.array(rng.normal(size=(N, H)), dtype="float64")
    dh = [nd.array(rng.normal(size=(N, H)), dtype="float64") for _ in range(T)]
    for k in (None, 3):
        for p in params.values():
            p.attach_grad()
        zeros = [nd.zeros((N, H), dtype="float64") for _ in range(T)]
        for z in zeros:
            z.attach_grad()
        hs, h = [], h0
        with autograd.record():
            loss = 0
            for t in range(T):
                if k and t % k == 0:
                    h = h.detach()
                h = rnn_step(params, xs[t], h) + zeros[t]
                hs.append(h)
                loss = loss + (dh[t] * h).sum()
        loss.backward()
        grads, deltas = rnn_bptt(params, xs, h0, hs, dh, k=k)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(grads[name].asnumpy(), params[name].grad.asnumpy(),
                                       rtol=0, atol=1e-10)
        for delta, z in zip(deltas, zeros):
            np.testing.assert_allclose(delta.asnumpy(), z.grad.asnumpy(), rtol=0, atol=1e-10)
        # the carried term is there: delta_t is not just the loss's own dL/dh_t
        assert np.abs(deltas[1].asnumpy() - dh[1].asnumpy()).max() > 1e-2
    # k = 3 detaches h_2 before step 3: nothing flows back into delta_2
    assert np.abs(deltas[2].asnumpy() - dh[2].asnumpy()).max() == 0
