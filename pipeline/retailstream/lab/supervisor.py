"""The lab's processes run under supervisord; this talks to it over its XML-RPC unix socket."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Mapping
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from retailstream.layout import LabLayout

# A test runner's markers never reach the lab's long-running processes.
_FOREIGN_PREFIXES = ("PYTEST_",)


def lab_environment(environment: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environment.items() if not k.startswith(_FOREIGN_PREFIXES)}


class Supervisor:
    """``environment`` is what supervisord, and so every service it starts, runs with (default: this
    process's); a caller that changed its own environment (a test session) passes the lab's."""

    def __init__(self, layout: LabLayout, environment: Mapping[str, str] | None = None):
        self.layout = layout
        self.environment = environment

    @property
    def _rpc(self):
        transport = SupervisorTransport(None, None, f"unix://{self.layout.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        if not self.layout.supervisor_socket.exists():
            return False
        try:
            return self._rpc.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def start_daemon(self, timeout: float = 15) -> None:
        supervisord = Path(sys.executable).with_name("supervisord")
        subprocess.run(
            [str(supervisord), "-c", str(self.layout.supervisor_conf)],
            check=True,
            env=lab_environment(os.environ if self.environment is None else self.environment),
        )
        deadline = time.monotonic() + timeout
        while not self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {self.layout.logs / 'supervisord.log'}")
            time.sleep(0.2)

    def reload_config(self) -> None:
        """Pick up added/changed program sections without touching unchanged running programs."""
        added, changed, removed = self._rpc.reloadConfig()[0]
        for name in removed + changed:
            with contextlib.suppress(xmlrpc.client.Fault):  # already stopped
                self._rpc.stopProcess(name)
            self._rpc.removeProcessGroup(name)
        for name in added + changed:
            self._rpc.addProcessGroup(name)

    def info(self, name: str) -> dict:
        try:
            return self._rpc.getProcessInfo(name)
        except (OSError, xmlrpc.client.Fault):
            return {"statename": "ABSENT", "pid": 0}

    def all_info(self) -> dict[str, dict]:
        if not self.running():
            return {}
        return {p["name"]: p for p in self._rpc.getAllProcessInfo()}

    def start(self, name: str) -> None:
        try:
            self._rpc.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, name: str) -> None:
        try:
            self._rpc.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise

    def shutdown(self, timeout: float = 120) -> None:
        """Stop every program (reverse priority order), then supervisord itself, and wait for it."""
        if not self.running():
            return
        pid = self._rpc.getPID()
        self._rpc.stopAllProcesses(True)
        self._rpc.shutdown()
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord (pid {pid}) did not exit")
            time.sleep(0.2)

    def process_tree(self) -> list[int]:
        """supervisord's pid and those of every process under it (empty when it is not running)."""
        import psutil

        if not self.running():
            return []
        try:
            root = psutil.Process(self._rpc.getPID())
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.Error:
            return []

    def tail(self, name: str, lines: int = 30) -> str:
        log = self.layout.logs / f"{name}.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
