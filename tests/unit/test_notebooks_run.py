"""`retailstream notebooks run` without the lab: a one-cell notebook on the project's kernel."""

from __future__ import annotations

import nbformat
import pytest

from retailstream.notebooks.execute import NotebookError, run_notebooks
from retailstream.settings import get_settings


def project(tmp_path, code: str):
    """Settings whose project holds one notebook with ``code`` and a finished run ``r1``."""
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata.kernelspec = {"name": "retailstream", "display_name": "RetailStream"}
    nbformat.write(notebook, tmp_path / "notebooks" / "01_small.ipynb")
    (tmp_path / "reports" / "r1").mkdir(parents=True)
    (tmp_path / "reports" / "r1" / "report.html").write_text("<html></html>")
    return get_settings().model_copy(update={"home": tmp_path, "reports_dir": tmp_path / "reports"})


def test_the_executed_copy_and_its_html_land_beside_the_report(tmp_path):
    settings = project(tmp_path, "import os\nprint('database', os.environ['RETAILSTREAM_HIVE_DATABASE'])")
    [executed] = run_notebooks("r1", settings)

    folder = tmp_path / "reports" / "r1" / "notebooks"
    assert executed.notebook == folder / "01_small.ipynb" and executed.html == folder / "01_small.html"
    notebook = nbformat.read(executed.notebook, as_version=4)
    assert "`r1`" in notebook.cells[0].source  # the stamp: which run the outputs belong to
    assert notebook.cells[1].outputs[0].text == f"database {settings.hive_database}\n"
    assert f"database {settings.hive_database}" in executed.html.read_text()
    assert not (tmp_path / "reports" / "r1" / ".notebooks.partial").exists()


def test_a_failing_cell_names_the_notebook_and_keeps_the_earlier_copies(tmp_path):
    settings = project(tmp_path, "print('first')")
    run_notebooks("r1", settings)
    (tmp_path / "notebooks" / "01_small.ipynb").write_text(
        (tmp_path / "notebooks" / "01_small.ipynb").read_text().replace("print('first')", "1 / 0")
    )
    with pytest.raises(NotebookError, match="01_small.ipynb failed: ZeroDivisionError"):
        run_notebooks("r1", settings)
    executed = nbformat.read(tmp_path / "reports" / "r1" / "notebooks" / "01_small.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "first\n"


def test_a_run_without_a_report_is_refused(tmp_path):
    settings = project(tmp_path, "1")
    with pytest.raises(NotebookError, match="holds no report"):
        run_notebooks("other-run", settings)
