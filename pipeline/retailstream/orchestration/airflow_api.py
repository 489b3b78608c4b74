"""A small client for Airflow 3's stable REST API (v2), authenticated with the lab's admin user."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests

from retailstream.settings import Settings, get_settings

FINISHED = {"success", "failed"}


@dataclass
class TaskState:
    task_id: str
    state: str | None
    try_number: int
    duration: float | None
    start_date: datetime | None = None
    end_date: datetime | None = None


class AirflowClient:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.base = f"{self.settings.airflow_url}/api/v2"
        self._session = requests.Session()
        self._token_expiry = 0.0

    def _auth(self) -> None:
        if time.monotonic() < self._token_expiry:
            return
        s = self.settings
        response = requests.post(
            f"{s.airflow_url}/auth/token",
            json={"username": s.airflow_admin_user, "password": s.secret("airflow_admin_password")},
            timeout=10,
        )
        response.raise_for_status()
        self._session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self._token_expiry = time.monotonic() + 600  # tokens live longer; refresh early

    def _call(self, method: str, path: str, **kwargs) -> dict:
        self._auth()
        response = self._session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"Airflow {method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """The DAG as the API sees it, once the dag-processor has parsed it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._call("GET", f"/dags/{dag_id}")
            except RuntimeError as exc:
                if "404" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(2)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def import_errors(self) -> list[dict]:
        return self._call("GET", "/importErrors").get("import_errors", [])

    def trigger(self, dag_id: str, conf: dict | None = None, run_id: str | None = None) -> str:
        body = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def latest_run_id(self, dag_id: str, state: str | None = None) -> str | None:
        """The newest run (by start), optionally only in ``state``; None when there is none."""
        params: dict = {"order_by": "-start_date", "limit": 1}
        if state:
            params["state"] = state
        runs = self._call("GET", f"/dags/{dag_id}/dagRuns", params=params)["dag_runs"]
        return runs[0]["dag_run_id"] if runs else None

    def recent(self, path: str, key: str, limit: int = 100) -> list[dict]:
        """The newest items (by start) of a list endpoint, e.g. ``/dags/D/dagRuns`` → ``dag_runs``."""
        return self._call("GET", path, params={"order_by": "-start_date", "limit": limit})[key]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self._call("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_states(self, dag_id: str, run_id: str) -> list[TaskState]:
        items = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return [
            TaskState(
                i["task_id"],
                i["state"],
                i.get("try_number") or 0,
                i.get("duration"),
                _instant(i.get("start_date")),
                _instant(i.get("end_date")),
            )
            for i in items
        ]

    def follow(self, dag_id: str, run_id: str, on_update=None, timeout: float = 1800, poll: float = 2) -> str:
        """Poll until the run finishes; ``on_update(states)`` sees every change. Returns the run state."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            states = self.task_states(dag_id, run_id)
            snapshot = [(t.task_id, t.state, t.try_number) for t in states]
            if on_update and snapshot != last:
                on_update(states)
                last = snapshot
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                if on_update:
                    on_update(self.task_states(dag_id, run_id))
                return state
            time.sleep(poll)
        raise TimeoutError(f"DAG run {dag_id}/{run_id} did not finish within {timeout:.0f}s")


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
