"""Execute every notebook against a run's Hive tables; keep the executed copies, with their outputs and
charts, beside the run's report: ``reports/<run>/notebooks/<name>.ipynb`` and ``<name>.html``.

One kernel per notebook, one after the other: ``02_use_cases_spark`` starts a SparkSession (≈10 s,
≈0.7 GB), which must not overlap another on a 2-core machine. The kernel reads its settings from the
environment (the notebooks' parameters cell calls ``get_settings()``), with the Hive database pinned to
the one the given settings name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from retailstream.orchestration.stages import safe_run_id
from retailstream.settings import Settings, get_settings

CELL_TIMEOUT = 600  # seconds; the longest cell reads all sales rows through Spark


class NotebookError(RuntimeError):
    """A notebook failed to execute (names the notebook and the failing cell)."""


@dataclass(frozen=True)
class ExecutedNotebook:
    name: str
    notebook: Path  # the executed .ipynb
    html: Path
    charts: int  # PNG outputs
    seconds: float


def notebook_sources(settings: Settings) -> list[Path]:
    return sorted((settings.home / "notebooks").glob("*.ipynb"))


def run_notebooks(run_id: str, settings: Settings | None = None) -> list[ExecutedNotebook]:
    """Execute every notebook for the run ``run_id`` (an Airflow run id or its report folder's name),
    replacing ``reports/<run>/notebooks/`` only once all of them succeeded."""
    s = settings or get_settings()
    run_dir = s.reports_dir / safe_run_id(run_id)
    if not (run_dir / "report.html").exists():
        raise NotebookError(f"{run_dir} holds no report: run {run_id!r} has not finished its use cases")
    target = run_dir / "notebooks"
    staged = run_dir / ".notebooks.partial"  # kept when a notebook fails: it holds the kernel's log
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    executed = [execute_notebook(source, staged, run_id, s) for source in notebook_sources(s)]
    shutil.rmtree(target, ignore_errors=True)
    staged.rename(target)
    return [replace(e, notebook=target / e.notebook.name, html=target / e.html.name) for e in executed]


def execute_notebook(source: Path, out: Path, run_id: str, s: Settings) -> ExecutedNotebook:
    """Execute one notebook on the Hive database ``s`` names; write ``out/<name>.ipynb`` and ``.html``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter

    started = time.monotonic()
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=notebook.metadata.kernelspec.name,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(source.parent)}},
    )
    kernel_log = out / f"{source.stem}.kernel.log"  # the kernel's own output (Spark's log lines)
    try:
        with kernel_log.open("wb") as log:
            env = {**os.environ, "RETAILSTREAM_HIVE_DATABASE": s.hive_database}
            client.execute(env=env, stdout=log, stderr=subprocess.STDOUT)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        what = f"{error.ename}: {error.evalue}" if isinstance(error, CellExecutionError) else str(error)
        raise NotebookError(f"{source.name} failed: {what} (kernel log: {kernel_log})") from error
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # Says, in the copy itself, which run and which data the outputs belong to.
    notebook.cells.insert(
        0,
        nbformat.v4.new_markdown_cell(
            f"*Executed for pipeline run `{run_id}` on the Hive database `{s.hive_database}`, {stamp}, "
            f"by `retailstream notebooks run` — the source is `notebooks/{source.name}`.*"
        ),
    )
    executed = out / source.name
    nbformat.write(notebook, executed)
    html = executed.with_suffix(".html")
    body, _ = HTMLExporter().from_notebook_node(notebook)
    html.write_text(body)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    charts = sum("image/png" in o.get("data", {}) for o in outputs)
    return ExecutedNotebook(source.stem, executed, html, charts, time.monotonic() - started)
