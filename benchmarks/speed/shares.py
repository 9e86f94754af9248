"""The derived numbers RESULTS.md states, apart from their formatting: `mean`'s ratio to
PyTorch, a training speed's share of the FP32 peak, and where a profiled step's operator time
goes (by operator, and by what each operator is for)."""


def pair_ratio(row):
    """`mean` / PyTorch: the median of the pairs' ratios (older results: of the medians)."""
    return row.get("ratio") or row["mean"] / row["torch"]


def peak_share(peak, key):
    """The share of FP32 peak of a training speed in `peak` (tokens/s under `key`)."""
    return peak[key] * peak["train_flops_per_token"] / peak["peak_flops_per_second"]


def op_share(ops, *fragments):
    """ms per step of the profiled operators whose names hold any of `fragments`."""
    return sum(o["ms"] for o in ops if any(f in o["name"] for f in fragments))


# What each operator of a training step is for, by the first matching fragment of its name
# (forward and `_backward_` alike); the rest is "other". Order matters: `softmax` and
# `multi_sum_sq` would match the pooling's "max" and "sum".
OP_GROUPS = (("fused RNN (forward, backward)", ("RNN",)),
             ("layout copies", ("SwapAxis", "transpose")),
             ("embedding", ("Embedding",)),
             ("Adam updates", ("adam",)),
             ("gradient clipping (norms, scale)", ("norm", "multi_sum_sq", "_mul_scalar",
                                                   "multi_all_finite")),
             ("head (dense layers, loss)", ("FullyConnected", "Activation", "softmax", "pick")),
             ("pooling (mask, weighted sum, reduce)", ("batch_dot", "SequenceMask", "sum", "max",
                                                        "ones_like", "slice_axis")))


def op_groups(ops):
    """[(group, ms per step)] of a profile's operators, largest first."""
    totals = {}
    for o in ops:
        group = next((g for g, frags in OP_GROUPS if any(f in o["name"] for f in frags)),
                     "other")
        totals[group] = totals.get(group, 0.0) + o["ms"]
    return sorted(totals.items(), key=lambda kv: -kv[1])

