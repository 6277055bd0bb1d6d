"""The runner's Papermill engine saves less often and still keeps the notebook of a failed run."""

from __future__ import annotations

import nbformat
import papermill
import papermill.engines
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from eia.runner import engine

pytestmark = pytest.mark.slow


def _notebook(path, *sources):
    nb = new_notebook(cells=[new_markdown_cell("# A section")])
    nb.cells += [new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _execute(src, out, name, **kwargs):
    return papermill.execute_notebook(
        str(src),
        str(out),
        kernel_name="python3",
        engine_name=name,
        progress_bar=False,
        log_output=False,
        **kwargs,
    )


def _saves(monkeypatch) -> list[str]:
    written: list[str] = []
    original = papermill.engines.write_ipynb

    def counted(nb, path):
        written.append(path)
        original(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counted)
    return written


def test_a_run_writes_the_same_notebook_with_far_fewer_saves(tmp_path, monkeypatch):
    src = _notebook(tmp_path / "in.ipynb", *(f"print({i} * {i})" for i in range(8)))
    written = _saves(monkeypatch)
    _execute(src, tmp_path / "plain.ipynb", None)
    plain_saves = len(written)
    written.clear()
    _execute(src, tmp_path / "throttled.ipynb", engine.register())
    assert plain_saves >= 2 * 8  # Papermill's own engine: when each cell starts and completes
    assert len(written) == 1  # ours: only at the end (the run is shorter than SAVE_EVERY_S)
    plain = nbformat.read(tmp_path / "plain.ipynb", as_version=4)
    throttled = nbformat.read(tmp_path / "throttled.ipynb", as_version=4)
    assert [c.get("outputs") for c in throttled.cells] == [c.get("outputs") for c in plain.cells]
    assert [c.metadata.papermill["status"] for c in throttled.cells] == [
        c.metadata.papermill["status"] for c in plain.cells
    ]


def test_a_run_that_stops_keeps_the_partial_notebook_papermill_would(tmp_path):
    src = _notebook(tmp_path / "in.ipynb", "print('first')", "import time\ntime.sleep(30)", "1")
    kept = {}
    for name in (None, engine.register()):
        out = tmp_path / f"{name}.ipynb"
        with pytest.raises(Exception, match="(?i)timed out|timeout"):
            _execute(src, out, name, execution_timeout=1)
        kept[name] = nbformat.read(out, as_version=4)
    plain, throttled = kept.values()
    assert throttled.cells[1].outputs[0]["text"] == "first\n"
    assert [c.get("outputs") for c in throttled.cells] == [c.get("outputs") for c in plain.cells]
    assert [c.metadata.papermill["status"] for c in throttled.cells] == [
        c.metadata.papermill["status"] for c in plain.cells
    ]
