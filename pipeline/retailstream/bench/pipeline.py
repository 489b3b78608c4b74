"""`make bench pipeline` — the whole DAG at 1× and 20×, as a user's weekly run meets it.

Each scale gets a namespace of its own (its buckets, queues, databases and HDFS folders beside the
lab's, removed at the end) with the synthetic data of that scale (all 45 × N stores, seed 42). The real
DAG runs through Airflow's ``dag.test()`` in a child process, as the end-to-end tests run it: tasks one
after the other, Spark, Sqoop and the Glue runner started by the tasks. Measured:

- ``first run`` — a fresh namespace, every file new (the first ``make demo``), at 1× and at 20×;
- ``rerun, nothing new`` — the next week's run at 1× with no new files (a warm ``make demo``);
- the DAG's wall time as Airflow records it (first task start → last task end), and the peak RSS,
  sampled every 0.5 s,
  of the run's process tree plus — in the native lab — every lab service (moto keeps the objects in
  memory, so it grows with the data). In the compose stack the services' memory is the containers'
  (``make status``), not sampled here.

Set ``RETAILSTREAM_BENCH_PIPELINE_SCALES`` (e.g. ``1,5``) to run other scales; the first is the base.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psutil

from retailstream.bench.core import Goal, LimitGoal, Measurement
from retailstream.datasets.generator import GenerationRequest, generate
from retailstream.settings import Settings, namespace_env, namespaced_values

log = logging.getLogger(__name__)

FIRST, RERUN = "first run", "rerun, nothing new"
WEEK = datetime(2026, 11, 30, 6, tzinfo=UTC)  # the first run's logical date; a rerun is the next week's
# Issue 16, "Fast where users wait".
GOALS = (
    LimitGoal("first make demo on a fresh lab, 1× (DAG wall)", "pipeline 1x", FIRST, 60, "109–127 s"),
    LimitGoal("warm make demo, nothing new (DAG wall)", "pipeline 1x", RERUN, 15, "49 s"),
    Goal("whole pipeline 20× ÷ 1× (DAG wall)", "pipeline", "first run 20x", "first run 1x", True, 12, "—"),
)


def scales() -> list[int]:
    raw = os.environ.get("RETAILSTREAM_BENCH_PIPELINE_SCALES", "1,20")
    return [int(part) for part in raw.split(",") if part.strip()]


class PeakRss:
    """Samples the summed RSS of the given processes and all their children until stopped."""

    def __init__(self, roots):
        self.roots, self.peak = roots, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            pids = set()
            for pid in self.roots():
                try:
                    root = psutil.Process(pid)
                    pids.update([pid, *(child.pid for child in root.children(recursive=True))])
                except psutil.Error:
                    continue
            total = 0
            for pid in pids:
                try:
                    total += psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)


def _lab_pids(settings: Settings) -> list[int]:
    if settings.lab != "native":
        return []
    from retailstream.lab.control import Lab

    return Lab(settings).process_tree()


def _timed_run(settings: Settings, env: dict, airflow_home, week: datetime) -> tuple[float, int, dict]:
    from retailstream.orchestration.dag_test import finish_dag_test, start_dag_test

    lab_pids = _lab_pids(settings)
    process = start_dag_test(env, airflow_home, week)
    with PeakRss(lambda: [*lab_pids, process.pid]) as rss:
        outcome = finish_dag_test(process, airflow_home, timeout=3 * 3600)
    if outcome["state"] != "success":
        raise RuntimeError(f"the benchmark's DAG run failed: {outcome}")
    return outcome["seconds"], rss.peak, outcome


def _scale_run(settings: Settings, scale: int) -> list[Measurement]:
    from retailstream.lab import namespace
    from retailstream.orchestration.dag_test import prepare_airflow_home

    tag = f"bench_{scale}x_{uuid.uuid4().hex[:6]}"
    root = settings.lab_dir / "bench" / "pipeline" / tag
    s = settings.model_copy(update=namespaced_values(settings, tag, root))
    env = namespace_env(settings, tag, root)
    airflow_home = root / "airflow"
    results = []
    try:
        namespace.provision(s)
        manifest = generate(s.datasets_dir, GenerationRequest(scale=scale, seed=42))
        files = len(manifest["files"])
        prepare_airflow_home(env, airflow_home)  # Airflow's metadata DB, outside the timing
        variants = (FIRST, RERUN) if scale == scales()[0] else (FIRST,)
        for week, variant in enumerate(variants):
            seconds, peak, outcome = _timed_run(s, env, airflow_home, WEEK + timedelta(weeks=week))
            log.info("bench.pipeline scale=%s variant=%s seconds=%.1f", scale, variant, seconds)
            slowest = sorted(outcome["durations"].items(), key=lambda item: -item[1])[:3]
            notes = {
                "files": files,
                "peak_rss_gb": f"{peak / 2**30:.2f}",
                "slowest": " ".join(f"{task} {took:.0f}s" for task, took in slowest),
            }
            results.append(
                Measurement(
                    f"pipeline {scale}x",
                    variant,
                    seconds,
                    rows=sum(manifest["rows"].values()) if variant == FIRST else 0,
                    baseline=FIRST if variant == RERUN else "",
                    notes=notes,
                )
            )
    finally:
        namespace.destroy(s)
        shutil.rmtree(root, ignore_errors=True)
    return results


def run(settings: Settings) -> list[Measurement]:
    results: list[Measurement] = []
    for scale in scales():
        results += _scale_run(settings, scale)
    base = scales()[0]
    for m in [m for m in results if m.variant == FIRST]:  # the scales side by side
        scale = m.benchmark.removeprefix("pipeline ")
        results.append(
            Measurement(
                "pipeline",
                f"first run {scale}",
                m.seconds,
                rows=m.rows,
                baseline="" if scale == f"{base}x" else f"first run {base}x",
                notes=m.notes,
            )
        )
    return results
