"""The compose stack seen from inside it: the same operations as the native ``Lab`` on containers.

The Makefile starts and stops the stack with `docker compose` on the host. Inside the stack (the
``tools`` service, where `make status|demo|test` run), ``ComposeLab`` inspects, stops, kills and starts
the stack's containers through the Docker Engine API on the mounted socket, and checks health with the
same protocol checks as the native lab — so `retailstream lab status` and the tests that restart services
work on either backend.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from retailstream.lab import health
from retailstream.lab.container import wait_until_healthy
from retailstream.lab.control import LabError, ServiceStatus
from retailstream.lab.services import Service, build_services
from retailstream.layout import LabLayout
from retailstream.settings import Settings, get_settings

PROJECT = "retailstream"  # compose's project name (the Makefile's -p)
_SERVICE = "com.docker.compose.service"


class ComposeLab:
    def __init__(self, settings: Settings | None = None):
        import docker

        self.settings = settings or get_settings()
        self.layout = LabLayout.of(self.settings)
        self.docker = docker.from_env()

    def services(self) -> list[Service]:
        return build_services(self.settings, self.layout)

    def _containers(self) -> dict[str, object]:
        """The lab's service containers (not the one-shot or on-demand ones), by compose service name."""
        names = {svc.name for svc in self.services()}
        found = self.docker.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={PROJECT}"}
        )
        return {c.labels[_SERVICE]: c for c in found if c.labels.get(_SERVICE) in names}

    def _container(self, name: str):
        container = self._containers().get(name)
        if container is None:
            raise LabError(f"no container of service {name!r} in the compose project {PROJECT!r}")
        return container

    def up(self, log=print) -> float:
        """Start every stopped service container; return when all pass their protocol check."""
        began = time.monotonic()
        for name, container in self._containers().items():
            if container.status != "running":
                container.start()
                log(f"{name}: started")
        try:
            wait_until_healthy(self.settings, timeout=600, log=log)
        except TimeoutError as exc:
            raise LabError(str(exc)) from exc
        return time.monotonic() - began

    def down(self) -> None:
        """Stop every service container (data kept in the volumes), as `docker compose stop` does."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda c: c.stop(timeout=30), self._containers().values()))

    def stop(self, name: str) -> None:
        self._container(name).stop(timeout=30)

    def kill(self, name: str) -> None:
        """SIGKILL the service; it stays down (Docker restarts no container killed through its API)
        until ``up``."""
        self._container(name).kill()

    def started_at(self, name: str) -> str:
        container = self._container(name)
        container.reload()
        return container.attrs["State"]["StartedAt"]

    def clean(self) -> None:
        raise LabError(
            "the stack's volumes are removed from the host: `make clean` (RETAILSTREAM_LAB=compose)"
        )

    def process_tree(self) -> list[int]:
        return []  # the containers' environments are compose's: no process here can leak into them

    def status(self) -> list[ServiceStatus]:
        containers = self._containers()

        def row(svc: Service) -> ServiceStatus:
            container = containers.get(svc.name)
            if container is None:
                return ServiceStatus(svc.name, "ABSENT", 0, svc.ports, False, "", 0.0, "", svc.version)
            healthy, detail = False, container.attrs["State"].get("Health", {}).get("Status", "")
            memory = 0.0
            if container.status == "running":
                try:
                    svc.check(self.settings)
                    healthy, detail = True, "ok"
                except health.Unhealthy as exc:
                    detail = str(exc)
                stats = container.stats(stream=False, one_shot=True)
                memory = stats.get("memory_stats", {}).get("usage", 0) / 2**20
            published = [
                binding["HostPort"]
                for bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).values()
                for binding in bindings or []
            ]
            ui = self.settings.public_url(_ui_name(svc.name), svc.ui) if published else ""
            return ServiceStatus(
                name=svc.name,
                state=container.status.upper(),
                pid=0,
                ports=tuple(int(port) for port in published) or svc.ports,
                healthy=healthy,
                detail=detail,
                rss_mb=memory,
                ui=ui,
                version=svc.version,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(row, self.services()))


def _ui_name(service: str) -> str:
    """The published_urls key of a service's UI."""
    return {
        "airflow-api": "airflow",
        "namenode": "webhdfs",
        "resourcemanager": "yarn",
        "mariadb": "rds",
    }.get(service, service)
