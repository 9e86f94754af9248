"""What a training run reports: its line per epoch, history.csv and metrics.json.

    epoch_row(epoch, stats, valid, lr)    -> one row of history.csv (a dict)
    history_csv(history)                  -> history.csv's text
    run_metrics(...)                      -> metrics.json's dict

Only rank 0 of a distributed run prints (`distributed.Workers.say`) or writes; the numbers come from
`gluon_rnn.loop` (train_epoch's sums, score_loader's scores) and `gluon_rnn.metrics`.
"""
import csv
import dataclasses
import io
import platform

import numpy as np


def epoch_row(epoch, stats, valid, lr):
    """One epoch of history.csv: the training sums of `loop.train_epoch` as means and rates,
    and the validation scores."""
    real, padded = stats["tokens"], stats["padded_tokens"]
    return {"epoch": epoch, "lr": lr,
            "train_loss": round(stats["loss_sum"] / stats["count"], 6),
            "train_acc": round(stats["correct"] / stats["count"], 6),
            "valid_loss": round(valid["loss"], 6), "valid_acc": round(valid["acc"], 6),
            "seconds": round(stats["seconds"], 3),
            "tokens_per_second": round(real / stats["seconds"], 1),
            "padding_fraction": round(padded / max(real + padded, 1), 4),
            "tokens": int(real), "padded_tokens": int(padded)}


def history_csv(history):
    buf = io.StringIO()
    fields = list(history[0]) if history else ["epoch"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def versions():
    import gluonnlp
    import matplotlib
    import mxnet
    return {"python": platform.python_version(), "mxnet": mxnet.__version__,
            "gluonnlp": gluonnlp.__version__, "numpy": np.__version__,
            "matplotlib": matplotlib.__version__}


def run_metrics(cfg, corpus, state, rep, test, resumed_from, param_count, checksum,
                num_workers):
    """metrics.json: the data, the course of training (from `state`'s history), the test
    report `rep` and loss of the best epoch's parameters, and what the run ran on."""
    history = state["history"]
    real = sum(h["tokens"] for h in history)
    padded = sum(h["padded_tokens"] for h in history)
    train_seconds = sum(h["seconds"] for h in history)
    return {
        "arch": cfg.arch, "dataset": corpus.dataset, "source": corpus.source,
        "num_train": len(corpus.train), "num_valid": len(corpus.valid),
        "num_test": len(corpus.test), "num_classes": corpus.num_classes,
        "label_names": corpus.label_names, "duplicates_removed": corpus.duplicates_removed,
        "num_conflicting": corpus.num_conflicting,
        "epochs_completed": len(history), "stopped_early": state["stopped_early"],
        "resumed_from_epoch": resumed_from, "best_epoch": state["best_epoch"],
        "test_accuracy": rep["accuracy"], "test_loss": test["loss"],
        "valid_accuracy": state["best_acc"], "macro_f1": rep["macro_f1"],
        "per_class": rep["per_class"], "confusion_matrix": rep["confusion_matrix"],
        "train_seconds": round(train_seconds, 3),
        "tokens_per_second": round(real / max(train_seconds, 1e-9), 1),
        "padding_fraction": round(padded / max(real + padded, 1), 4),
        "param_count": param_count,
        "final_param_checksum": checksum, "seed": cfg.seed, "context": cfg.ctx,
        "kvstore": cfg.kvstore, "num_workers": num_workers, "versions": versions(),
        "config": dataclasses.asdict(cfg),
    }
