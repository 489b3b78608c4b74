"""The lab's services one per container (the compose stack in compose/): the same command lines, hooks
and protocol checks as the native lab (``services.build_services``), without supervisord.

``run_service`` is a container's whole life: render the configs, run the service's ``prepare`` hook,
then replace itself with the service's process (compose restarts it when it exits). A service's
``ready`` hook (MariaDB's accounts, moto's buckets/queues/Glue/Lambda, HDFS folders, the Hive database)
runs beside it in a detached helper, as the native lab runs it after each start: MariaDB's accounts
need the server's unix socket, its health check and the metastore need the accounts, and moto forgets
its resources whenever it restarts. The container is healthy only once that hook has finished
(``check(..., after_hooks=True)``). ``wait_until_healthy`` is the stack's one-shot bootstrap: every
protocol check, run from another container, in dependency order.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

from retailstream.lab import health
from retailstream.lab.configs import render_configs
from retailstream.lab.services import Service, build_services, start_order
from retailstream.layout import LabLayout
from retailstream.settings import Settings, get_settings


def service(name: str, settings: Settings | None = None) -> Service:
    s = settings or get_settings()
    services = {svc.name: svc for svc in build_services(s, LabLayout.of(s))}
    if name not in services:
        raise ValueError(f"unknown service {name!r}; one of: {', '.join(services)}")
    return services[name]


def _hooks_done_marker(layout: LabLayout, name: str):
    return layout.run / "hooks-done" / name


def _hooks_failed_marker(layout: LabLayout, name: str):
    """Why the ready hook gave up: the health check reports it (docker inspect, make status, make up)."""
    return layout.run / "hooks-failed" / name


def bring_ready(svc: Service, s: Settings, layout: LabLayout, timeout: float) -> float:
    """Run the ready hook, then the check, until both pass (as ``lab up`` does); return the seconds."""
    began = time.monotonic()
    reason = "not checked yet"
    while time.monotonic() - began < timeout:
        try:
            if svc.ready:
                svc.ready(s, layout)
            svc.check(s)
            return time.monotonic() - began
        except health.Unrecoverable:
            raise
        except Exception as exc:  # a service still starting fails in many ways; retry until the deadline
            reason = f"{exc.__class__.__name__}: {exc}"
        time.sleep(1)
    raise TimeoutError(f"{svc.name} not ready after {timeout:.0f}s: {reason}")


def _ready_in_background(svc: Service, s: Settings, layout: LabLayout) -> None:
    """Fork a helper that runs the ready hook once the service answers, then records that it did.

    Double fork: the helper is adopted by the container's init (compose ``init: true``) and reaped
    there, not left as a zombie child of the service process that replaces this one."""
    marker = _hooks_done_marker(layout, svc.name)
    marker.unlink(missing_ok=True)
    failed = _hooks_failed_marker(layout, svc.name)
    failed.unlink(missing_ok=True)
    service_pid = os.getpid()  # the service's process once this one has exec'd
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    if os.fork():
        os._exit(0)
    code = 0
    try:
        seconds = bring_ready(svc, s, layout, timeout=max(svc.start_timeout, 300))
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{time.time():.0f}\n")
        print(f"[run-service] {svc.name}: ready hook done, healthy after {seconds:.1f}s", file=sys.stderr)
    except Exception as exc:
        print(f"[run-service] {svc.name}: ready hook failed: {exc}", file=sys.stderr)
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(str(exc))
        code = 1
        if isinstance(exc, health.Unrecoverable):
            # Stop the service: the container exits (and restarts) at once, visibly, instead of
            # staying "starting" through the health check's whole start period.
            os.kill(service_pid, signal.SIGTERM)
    finally:
        sys.stderr.flush()
        os._exit(code)


def run_service(name: str, settings: Settings | None = None) -> None:
    """Render the configs, prepare, start the ready helper, then exec the service (never returns)."""
    s = settings or get_settings()
    layout = LabLayout.of(s)
    layout.ensure()
    svc = service(name, s)
    render_configs(s, layout)
    if svc.prepare:
        svc.prepare(s, layout)
    if svc.ready:
        _ready_in_background(svc, s, layout)
    else:
        _hooks_done_marker(layout, name).parent.mkdir(parents=True, exist_ok=True)
        _hooks_done_marker(layout, name).touch()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(svc.command[0], svc.command, {**os.environ, **svc.env})


def check(name: str, settings: Settings | None = None, after_hooks: bool = False) -> None:
    """The service's protocol check; raises ``health.Unhealthy``. With ``after_hooks`` (a container's
    health check) the service is unhealthy until ``run_service``'s ready hook has finished."""
    s = settings or get_settings()
    svc = service(name, s)
    layout = LabLayout.of(s)
    if after_hooks and _hooks_failed_marker(layout, name).exists():
        reason = _hooks_failed_marker(layout, name).read_text()
        raise health.Unrecoverable(f"ready hook failed: {reason}")
    if after_hooks and not _hooks_done_marker(layout, name).exists():
        raise health.Unhealthy("ready hook not finished (see the container's log)")
    svc.check(s)


def wait_until_healthy(
    settings: Settings | None = None,
    timeout: float = 600,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Every service's protocol check, in dependency order, retried until ``timeout`` (seconds overall);
    returns the seconds each took to pass. Raises TimeoutError naming the first service that did not."""
    s = settings or get_settings()
    began = time.monotonic()
    passed: dict[str, float] = {}
    for wave in start_order(build_services(s, LabLayout.of(s))):
        for svc in wave:
            reason = "not checked yet"
            while True:
                try:
                    svc.check(s)
                    passed[svc.name] = time.monotonic() - began
                    log(f"{svc.name}: healthy ({passed[svc.name]:.1f}s)")
                    break
                except Exception as exc:  # Unhealthy, or a client failing while the service starts
                    reason = str(exc)
                if time.monotonic() - began > timeout:
                    raise TimeoutError(f"{svc.name} is not healthy after {timeout:.0f}s: {reason}")
                time.sleep(2)
    return passed
