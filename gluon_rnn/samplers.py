"""Batch orders that a resumed run can replay: the samplers behind `data.make_loader`.

gluonnlp's `FixedBucketSampler` shuffles with the global `np.random` and in place, so an
epoch's batches would depend on every random number drawn before it, and on every earlier
epoch. `replayable(sampler, seed)` wraps it so that an epoch's order depends only on the
random state at the epoch's start (which the training loop reseeds from the epoch number),
or on `seed` alone when one is given: a run resumed after epoch N shuffles epoch N + 1 as the
unbroken run did.
"""
import numpy as np


def replayable(sampler, seed=None):
    """`sampler` (a shuffling `FixedBucketSampler`) made to start every epoch from its
    original lists, and, with a `seed`, to draw from its own random state."""
    sampler = _FreshShuffle(sampler)
    return sampler if seed is None else _SeededSampler(sampler, seed)


class _SeededSampler:
    """Runs `sampler`, which shuffles with the global `np.random`, on its own random state:
    the batch order then follows from `seed` alone, epoch after epoch, and nothing else's
    random numbers change."""

    def __init__(self, sampler, seed):
        self._sampler = sampler
        self._state = np.random.RandomState(seed).get_state()

    def __iter__(self):
        outside = np.random.get_state()
        np.random.set_state(self._state)
        try:
            batches = list(self._sampler)
        finally:
            self._state = np.random.get_state()
            np.random.set_state(outside)
        return iter(batches)

    def __len__(self):
        return len(self._sampler)


class _FreshShuffle:
    """`FixedBucketSampler` shuffles its lists in place, so an epoch's order would depend on
    every earlier epoch. Restoring the original lists first makes it depend only on the random
    state at the epoch's start: that is what lets a resumed run replay an unbroken one."""

    def __init__(self, sampler):
        self._sampler = sampler
        self._batch_infos = list(sampler._batch_infos)
        self._bucket_sample_ids = [b.copy() for b in sampler._bucket_sample_ids]

    def __iter__(self):
        self._sampler._batch_infos = list(self._batch_infos)
        self._sampler._bucket_sample_ids = [b.copy() for b in self._bucket_sample_ids]
        return iter(self._sampler)

    def __len__(self):
        return len(self._sampler)
