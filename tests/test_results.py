"""The results path on tiny data: the n-gram baseline, and `benchmarks/results.py` running
a row list end to end (real runs, one epoch) and printing the README's tables from them."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SMALL, assert_exit_2, make_sentences, write_labelled
from gluon_rnn import data as gdata, physical_cores, sources

BASELINE = REPO / "benchmarks" / "ngram_baseline.py"

sys.path.insert(0, str(REPO / "benchmarks"))
import results as results_py  # noqa: E402  (benchmarks/results.py)


def run_script(script, *args, timeout=600):
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sentences(tmp_path_factory):
    """300 distinct sentences whose label a few sentiment words decide."""
    return write_labelled(tmp_path_factory.mktemp("results") / "sentences.tsv",
                          make_sentences(300, seed=3))


# ---------------------------------------------------------------- the n-gram baseline

def test_baseline_scores_the_projects_test_split(sentences, tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    proc = run_script(BASELINE, "--data", sentences, "--seed", 2, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    corpus = gdata.load_corpus(data=str(sentences), seed=2)
    assert result["num_test"] == len(corpus.test) and result["num_train"] == len(corpus.train)
    assert result["split_sha256"] == gdata.split_fingerprint(corpus)
    assert set(result["models"]) == {"tfidf_logreg", "nbsvm"} and result["model"] == "nbsvm"
    assert result["test_accuracy"] == result["models"]["nbsvm"]["test_accuracy"]
    assert result["seconds"] > 0
    # the sentiment words decide the label: a linear model on them beats the majority class
    majority = max(sum(y == c for _, y in corpus.test) for c in (0, 1)) / len(corpus.test)
    for model in result["models"].values():
        assert model["test_accuracy"] > majority, (model, majority)
    assert json.loads((tmp_path / "metrics.json").read_text()) == result


def test_baseline_bad_input_is_one_error_line(tmp_path):
    pytest.importorskip("sklearn", reason="benchmark-only dependency (see benchmarks/README.md)")
    assert_exit_2(run_script(BASELINE, "--data", tmp_path / "missing.tsv"),
                  "missing.tsv: no such file")


# ---------------------------------------------------------------- benchmarks/results.py

RESULTS = REPO / "benchmarks" / "results.py"
ONE_EPOCH = ["--epochs", "1", *SMALL]


def write_rows(path, rows):
    path.write_text(json.dumps({"tables": {"tiny": "tiny data"}, "rows": rows}),
                    encoding="utf-8")
    return path


def results(tmp_path, rows_file, *args):
    return run_script(RESULTS, "--rows", rows_file, "--results", tmp_path / "records",
                      "--runs", tmp_path / "runs", *args)


def table_line(stdout, what):
    lines = [l for l in stdout.splitlines() if l.startswith(f"| {what} |")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_results_runs_rows_records_them_and_prints_the_tables(sentences, tmp_path):
    rows = [dict(name="tiny-mean", table="tiny", what="mean on tiny data", seeds=[0, 1],
                 args=["--arch", "mean", "--data", str(sentences)] + ONE_EPOCH),
            dict(name="tiny-never", table="tiny", what="never run", seeds=[0],
                 args=["--arch", "lstm", "--data", str(sentences)] + ONE_EPOCH)]
    rows_file = write_rows(tmp_path / "rows.json", rows)
    proc = results(tmp_path, rows_file, "--only", "tiny-mean")
    assert proc.returncode == 0, proc.stderr[-2000:]

    record = json.loads((tmp_path / "records" / "tiny-mean.json").read_text())
    accs = []
    for seed in (0, 1):
        metrics = json.loads((tmp_path / "runs" / f"tiny-mean-seed{seed}" / "metrics.json")
                             .read_text())
        m = record["seeds"][str(seed)]
        assert metrics["config"]["seed"] == seed
        for key in ("test_accuracy", "num_test", "train_seconds", "best_epoch"):
            assert m[key] == metrics[key], key
        assert m["epochs"] == metrics["epochs_completed"] == 1
        corpus = gdata.load_corpus(data=str(sentences), seed=seed)
        assert m["split_sha256"] == gdata.split_fingerprint(corpus)
        assert m["wall_seconds"] >= m["train_seconds"] > 0
        assert m["commit"] and m["date"] and m["machine"] and len(m["load_average"]) == 2
        accs.append(metrics["test_accuracy"])
    assert not (tmp_path / "records" / "tiny-never.json").exists()

    mean_line = table_line(proc.stdout, "mean on tiny data")
    mean = sum(accs) / 2
    assert f"**{mean:.4f}**" in mean_line
    assert f"0: {accs[0]:.4f}" in mean_line and f"1: {accs[1]:.4f}" in mean_line
    assert "1 epoch" in mean_line and record["seeds"]["0"]["commit"] in mean_line
    assert "not measured on this split" in table_line(proc.stdout, "never run")
    # --tables alone runs nothing and prints the same table
    again = results(tmp_path, rows_file, "--tables")
    assert again.returncode == 0 and again.stdout == proc.stdout
    assert "results:" not in again.stderr


def test_results_never_shows_figures_of_another_split_or_command(sentences, tmp_path):
    data = tmp_path / "data.tsv"
    data.write_text(sentences.read_text(encoding="utf-8"), encoding="utf-8")
    row = dict(name="tiny", table="tiny", what="tiny row", seeds=[0, 1],
               args=["--arch", "mean", "--data", str(data)] + ONE_EPOCH)
    rows_file = write_rows(tmp_path / "rows.json", [row])
    proc = results(tmp_path, rows_file, "--seeds", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(json.loads((tmp_path / "records" / "tiny.json").read_text())["seeds"]) == ["1"]
    line = table_line(proc.stdout, "tiny row")
    assert "seed 0 not measured on this split" in line
    # another command: the record no longer counts
    write_rows(rows_file, [dict(row, args=row["args"] + ["--lr", "0.002"])])
    assert "| not measured on this split |" in table_line(
        results(tmp_path, rows_file, "--tables").stdout, "tiny row")
    # the same command on changed data (one text less): another split, nothing counts
    write_rows(rows_file, [row])
    assert "**" in table_line(results(tmp_path, rows_file, "--tables").stdout, "tiny row")
    # a record made before a setting existed still counts; one whose default moved does not
    path = tmp_path / "records" / "tiny.json"
    record = json.loads(path.read_text())
    del record["seeds"]["1"]["config"]["encoding"]
    path.write_text(json.dumps(record))
    assert "**" in table_line(results(tmp_path, rows_file, "--tables").stdout, "tiny row")
    record["seeds"]["1"]["config"]["clip"] = 1.0
    path.write_text(json.dumps(record))
    assert "| not measured on this split |" in table_line(
        results(tmp_path, rows_file, "--tables").stdout, "tiny row")
    record["seeds"]["1"]["config"]["clip"] = 5.0
    path.write_text(json.dumps(record))
    data.write_text("".join(sentences.read_text(encoding="utf-8").splitlines(True)[1:]),
                    encoding="utf-8")
    assert "| not measured on this split |" in table_line(
        results(tmp_path, rows_file, "--tables").stdout, "tiny row")


def test_results_jobs_run_seeds_side_by_side_and_say_so(sentences, tmp_path):
    row = dict(name="tiny", table="tiny", what="tiny row", seeds=[0, 1, 2],
               args=["--arch", "mean", "--data", str(sentences)] + ONE_EPOCH)
    rows_file = write_rows(tmp_path / "rows.json", [row])
    proc = results(tmp_path, rows_file, "--jobs", "3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    seeds = json.loads((tmp_path / "records" / "tiny.json").read_text())["seeds"]
    assert sorted(seeds) == ["0", "1", "2"]      # no seed lost to another's write
    threads = str(max(1, physical_cores() // 3))
    for seed, m in seeds.items():
        metrics = json.loads((tmp_path / "runs" / f"tiny-seed{seed}" / "metrics.json").read_text())
        assert m["test_accuracy"] == metrics["test_accuracy"]
        assert m["runs_at_once"] == 3 and m["omp_num_threads"] == threads
    # the three ran at once: all had started before the first one finished
    said = [l for l in proc.stderr.splitlines() if l.startswith("results: tiny seed")]
    first_done = next(i for i, l in enumerate(said) if "test accuracy" in l)
    assert sum("test accuracy" not in l for l in said[:first_done]) == 3, said
    line = table_line(proc.stdout, "tiny row")
    assert f"OMP_NUM_THREADS {threads}, 3 runs at once" in line


@pytest.mark.parametrize("case", ["unknown row", "foreign seed", "missing key", "not json",
                                  "bad command", "no jobs", "no markers"])
def test_results_bad_input_is_one_error_line(sentences, tmp_path, case):
    row = dict(name="tiny", table="tiny", what="tiny row", seeds=[0],
               args=["--arch", "mean", "--data", str(sentences)] + ONE_EPOCH)
    rows_file = write_rows(tmp_path / "rows.json", [row])
    args, fragment = {
        "unknown row": (["--only", "nope"], "unknown row 'nope'"),
        "foreign seed": (["--seeds", "7"], "seed 7 is not among row 'tiny'"),
        "missing key": ([], "row 1 (tiny): missing seeds"),
        "not json": ([], "rows.json: not a row list"),
        "bad command": ([], "tiny seed 0 failed (exit 2): unknown architecture 'nope'"),
        "no jobs": (["--jobs", "0"], "--jobs must be at least 1, got 0"),
        "no markers": (["--readme", tmp_path / "README.md"], "README.md: expected one line"),
    }[case]
    if case == "missing key":
        write_rows(rows_file, [{k: v for k, v in row.items() if k != "seeds"}])
    elif case == "not json":
        rows_file.write_text("{oops", encoding="utf-8")
    elif case == "bad command":
        write_rows(rows_file, [dict(row, args=["--arch", "nope", "--data", str(sentences)])])
    elif case == "no markers":   # said before any run, and the file is left as it was
        (tmp_path / "README.md").write_text("# a README without the markers\n")
    proc = results(tmp_path, rows_file, *args)
    assert_exit_2(proc, fragment)
    if case == "no markers":
        assert not (tmp_path / "runs").exists()
        assert (tmp_path / "README.md").read_text() == "# a README without the markers\n"


def test_results_pastes_the_short_table_into_the_readme_and_the_full_ones_into_the_page(
        sentences, tmp_path):
    shown_row = dict(name="tiny-never", table="tiny", what="never run", seeds=[0], readme=True,
                     args=["--arch", "mean", "--data", str(sentences)] + ONE_EPOCH)
    page_only = dict(shown_row, name="tiny-page-only", what="only on the page", readme=False)
    rows_file = write_rows(tmp_path / "rows.json", [shown_row, page_only])
    readme, page = tmp_path / "README.md", tmp_path / "results.md"
    before, after = "# Title\n\nSome prose.\n", "\nMore prose.\n"
    for path in (readme, page):
        path.write_text(f"{before}{results_py.BEGIN}\nan old table\n{results_py.END}\n{after}")
    for _ in range(2):   # a second paste replaces the first
        proc = results(tmp_path, rows_file, "--tables", "--readme", readme, "--page", page)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert page.read_text() == (f"{before}{results_py.BEGIN}\n{proc.stdout.rstrip()}\n\n"
                                    f"{results_py.END}\n{after}")
        short = readme.read_text()[len(before):-len(after)].splitlines()
        # the marker lines, the header and its rule, the one row marked readme, a blank line
        assert short[0] == results_py.BEGIN and short[-1] == results_py.END, short
        assert short[1] == "| row | command | test accuracy | time |", short
        assert len(short) == 6 and short[3].startswith("| never run | `python -m gluon_rnn.train"), \
            short
        assert "not measured on this split" in short[3] and "OMP_NUM_THREADS" not in short[3]
    assert "only on the page" in page.read_text() and "only on the page" not in readme.read_text()
    assert "an old table" not in readme.read_text() + page.read_text()


def data_is_here(row):
    """Whether the row's data can be read without fetching it: its file, or IMDB's cache."""
    d = results_py.data_args(row["args"])
    if d.data:
        return (REPO / d.data).is_file()
    return (Path(d.data_dir or sources.default_data_dir()) / sources.IMDB_CACHE).is_file()


def test_the_readme_shows_the_committed_records_of_todays_split(monkeypatch):
    """The README's short table and docs/results.md's tables are what `results.py --tables`
    prints from benchmarks/results/ for today's rows: no figure typed by hand, none left behind when a row's command changes,
    none measured on a split that is not today's. The split is rebuilt from each row's data
    where it is on this machine (IMDB's cache, ../shared); a row whose data is absent is
    taken at its recorded split, and the test says which."""
    monkeypatch.chdir(REPO)   # the rows name their files from the repository root
    rows, titles = results_py.load_rows()
    records = REPO / "benchmarks" / "results"
    todays_split, absent = results_py.split_of, set()

    def split_here(row, seed):
        if data_is_here(row):
            return todays_split(row, seed)
        absent.add(row["name"])
        seeds = results_py.read_record(records, row).get("seeds", {})
        return seeds.get(str(seed), {}).get("split_sha256", "never measured")

    monkeypatch.setattr(results_py, "split_of", split_here)
    for page, brief in (("README.md", True), ("docs/results.md", False)):
        head, tail = results_py.readme_parts(REPO / page)
        shown = (REPO / page).read_text(encoding="utf-8")[len(head):-len(tail)]
        assert shown == results_py.tables(rows, titles, records, brief=brief).rstrip("\n") \
            + "\n\n", f"{page}'s tables are not the records': python benchmarks/results.py " \
            "--tables --readme README.md --page docs/results.md"
    if absent:
        pytest.skip(f"the split was not rebuilt for {', '.join(sorted(absent))}: their data is "
                    f"not on this machine (the rest of the tables match)")
