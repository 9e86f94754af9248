"""What becomes of labelled text: splits, tokens, vocabulary and bucketed batches.

    >>> corpus = load_corpus(data="data/sample.tsv")          # or load_corpus(dataset="imdb")
    >>> train_tokens = [tokenize(text) for text, _ in corpus.train]
    >>> vocab = build_vocab(train_tokens, max_size=20000)     # from the training split only
    >>> ids = encode(train_tokens, vocab, max_len=400)
    >>> loader = make_loader(ids, [y for _, y in corpus.train], batch_size=64, shuffle=True)
    >>> tokens, valid_length, label = next(iter(loader))     # (N, T), (N,), (N,) float32

    python -m gluon_rnn.data info --data data/sample.tsv      # counts, splits, lengths as JSON

Names used everywhere: a `corpus` holds (text, label) pairs split into train / valid / test;
`label` is an int index into `corpus.label_names`; `ids` are token ids (padding 0, unknown 1);
`valid_length` is the number of real tokens in a padded row. Where the texts come from (a
user's file, IMDB's cache and sources) is `gluon_rnn.sources`.

Exact duplicate texts are removed before splitting (`dedup=True`), so no test text is ever
seen in training; a text that occurs under more than one label is dropped altogether, since
neither label can be trusted. IMDB's test half is the exception: it stays whole (25,000
reviews, the size every published figure uses), and the rules act on its training half alone.
"""
import argparse
import hashlib
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import ArgumentParser, UserError, run_cli
from .options import check_setting
from .samplers import replayable
from .sources import load_imdb, read_labelled_file
from .text import (PAD, PAD_ID, TRUNCATE, UNK, UNK_ID, encode,  # noqa: F401 (this module's API)
                   load_vocab as read_vocab, tokenize, truncate)

VALID_FRACTION = 0.1  # of a single file, and of IMDB's training half
TEST_FRACTION = 0.1   # of a single file

# ---------------------------------------------------------------- corpus

@dataclass
class Corpus:
    """Labelled texts split three ways; `label` indexes `label_names`."""
    train: list            # [(text, label)]
    valid: list
    test: list
    label_names: list      # sorted class names; integers sort as numbers ("2" < "10")
    num_classes: int
    source: str            # "cache:PATH", "gluonnlp.data.IMDB", "registry:...", "file:PATH"
    dataset: str           # "imdb" or the file's name
    num_examples: int      # examples read, duplicates included
    num_distinct: int      # distinct texts among them
    duplicates_removed: int  # repeated copies removed (IMDB: from train only), else 0
    num_conflicting: int   # distinct texts seen under more than one label (dropped when de-duplicated)
    label_counts: dict = field(default_factory=dict)  # label name -> examples read
    origin: str = None     # for a cache: the source that filled it
    # IMDB, de-duplicated: training reviews removed by each rule (`_dedup_train_half`)
    train_removed: dict = field(default_factory=dict)


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _label_names(labels):
    """Sorted class names: as numbers when every label is an integer written in ASCII digits
    ("01" reads as "1"; Python's int() would also read "1_0" as 10, and merge two classes)."""
    if all(_INTEGER.fullmatch(x) for x in labels):
        return [str(v) for v in sorted({int(x) for x in labels})], True
    return sorted(set(labels)), False


def _text_key(text):
    """A text up to whitespace: what IMDB's de-duplication within its training half compares
    (the rule its published figures were measured with)."""
    return " ".join(text.split())


def _token_key(text):
    """What the model sees of a text: its tokens (letter case and spacing aside). Tokens hold
    no space, so joining them keeps sequences apart."""
    return " ".join(tokenize(text))


def _dedup(records, key=_token_key):
    """The first occurrence of each text, minus texts seen under more than one label
    (their label is unreliable, and keeping either copy teaches noise), and the number of
    such conflicting texts. Texts compare equal when their `key`s are: by default when the
    model sees the same tokens ("The film." and "the  film ." are one text)."""
    labels_of, first = {}, {}
    for i, (text, label, _) in enumerate(records):
        k = key(text)
        labels_of.setdefault(k, set()).add(label)
        first.setdefault(k, i)
    conflicting = {k for k, labels in labels_of.items() if len(labels) > 1}
    kept = [records[i] for k, i in first.items() if k not in conflicting]
    return kept, len(first), len(conflicting)


def _dedup_train_half(records):
    """IMDB's protocol: the test half kept whole, the training half de-duplicated within
    itself (as `_dedup`, text up to whitespace) and cleared of every review whose tokens are
    those of a test review, so nothing the model sees in test was seen in training and the
    test set keeps its standard size. Returns the kept records (train half first) and how many
    training reviews each rule removed: `duplicates` (repeated copies), `conflicting` (the
    last copy of a text seen under two labels in train) and `in_test` (also found in test)."""
    train = [r for r in records if r[2] == "train"]
    test = [r for r in records if r[2] == "test"]
    kept, distinct, conflicting = _dedup(train, _text_key)
    in_test = {_token_key(text) for text, _, _ in test}
    clean = [r for r in kept if _token_key(r[0]) not in in_test]
    removed = {"duplicates": len(train) - distinct, "conflicting": conflicting,
               "in_test": len(kept) - len(clean)}
    return clean + test, removed


def text_digests(texts):
    """A short digest of each text's tokens: how a run remembers what it trained on
    (`SEEN_FILE` in its directory) without keeping the texts."""
    return [hashlib.blake2b(_token_key(t).encode("utf-8"), digest_size=8).hexdigest()
            for t in texts]


def _train_valid_test(records, rng):
    """(train, valid, test) as (text, label) lists, shuffled by `rng`. IMDB records carry
    their half ("train" / "test") and valid is carved from train; a file's records carry
    none and are split 80/10/10."""
    if records and records[0][2]:
        train = [(t, y) for t, y, half in records if half == "train"]
        test = [(t, y) for t, y, half in records if half == "test"]
        train = [train[i] for i in rng.permutation(len(train))]
        n_valid = round(len(train) * VALID_FRACTION)
        return train[n_valid:], train[:n_valid], test
    n = len(records)
    n_valid, n_test = round(n * VALID_FRACTION), round(n * TEST_FRACTION)
    if n >= 3:  # a tiny file still gets one example in each split
        n_valid, n_test = max(n_valid, 1), max(n_test, 1)
    rows = [records[i][:2] for i in rng.permutation(n)]
    return rows[n_valid + n_test:], rows[:n_valid], rows[n_valid:n_valid + n_test]


def load_corpus(dataset=None, data=None, text_column=None, label_column=None, data_dir=None,
                limit=None, dedup=True, seed=0, encoding=None):
    """Read a named `dataset` ("imdb") or a file `data`, de-duplicate (by default), take a
    seeded subset of `limit` examples if asked, and split with `seed`.

    A file is split 80/10/10 (train/valid/test). IMDB keeps its 25,000/25,000 train/test
    halves and carves valid from train (10%); de-duplication leaves the test half whole and
    removes from train its repeated reviews, its conflicting ones and every review that also
    occurs in test (`Corpus.train_removed` counts each). `dedup=False` keeps every line, as
    the post did (its test sentences then also occur in training).
    """
    if (dataset is None) == (data is None):
        raise UserError("give exactly one of a dataset name (--dataset imdb) or a file (--data)")
    check_setting("limit", limit)
    given = [flag for flag, value in (("--encoding", encoding), ("--text-column", text_column),
                                      ("--label-column", label_column)) if value is not None]
    if given and data is None:
        raise UserError(f"{given[0]} applies to a --data file; a named dataset has its own")
    check_setting("seed", seed)
    origin = None
    if data is not None:
        records = [(t, y, None) for t, y in read_labelled_file(data, text_column, label_column,
                                                                encoding)]
        source, name = f"file:{data}", Path(data).name
    elif dataset == "imdb":
        records, source, origin = load_imdb(data_dir)
        name = "imdb"
    else:
        raise UserError(f"unknown dataset {dataset!r}; known: imdb (or give a file with --data)")

    records.sort(key=lambda record: record[2] == "test")   # IMDB's train half first
    names, numeric = _label_names([label for _, label, _ in records])
    index = {name_: i for i, name_ in enumerate(names)}
    to_id = (lambda y: index[str(int(y))]) if numeric else index.__getitem__
    records = [(text, to_id(label), split) for text, label, split in records]
    counts = Counter(label for _, label, _ in records)

    # IMDB's counts stay those of its text rule (`_dedup_train_half`); a file's, of tokens
    kept, num_distinct, num_conflicting = _dedup(records, _text_key if records and records[0][2]
                                                 else _token_key)
    train_removed = {}
    if not dedup:
        kept = records
    elif records and records[0][2]:
        kept, train_removed = _dedup_train_half(records)
    duplicates_removed = len(records) - num_distinct if dedup else 0
    if train_removed:   # repeated copies: within train, and of test reviews
        duplicates_removed = train_removed["duplicates"] + train_removed["in_test"]
    rng = np.random.RandomState(seed)
    if limit is not None and limit < len(kept):
        kept = [kept[i] for i in sorted(rng.permutation(len(kept))[:limit])]
    train, valid, test = _train_valid_test(kept, rng)
    return Corpus(train=train, valid=valid, test=test, label_names=names,
                  num_classes=len(names), source=source, dataset=name,
                  num_examples=len(records), num_distinct=num_distinct,
                  duplicates_removed=duplicates_removed,
                  num_conflicting=num_conflicting,
                  label_counts={names[i]: counts[i] for i in range(len(names))}, origin=origin,
                  train_removed=train_removed)


# ---------------------------------------------------------------- vocabulary and ids

def build_vocab(token_lists, max_size):
    """A `gluonnlp.Vocab` of the `max_size` most frequent tokens (None: all), with `<pad>`
    at id 0 and `<unk>` at id 1: any unseen token maps to 1. Build it from the training
    split only, or valid/test words leak into the model's inputs."""
    import gluonnlp as nlp   # not at import: `python -m gluon_rnn.data` loads mxnet under run_cli
    counter = Counter()
    for tokens in token_lists:
        nlp.data.count_tokens(tokens, counter=counter)
    return nlp.Vocab(counter, max_size=max_size, unknown_token=UNK, padding_token=PAD,
                     bos_token=None, eos_token=None, token_to_idx={PAD: PAD_ID, UNK: UNK_ID})


def save_vocab(vocab, path):
    """`vocab` as gluonnlp's JSON, written atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(vocab.to_json(), encoding="utf-8")


def load_vocab(path):
    """A vocabulary written by `save_vocab`, read and checked by `gluon_rnn.text.load_vocab`
    (as the ONNX path reads it), as a `gluonnlp.Vocab`."""
    import gluonnlp as nlp
    return nlp.Vocab.from_json(read_vocab(path).to_json())


# ---------------------------------------------------------------- batches

def make_loader(ids, labels, batch_size, shuffle, num_buckets=10, seed=None, num_workers=0,
                worker_rank=0, worker_count=1):
    """A `gluon.data.DataLoader` of (tokens (N, T), valid_length (N,), label (N,)), all
    float32, with texts of similar length batched together (`FixedBucketSampler`) so that
    little of each batch is padding. `num_buckets=1` turns bucketing off.

    `shuffle` reorders the batches and the examples within buckets every epoch: from `seed`
    when given, else from the global `np.random` (which the training loop seeds).
    `worker_rank`, `worker_count`: keep only every `worker_count`-th example starting at
    `worker_rank`, one disjoint shard per worker of a distributed run (`num_workers` is the
    DataLoader's, its batchify processes).
    """
    import gluonnlp as nlp
    from gluonnlp.data.batchify import Pad, Stack, Tuple
    from mxnet import gluon
    if not 0 <= worker_rank < worker_count:
        raise ValueError(f"worker_rank {worker_rank} out of range for {worker_count} workers")
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} id lists but {len(labels)} labels")
    ids, labels = ids[worker_rank::worker_count], labels[worker_rank::worker_count]
    if not ids:
        raise UserError(f"no examples to batch (worker {worker_rank} of {worker_count})")
    # An empty text is stored as one padding id, so that a batch of empty texts still has
    # T = 1; its valid_length stays 0. The sampler only accepts lengths > 0 for the same reason.
    dataset = gluon.data.SimpleDataset(
        [(x or [PAD_ID], len(x), y) for x, y in zip(ids, labels)])
    with warnings.catch_warnings():  # buckets left empty by few lengths are fine
        warnings.simplefilter("ignore")
        sampler = nlp.data.FixedBucketSampler([max(len(x), 1) for x in ids], batch_size,
                                              num_buckets=num_buckets, shuffle=shuffle)
    if shuffle:
        sampler = replayable(sampler, seed)
    batchify = Tuple(Pad(axis=0, pad_val=PAD_ID, dtype="float32"),
                     Stack(dtype="float32"), Stack(dtype="float32"))
    return gluon.data.DataLoader(dataset, batch_sampler=sampler, batchify_fn=batchify,
                                 num_workers=num_workers)


def padding_fraction(loader):
    """Share of padded positions over one pass of `loader`: 1 - sum(valid) / sum(N * T).
    (A pass advances a shuffling loader's order like an epoch does.)"""
    real = total = 0
    for tokens, valid_length, _ in loader:
        real += float(valid_length.sum().asscalar())
        total += tokens.size
    return 1 - real / total


# ---------------------------------------------------------------- inspection CLI

def _length_percentiles(texts):
    lengths = [len(tokenize(t)) for t in texts] or [0]
    stats = {f"p{p}": int(np.percentile(lengths, p, method="nearest")) for p in (50, 90, 95, 99)}
    stats["max"] = max(lengths)
    return stats


def split_fingerprint(corpus):
    """sha256 of the three splits' (label, text) pairs, in split order: two results compare
    only when they were measured on the same fingerprint."""
    digest = hashlib.sha256()
    for name in ("train", "valid", "test"):
        for text, label in getattr(corpus, name):
            digest.update(json.dumps([name, label, text]).encode("utf-8") + b"\n")
    return digest.hexdigest()


def corpus_info(corpus):
    """The summary printed by `info`, as a dict."""
    splits = {"train": corpus.train, "valid": corpus.valid, "test": corpus.test}
    info = {
        "dataset": corpus.dataset, "source": corpus.source,
        "num_examples": corpus.num_examples, "num_distinct": corpus.num_distinct,
        "num_conflicting": corpus.num_conflicting,
        "duplicates_removed": corpus.duplicates_removed,
        "num_classes": corpus.num_classes, "label_names": corpus.label_names,
        "label_counts": corpus.label_counts,
        "splits": {name: len(rows) for name, rows in splits.items()},
        "split_sha256": split_fingerprint(corpus),
        "split_label_counts": {name: {corpus.label_names[y]: n for y, n in
                                      sorted(Counter(y for _, y in rows).items())}
                               for name, rows in splits.items()},
        "token_length": _length_percentiles([t for rows in splits.values() for t, _ in rows]),
    }
    if corpus.origin:
        info["origin"] = corpus.origin
    if corpus.train_removed:
        info["train_removed"] = corpus.train_removed
    if corpus.dataset == "imdb":
        info["split_protocol"] = (
            "IMDB's train/test halves; test kept whole; train de-duplicated within itself "
            "and cleared of every text also in test (when dedup applies); 10% of train "
            "carved out as valid with the seed")
    else:
        info["split_protocol"] = "seeded 80/10/10 train/valid/test split"
    return info


def build_parser():
    parser = ArgumentParser(prog="python -m gluon_rnn.data",
                            description="Inspect a dataset before training on it.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="counts, duplicates, splits and token lengths as JSON",
                               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = info.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=["imdb"], help="a named dataset")
    source.add_argument("--data", help="LABEL<TAB>TEXT file, or CSV/TSV with a header")
    info.add_argument("--text-column", help="text column of a CSV/TSV (auto-detected when obvious)")
    info.add_argument("--label-column", help="label column of a CSV/TSV (auto-detected when obvious)")
    info.add_argument("--encoding", help="the file's text encoding, e.g. cp1252 or latin-1 "
                                         "(none: UTF-8, with or without a BOM)")
    info.add_argument("--data-dir", help="dataset cache (none: $GLUON_RNN_DATA or ~/.cache/gluon_rnn)")
    info.add_argument("--no-dedup", action="store_true",
                      help="keep duplicate texts (a random split over all lines, as in the post)")
    info.add_argument("--limit", type=int, help="a seeded subset of N examples (none: all)")
    info.add_argument("--seed", type=int, default=0, help="seed of the split and the subset")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    corpus = load_corpus(dataset=args.dataset, data=args.data, text_column=args.text_column,
                         label_column=args.label_column, data_dir=args.data_dir,
                         limit=args.limit, dedup=not args.no_dedup, seed=args.seed,
                         encoding=args.encoding)
    info = corpus_info(corpus)
    info.update(dedup=not args.no_dedup, seed=args.seed, limit=args.limit)
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    run_cli(main)