"""The self-contained HTML report of a use-case run: one chart and one finding per use case.

Everything shown is computed from the run's result files (nothing about the data is hard-coded); the
definitions are the use-case functions' docstrings. Charts are matplotlib PNGs embedded as base64, CSS is
inline: the file opens anywhere, offline.

Drawing ten charts is most of a report's time, so each (finding, chart) is kept in a content-addressed
cache beside the runs (``<reports_dir>/.charts``), keyed by the result table, the chart code and
matplotlib's version: a run whose results did not change renders its report without matplotlib.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import pyarrow as pa
from jinja2 import Environment, select_autoescape
from markupsafe import Markup, escape

from retailstream.stages.usecases import questions

REPORT = "report.html"
FINDINGS = "findings.json"
PREVIEW_ROWS = 10
CHART_CACHE = ".charts"
CHART_CACHE_KEEP = 200  # entries (about 40 KB each): twenty different results of all ten questions


def _definition(case: questions.UseCase) -> tuple[str, str]:
    """The question (docstring's first line) and the rest of the docstring (definition and columns)."""
    question, _, body = inspect.getdoc(case.compute).partition("\n")
    return question.split("—", 1)[-1].strip(), body.strip()


def _chart_code_version() -> str:
    source = files("retailstream.stages.usecases").joinpath("charts.py").read_bytes()
    return hashlib.sha256(source + version("matplotlib").encode()).hexdigest()


def _table_digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _cached_section(cache: Path | None, number: int, table: pa.Table, code: str) -> tuple[str, str]:
    """Use case ``number``'s (finding, base64 PNG), from the cache when this table was charted before."""
    entry = None
    if cache is not None:
        key = hashlib.sha256(f"{code}:{number}:{_table_digest(table)}".encode()).hexdigest()
        entry = cache / f"{key}.json"
        if entry.exists():
            entry.touch()  # recently used: kept by the pruning
            cached = json.loads(entry.read_text())
            return cached["finding"], cached["chart"]
    from retailstream.stages.usecases import charts

    finding, chart = charts.section(number, table.to_pandas(date_as_object=False))
    if entry is not None:
        cache.mkdir(parents=True, exist_ok=True)
        _write_atomically(entry, json.dumps({"finding": finding, "chart": chart}))
    return finding, chart


def _prune(cache: Path) -> None:
    entries = sorted(cache.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in entries[CHART_CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def build_sections(tables: dict[str, pa.Table], cache: Path | None = None) -> list[dict]:
    """One section per use case; with ``cache`` (a folder), findings and charts are reused from it."""
    code = _chart_code_version() if cache is not None else ""
    sections = []
    for case in questions.USE_CASES:
        table = tables[case.table]
        finding, chart = _cached_section(cache, case.number, table, code)
        question, definition = _definition(case)
        sections.append(
            {
                "number": case.number,
                "table": case.table,
                "title": case.title,
                "question": question,
                "definition": docstring_html(definition),
                "finding": finding,
                "chart": chart,
                "rows": table.num_rows,
                "preview": table.slice(0, PREVIEW_ROWS)
                .to_pandas(date_as_object=False)
                .to_html(index=False, na_rep="NULL", border=0),
            }
        )
    if cache is not None and cache.exists():
        _prune(cache)
    return sections


def docstring_html(text: str) -> Markup:
    """The docstrings' inline markup (``code``, **bold**) as HTML; everything else escaped."""
    html = str(escape(text))
    html = re.sub(r"``(.+?)``", r"<code>\1</code>", html)
    return Markup(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html))


def render_html(
    manifest: dict,
    tables: dict[str, pa.Table],
    sections: list[dict] | None = None,
    quarantine: dict[str, int] | None = None,
) -> str:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = environment.from_string(
        files("retailstream.stages.usecases").joinpath("report.html.j2").read_text()
    )
    shared_rules = docstring_html(questions.__doc__.split("Rules shared by all ten:", 1)[1].strip())
    sections = build_sections(tables) if sections is None else sections
    return template.render(
        manifest=manifest, sections=sections, shared_rules=shared_rules, quarantine=quarantine
    )


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(
    run_dir: Path, manifest: dict, tables: dict[str, pa.Table], quarantine: dict[str, int] | None = None
) -> Path:
    """``report.html`` plus ``findings.json`` (the headline answers, for the demo and other tools);
    ``quarantine`` (rejected rows per stage) adds the section that links to ``quarantine.json``. Charts
    come from the chart cache beside the runs (``run_dir``'s parent) where they can."""
    sections = build_sections(tables, run_dir.parent / CHART_CACHE)
    path = run_dir / REPORT
    _write_atomically(path, render_html(manifest, tables, sections, quarantine))
    findings = [{k: section[k] for k in ("number", "title", "table", "finding")} for section in sections]
    _write_atomically(run_dir / FINDINGS, json.dumps(findings, indent=2))
    return path
