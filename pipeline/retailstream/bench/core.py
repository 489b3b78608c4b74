"""The shared shape of a benchmark result and the runner behind `retailstream bench`."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from retailstream.settings import Settings, get_settings

# name → module under retailstream.bench exposing `run(settings) -> list[Measurement]`.
BENCHMARKS: dict[str, str] = {
    "stage1": "retailstream.bench.stage1",
    "transfer": "retailstream.bench.transfer",
    "usecases": "retailstream.bench.usecases",
    "pipeline": "retailstream.bench.pipeline",
    "lab": "retailstream.bench.lab",
}


@dataclass
class Measurement:
    benchmark: str
    variant: str
    seconds: float
    rows: int = 0
    bytes: int = 0
    baseline: str = ""  # the variant this one is compared with
    notes: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 2**20 / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Goal:
    """A performance goal stated as the ratio of two variants measured in the same run."""

    label: str
    benchmark: str
    variant: str
    baseline: str
    slower_by: (
        bool  # True: variant's time ÷ baseline's, at most `target`; False: baseline's ÷ variant's, at least
    )
    target: float
    before: str  # the ratio when the goal was set

    def measured(self, measurements: list[Measurement]) -> float | None:
        times = {(m.benchmark, m.variant): m.seconds for m in measurements}
        mine, base = times.get((self.benchmark, self.variant)), times.get((self.benchmark, self.baseline))
        if not mine or not base:
            return None
        return mine / base if self.slower_by else base / mine

    def met(self, measurements: list[Measurement]) -> bool | None:
        value = self.measured(measurements)
        if value is None:
            return None
        return value <= self.target if self.slower_by else value >= self.target

    @property
    def goal(self) -> str:
        return f"≤ {self.target:g}×" if self.slower_by else f"≥ {self.target:g}×"

    def shown(self, value: float) -> str:
        return f"{value:.1f}×"


@dataclass(frozen=True)
class LimitGoal:
    """A performance goal stated as an upper limit on one measurement: its wall time (what a user waits
    for, e.g. a warm `make demo`), or with ``note`` a figure it carries in its notes (e.g. memory)."""

    label: str
    benchmark: str
    variant: str
    target: float  # at most, in ``unit``
    before: str
    note: str = ""
    unit: str = "s"

    def measured(self, measurements: list[Measurement]) -> float | None:
        for m in measurements:
            if (m.benchmark, m.variant) == (self.benchmark, self.variant):
                if not self.note:
                    return m.seconds
                return float(m.notes[self.note]) if self.note in m.notes else None
        return None

    def met(self, measurements: list[Measurement]) -> bool | None:
        value = self.measured(measurements)
        return None if value is None else value <= self.target

    @property
    def goal(self) -> str:
        return f"≤ {self.target:g} {self.unit}"

    def shown(self, value: float) -> str:
        return f"{value:.0f} s" if self.unit == "s" else f"{value:.2f} {self.unit}"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ratio(measurements: list[Measurement], m: Measurement) -> float | None:
    """How many times faster ``m`` is than its baseline variant in the same run."""
    base = next((b for b in measurements if b.benchmark == m.benchmark and b.variant == m.baseline), None)
    return base.seconds / m.seconds if base and m.seconds else None


def run_benchmarks(
    names: list[str] | None = None, settings: Settings | None = None
) -> tuple[list[Measurement], list[Goal | LimitGoal]]:
    """Run the benchmarks; their measurements and the goals (``GOALS`` of each module) they measure."""
    s = settings or get_settings()
    results: list[Measurement] = []
    goals: list[Goal | LimitGoal] = []
    for name in names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        results.extend(module.run(s))
        goals.extend(getattr(module, "GOALS", ()))
    out = s.home / "bench-results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report = {
        "measurements": [{**asdict(m), "ratio_vs_baseline": ratio(results, m)} for m in results],
        "goals": [
            {**asdict(g), "measured": g.measured(results), "met": g.met(results)}
            for g in goals
            if g.measured(results) is not None
        ],
    }
    (out / f"bench-{stamp}.json").write_text(json.dumps(report, indent=2))
    return results, goals
