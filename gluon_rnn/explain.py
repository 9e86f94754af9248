"""What a trained classifier's prediction rests on, measured with forward passes of the
unchanged model (notebooks 3 and 5).

    >>> running_prediction(net, ids, target=1)   # P(class 1) after each prefix: (T,)
    >>> occlusion(net, ids, target=1)            # how much each token pushed P(class 1): (T,)

`ids` is one text's token ids (a list, as `model_io.encode_texts` gives); `target` the index
of the class whose probability is measured.
"""
import numpy as np
from mxnet import nd

from .data import PAD_ID, UNK_ID


def _probabilities(net, rows, lengths, target):
    probs = nd.softmax(net(nd.array(rows), nd.array(lengths)))      # (B, C)
    return probs[:, target].asnumpy()


def running_prediction(net, ids, target):
    """P(target) of the text cut after each token, ids[:1], ids[:2], ...: (T,). The T
    prefixes go through the net as one padded batch; for a left-to-right encoder a prefix
    is exactly what it had read at that step."""
    T = len(ids)
    if not T:
        return np.zeros(0, np.float32)
    rows = [list(ids[:t]) + [PAD_ID] * (T - t) for t in range(1, T + 1)]
    return _probabilities(net, rows, list(range(1, T + 1)), target)


def occlusion(net, ids, target):
    """P(target) of the whole text minus P(target) with token t replaced by <unk>, for each
    t: (T,). Positive where the token pushed the prediction towards `target`, negative
    where it pushed away. T + 1 forward passes, as one batch."""
    T = len(ids)
    if not T:
        return np.zeros(0, np.float32)
    rows = [list(ids)] + [list(ids[:t]) + [UNK_ID] + list(ids[t + 1:]) for t in range(T)]
    probs = _probabilities(net, rows, [T] * (T + 1), target)
    return probs[0] - probs[1:]
