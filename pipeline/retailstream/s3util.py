"""Small S3 helpers shared by the stage-1 subpackages: key joining, URIs, listings, retry classes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Error codes worth another attempt: throttling, server-side trouble and digests broken in transit.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "BadDigest",
        "InvalidDigest",
        "XAmzContentSHA256Mismatch",
    }
)


def join_key(*parts: str) -> str:
    """Join key segments, ignoring empty ones, without doubled slashes."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, prefix = uri[5:].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        return join_key(self.prefix, *parts)

    def uri(self, *parts: str) -> str:
        key = self.key(*parts)
        return f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}/"


def iter_objects(s3, bucket: str, prefix: str) -> Iterator[dict]:
    """Every object under ``prefix`` (a folder: a trailing slash is added), as ListObjectsV2 entries."""
    folder = prefix.rstrip("/") + "/" if prefix else ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
        yield from page.get("Contents", [])


def is_retryable(error: BaseException) -> bool:
    """Throttling, 5xx, broken digests and connection problems; never a client mistake (4xx)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ConnectionError | HTTPClientError):  # refused, reset, timed out
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    return False


def delete_prefix(s3, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many."""
    keys = [{"Key": obj["Key"]} for obj in iter_objects(s3, bucket, prefix)]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True})
    return len(keys)
