"""The two figures every run writes: learning curves and a confusion matrix (matplotlib, PNG).

Figures are built with `matplotlib.figure.Figure`, not pyplot: writing a file then needs no
display and leaves the caller's backend (a notebook's inline one, say) alone.
"""
import numpy as np
from matplotlib.figure import Figure


def plot_learning_curves(history, path, title="", best_epoch=None):
    """Loss and accuracy per epoch, train against valid. `history`: list of dicts with
    epoch, train_loss, valid_loss, train_acc, valid_acc. `best_epoch`, when given, is marked:
    the epoch whose parameters were kept."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"valid_{key}"] for h in history], "s-", label="valid")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="gray", linestyle=":",
                       label=f"kept (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_loss.set_title("cross-entropy loss")
    ax_acc.set_title("accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_confusion_matrix(cm, label_names, path, title="test set"):
    """Counts with row-normalised shading, so an imbalanced class still reads clearly."""
    cm = np.asarray(cm)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = max(3.5, 0.9 * len(label_names) + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(label_names))
    ax.set_xticks(ticks, label_names, rotation=45 if len(label_names) > 3 else 0)
    ax.set_yticks(ticks, label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for t in range(cm.shape[0]):
        for p in range(cm.shape[1]):
            ax.text(p, t, f"{cm[t, p]}\n{share[t, p]:.1%}", ha="center", va="center",
                    color="white" if share[t, p] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
