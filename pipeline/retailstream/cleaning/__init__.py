"""Stage 1, clean and merge: the Glue job (script, registration, scheduled trigger, local job runner).

``run_clean_merge(settings=None, wait=True, arguments=None)`` is the DAG's entry point.
"""

from __future__ import annotations

from retailstream.settings import Settings


def run_clean_merge(
    settings: Settings | None = None, wait: bool = True, arguments: dict[str, str] | None = None
) -> dict:
    """Start a run of the clean-and-merge Glue job and (by default) wait for it; returns the run record
    (``JobRunState``, timings, ``Report`` with the reconciliation and the curated objects written).
    ``arguments`` override the job's default locations (``--raw_uri``, ``--curated_uri``, …)."""
    from retailstream.cleaning.jobs import start_run

    return start_run(settings, arguments, wait)


__all__ = ["run_clean_merge"]
