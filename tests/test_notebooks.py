"""The notebooks run top to bottom, headless, in quick mode, and draw their figures.

Each notebook is executed by `nbclient` in a fresh kernel with GLUON_RNN_QUICK=1, from the
`notebooks/` directory as Jupyter would run it (and one from a directory outside the clone).
A failing cell raises `CellExecutionError` with the cell and its traceback. Quick mode needs
no network and no dataset cache: the notebooks train on sentences that `gluon_rnn.generated`
makes.

The kernel is a `python3` kernelspec written for the test into a temporary JUPYTER_PATH (which
Jupyter searches before any other place), pointing at the interpreter running pytest: a
`python3` kernel of another environment, say in ~/.local/share/jupyter, would otherwise run
the notebooks without this project's pinned packages.
"""
import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

from gluon_rnn import ARCHITECTURES

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"

# notebook -> (figures it draws at least, run directories it writes with metrics.json)
NOTEBOOKS = {
    "01_lstm_states.ipynb": (3, 0),
    "02_architectures.ipynb": (4, len(ARCHITECTURES) + 8),    # four of them with two more seeds
    "03_inside_the_lstm.ipynb": (4, 1),
    "04_cells_vs_fused.ipynb": (2, 0),
    "05_attention_read.ipynb": (2, 9),      # three penalty weights, three seeds each
    "06_gradients_through_time.ipynb": (5, 0),
    "07_seq2seq.ipynb": (2, 0),
    "08_word_order.ipynb": (2, 5),
}


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_stored_clean(name):
    """Valid nbformat, no outputs (the repository stays small and diffs stay readable),
    prose between the code, and the models come from the package, not from copies."""
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    for cell in cells:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
    markdown = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    assert len(markdown) >= len(cells) // 2, (len(markdown), len(cells))
    source = "\n".join(cell.source for cell in cells)
    assert "from gluon_rnn" in source
    assert "HybridBlock" not in source and "hybrid_forward" not in source


@pytest.fixture
def quick_kernel(tmp_path, monkeypatch):
    """Quick mode, a kernel running this interpreter, and a temporary directory of its own
    (TMPDIR) for the run directories the notebooks write."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (gluon_rnn tests)", "language": "python"}))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("GLUON_RNN_QUICK", "1")
    monkeypatch.setenv("TMPDIR", str(scratch))
    return scratch


def test_kernel_runs_this_interpreter(quick_kernel):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys; print(sys.executable, os.environ['GLUON_RNN_QUICK'])")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert nb.cells[0].outputs[0].text.split() == [sys.executable, "1"]


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_in_quick_mode(name, quick_kernel):
    min_figures, num_runs = NOTEBOOKS[name]
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()                     # raises CellExecutionError at the first failing cell

    outputs = [out for cell in code_cells(nb) for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    printed = "".join(out.text for out in outputs if out.output_type == "stream")
    assert f"gluon_rnn {REPO / 'gluon_rnn'}, mode quick" in printed, printed[:300]
    figures = sum("image/png" in out.get("data", {}) for out in outputs)
    assert figures >= min_figures, f"{figures} figures, expected at least {min_figures}"

    # Run directories go to the temporary directory, and nothing is left in the repository.
    runs = sorted(quick_kernel.glob("gluon_rnn-*/**/metrics.json"))
    assert len(runs) == num_runs, runs
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before

    if name.startswith("02_"):
        # a comparison, not a row of equal bars: the quick-mode data must separate them
        scores = {json.loads(p.read_text())["arch"]: json.loads(p.read_text())["test_accuracy"]
                  for p in runs if p.parent.name in ARCHITECTURES}     # the seed-0 runs
        assert len(set(scores.values())) > 1, scores
        assert max(scores.values()) - min(scores.values()) >= 0.1, scores


def test_notebook_runs_outside_the_repository(quick_kernel, tmp_path):
    """Started from a directory that is not inside the clone, a notebook finds the installed
    package and reads nothing relative to the working directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    nb = nbformat.read(NOTEBOOK_DIR / "01_lstm_states.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(elsewhere)}})
    client.execute()
    printed = "".join(out.text for cell in code_cells(nb) for out in cell.outputs
                      if out.output_type == "stream")
    assert f"gluon_rnn {REPO / 'gluon_rnn'}, mode quick" in printed, printed[:300]
