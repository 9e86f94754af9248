"""Score a trained model directory on labelled data: accuracy, loss, per-class
precision/recall/F1 and the confusion matrix, as text or JSON.

    python -m gluon_rnn.evaluate --model runs/mean-20261123-101500           # the run's own test split
    python -m gluon_rnn.evaluate --model runs/mean-20261123-101500 --dataset imdb
    python -m gluon_rnn.evaluate --model DIR --data reviews.tsv --split all --json

By default `evaluate` scores the run's own test split: the model directory records the data
it was trained on (a fingerprint of the file, or the dataset's origin) and how it was split
(seed, limit, de-duplication, columns, encoding), so the split is rebuilt exactly and the
accuracy is the one in the run's metrics.json. Data other than the run's was never split by
it: all of it is unseen, and it is scored whole (`--split all`). `--seed`, `--limit` and
`--no-dedup` override the run's values (the split is then another one, and a note says so).
"""
import argparse
import json
import sys
from pathlib import Path

from . import rundir
from .errors import ArgumentParser, UserError, run_cli
from .metrics import format_report, report
from .options import check_setting

# mxnet (through gluon_rnn.data, loop and model_io) is imported in the functions that use it,
# not when this module loads: under `errors.run_cli`, a Ctrl-C while it loads is one line.


def build_parser():
    parser = ArgumentParser(prog="python -m gluon_rnn.evaluate",
                            description="Score a trained model on labelled data.",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="run directory written by gluon_rnn.train")
    parser.add_argument("--dataset", help="named dataset: imdb (none, and no --data: the "
                                          "data the model was trained on)")
    parser.add_argument("--data", help="LABEL<TAB>TEXT file, or CSV/TSV with a header")
    parser.add_argument("--text-column", help="text column of a CSV/TSV (none: the run's, "
                                              "else auto-detected)")
    parser.add_argument("--label-column", help="label column of a CSV/TSV (none: the run's, "
                                               "else auto-detected)")
    parser.add_argument("--encoding", help="the file's text encoding, e.g. cp1252 (none: the "
                                           "run's for its own file, else UTF-8)")
    parser.add_argument("--data-dir", help="dataset cache (none: $GLUON_RNN_DATA or "
                                           "~/.cache/gluon_rnn)")
    parser.add_argument("--split", choices=["test", "all"],
                        help="test: the run's own test split, rebuilt; all: every example "
                             "(none: test for the run's data, all for other data)")
    parser.add_argument("--no-dedup", action="store_true", default=None,
                        help="keep duplicate texts (none: as the run did)")
    parser.add_argument("--limit", type=int, help="a seeded subset of N examples (none: as "
                                                  "the run did)")
    parser.add_argument("--seed", type=int, help="seed of the split (none: the run's)")
    parser.add_argument("--unseen", action="store_true",
                        help="score only the examples whose tokens are none of the texts the "
                             "run trained or validated on")
    parser.add_argument("--batch-size", type=int, default=256, help="examples per batch")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", help="also write evaluation.json and confusion_matrix.png "
                                      "into this directory")
    return parser


def _note(text):
    print(f"note: {text}", file=sys.stderr)


def _which_data(args, run):
    """(dataset, data) to score: the flags, else the data the run was trained on."""
    if args.dataset and args.data:
        raise UserError("give at most one of --dataset or --data")
    if args.dataset or args.data:
        return args.dataset, args.data
    if not run:
        raise UserError(f"{args.model}: this model directory does not record its data: "
                        f"give --dataset or --data")
    if not run.get("data"):
        return run["dataset"], None
    data, where = run["data"], run.get("data_path")
    if Path(data).exists() or not where:
        return None, data
    if Path(where).exists():   # a path relative to where the run started, elsewhere
        return None, where
    raise UserError(f"{data}: no such file (the run read {where}); give --data PATH where it "
                    f"lies now")


def load_examples(args, run):
    """(corpus, examples, split) as the flags and the run's record ask."""
    from . import data as gdata
    dataset, data = _which_data(args, run)
    recorded = (run or {}).get("fingerprint")
    same = None   # unknown: save_model_dir without `data` records none
    if recorded and data is not None:
        same = rundir.same_data(rundir.data_fingerprint(data), recorded)
    elif recorded:
        same = recorded.get("kind") == "dataset" and recorded.get("dataset") == dataset
    split = args.split or ("all" if same is False else "test")
    # Reading the run's own file takes its columns and encoding; splitting it, its settings.
    own = run if same else {}
    settings = {"text_column": args.text_column or own.get("text_column"),
                "label_column": args.label_column or own.get("label_column"),
                "encoding": args.encoding or own.get("encoding"),
                "seed": 0, "limit": None, "dedup": True}
    # the run's data is split, or taken whole, as the run did unless a flag says otherwise
    for key, flag, value in (("seed", "--seed", args.seed), ("limit", "--limit", args.limit),
                             ("dedup", "--no-dedup",
                              None if args.no_dedup is None else not args.no_dedup)):
        if key in own:
            settings[key] = own[key]
        if value is not None:
            if split == "test" and key in own and value != own[key]:
                _note(f"{flag} overrides the run's {key} {own[key]}: this test split is "
                      f"not the one the run was scored on")
            settings[key] = value
    # a named dataset's cache: where the run found it, unless --data-dir says
    data_dir = args.data_dir or ((run or {}).get("data_dir")
                                 if dataset and dataset == (run or {}).get("dataset") else None)
    corpus = gdata.load_corpus(dataset=dataset, data=data, data_dir=data_dir, **settings)
    if recorded and data is None and same:
        # a dataset is known by where its cache came from, which only loading tells
        same = rundir.same_data(rundir.data_fingerprint(corpus=corpus), recorded)
        split = args.split or ("test" if same else "all")
    if same is False:
        what = f"{data or dataset} ({rundir.describe_data(rundir.data_fingerprint(data, corpus))})"
        theirs = rundir.describe_data(recorded)
        if split == "test":
            raise UserError(f"{what} is not the data this model was trained on ({theirs}): it "
                            f"has no test split of this model; score all of it with --split all")
        _note(f"{what} is not the data this model was trained on ({theirs}); scoring all of "
              f"it (--split all)")
    if split == "test" and same and run.get("num_test") not in (None, len(corpus.test)):
        _note(f"the rebuilt test split has {len(corpus.test)} examples, the run's had "
              f"{run['num_test']}")
    examples = corpus.test if split == "test" else corpus.train + corpus.valid + corpus.test
    if not examples:
        raise UserError(f"{corpus.dataset}: no examples in the {split} split")
    return corpus, examples, split


def _seen(args, examples):
    """(examples to score, how many of them the run trained or validated on): all of them
    with a note, or with --unseen the others only. The count is None for a model directory
    that records no digests of its texts (one save_model_dir wrote, not a run)."""
    from .data import text_digests
    path = Path(args.model) / rundir.SEEN_FILE
    if not path.is_file():
        if args.unseen:
            raise UserError(f"{path}: missing (this directory is not a run's), so --unseen "
                            f"cannot tell which texts it trained on")
        return examples, None
    try:
        seen = set(path.read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({err})") from None
    flags = [d in seen for d in text_digests(t for t, _ in examples)]
    num_seen = sum(flags)
    if args.unseen:
        unseen = [e for e, f in zip(examples, flags) if not f]
        if not unseen:
            raise UserError(f"all {len(examples)} examples are texts the model trained or "
                            f"validated on: nothing unseen to score")
        if num_seen:
            _note(f"scoring the {len(unseen)} of {len(examples)} examples the model has not "
                  f"trained or validated on")
        return unseen, 0
    if num_seen:
        _note(f"{num_seen} of the {len(examples)} examples are texts the model trained or "
              f"validated on, which flatter its scores; --unseen scores only the other "
              f"{len(examples) - num_seen}")
    return examples, num_seen


OUT_FILES = ("evaluation.json", "confusion_matrix.png")


def _check_out(out):
    """--out must be new, empty, or an earlier evaluation's: its two files are replaced, and
    nothing else is (a run directory's confusion_matrix.png is the run's own)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; --out names a directory")
    if not out.exists():
        return
    entries = sorted(out.iterdir())
    ours = [e for e in entries if e.name in OUT_FILES and e.is_file() and not e.is_symlink()]
    if entries and (ours != entries or not (out / OUT_FILES[0]).is_file()):
        other = next((e.name for e in entries if e not in ours), OUT_FILES[1])
        raise UserError(f"{out}: holds files evaluate did not write ({other}); --out takes a "
                        f"new or empty directory, or an earlier evaluation's")


def main(argv=None):
    args = build_parser().parse_args(argv)
    # the same rules as training's flags of the same names (`gluon_rnn.options`)
    check_setting("batch_size", args.batch_size)
    check_setting("limit", args.limit)
    if args.seed is not None:   # none: the run's
        check_setting("seed", args.seed)
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_out(out)

    import mxnet as mx
    from .data import make_loader
    from .loop import score_loader
    from .model_io import atomic_write_json, encode_texts, load_model_dir
    from .plots import plot_confusion_matrix
    net, vocab, config = load_model_dir(args.model)
    corpus, examples, split = load_examples(args, config.get("data"))
    # Labels are matched by name: the file's classes must be among the model's.
    names = config["label_names"]
    unknown = sorted(set(corpus.label_names) - set(names))
    if unknown:
        raise UserError(f"{corpus.dataset}: labels {unknown} are not among the model's "
                        f"classes {names}")
    examples, num_seen = _seen(args, examples)
    to_model = [names.index(n) for n in corpus.label_names]
    ids = encode_texts([t for t, _ in examples], vocab, config)
    labels = [to_model[y] for _, y in examples]
    loader = make_loader(ids, labels, args.batch_size, shuffle=False)
    result = score_loader(net, loader, [mx.cpu()], len(names))
    rep = report(result["confusion"], names)
    rep.update({"loss": result["loss"], "num_examples": result["count"], "split": split,
                "num_seen": num_seen, "unseen_only": args.unseen,
                "dataset": corpus.dataset, "source": corpus.source, "model": str(args.model)})
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"{err.filename or out}: cannot create --out: {err.strerror}") from None
        atomic_write_json(out / "evaluation.json", rep)
        plot_confusion_matrix(rep["confusion_matrix"], names, out / "confusion_matrix.png",
                              title=f"{corpus.dataset} ({split}): accuracy {rep['accuracy']:.4f}")
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(f"{corpus.dataset} ({split} split, {result['count']} examples): "
              f"loss {result['loss']:.4f}")
        print(format_report(rep, names))
    return 0


if __name__ == "__main__":
    run_cli(main)
