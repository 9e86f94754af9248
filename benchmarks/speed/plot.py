"""throughput.png: training tokens/s of every architecture, imperative and hybridized, with
the PyTorch peer's bar when the torch section ran."""
from .sections import find_row


def plot(results, path):
    """Horizontal bars: tokens/s per architecture, imperative and hybridized, plus PyTorch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = (results.get("train") or {}).get("rows") or []
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    torch_row = next((r for r in (results.get("torch") or {}).get("rows", [])
                      if r["threads"] == results["settings"]["threads"]), None)
    labels = archs + (["PyTorch peer of mean"] if torch_row else [])
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(labels) + 2.0))
    y = list(range(len(labels)))
    imp = [(find_row(rows, a, "imperative") or {}).get("tokens_per_second", 0) for a in archs]
    hyb = [(find_row(rows, a, "static") or {}).get("tokens_per_second", 0) for a in archs]
    height = 0.38
    ax.barh([i - height / 2 for i in y[:len(archs)]], hyb, height, label="Gluon, hybridized (static)",
            color="#1f77b4")
    ax.barh([i + height / 2 for i in y[:len(archs)]], imp, height, label="Gluon, imperative",
            color="#aec7e8")
    if torch_row:
        ax.barh([y[-1]], [torch_row["torch"]], height, label="PyTorch (same threads)",
                color="#ff7f0e")
    for i, v in list(zip([i - height / 2 for i in y], hyb)) + list(zip([i + height / 2 for i in y], imp)) \
            + ([(y[-1], torch_row["torch"])] if torch_row else []):
        if v:
            ax.text(v, i, f" {v / 1e3:,.1f}k", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("training tokens per second (higher is better)")
    s, m = results["settings"], results["machine"]
    ax.set_title(f"Training throughput, batch {s['batch_size']} x {s['seq_len']} tokens, "
                 f"embed = hidden = {s['embed_size']}\n{m['cpu']}, {s['threads']} threads",
                 fontsize=10)
    ax.set_xlim(0, max(hyb + imp + ([torch_row["torch"]] if torch_row else [])) * 1.18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(labels)), ncol=3,
              fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
