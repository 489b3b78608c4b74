"""The ``retailstream`` package as a deployment zip (the Lambda's code, the Glue job's ``--extra-py-files``).

Without the lab, deploy, emulation, benchmark and CLI code. Entries carry a fixed timestamp, so the same
sources give the same bytes — the same ``CodeSha256``, the same S3 ETag: deploying unchanged code is a
no-op."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

EXCLUDED = {"lab", "deploy", "emulation", "bench", "walkthrough", "__pycache__"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def build_zip(*modules) -> bytes:
    """``retailstream`` and the given extra top-level modules (e.g. pymysql for the Lambda)."""
    import retailstream

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in (retailstream, *modules):
            root = Path(module.__file__).parent
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root.parent)
                if path.is_dir() or EXCLUDED & set(relative.parts) or path.name.endswith("cli.py"):
                    continue
                if path.suffix not in (".py", ".sql"):
                    continue
                info = zipfile.ZipInfo(relative.as_posix(), date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
