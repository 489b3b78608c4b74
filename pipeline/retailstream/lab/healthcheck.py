"""``python -m retailstream.lab.healthcheck NAME``: a compose container's health check, the same as
``retailstream lab check --after-hooks NAME`` without loading the whole CLI — it runs every 30 s in
every container of the stack, and the CLI's imports would double its CPU time."""

from __future__ import annotations

import sys

from retailstream.lab import health
from retailstream.lab.container import check


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m retailstream.lab.healthcheck SERVICE", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        check(name, after_hooks=True)
    except (ValueError, health.Unhealthy) as exc:
        print(f"{name}: {exc}")
        return 1
    print(f"{name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
