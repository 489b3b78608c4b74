"""Where the lab keeps PostgreSQL's data: the server runs as the ``postgres`` user, who must be able to
enter every folder above it."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from retailstream.layout import LabLayout, _enterable_by_postgres

needs_root_and_postgres = pytest.mark.skipif(
    os.geteuid() != 0 or not any(u.pw_name == "postgres" for u in pwd.getpwall()),
    reason="the fallback applies to a lab run as root on a machine with the postgres user",
)


@needs_root_and_postgres
def test_a_folder_the_postgres_user_cannot_enter_moves_the_data_out():
    base = Path(tempfile.mkdtemp())  # directly in /tmp: pytest's tmp_path sits in a folder only root enters
    try:
        _check_layout(base)
    finally:
        shutil.rmtree(base)


def _check_layout(base: Path) -> None:
    base.chmod(0o755)
    checkout = base / "checkout"
    (checkout / ".lab" / "data").mkdir(parents=True)
    checkout.chmod(0o700)  # like /root
    assert not _enterable_by_postgres(checkout / ".lab" / "data")
    outside = LabLayout(checkout / ".lab").postgres_data
    assert outside.parent.as_posix() == "/var/lib/postgresql" and outside.name.startswith("retailstream-")
    assert outside == LabLayout(checkout / ".lab").postgres_data  # the same lab, the same folder

    checkout.chmod(0o755)
    assert _enterable_by_postgres(checkout / ".lab" / "data" / "not-yet-made")
    assert LabLayout(checkout / ".lab").postgres_data == checkout / ".lab" / "data" / "postgres"
