"""`retailstream bench lab` — how long the native lab takes to start and what it holds at rest.

Restarts the running lab (``lab down``, its data kept, then ``lab up``) and times ``lab up`` to every
service healthy; after a minute at rest, sums the memory of every service's process tree: RSS, as
``make status`` shows it, and PSS, which counts once the pages processes share (the LocalExecutor's
forked workers, the JVMs' shared libraries). GiB throughout, as ``make status``.

A start from ``make clean`` wipes the lab's data, so no benchmark does it: ``images/measure-labs.sh``
measures that, for both labs. In the compose stack this benchmark measures nothing (its containers are
timed by the same script).
"""

from __future__ import annotations

import contextlib
import time

import psutil

from retailstream.bench.core import LimitGoal, Measurement
from retailstream.settings import Settings

SETTLE_SECONDS = 60  # what start-up leaves behind (compilation, first scrapes, Airflow's first parses)
UP, IDLE = "lab up from lab down", f"idle, {SETTLE_SECONDS} s after up"
# Issue 16: the goals were set on a start from `make clean` (33–51 s) and on `make status` (2.76 GB).
GOALS = (
    LimitGoal("make up to all healthy (native, from lab down)", "lab", UP, 30, "33–51 s"),
    LimitGoal("lab idle memory, RSS (native)", "lab", IDLE, 2.5, "2.76 GiB", note="rss_gib", unit="GiB"),
)


def run(settings: Settings) -> list[Measurement]:
    if settings.lab != "native":
        print("bench lab: the compose stack is timed by images/measure-labs.sh")
        return []
    from retailstream.lab.control import Lab

    lab = Lab(settings)
    lab.down()
    up_seconds = lab.up(log=lambda _msg: None)
    time.sleep(SETTLE_SECONDS)
    rows = lab.status()
    rss = sum(row.rss_mb for row in rows) / 1024
    pss = _pss_gib(lab.process_tree()[1:])  # the services, not supervisord itself
    return [
        Measurement("lab", UP, up_seconds, notes={"services": len(rows)}),
        Measurement(
            "lab",
            IDLE,
            SETTLE_SECONDS,
            notes={"rss_gib": f"{rss:.2f}", "pss_gib": f"{pss:.2f}", "healthy": sum(r.healthy for r in rows)},
        ),
    ]


def _pss_gib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a process that ended meanwhile
            total += psutil.Process(pid).memory_full_info().pss
    return total / 2**30
