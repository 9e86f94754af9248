"""Classification metrics from a confusion matrix (rows: true class, columns: predicted).

    >>> cm = confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2)
    >>> report(cm, ["neg", "pos"])["macro_f1"]
"""
import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """(C, C) int64 counts; `cm[t, p]` is how many examples of class t were predicted p."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return cm


def report(cm, label_names):
    """Accuracy, per-class precision/recall/F1/support and macro F1 as a JSON-ready dict.

    A class that is never predicted (or never present) gets precision (recall) 0 rather than
    NaN, the convention that keeps macro F1 honest about it."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = cm.sum()
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(label_names, precision, recall, f1, actual)
    }
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1.mean()) if len(f1) else 0.0,
        "per_class": per_class,
        "confusion_matrix": cm.astype(np.int64).tolist(),
    }


def format_report(rep, label_names):
    """The report as an aligned text table, for the terminal."""
    width = max([len(n) for n in label_names] + [9])
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for name in label_names:
        r = rep["per_class"][name]
        lines.append(f"{name:<{width}}  {r['precision']:9.4f}  {r['recall']:6.4f}  "
                     f"{r['f1']:5.4f}  {r['support']:7d}")
    lines.append(f"{'accuracy':<{width}}  {rep['accuracy']:.4f}    macro F1 {rep['macro_f1']:.4f}")
    lines.append("confusion matrix (rows: true, columns: predicted):")
    for name, row in zip(label_names, rep["confusion_matrix"]):
        lines.append(f"  {name:<{width}} " + " ".join(f"{v:7d}" for v in row))
    return "\n".join(lines)
