"""Occlusion and the running prediction against their definitions, on a small net."""
import mxnet as mx
import numpy as np
from mxnet import nd

from gluon_rnn.blocks import build_model
from gluon_rnn.data import UNK_ID
from gluon_rnn.explain import occlusion, running_prediction


def make_net():
    mx.random.seed(0)
    net = build_model("mean", 30, embed_size=8, hidden_size=8)
    net.initialize(mx.init.Xavier())
    return net


def probability(net, ids, target):
    return float(nd.softmax(net(nd.array([ids]), nd.array([len(ids)])))[0, target].asscalar())


def test_occlusion_is_the_drop_when_each_token_becomes_unknown():
    net, ids = make_net(), [5, 9, 12, 7, 3]
    effect = occlusion(net, ids, target=1)
    whole = probability(net, ids, 1)
    expected = [whole - probability(net, ids[:t] + [UNK_ID] + ids[t + 1:], 1)
                for t in range(len(ids))]
    assert effect.shape == (5,)
    np.testing.assert_allclose(effect, expected, rtol=0, atol=1e-6)
    assert np.abs(effect).max() > 1e-4
    assert occlusion(net, [], 1).shape == (0,)


def test_running_prediction_reads_each_prefix():
    net, ids = make_net(), [5, 9, 12, 7]
    running = running_prediction(net, ids, target=0)
    expected = [probability(net, ids[:t], 0) for t in range(1, len(ids) + 1)]
    np.testing.assert_allclose(running, expected, rtol=0, atol=1e-6)
