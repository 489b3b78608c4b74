"""Start, inspect and stop the native lab."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import psutil

from retailstream.lab import container, health
from retailstream.lab.configs import render_configs
from retailstream.lab.services import Service, build_services, start_order, supervisor_config
from retailstream.lab.supervisor import Supervisor
from retailstream.layout import LabLayout
from retailstream.settings import Settings, get_settings


class LabError(RuntimeError):
    pass


@dataclass
class ServiceStatus:
    name: str
    state: str
    pid: int
    ports: tuple[int, ...]
    healthy: bool
    detail: str
    rss_mb: float
    ui: str
    version: str


class Lab:
    def __init__(self, settings: Settings | None = None, environment: Mapping[str, str] | None = None):
        self.settings = settings or get_settings()
        self.layout = LabLayout.of(self.settings)
        self.supervisor = Supervisor(self.layout, environment)

    def services(self) -> list[Service]:
        return build_services(self.settings, self.layout)

    def _check_setup(self) -> None:
        if not self.layout.jars.is_dir() or not (self.layout.classes / "LoopbackMetaStore.class").exists():
            raise LabError("the lab's JVM artifacts are missing: run `make setup` first")

    def _port_owner(self, port: int) -> str | None:
        """Who holds ``port`` on the bind host, or None when it is free."""
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.settings.bind_host, port))
                return None
            except OSError:
                pass
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                try:
                    return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f"pid {conn.pid}"
        return "another process"

    def up(self, log=print) -> float:
        """Start every service in dependency order; return only when all pass their health check.

        A port held by a foreign process is reported before anything starts. If a service fails to
        become healthy, everything this call started is stopped again (no half-started lab).
        """
        began = time.monotonic()
        self._check_setup()
        self.layout.ensure()
        services = self.services()
        render_configs(self.settings, self.layout, supervisor_config(services, self.layout))
        fresh = not self.supervisor.running()
        states = {} if fresh else self.supervisor.all_info()
        busy = [
            f"{svc.name}: port {port} on {self.settings.bind_host} is already in use by {owner}"
            for svc in services
            if states.get(svc.name, {}).get("statename") != "RUNNING"
            for port in svc.ports
            if (owner := self._port_owner(port))
        ]
        if busy:
            raise LabError("cannot start the lab:\n  " + "\n  ".join(busy))
        if fresh:
            self.supervisor.start_daemon()
        else:
            self.supervisor.reload_config()
        started: list[str] = []
        try:
            self._bring_up_all(services, log, started)
        except Exception:
            if fresh:
                self.supervisor.shutdown()
            else:
                for name in reversed(started):
                    self.supervisor.stop(name)
            raise
        return time.monotonic() - began

    def _bring_up_all(self, services: list[Service], log, started: list[str]) -> None:
        """Each service starts as soon as the services it comes after are healthy, not wave by wave:
        HDFS → metastore → HiveServer2 and the Airflow chain are the lab's two critical paths, and
        neither should wait for the slowest service of an earlier wave. Appends to ``started`` the names
        of the services it started (also when one fails: the caller stops them again)."""
        failed = threading.Event()
        futures: dict[str, Future] = {}

        def after_dependencies(svc: Service) -> None:
            for name in svc.after:
                futures[name].exception()  # waits until it is up or has failed
            if failed.is_set():
                return
            try:
                if name := self._bring_up(svc, log):
                    started.append(name)
            except Exception:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            for wave in start_order(services):  # also rejects a dependency cycle before anything starts
                for svc in wave:
                    futures[svc.name] = pool.submit(after_dependencies, svc)
        errors = [exc for future in futures.values() if (exc := future.exception())]
        if errors:
            raise errors[0]

    def _bring_up(self, svc: Service, log) -> str | None:
        s = self.settings
        if self.supervisor.info(svc.name)["statename"] == "RUNNING":
            try:
                svc.check(s)
                healthy = True
            except health.Unhealthy as exc:
                healthy = False
                log(f"{svc.name}: running but unhealthy ({exc}) — restarting")
                self.supervisor.stop(svc.name)
            if healthy:
                # A failing bootstrap of a healthy service is reported, never "fixed" by a restart.
                if svc.ready:
                    svc.ready(s, self.layout)
                return None
        t0 = time.monotonic()
        if svc.prepare:
            svc.prepare(s, self.layout)
        self.supervisor.start(svc.name)
        deadline = time.monotonic() + svc.start_timeout
        reason = "not checked yet"
        while time.monotonic() < deadline:
            state = self.supervisor.info(svc.name)["statename"]
            if state in ("FATAL", "EXITED", "BACKOFF", "STOPPED"):
                reason = f"process {state.lower()}"
                break
            try:
                if svc.ready_after_restart:  # its own `run-service` runs the hook: wait for that
                    container.check(svc.name, s, after_hooks=True)
                else:
                    # ready() first: it creates what the health check verifies (e.g. MariaDB's users).
                    if svc.ready:
                        svc.ready(s, self.layout)
                    svc.check(s)
                log(f"{svc.name}: healthy in {time.monotonic() - t0:.1f}s")
                return svc.name
            except health.Unrecoverable as exc:
                raise LabError(f"{svc.name}: {exc}") from exc
            except Exception as exc:  # a service still starting fails in many ways; retry until deadline
                reason = f"{exc.__class__.__name__}: {exc}"
            time.sleep(0.5)
        raise LabError(
            f"{svc.name} did not become healthy ({reason}); last log lines "
            f"({self.layout.logs / (svc.name + '.log')}):\n{self.supervisor.tail(svc.name)}"
        )

    def status(self) -> list[ServiceStatus]:
        states = self.supervisor.all_info()
        rows = []
        for svc in self.services():
            info = states.get(svc.name, {"statename": "DOWN", "pid": 0})
            healthy, detail = False, ""
            if info["statename"] == "RUNNING":
                try:
                    svc.check(self.settings)
                    healthy, detail = True, "ok"
                except health.Unhealthy as exc:
                    detail = str(exc)
            rows.append(
                ServiceStatus(
                    name=svc.name,
                    state=info["statename"],
                    pid=info.get("pid", 0),
                    ports=svc.ports,
                    healthy=healthy,
                    detail=detail,
                    rss_mb=_tree_rss_mb(info.get("pid", 0)),
                    ui=svc.ui,
                    version=svc.version,
                )
            )
        return rows

    def stop(self, name: str) -> None:
        self.supervisor.stop(name)

    def kill(self, name: str) -> None:
        """SIGKILL the service's whole process group; it stays down (supervisord would restart a process
        that died unexpectedly) until ``up``."""
        os.killpg(self.supervisor.info(name)["pid"], signal.SIGKILL)
        self.supervisor.stop(name)

    def started_at(self, name: str) -> str:
        info = self.supervisor.info(name)
        return f"{info.get('pid')}@{info.get('start')}"

    def process_tree(self) -> list[int]:
        return self.supervisor.process_tree()

    def down(self) -> None:
        self.supervisor.shutdown()
        leftovers = [
            f"{svc.name}:{port}" for svc in self.services() for port in svc.ports if self._port_owner(port)
        ]
        if leftovers:
            raise LabError(f"ports still held after shutdown: {', '.join(leftovers)}")

    def clean(self) -> None:
        """Stop the lab and wipe its state (data, logs, rendered configs); keep the fetched jars."""
        self.down()
        # PostgreSQL's data is outside the lab's folder when the postgres user cannot enter it.
        for path in (
            self.layout.postgres_data,
            self.layout.data,
            self.layout.logs,
            self.layout.run,
            self.layout.conf,
        ):
            shutil.rmtree(path, ignore_errors=True)


def _tree_rss_mb(pid: int) -> float:
    if not pid:
        return 0.0
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20
    except psutil.Error:
        return 0.0


def open_lab(settings: Settings | None = None, environment: Mapping[str, str] | None = None):
    """The lab the settings name (``settings.lab``): the native one here, or the compose stack this
    process runs in. Both offer up, down, status, stop, kill and started_at."""
    s = settings or get_settings()
    if s.lab == "compose":
        from retailstream.lab.stack import ComposeLab

        return ComposeLab(s)
    return Lab(s, environment)
