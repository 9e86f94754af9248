"""How `results.py` writes its records as Markdown: the full tables of docs/results.md and
the README's one short table.

    cells = format_cells(kept)                   # (accuracy, time, measured) of one row
    text = markdown([(row, cells), ...], titles)  # one table per title, with every column
    short = markdown(..., brief=True)            # one table: row, command, accuracy, time
    paste("README.md", short)                    # between the file's two marker lines

Which records count (today's command and split) is decided in results.py, with `same_config`
from here; this module formats what it is given, so the two pages cannot disagree on a figure.
"""
import statistics
from pathlib import Path

from gluon_rnn.model_io import atomic_write_text
from gluon_rnn.errors import UserError

NOT_MEASURED = "not measured on this split"
# a page's tables sit between these two lines; `--readme` and `--page` replace what is between
BEGIN, END = "<!-- results.py --tables: begin -->", "<!-- results.py --tables: end -->"


def same_config(recorded, config):
    """Whether a recorded configuration is today's. Every value the record holds must be
    today's (a default that changed since makes it stale); a setting the record lacks was
    added to the trainer later, and a new setting's default keeps the earlier behaviour."""
    if recorded is None or config is None:
        return recorded == config
    return all(config.get(k) == v for k, v in recorded.items())


def _span(values, fmt):
    lo, hi = min(values), max(values)
    fmt = fmt.format if isinstance(fmt, str) else fmt
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}-{fmt(hi)}"


def _seconds(values):
    """'48 s', '2.5-3.1 min': seconds up to two minutes, minutes beyond."""
    if max(values) < 120:
        return _span(values, lambda v: f"{v:.1f}" if v < 10 else f"{v:.0f}") + " s"
    return _span([v / 60 for v in values], "{:.1f}".format) + " min"


def format_cells(row, kept):
    """{"acc", "short_acc", "time", "measured"} of one row from its counted seeds `kept`
    ({seed: measurement}); a row with none reads NOT_MEASURED."""
    if not kept:
        return {"acc": NOT_MEASURED, "short_acc": NOT_MEASURED, "time": "", "measured": ""}
    accs = [kept[s]["test_accuracy"] for s in kept]
    per_seed = ", ".join(f"{s}: {kept[s]['test_accuracy']:.4f}" for s in kept)
    num_test = _span([m["num_test"] for m in kept.values()], "{:,}".format)
    if len(accs) > 1:
        acc = (f"**{statistics.mean(accs):.4f}** ± {statistics.stdev(accs):.4f} (mean ± s.d. "
               f"over seeds {per_seed}; {num_test} test texts)")
        short = (f"**{statistics.mean(accs):.4f}** ± {statistics.stdev(accs):.4f} "
                 f"({len(accs)} seeds)")
    else:
        acc = f"**{accs[0]:.4f}** (seed {per_seed}; {num_test} test texts)"
        short = f"**{accs[0]:.4f}** (1 seed)"
    missing = [s for s in row["seeds"] if s not in kept]
    if missing:
        gap = f"; seed{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} " \
              f"{NOT_MEASURED}"
        acc, short = acc + gap, short + gap
    ms = list(kept.values())
    parts = []
    if ms[0].get("epochs") is not None:
        epochs = _span([m["epochs"] for m in ms], str)
        parts.append(f"{epochs} epoch{'' if epochs == '1' else 's'} "
                     f"(kept {_span([m['best_epoch'] for m in ms], str)})")
    parts.append(f"{_seconds([m['train_seconds'] for m in ms])} training")
    parts.append(f"{_seconds([m['wall_seconds'] for m in ms])} wall")
    loads = [x for m in ms for x in m["load_average"]]
    threads = _span([str(m.get("omp_num_threads", "unset")) for m in ms], str)
    at_once = max(m.get("runs_at_once", 1) for m in ms)
    in_order = sorted(ms, key=lambda m: m["date"])
    commits = ", ".join(dict.fromkeys(f"`{m['commit']}`" for m in in_order))
    when = (f"{_span([m['date'][:10] for m in ms], str)}, {commits}, "
            f"{ms[0]['machine']}, OMP_NUM_THREADS {threads}, "
            + (f"{at_once} runs at once, " if at_once > 1 else "")
            + f"load {_span(loads, '{:.1f}'.format)}")
    return {"acc": acc, "short_acc": short, "time": ", ".join(parts), "measured": when}


def markdown(rows_cells, titles, command, brief=False):
    """Markdown of `rows_cells` ([(row, cells)], in their listed order). In full: one table per
    title, every column. Brief: the rows marked `readme` in one table, without the machine
    and commit (those stay in the records and the full page)."""
    if brief:
        out = ["| row | command | test accuracy | time |", "|---|---|---|---|"]
        table = None
        for row, cells in rows_cells:
            if row.get("readme"):
                if table is not None and row["table"] != table:   # another data set follows
                    out.append(f"| **{titles[row['table']]}** | | | |")
                table = row["table"]
                out.append(f"| {row['what']} | `{command(row)}` | {cells['short_acc']} "
                           f"| {cells['time']} |")
        return "\n".join(out) + "\n"
    out = []
    for key, title in titles.items():
        chosen = [(row, cells) for row, cells in rows_cells if row["table"] == key]
        if not chosen:
            continue
        out += [f"**{title}**", "",
                "| row | command | test accuracy | time | measured |", "|---|---|---|---|---|"]
        for row, cells in chosen:
            seeds = ", ".join(map(str, row["seeds"]))
            out.append(f"| {row['what']} | `{command(row)}` (`--seed` {seeds}) | {cells['acc']} "
                       f"| {cells['time']} | {cells['measured']} |")
        out.append("")
    return "\n".join(out)


def page_parts(page):
    """(what comes up to the BEGIN line, what comes from the END line on) of the file `page`,
    or a one-line error."""
    path = Path(page)
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror or err})") from None
    marks = [i for i, line in enumerate(lines) if line.strip() in (BEGIN, END)]
    if [lines[i].strip() for i in marks] != [BEGIN, END]:
        raise UserError(f"{path}: expected one line {BEGIN} and, after it, one line {END}")
    return "".join(lines[:marks[0] + 1]), "".join(lines[marks[1]:])


def paste(page, text):
    """Put `text` between the BEGIN and END lines of `page`: the file is written whole or not
    at all."""
    head, tail = page_parts(page)
    atomic_write_text(page, head + text.rstrip("\n") + "\n\n" + tail)
