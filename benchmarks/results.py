"""Run the README's result rows and print its tables: every figure from one command.

    python benchmarks/results.py --tables                      # print the tables, run nothing
    python benchmarks/results.py --only make-run               # run one row (all its seeds)
    python benchmarks/results.py --only mean-whole --seeds 1   # one seed of one row
    python benchmarks/results.py --only bilstm-meanmax-256x256 --jobs 2   # 2 seeds at once
    python benchmarks/results.py --tables --readme README.md --page docs/results.md
                                   # and paste them: the short table and the full ones
    python benchmarks/results.py                               # every row: hours
    make results ARGS="--only ngram-baseline"

The rows are `ROWS` in benchmarks/results_rows.py (or a JSON list given with `--rows`). Each
run is `python -m gluon_rnn.train ARGS --seed S --out runs/results/NAME-seedS` (or the row's
script with the same two flags); its metrics.json stays there, and its key figures are copied
to benchmarks/results/NAME.json, which is committed: test accuracy, test size, epochs, the
kept epoch, training and wall seconds, the commit, the date, the machine and how busy it was,
and a fingerprint of the split (`gluon_rnn.data.split_fingerprint`).

The tables (results_tables.py) show each row's mean and spread over its seeds, and when, where
and on which commit it was measured. A seed counts only when its record matches the row's
command and split today; a row with none reads "not measured on this split".

`--jobs N` runs N of the chosen runs at once, each with OMP_NUM_THREADS = physical cores // N
(at least 1): more tokens/s in all where one run does not keep every core busy (the bench's
`side` section measures it), each run slower; the tables say how many ran at once.
"""
import argparse
import concurrent.futures
import contextlib
import csv
import fcntl
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from gluon_rnn import physical_cores  # noqa: E402
from gluon_rnn.errors import ArgumentParser, UserError, run_cli  # noqa: E402
from gluon_rnn.model_io import atomic_write_json  # noqa: E402
from results_tables import (BEGIN, END, format_cells, markdown, page_parts, paste,  # noqa: E402
                            same_config)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


# ---------------------------------------------------------------- rows

def load_rows(path=None):
    """(rows, table titles): from results_rows.py, or from a JSON file
    `{"tables": {...}, "rows": [...]}`; each row checked."""
    if path is None:
        import results_rows
        rows, tables = results_rows.ROWS, results_rows.TABLES
    else:
        try:
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
            rows, tables = spec["rows"], spec["tables"]
        except FileNotFoundError:
            raise UserError(f"{path}: no such file") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise UserError(f"{path}: not a row list ({type(err).__name__}: {err})") from None
    names = set()
    for i, row in enumerate(rows):
        where = f"row {i + 1} ({row.get('name', '?')})" if isinstance(row, dict) else f"row {i + 1}"
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected an object")
        missing = {"name", "table", "what", "args", "seeds"} - set(row)
        if missing:
            raise UserError(f"{where}: missing {', '.join(sorted(missing))}")
        if not isinstance(row["name"], str) or not NAME.match(row["name"]):
            raise UserError(f"{where}: name must be lower-case letters, digits, '.', '-', '_'")
        if row["name"] in names:
            raise UserError(f"{where}: the name {row['name']!r} is used twice")
        names.add(row["name"])
        if row["table"] not in tables:
            raise UserError(f"{where}: unknown table {row['table']!r}; known: "
                            + ", ".join(tables))
        if not isinstance(row["args"], list) or not all(isinstance(a, str) for a in row["args"]):
            raise UserError(f"{where}: args must be a list of strings")
        if {"--seed", "--out"} & set(row["args"]):
            raise UserError(f"{where}: --seed and --out are added by results.py")
        seeds = row["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            raise UserError(f"{where}: seeds must be a non-empty list of integers >= 0")
    return rows, tables


def command(row, seed=None, out=None):
    """The row's command as a list, with --seed and --out when given."""
    head = [row["script"]] if row.get("script") else ["-m", "gluon_rnn.train"]
    tail = [] if seed is None else ["--seed", str(seed)]
    tail += [] if out is None else ["--out", str(out)]
    return ["python"] + head + list(row["args"]) + tail


def shown(row):
    return " ".join(shlex.quote(a) for a in command(row))


# what a run's configuration holds beside the model and the data: not part of the comparison
RUN_ONLY = ("seed", "out", "resume", "overwrite", "progress")


def resolved_config(row):
    """The trainer's whole configuration for the row, defaults filled in (None for a script
    row): a record made when a default was different no longer counts."""
    if row.get("script"):
        return None
    import dataclasses
    from gluon_rnn.train import Config, build_parser
    args = vars(build_parser().parse_args(row["args"]))
    fields = {f.name for f in dataclasses.fields(Config)}
    config = dataclasses.asdict(Config(**{k: v for k, v in args.items() if k in fields}))
    return {k: v for k, v in config.items() if k not in RUN_ONLY}


# ---------------------------------------------------------------- the split and the machine

def data_args(args):
    """The flags of `args` that decide the corpus (as `gluon_rnn.train` reads them)."""
    parser = argparse.ArgumentParser(add_help=False)
    for flag in ("--dataset", "--data", "--text-column", "--label-column", "--data-dir"):
        parser.add_argument(flag)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--no-dedup", action="store_true")
    known, _ = parser.parse_known_args(args)
    return known


_FINGERPRINTS = {}


def split_of(row, seed):
    """The fingerprint of the split this row and seed train and test on today, or the one-line
    reason it cannot be read (a missing file)."""
    d = data_args(row["args"])
    if d.data:   # a row's path is relative to the repository, where its run starts
        d.data = str(REPO / d.data)
    key = (d.dataset, d.data, d.text_column, d.label_column, d.data_dir, d.limit, d.no_dedup,
           seed)
    if key not in _FINGERPRINTS:
        from gluon_rnn.data import load_corpus, split_fingerprint
        try:
            corpus = load_corpus(dataset=None if d.data else (d.dataset or "imdb"), data=d.data,
                                 text_column=d.text_column, label_column=d.label_column,
                                 data_dir=d.data_dir, limit=d.limit, dedup=not d.no_dedup,
                                 seed=seed)
            _FINGERPRINTS[key] = split_fingerprint(corpus)
        except UserError as err:
            _FINGERPRINTS[key] = UserError(str(err))
    return _FINGERPRINTS[key]


def machine():
    """The CPU model and the number of CPUs this process may use."""
    from speed.machine import machine_info
    model = " ".join(str(machine_info()["cpu"] or "unknown CPU").split())
    return f"{model}, {len(os.sched_getaffinity(0))} CPUs"


def load_average():
    return round(os.getloadavg()[0], 2)


def git_commit():
    """The short commit, with '+' when the code a run depends on (gluon_rnn/, the scripts in
    benchmarks/) differs from it. Records and documents may differ."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "gluon_rnn",
                  "benchmarks/*.py", "benchmarks/speed").strip()
    return commit + ("+" if changed else "")


# ---------------------------------------------------------------- running

def record_path(results, row):
    return Path(results) / f"{row['name']}.json"


def read_record(results, row):
    path = record_path(results, row)
    if not path.exists():
        return {"name": row["name"], "seeds": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise UserError(f"{path}: not a results record ({err})") from None


def write_record(results, row, record):
    path = record_path(results, row)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, record)


_SAYING = threading.Lock()


def say(message):
    """One whole line on stderr, also when runs side by side speak at once."""
    with _SAYING:
        print(f"results: {message}", file=sys.stderr, flush=True)


def run_one(row, seed, runs, results, jobs=1):
    """Run one seed of `row`; copy its key figures into the row's record. With `jobs` > 1 it
    is one of that many runs at once, and gets its share of the cores as OpenMP threads."""
    out = Path(runs) / f"{row['name']}-seed{seed}"
    out.parent.mkdir(parents=True, exist_ok=True)
    split = split_of(row, seed)
    if isinstance(split, UserError):
        raise split
    argv = [sys.executable] + command(row, seed, out)[1:]
    if out.exists():
        # an earlier run of the same row and seed: the trainer replaces its files, and only
        # those (a script's own run directory is its own to handle)
        argv += [] if row.get("script") else ["--overwrite"]
    say(f"{row['name']} seed {seed}: {' '.join(map(shlex.quote, argv[1:]))}")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if jobs > 1:
        env["OMP_NUM_THREADS"] = str(max(1, physical_cores() // jobs))
    load_before, start = load_average(), time.perf_counter()
    date, commit = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), git_commit()
    log = Path(runs) / f"{row['name']}-seed{seed}.log"
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.run(argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        lines = [l for l in log.read_text(encoding="utf-8").splitlines() if l.strip()]
        last = lines[-1] if lines else "no output"
        last = last[len("error: "):] if last.startswith("error: ") else last
        return proc.returncode, (f"{row['name']} seed {seed} failed (exit {proc.returncode}): "
                                 f"{last} (log: {log})")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    with record_lock(results):   # seeds run side by side write the same record
        record = read_record(results, row)
        record.update(name=row["name"], command=shown(row))
        entry = record.setdefault("seeds", {})[str(seed)] = {
            "test_accuracy": metrics["test_accuracy"], "num_test": metrics["num_test"],
            "num_train": metrics.get("num_train"), "num_valid": metrics.get("num_valid"),
            "epochs": metrics.get("epochs_completed"), "best_epoch": metrics.get("best_epoch"),
            "train_seconds": metrics.get("train_seconds"), "wall_seconds": round(wall, 1),
            "command": shown(row), "split_sha256": split, "commit": commit, "date": date,
            "machine": machine(), "load_average": [load_before, load_average()],
            # unset: `import gluon_rnn` gives mxnet one thread per physical core
            "omp_num_threads": env.get("OMP_NUM_THREADS", "unset"),
            "runs_at_once": jobs,
        }
        history = out / "history.csv"
        if history.exists():   # each epoch's time and valid accuracy: time to an accuracy
            with open(history, encoding="utf-8", newline="") as f:
                entry["epochs_seconds_valid"] = [
                    [int(r["epoch"]), float(r["seconds"]), float(r["valid_acc"])]
                    for r in csv.DictReader(f)]
        if "config" in metrics:
            entry["config"] = {k: v for k, v in metrics["config"].items() if k not in RUN_ONLY}
        if "models" in metrics:   # a script that scores several models: each one's figures
            entry["models"] = {
                name: {k: v for k, v in m.items()
                       if k in ("test_accuracy", "valid_accuracy", "C", "seconds")}
                for name, m in metrics["models"].items()}
        write_record(results, row, record)
    say(f"{row['name']} seed {seed}: test accuracy {metrics['test_accuracy']:.4f} "
        f"on {metrics['num_test']}, {wall:.0f} s")
    return 0, None


@contextlib.contextmanager
def record_lock(results):
    Path(results).mkdir(parents=True, exist_ok=True)
    with open(Path(results) / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------- tables

def current(row, record):
    """{seed: measurement} of the row's seeds measured with its command on today's split."""
    kept = {}
    config = resolved_config(row)
    for seed in row["seeds"]:
        m = record.get("seeds", {}).get(str(seed))
        if m and m.get("command") == shown(row) and same_config(m.get("config"), config) \
                and m.get("split_sha256") == split_of(row, seed):
            kept[seed] = m
    return kept


def row_cells(row, record):
    """The cells of one row (`results_tables.format_cells`) from its counted seeds."""
    split = split_of(row, row["seeds"][0])
    if isinstance(split, UserError):
        return {"acc": f"not measured: {split}", "short_acc": f"not measured: {split}",
                "time": "", "measured": ""}
    return format_cells(row, current(row, record))


def tables(rows, titles, results, brief=False):
    """The Markdown tables of the records in `results`: in full (docs/results.md), or the
    README's one short table of the rows marked `readme`."""
    cells = [(row, row_cells(row, read_record(results, row))) for row in rows
             if not brief or row.get("readme")]
    return markdown(cells, titles, shown, brief=brief)


readme_parts = page_parts   # the README is one of the pages the tables are pasted into

# ---------------------------------------------------------------- command line

def main(argv=None):
    parser = ArgumentParser(prog="python benchmarks/results.py",
                            description="Run the README's result rows; print its tables.")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these rows only (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="S",
                        help="these of each chosen row's seeds only (default: all)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="run N at once, each with OMP_NUM_THREADS = physical cores // N "
                             "(default 1)")
    parser.add_argument("--tables", action="store_true",
                        help="print the tables, run nothing (default: off)")
    parser.add_argument("--readme", metavar="FILE",
                        help=f"also write the short table (rows marked readme) into FILE, "
                             f"between its lines {BEGIN} and {END}")
    parser.add_argument("--page", metavar="FILE",
                        help="also write the full tables into FILE, between the same lines "
                             "(docs/results.md)")
    parser.add_argument("--list", action="store_true",
                        help="print each row's name and command (default: off)")
    parser.add_argument("--rows", help="a JSON row list (default: benchmarks/results_rows.py)")
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results"),
                        help="where the records are kept (default benchmarks/results)")
    parser.add_argument("--runs", default=str(REPO / "runs" / "results"),
                        help="where the runs write (default runs/results)")
    args = parser.parse_args(argv)
    # runs train from the repository: relative paths are the caller's, made absolute here
    args.runs, args.results = (str(Path(p).resolve()) for p in (args.runs, args.results))
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    for page in (args.readme, args.page):
        if page:
            page_parts(page)    # a wrong file is said now, not after hours of runs
    rows, titles = load_rows(args.rows)
    chosen = rows
    if args.only:
        known = {r["name"] for r in rows}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise UserError(f"unknown row {unknown[0]!r}; rows: {', '.join(sorted(known))}")
        chosen = [r for r in rows if r["name"] in args.only]
    if args.list:
        for row in chosen:
            print(f"{row['name']:28s} {shown(row)}  (--seed {', '.join(map(str, row['seeds']))})")
        return 0
    plan = []
    for row in chosen:
        seeds = row["seeds"] if args.seeds is None else args.seeds
        strange = [s for s in seeds if s not in row["seeds"]]
        if strange:
            raise UserError(f"seed {strange[0]} is not among row {row['name']!r}'s seeds "
                            f"{row['seeds']}")
        plan += [(row, seed) for seed in seeds]
    failures = []
    if not args.tables:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = pool.map(lambda job: run_one(*job, args.runs, args.results, args.jobs), plan)
            failures = [(status, message) for status, message in done if status]
    text = tables(rows, titles, args.results)
    print(text)
    if args.page:
        paste(args.page, text)
    if args.readme:
        paste(args.readme, tables(rows, titles, args.results, brief=True))
    if failures:
        # one error line, the last failure; the others were said as they happened. A row whose
        # command is bad input (its run exits 2) is the row list's fault: exit 2 as well.
        for status, message in failures[:-1]:
            print(f"results: {message}", file=sys.stderr)
        status, message = failures[-1]
        raise UserError(message) if status == 2 else SystemExit(f"error: {message}")
    return 0


if __name__ == "__main__":
    run_cli(main)
