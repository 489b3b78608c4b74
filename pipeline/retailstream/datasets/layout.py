"""The ``incoming/`` tree every later stage reads, and the CSV text written into it.

Both the generator and the split of real Kaggle files write through here, so the two produce one layout:

    incoming/stores/stores.csv                      Store,Type,Size (CR-only line ends, as the real file)
    incoming/features/features_YYYY.csv             dates dd/mm/yyyy, as "Features data set.csv"
    incoming/sales/store=NN/sales_YYYY-MM.csv       dates yyyy-mm-dd; a resubmission is sales_YYYY-MM_vK.csv
    incoming/store_traffic/store_traffic.csv        synthetic only
    incoming/_manifest.json, incoming/_defects.json
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from retailstream.datasets.contract import KINDS, contract
from retailstream.fingerprint import file_sha256

INCOMING_DIR = "incoming"
MANIFEST_NAME = "_manifest.json"
DEFECTS_NAME = "_defects.json"
STORES_FILE = "stores/stores.csv"
TRAFFIC_FILE = "store_traffic/store_traffic.csv"
MISSING = "NA"

HEADERS = {kind: ",".join(contract(kind).headers) for kind in KINDS}
# The real stores file ends its lines with a bare CR; the others use LF.
LINE_ENDS = {"stores": "\r", "sales": "\n", "features": "\n", "store_traffic": "\n"}


def sales_file(store: int, month: str, version: int = 1) -> str:
    """``month`` is ``YYYY-MM``; a resubmitted file carries ``_vK`` (K > 1) and supersedes lower versions."""
    suffix = f"_v{version}" if version > 1 else ""
    return f"sales/store={store:02d}/sales_{month}{suffix}.csv"


def features_file(year: int) -> str:
    return f"features/features_{year}.csv"


def iso_date(day) -> str:
    return str(day)[:10]


def dmy_date(day) -> str:
    text = str(day)[:10]
    return f"{text[8:10]}/{text[5:7]}/{text[0:4]}"


def flag(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def number(value: float, decimals: int) -> str:
    """Fixed decimals, ``NA`` for NaN, never ``-0.00``."""
    if value != value:
        return MISSING
    text = f"{value:.{decimals}f}"
    return text[1:] if text[0] == "-" and float(text) == 0 else text


def sales_lines(
    store: Sequence[int],
    dept: Sequence[int],
    week_date: Sequence[str],
    weekly_sales: Sequence[float],
    is_holiday: Sequence[bool],
) -> list[str]:
    return [
        f"{s},{d},{w},{number(v, 2)},{flag(h)}"
        for s, d, w, v, h in zip(store, dept, week_date, weekly_sales, is_holiday, strict=True)
    ]


def features_lines(columns: dict[str, Sequence]) -> list[str]:
    """``columns`` holds the canonical feature columns; week_date as ``datetime64``/ISO text."""
    markdowns = [columns[f"markdown{n}"] for n in range(1, 6)]
    return [
        ",".join(
            (
                str(store),
                dmy_date(week),
                number(temperature, 2),
                number(fuel, 3),
                *(number(markdown[i], 2) for markdown in markdowns),
                number(cpi, 7),
                number(unemployment, 3),
                flag(holiday),
            )
        )
        for i, (store, week, temperature, fuel, cpi, unemployment, holiday) in enumerate(
            zip(
                columns["store"],
                columns["week_date"],
                columns["temperature"],
                columns["fuel_price"],
                columns["cpi"],
                columns["unemployment"],
                columns["is_holiday"],
                strict=True,
            )
        )
    ]


def stores_lines(store: Sequence[int], store_type: Sequence[str], size: Sequence[int]) -> list[str]:
    return [f"{s},{t},{z}" for s, t, z in zip(store, store_type, size, strict=True)]


def traffic_lines(store: Sequence[int], week_date: Sequence[str], customers: Sequence[int]) -> list[str]:
    return [f"{s},{w},{c}" for s, w, c in zip(store, week_date, customers, strict=True)]


class TreeWriter:
    """Writes the files of one tree and remembers what the manifest lists: rows, bytes, sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, tuple[BinaryIO, object, str]] = {}
        self._files: dict[str, dict] = {}

    def write(self, relative: str, kind: str, lines: Iterable[str]) -> None:
        """A whole file at once: the header, then ``lines``."""
        self.start(relative, kind)
        self.append(relative, lines)
        self.finish(relative)

    def start(self, relative: str, kind: str) -> None:
        """Open a file that is filled by several ``append`` calls (one per store)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("wb")
        self._open[relative] = (handle, hashlib.sha256(), LINE_ENDS[kind])
        self._files[relative] = {"path": relative, "dataset": kind, "rows": 0, "bytes": 0}
        self._emit(relative, [HEADERS[kind]], counts_as_rows=False)

    def append(self, relative: str, lines: Iterable[str]) -> None:
        self._emit(relative, list(lines), counts_as_rows=True)

    def finish(self, relative: str) -> None:
        handle, digest, _ = self._open.pop(relative)
        handle.close()
        self._files[relative]["sha256"] = digest.hexdigest()

    def close(self) -> None:
        for relative in list(self._open):
            self.finish(relative)

    def _emit(self, relative: str, lines: list[str], counts_as_rows: bool) -> None:
        if not lines:
            return
        handle, digest, line_end = self._open[relative]
        data = (line_end.join(lines) + line_end).encode("utf-8")
        handle.write(data)
        digest.update(data)
        entry = self._files[relative]
        entry["bytes"] += len(data)
        if counts_as_rows:
            entry["rows"] += len(lines)

    @property
    def files(self) -> list[dict]:
        return [self._files[relative] for relative in sorted(self._files)]

    def rows_per_dataset(self) -> dict[str, int]:
        rows: Counter[str] = Counter()
        for entry in self._files.values():
            rows[entry["dataset"]] += entry["rows"]
        return dict(sorted(rows.items()))


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(incoming: Path) -> dict | None:
    try:
        return json.loads((incoming / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def dataset_identity(manifest: dict | None) -> dict:
    """What makes one delivered dataset differ from another: the generator request, or the real files."""
    if manifest is None:
        return {"source": "unknown"}
    if manifest.get("source") == "synthetic":
        keys = ("source", "generator_version", "request")
    else:
        keys = ("source", "inputs")
    return {key: manifest.get(key) for key in keys}


def describe_dataset(identity: dict) -> str:
    source = identity.get("source")
    if source == "synthetic":
        request = identity.get("request") or {}
        stores = f", {request['stores']} stores" if request.get("stores") else ""
        return (
            f"synthetic (scale {request.get('scale')}, seed {request.get('seed')}, "
            f"{request.get('defects')} defects{stores})"
        )
    if source == "kaggle":
        return "real Kaggle files (" + ", ".join(i["path"] for i in identity.get("inputs") or []) + ")"
    return "files without a manifest"


def tree_matches_manifest(incoming: Path, manifest: dict) -> bool:
    """Every file the manifest lists is present with its recorded size and sha256."""
    for entry in manifest.get("files", []):
        path = incoming / entry["path"]
        if (
            not path.is_file()
            or path.stat().st_size != entry["bytes"]
            or file_sha256(path) != entry["sha256"]
        ):
            return False
    return True


def replace_tree(staged: Path, incoming: Path) -> None:
    """Swap a completely written tree into place, so a crash never leaves a half-written ``incoming/``."""
    retired = incoming.with_name(f".{incoming.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if incoming.exists():
        incoming.rename(retired)
    staged.rename(incoming)
    shutil.rmtree(retired, ignore_errors=True)
