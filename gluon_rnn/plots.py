"""The two figures every run writes: learning curves and a confusion matrix (matplotlib, PNG)."""
import matplotlib

matplotlib.use("Agg")  # files only: runs on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_learning_curves(history, path, title=""):
    """Loss and accuracy per epoch, train against valid. `history`: list of dicts with
    epoch, train_loss, valid_loss, train_acc, valid_acc."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"valid_{key}"] for h in history], "s-", label="valid")
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
    plt.close(fig)


def plot_confusion_matrix(cm, label_names, path, title="test set"):
    """Counts with row-normalised shading, so an imbalanced class still reads clearly."""
    cm = np.asarray(cm)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = max(3.5, 0.9 * len(label_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
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
    plt.close(fig)
