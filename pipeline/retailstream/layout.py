"""Where the native lab keeps its state: one ignored directory, a folder per concern."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from retailstream.settings import Settings, get_settings


@dataclass(frozen=True)
class LabLayout:
    root: Path

    @classmethod
    def of(cls, settings: Settings | None = None) -> LabLayout:
        return cls((settings or get_settings()).lab_dir)

    @property
    def conf(self) -> Path:  # rendered configuration files
        return self.root / "conf"

    @property
    def data(self) -> Path:  # service data (databases, HDFS blocks, TSDB) — survives down/up
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:  # sockets and pid files
        return self.root / "run"

    @property
    def jars(self) -> Path:  # fetched by `make setup`; kept by `make clean`
        return self.root / "jars" / "lib"

    @property
    def classes(self) -> Path:  # the lab's own small Java launcher, compiled by `make setup`
        return self.root / "jars" / "classes"

    @property
    def bin(self) -> Path:  # binaries built by `make setup` (statsd_exporter)
        return self.root / "bin"

    @property
    def supervisor_conf(self) -> Path:
        return self.conf / "supervisord.conf"

    @property
    def supervisor_socket(self) -> Path:
        return self.run / "supervisor.sock"

    @property
    def mariadb_socket(self) -> Path:
        return self.run / "mariadb.sock"

    @property
    def postgres_data(self) -> Path:
        """PostgreSQL's data folder (and its socket's): in the lab's data, unless the lab runs as root
        from a folder the ``postgres`` user cannot enter (a checkout under /root) — PostgreSQL refuses
        to run as root — then in that user's home, one folder per lab."""
        inside = self.data / "postgres"
        if os.geteuid() != 0 or _enterable_by_postgres(inside.parent):
            return inside
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
        return Path("/var/lib/postgresql") / f"retailstream-{digest}"

    def ensure(self) -> None:
        for path in (self.conf, self.data, self.logs, self.run):
            path.mkdir(parents=True, exist_ok=True)


def _enterable_by_postgres(folder: Path) -> bool:
    """Whether the ``postgres`` user may search every folder from / to ``folder`` (its nearest existing
    ancestor: the rest is created by root with search for all)."""
    import grp
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        return True  # no such user: the server cannot start anyway, and says why
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if "postgres" in g.gr_mem}
    path = folder.resolve()
    while not path.exists():
        path = path.parent
    for part in (path, *path.parents):
        st = part.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid in groups:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return False
    return True
