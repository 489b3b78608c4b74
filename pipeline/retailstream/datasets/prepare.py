"""What ``make demo`` calls: one ``incoming/`` tree, from the real Kaggle files if present, else synthetic.

Real files placed directly in ``datasets/`` (either Kaggle publication's names) are split into the
generator's layout, so later stages see one layout whatever the source. Both paths are idempotent: a
tree whose manifest records the same inputs and whose files still match it is left alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from retailstream.datasets import layout
from retailstream.datasets.generator import GENERATOR_VERSION, GenerationRequest, generate
from retailstream.datasets.loader import KNOWN_FILE_NAMES, MAX_INFLATED_MB, load
from retailstream.fingerprint import file_sha256

REAL_KINDS = ("stores", "sales", "features")
NO_TRAFFIC_NOTE = (
    "the real Kaggle data has no store traffic (no customer-visit column): "
    "incoming/store_traffic is not written"
)


class PrepareError(RuntimeError):
    """The datasets folder holds an unusable mix of files; the message says what to do."""


@dataclass
class PrepareOutcome:
    action: str  # "generated", "split" or "up to date"
    manifest: dict
    notes: list[str] = field(default_factory=list)


def find_real_files(datasets_dir: Path) -> dict[str, Path]:
    """The Kaggle files placed directly in ``datasets_dir`` (plain or .gz), by dataset kind."""
    found: dict[str, Path] = {}
    candidates = sorted(datasets_dir.iterdir()) if datasets_dir.is_dir() else []
    for path in candidates:
        kind = KNOWN_FILE_NAMES.get(path.name.lower().removesuffix(".gz"))
        if path.is_file() and kind in REAL_KINDS:
            if kind in found:
                raise PrepareError(
                    f"two real {kind} files in {datasets_dir}: {found[kind].name}, {path.name}"
                )
            found[kind] = path
    return found


def prepare(
    datasets_dir: Path,
    request: GenerationRequest,
    on_store_done: Callable[[int], None] = lambda store: None,
    max_inflated_mb: float = MAX_INFLATED_MB,
) -> PrepareOutcome:
    """``max_inflated_mb``: what a gzip-compressed real file may inflate to (setting max_inflated_mb)."""
    real = find_real_files(datasets_dir)
    incoming = datasets_dir / layout.INCOMING_DIR
    current = layout.read_manifest(incoming)
    if real:
        missing = [kind for kind in REAL_KINDS if kind not in real]
        if missing:
            raise PrepareError(
                f"found real Kaggle {', '.join(p.name for p in real.values())} in {datasets_dir} but no "
                f"{' or '.join(missing)} file: place all of stores, sales and features there, or none "
                "to use the synthetic data"
            )
        inputs = [
            {
                "dataset": kind,
                "path": path.name,
                "bytes": path.stat().st_size,
                "sha256": file_sha256(path),
            }
            for kind, path in real.items()
        ]
        wanted = {"source": "kaggle", "inputs": inputs}
        if _up_to_date(incoming, current, wanted):
            return PrepareOutcome("up to date", current, [NO_TRAFFIC_NOTE])
        split = split_real_files(datasets_dir, real, inputs, max_inflated_mb)
        return PrepareOutcome("split", split, [NO_TRAFFIC_NOTE])

    wanted = {"source": "synthetic", "generator_version": GENERATOR_VERSION, "request": request.describe()}
    if _up_to_date(incoming, current, wanted):
        return PrepareOutcome("up to date", current)
    return PrepareOutcome("generated", generate(datasets_dir, request, on_store_done))


def _up_to_date(incoming: Path, manifest: dict | None, wanted: dict) -> bool:
    if manifest is None or any(manifest.get(name) != value for name, value in wanted.items()):
        return False
    return layout.tree_matches_manifest(incoming, manifest)


def split_real_files(
    datasets_dir: Path, real: dict[str, Path], inputs: list[dict], max_inflated_mb: float
) -> dict:
    """Write the real files as the generator's tree: stores, features per year, sales per store and month."""
    stores = load(real["stores"], max_inflated_mb=max_inflated_mb).sort_values("store")
    known = stores["store"].tolist()
    features = load(real["features"], known_stores=known, max_inflated_mb=max_inflated_mb)
    sales = load(real["sales"], known_stores=known, max_inflated_mb=max_inflated_mb)

    staged = datasets_dir / f".{layout.INCOMING_DIR}.staging"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    writer = layout.TreeWriter(staged)
    writer.write(
        layout.STORES_FILE,
        "stores",
        layout.stores_lines(known, stores["store_type"].tolist(), stores["size"].tolist()),
    )
    _write_features(writer, features)
    _write_sales(writer, sales)
    writer.close()

    manifest = {
        "source": "kaggle",
        "inputs": inputs,
        "notes": [NO_TRAFFIC_NOTE],
        "stores": len(known),
        "rows": writer.rows_per_dataset(),
        "defects": {"bad_rows": 0, "duplicate_keys": 0},
        "files": writer.files,
    }
    layout.write_json(
        staged / layout.DEFECTS_NAME,
        {"bad_rows": [], "resubmissions": [], "summary": {"bad_rows": 0, "duplicate_keys": 0}},
    )
    layout.write_json(staged / layout.MANIFEST_NAME, manifest)
    layout.replace_tree(staged, datasets_dir / layout.INCOMING_DIR)
    return manifest


def _iso_days(weeks: pd.Series) -> list[str]:
    return weeks.dt.strftime("%Y-%m-%d").tolist()


def _write_features(writer: layout.TreeWriter, features: pd.DataFrame) -> None:
    features = features.sort_values(["store", "week_date"])
    for year, rows in features.groupby(features["week_date"].dt.year, sort=True):
        columns = {name: rows[name].tolist() for name in rows.columns}
        columns["week_date"] = _iso_days(rows["week_date"])
        writer.write(layout.features_file(int(year)), "features", layout.features_lines(columns))


def _write_sales(writer: layout.TreeWriter, sales: pd.DataFrame) -> None:
    sales = sales.assign(month=sales["week_date"].dt.strftime("%Y-%m"))
    sales = sales.sort_values(["store", "month", "dept", "week_date"])
    for (store, month), rows in sales.groupby(["store", "month"], sort=False):
        lines = layout.sales_lines(
            rows["store"].tolist(),
            rows["dept"].tolist(),
            _iso_days(rows["week_date"]),
            rows["weekly_sales"].tolist(),
            rows["is_holiday"].tolist(),
        )
        writer.write(layout.sales_file(int(store), month), "sales", lines)
