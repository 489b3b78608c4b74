"""Put the feature files into HDFS's raw area (``/retail/raw/features``) over WebHDFS, idempotently.

Each file is identified by its SHA-256. A ``_manifest.json`` beside the files (ignored by Spark, like any
name starting with ``_``) records, per file, that digest, the size and the checksum HDFS computed after
the upload. A file is uploaded again only when its local digest changed, or when the copy in HDFS is
missing or no longer has the checksum recorded for it (overwritten or damaged behind our back). A file
is written under a hidden temporary name and renamed into place, so readers never see half a file.
The folder mirrors what is delivered: a file of it that is no longer delivered is deleted (retracted),
and the feature job then rebuilds its table without that file's rows.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retailstream import clients
from retailstream.fingerprint import file_sha256
from retailstream.monitoring.metrics import stage_run
from retailstream.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
# progress(file name, bytes of this file sent so far) — HdfsCLI reports per chunk.
Progress = Callable[[str, int], None]


@dataclass
class UploadReport:
    hdfs_dir: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0

    @property
    def files(self) -> int:
        return len(self.uploaded) + len(self.skipped)


def features_source_dir(settings: Settings) -> Path:
    return settings.datasets_dir / "incoming" / "features"


def features_hdfs_dir(settings: Settings) -> str:
    return posixpath.join(settings.hdfs_raw_dir, "features")


def data_lines(path: Path) -> int:
    """Rows of a CSV file with a header line (any line ends)."""
    return max(len([line for line in path.read_bytes().splitlines() if line.strip()]) - 1, 0)


def _read_manifest(client, hdfs_dir: str) -> dict:
    path = posixpath.join(hdfs_dir, MANIFEST)
    if client.status(path, strict=False) is None:
        return {}
    with client.read(path, encoding="utf-8") as reader:
        return json.load(reader)


def _write_manifest(client, hdfs_dir: str, manifest: dict) -> None:
    client.write(
        posixpath.join(hdfs_dir, MANIFEST),
        data=json.dumps(manifest, indent=1, sort_keys=True),
        overwrite=True,
        encoding="utf-8",
    )


def _hdfs_checksum(client, path: str) -> str | None:
    if client.status(path, strict=False) is None:
        return None
    checksum = client.checksum(path)
    return f"{checksum['algorithm']}:{checksum['bytes']}"


def upload_files(
    files: list[Path],
    hdfs_dir: str,
    settings: Settings,
    progress: Progress | None = None,
) -> UploadReport:
    """Upload ``files`` into ``hdfs_dir`` unless HDFS already holds the same content there."""
    client = clients.hdfs_client(settings)
    client.makedirs(hdfs_dir)
    manifest = _read_manifest(client, hdfs_dir)
    report = UploadReport(hdfs_dir)
    for path in sorted(files):
        target = posixpath.join(hdfs_dir, path.name)
        digest = file_sha256(path)
        recorded = manifest.get(path.name, {})
        if recorded.get("sha256") == digest and recorded.get("hdfs_checksum") == _hdfs_checksum(
            client, target
        ):
            report.skipped.append(path.name)
            continue
        temporary = posixpath.join(hdfs_dir, f".{path.name}.uploading")
        on_chunk = (lambda _local, sent, name=path.name: progress(name, sent)) if progress else None
        client.upload(temporary, str(path), overwrite=True, progress=on_chunk)
        size = path.stat().st_size
        if client.status(temporary)["length"] != size:
            raise OSError(f"HDFS holds {temporary} with a different length than {path} ({size} bytes)")
        client.delete(target)
        client.rename(temporary, target)
        manifest[path.name] = {
            "sha256": digest,
            "bytes": size,
            "hdfs_checksum": _hdfs_checksum(client, target),
        }
        # Written after every file: an interrupted run keeps what it finished.
        _write_manifest(client, hdfs_dir, manifest)
        report.uploaded.append(path.name)
        report.bytes_uploaded += size
        log.info("uploaded %s → %s (%d bytes)", path, target, size)
    delivered = {path.name for path in files}
    for name in sorted(client.list(hdfs_dir)):
        if name not in delivered and not name.startswith(("_", ".")):
            client.delete(posixpath.join(hdfs_dir, name), recursive=True)
            manifest.pop(name, None)
            report.retracted.append(name)
            log.info("retracted %s (no longer delivered)", posixpath.join(hdfs_dir, name))
    if report.retracted:
        _write_manifest(client, hdfs_dir, manifest)
    return report


def upload_features(
    settings: Settings,
    *,
    source_dir: Path | None = None,
    hdfs_dir: str | None = None,
    progress: Progress | None = None,
) -> UploadReport:
    """Stage ``features_hdfs``: every ``*.csv`` of ``datasets/incoming/features`` into the raw area."""
    s = settings
    source = source_dir or features_source_dir(s)
    files = sorted(source.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no feature files (*.csv) in {source}: run `retailstream data prepare`")
    with stage_run("features_hdfs", s) as run:
        report = upload_files(files, hdfs_dir or features_hdfs_dir(s), s, progress)
        run.rows_in = run.rows_out = sum(data_lines(path) for path in files)
        run.bytes = report.bytes_uploaded
        run.details.update(
            uploaded=len(report.uploaded), skipped=len(report.skipped), retracted=len(report.retracted)
        )
    return report
