"""Where the native lab keeps its state: one ignored directory, a folder per concern."""

from __future__ import annotations

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

    def ensure(self) -> None:
        for path in (self.conf, self.data, self.logs, self.run):
            path.mkdir(parents=True, exist_ok=True)
