"""Score a trained model directory on labelled data: accuracy, loss, per-class
precision/recall/F1 and the confusion matrix, as text or JSON.

    python -m gluon_rnn.evaluate --model runs/mean-20261123-101500 --dataset imdb
    python -m gluon_rnn.evaluate --model DIR --data reviews.tsv --split all --json

`--split test` (the default) rebuilds the same seeded, de-duplicated test split the training
run used (same --seed, --no-dedup and --limit); `--split all` scores every example of the file.
"""
import argparse
import json
from pathlib import Path

import mxnet as mx

from . import data as gdata
from .errors import UserError, run_cli
from .loop import evaluate
from .metrics import format_report, report
from .model_io import atomic_write_json, encode_texts, load_model_dir
from .plots import plot_confusion_matrix


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gluon_rnn.evaluate",
                                     description="Score a trained model on labelled data.")
    parser.add_argument("--model", required=True, help="run directory written by gluon_rnn.train")
    parser.add_argument("--dataset", help="named dataset: imdb")
    parser.add_argument("--data", help="LABEL<TAB>TEXT file, or CSV/TSV with a header")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")
    parser.add_argument("--data-dir", help="dataset cache directory")
    parser.add_argument("--split", choices=["test", "all"], default="test")
    parser.add_argument("--no-dedup", action="store_true")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--seed", type=int, default=0, help="the training run's --seed")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", help="also write evaluation.json and confusion_matrix.png here")
    args = parser.parse_args(argv)
    if bool(args.dataset) == bool(args.data):
        raise UserError("give exactly one of --dataset or --data")

    net, vocab, config = load_model_dir(args.model)
    corpus = gdata.load_corpus(dataset=args.dataset, data=args.data,
                               text_column=args.text_column, label_column=args.label_column,
                               data_dir=args.data_dir, limit=args.limit,
                               dedup=not args.no_dedup, seed=args.seed)
    examples = corpus.test if args.split == "test" else corpus.train + corpus.valid + corpus.test
    if not examples:
        raise UserError(f"{corpus.dataset}: no examples in the {args.split} split")
    # Labels are matched by name: the file's classes must be among the model's.
    names = config["label_names"]
    unknown = sorted(set(corpus.label_names) - set(names))
    if unknown:
        raise UserError(f"{corpus.dataset}: labels {unknown} are not among the model's "
                        f"classes {names}")
    to_model = [names.index(n) for n in corpus.label_names]
    ids = encode_texts([t for t, _ in examples], vocab, config)
    labels = [to_model[y] for _, y in examples]
    loader = gdata.make_loader(ids, labels, args.batch_size, shuffle=False)
    result = evaluate(net, loader, [mx.cpu()], len(names))
    rep = report(result["confusion"], names)
    rep.update({"loss": result["loss"], "num_examples": result["count"], "split": args.split,
                "dataset": corpus.dataset, "source": corpus.source, "model": str(args.model)})
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "evaluation.json", rep)
        plot_confusion_matrix(rep["confusion_matrix"], names, out / "confusion_matrix.png",
                              title=f"{corpus.dataset} ({args.split}): accuracy {rep['accuracy']:.4f}")
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(f"{corpus.dataset} ({args.split} split, {result['count']} examples): "
              f"loss {result['loss']:.4f}")
        print(format_report(rep, names))
    return 0


if __name__ == "__main__":
    run_cli(main)
