"""Where a benchmark script writes: the rule of `gluon_rnn.train`'s run directories, for the
scripts that `results.py` runs (`--out DIR` gets DIR/metrics.json and nothing else of theirs).

    out = claim_out(args.out, "ngram_baseline.py")   # before any work: a refusal costs nothing
    ...
    write_out(out, "ngram_baseline.py", result)       # metrics.json, marked as this script's

DIR may be new, empty, or an earlier output of the same script (its metrics.json says so);
anything else in it is somebody else's file, and the script stops before it writes anything.
"""
import json
from pathlib import Path

from gluon_rnn.atomic import atomic_write_json
from gluon_rnn.errors import UserError


def claim_out(out, script, extra=()):
    """The Path `out` once it is known to be safe to write `metrics.json` (and the names in
    `extra`) into, or None when `out` is None; else a one-line UserError."""
    if out is None:
        return None
    out, own = Path(out), {"metrics.json", *extra}
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; choose another --out")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in own)
        if foreign:
            raise UserError(f"{out}: holds {foreign[0]}, which {script} did not write; "
                            f"choose a new or empty --out")
        metrics = out / "metrics.json"
        if metrics.exists():
            try:
                ours = json.loads(metrics.read_text(encoding="utf-8")).get("script") == script
            except (OSError, ValueError, AttributeError):
                ours = False
            if not ours:
                raise UserError(f"{metrics}: not written by {script}; choose a new or empty --out")
    return out


def write_out(out, script, result):
    """Mark `result` as `script`'s own (the caller prints the same dict) and write it to
    out/metrics.json."""
    result["script"] = script
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", result)


def add_run_args(parser, several=False):
    """--model RUN_DIR (where `{seed}` stands for --seed, so one results row covers every seed;
    with `several`, one or more run directories) and --seed."""
    parser.add_argument("--model", required=True, nargs="+" if several else None,
                        help="run directory written by gluon_rnn.train ({seed} is replaced "
                             "by --seed)" + ("; one or more" if several else ""))
    parser.add_argument("--seed", type=int,
                        help="fills {seed} in --model; must be the run's own seed")


def run_dir(args, model=None):
    """The run directory that --model (or `model`, one of several) and --seed name."""
    model = args.model if model is None else model
    if "{seed}" in model and args.seed is None:
        raise UserError(f"--model {model} holds {{seed}}: give --seed")
    return Path(model.replace("{seed}", str(args.seed)))
