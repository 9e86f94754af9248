"""What a run measures and against what: the section names, the shapes of a full run and of
a `--quick` one, the targets RESULTS.md checks, the marker of a child's result line, and the
graphs that must not be timed under static_shape (`NO_STATIC_SHAPE`)."""

SECTIONS = ("train", "cells", "torch", "peak", "infer", "imdb", "knobs", "side", "frontier",
            "profile", "serve")
RESULT_MARK = "BENCH-RESULT "

# The shapes every training row shares (the "64 x 256 tokens, embed = hidden = 128").
FULL = dict(batch_size=64, seq_len=256, vocab_size=20000, embed_size=128, hidden_size=128,
            num_classes=2, warmup=2, repeats=3, window_seconds=1.5, max_steps=20,
            infer_batch_size=256, peer_repeats=3, imdb_limit=None, gemm_size=2048,
            frontier_limit=12000, frontier_warmup=5, frontier_batches=20)
QUICK = dict(FULL, batch_size=8, seq_len=32, vocab_size=2000, warmup=1, repeats=1,
             window_seconds=0.05, max_steps=2, infer_batch_size=16, peer_repeats=1,
             imdb_limit=600, gemm_size=256, frontier_limit=600, frontier_warmup=1,
             frontier_batches=2)

# torch_ratio: the median over the run's pairs of (`mean` tok/s / PyTorch tok/s) on all the
# run's threads; peak_share: the `mean` training step's, whole step
TARGETS = {"torch_ratio": 1.5, "cells_ratio": 5.0, "peak_share": 0.55,
           "imdb_seconds": 120.0, "imdb_padding": 0.10, "imdb_rss_mb": 2048.0}

# mxnet 1.9.1's `foreach` (the loop of `lstm-cells`, gluon_rnn.blocks.LSTMCellLoop) is broken
# under static_shape: the first call of each of its graphs (inference, training forward,
# backward) leaves foreach's outputs unwritten, so the first training step's logits and
# gradients are whatever that memory held (a NaN loss when it held a NaN or a huge value), and
# a backward may fail with "We didn't record the computation for iteration T-1". Measured with
# `bench.py --quick --only train` at OMP_NUM_THREADS=1 on a loaded 2-core machine: 7 of 20
# runs failed at the `lstm-cells` static row (2 NaN losses at batch 1, 5 foreach errors); with
# static_alloc alone for that row, 0 of 40. tests/test_bench.py compares every timed graph's
# first step with the imperative one: with static_shape `lstm-cells` failed it 8 times of 8,
# every other architecture and mode passed it. Gluon_rnn's own training and prediction never set
# static_shape, so only the bench met this.
NO_STATIC_SHAPE = frozenset({"lstm-cells"})
