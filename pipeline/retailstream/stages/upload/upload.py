"""Upload the incoming tree into the raw bucket, verified and idempotent.

``incoming/sales/store=NN/…``, ``incoming/stores/…`` and ``incoming/store_traffic/…`` become
``s3://<raw>/<prefix>/<dataset prefix>/…`` with the same relative path (partition-style keys). Features go
to HDFS in stage 2, not here.

Per file: the sha256 is computed locally and stored in the object's metadata (and sent as the S3
checksum, which real S3 verifies on arrival); after the upload the object is read back and hashed,
because an emulator may store corrupted bytes without complaint. A mismatch, throttling, a 5xx or a
connection problem is retried with exponential backoff. A file whose object already carries the same
sha256 is skipped, so a second run uploads nothing; the listing already shows it when the object's ETag
is the file's MD5 (a single-part upload), so an unchanged tree costs one listing, not a request per
file. Files above ``settings.multipart_threshold_mb`` go through the multipart transfer manager.

The incoming tree is what the stores deliver now: an object of the dataset prefixes whose file is no
longer there is retracted (deleted; the bucket's versioning keeps its history), and the Glue job then
retracts every row derived from it. Every run writes a manifest to ``<prefix>/_manifests/`` and the
identity of the delivered dataset to ``<prefix>/_dataset.json`` (a change is logged and reported).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from retailstream import clients
from retailstream.datasets import layout
from retailstream.fingerprint import file_sha256_md5
from retailstream.monitoring.metrics import stage_run
from retailstream.s3util import is_retryable, iter_objects, join_key
from retailstream.settings import Settings

log = logging.getLogger(__name__)

# Datasets that travel through S3 (features go to HDFS in stage 2).
S3_DATASETS = ("sales", "stores", "store_traffic")
MAX_ATTEMPTS = 5
# Beside the dataset prefixes: the identity of the dataset the incoming tree held at the last upload.
DATASET_KEY = "_dataset.json"
_BLOCK = 1 << 20


class ChecksumMismatch(Exception):
    """The object read back from S3 does not hash to the local file's sha256."""

    def __init__(self, key: str, expected: str, found: str):
        super().__init__(f"{key}: sha256 read back {found[:12]}…, expected {expected[:12]}…")


class UploadError(RuntimeError):
    """Some files could not be uploaded; ``report`` (and the manifest it names) says which and why."""

    def __init__(self, message: str, report: UploadReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass
class FileOutcome:
    path: str  # relative to the incoming tree
    key: str
    bytes: int
    sha256: str
    md5: str = ""  # S3's ETag for a single-part upload of these bytes
    status: str = "pending"  # uploaded | skipped | failed
    attempts: int = 0
    multipart: bool = False
    seconds: float = 0.0
    error: str = ""


@dataclass
class UploadReport:
    run_id: str
    bucket: str
    source: str
    started: str
    finished: str = ""
    seconds: float = 0.0
    manifest_key: str = ""
    files: list[FileOutcome] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)  # keys deleted: their files are no longer delivered
    dataset: dict = field(default_factory=dict)  # the delivered dataset's identity
    previous_dataset: dict | None = None  # the identity recorded by the previous upload, if it differs

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def uploaded(self) -> int:
        return self.count("uploaded")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def bytes_uploaded(self) -> int:
        return sum(f.bytes for f in self.files if f.status == "uploaded")

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "totals": {
                "files": len(self.files),
                "uploaded": self.uploaded,
                "skipped": self.skipped,
                "failed": self.failed,
                "retracted": len(self.retracted),
                "bytes_uploaded": self.bytes_uploaded,
            },
        }


def dataset_prefixes(s: Settings) -> dict[str, str]:
    """Incoming folder → key prefix in the buckets."""
    return {"sales": s.sales_prefix, "stores": s.stores_prefix, "store_traffic": s.traffic_prefix}


def plan_files(source: Path, s: Settings, prefix: str = "") -> list[tuple[Path, FileOutcome]]:
    """Every incoming file of the S3 datasets with its target key, in a stable order."""
    planned = []
    for folder, key_prefix in dataset_prefixes(s).items():
        root = source / folder
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
            relative = path.relative_to(root).as_posix()
            sha256, md5 = file_sha256_md5(path)
            outcome = FileOutcome(
                path=f"{folder}/{relative}",
                key=join_key(prefix, key_prefix, relative),
                bytes=path.stat().st_size,
                sha256=sha256,
                md5=md5,
            )
            planned.append((path, outcome))
    return planned


def upload_incoming(
    settings: Settings,
    *,
    source: Path | None = None,
    bucket: str | None = None,
    prefix: str = "",
    workers: int | None = None,
    progress: bool = False,
    s3=None,
) -> UploadReport:
    """Upload ``source`` (default ``<datasets_dir>/incoming``) to ``bucket`` (default the raw bucket)
    under ``prefix``; returns the run's report, also written as the manifest. Raises ``UploadError``
    when a file still fails after the retries (the manifest is written first)."""
    s = settings
    source = Path(source or s.datasets_dir / "incoming")
    if not source.is_dir():
        raise UploadError(f"no incoming tree at {source}: run `retailstream data prepare` first")
    bucket = bucket or s.raw_bucket
    s3 = s3 or clients.aws_client("s3", s)
    threshold = s.multipart_threshold_mb * 2**20
    with stage_run("upload", s) as run:
        began = time.monotonic()
        report = UploadReport(
            run_id=uuid.uuid4().hex[:12],
            bucket=bucket,
            source=str(source),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        planned = plan_files(source, s, prefix)
        if not planned:
            raise UploadError(f"{source} holds no sales, stores or store_traffic files")
        report.files = [outcome for _, outcome in planned]
        prefixes = {join_key(prefix, key_prefix) for key_prefix in dataset_prefixes(s).values()}
        try:
            existing = _listed(s3, bucket, prefixes)
        except Exception as exc:  # no bucket, no permission, no endpoint: nothing can be uploaded
            raise UploadError(f"cannot list s3://{bucket}/{prefix}: {exc}") from exc
        with (
            _progress_bar(progress, len(planned)) as advance,
            ThreadPoolExecutor(workers or s.upload_workers) as pool,
        ):
            futures = [
                pool.submit(_upload_one, s3, bucket, path, outcome, existing, threshold)
                for path, outcome in planned
            ]
            for future in as_completed(futures):
                outcome = future.result()
                advance(outcome)
        if not report.failed:  # a failed run retracts nothing: the next one finishes the switch
            planned_keys = {outcome.key for _, outcome in planned}
            report.retracted = _retract(s3, bucket, sorted(set(existing) - planned_keys))
            report.dataset = layout.dataset_identity(layout.read_manifest(source))
            report.previous_dataset = _record_dataset(
                s3, bucket, join_key(prefix, DATASET_KEY), report.dataset
            )
        report.finished = datetime.now(UTC).isoformat(timespec="seconds")
        report.seconds = round(time.monotonic() - began, 3)
        report.manifest_key = join_key(
            prefix, s.upload_manifest_prefix, f"upload-{report.started.replace(':', '')}-{report.run_id}.json"
        )
        s3.put_object(
            Bucket=bucket,
            Key=report.manifest_key,
            Body=json.dumps(report.to_dict(), indent=2).encode(),
            ContentType="application/json",
        )
        log.info(
            "upload.done run_id=%s bucket=%s files=%d uploaded=%d skipped=%d failed=%d retracted=%d bytes=%d "
            "seconds=%.2f manifest=%s",
            report.run_id,
            bucket,
            len(report.files),
            report.uploaded,
            report.skipped,
            report.failed,
            len(report.retracted),
            report.bytes_uploaded,
            report.seconds,
            report.manifest_key,
        )
        run.rows_in = len(report.files)  # for this stage a "row" is a file
        run.rows_out = report.uploaded
        run.rows_duplicate = report.skipped
        run.bytes = report.bytes_uploaded
        run.details = {
            "run_id": report.run_id,
            "manifest": report.manifest_key,
            "retracted": len(report.retracted),
        }
        if report.failed:
            first = next(f for f in report.files if f.status == "failed")
            raise UploadError(
                f"{report.failed} of {len(report.files)} files failed to upload "
                f"(first: {first.path}: {first.error}); manifest s3://{bucket}/{report.manifest_key}",
                report,
            )
    return report


def _listed(s3, bucket: str, prefixes: set[str]) -> dict[str, tuple[int, str]]:
    """One listing per dataset prefix: key → (size, ETag)."""
    return {
        obj["Key"]: (obj["Size"], obj["ETag"].strip('"'))
        for prefix in prefixes
        for obj in iter_objects(s3, bucket, prefix)
    }


def _retract(s3, bucket: str, keys: list[str]) -> list[str]:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    for key in keys:
        log.info("upload.retracted key=%s", key)
    return keys


def _record_dataset(s3, bucket: str, key: str, identity: dict) -> dict | None:
    """Record the delivered dataset's identity; return the previously recorded one when it differs."""
    try:
        previous = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        previous = None
    if previous == identity:
        return None
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(identity).encode(), ContentType="application/json")
    if previous is not None:
        log.warning(
            "upload.dataset_changed from=%r to=%r",
            layout.describe_dataset(previous),
            layout.describe_dataset(identity),
        )
    return previous


def _already_there(s3, bucket: str, outcome: FileOutcome, existing: dict[str, tuple[int, str]]) -> bool:
    """The object holds the file's bytes: its listed ETag is their MD5, or (a multipart upload, an
    encrypted bucket: an ETag that is no MD5) the sha256 in its metadata is theirs."""
    size, etag = existing.get(outcome.key, (None, None))
    if size != outcome.bytes:
        return False
    if etag == outcome.md5:
        return True
    head = s3.head_object(Bucket=bucket, Key=outcome.key)
    return head.get("Metadata", {}).get("sha256") == outcome.sha256


def _upload_one(
    s3, bucket: str, path: Path, outcome: FileOutcome, existing: dict[str, tuple[int, str]], threshold: int
) -> FileOutcome:
    began = time.monotonic()
    try:
        if _already_there(s3, bucket, outcome, existing):
            outcome.status = "skipped"
            return outcome
        outcome.multipart = outcome.bytes >= threshold
        for attempt in Retrying(
            retry=retry_if_exception(lambda e: is_retryable(e) or isinstance(e, ChecksumMismatch)),
            wait=wait_exponential_jitter(multiplier=0.2, max=5, jitter=0.2),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            before_sleep=_log_retry(outcome),
            reraise=True,
        ):
            with attempt:
                outcome.attempts += 1
                _put(s3, bucket, path, outcome, threshold)
                _verify(s3, bucket, outcome)
        outcome.status = "uploaded"
    except Exception as exc:  # recorded per file: the run goes on and reports every failure at the end
        outcome.status = "failed"
        outcome.error = _describe(exc)
        log.error("upload.failed key=%s attempts=%d error=%s", outcome.key, outcome.attempts, outcome.error)
    finally:
        outcome.seconds = round(time.monotonic() - began, 4)
    if outcome.status == "uploaded":
        log.info(
            "upload.file key=%s bytes=%d attempts=%d multipart=%s seconds=%.3f",
            outcome.key,
            outcome.bytes,
            outcome.attempts,
            outcome.multipart,
            outcome.seconds,
        )
    return outcome


def _put(s3, bucket: str, path: Path, outcome: FileOutcome, threshold: int) -> None:
    metadata = {"sha256": outcome.sha256, "source-path": outcome.path}
    content_type = "text/csv" if path.suffix == ".csv" else "application/octet-stream"
    if not outcome.multipart:
        s3.put_object(
            Bucket=bucket,
            Key=outcome.key,
            Body=path.read_bytes(),
            Metadata=metadata,
            ContentType=content_type,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(outcome.sha256)).decode(),
        )
        return
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=threshold, max_concurrency=4)
    with path.open("rb") as handle:
        s3.upload_fileobj(
            handle,
            bucket,
            outcome.key,
            ExtraArgs={"Metadata": metadata, "ContentType": content_type, "ChecksumAlgorithm": "SHA256"},
            Config=config,
        )


def _verify(s3, bucket: str, outcome: FileOutcome) -> None:
    response = s3.get_object(Bucket=bucket, Key=outcome.key)
    digest = hashlib.sha256()
    for block in response["Body"].iter_chunks(_BLOCK):
        digest.update(block)
    found = digest.hexdigest()
    if found != outcome.sha256 or response.get("Metadata", {}).get("sha256") != outcome.sha256:
        raise ChecksumMismatch(outcome.key, outcome.sha256, found)


def _describe(error: BaseException | None) -> str:
    return f"{error.__class__.__name__}: {error}"


def _log_retry(outcome: FileOutcome):
    def before_sleep(state: RetryCallState) -> None:
        log.warning(
            "upload.retry key=%s attempt=%d wait=%.2fs error=%s",
            outcome.key,
            state.attempt_number,
            state.next_action.sleep if state.next_action else 0.0,
            _describe(state.outcome.exception()) if state.outcome else "",
        )

    return before_sleep


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[FileOutcome], None]]:
    """A rich progress bar advanced once per finished file (a no-op when ``enabled`` is false)."""
    if not enabled:
        yield lambda outcome: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]upload"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, TextColumn("{task.fields[last]}")) as bar:
        task = bar.add_task("upload", total=total, last="")
        yield lambda outcome: bar.update(task, advance=1, last=f"{outcome.status:8} {outcome.path}")
