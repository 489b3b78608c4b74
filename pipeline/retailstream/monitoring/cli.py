"""`retailstream monitoring`: the lab's monitoring services and the dashboards as code."""

from __future__ import annotations

import logging

import typer

monitoring_app = typer.Typer(no_args_is_help=True, help="Metrics, alerts and dashboards.")


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@monitoring_app.command("alert-receiver")
def alert_receiver_cmd() -> None:
    """Serve the Alertmanager webhook receiver (a lab service; records notifications as JSON lines)."""
    from retailstream.monitoring.alert_receiver import serve

    _log_to_stderr()
    serve()


@monitoring_app.command("probe")
def probe_cmd(
    once: bool = typer.Option(False, "--once", help="Run every probe once, print the results, exit."),
) -> None:
    """Serve retailstream_service_up{service} from the lab's protocol health checks (a lab service)."""
    from retailstream.monitoring.probe import ServiceProbes, serve

    _log_to_stderr()
    if not once:
        serve()
        return
    results = ServiceProbes().run()
    for result in results:
        state = "up" if result.ok else "DOWN"
        typer.echo(f"{result.service:24} {state:5} {result.seconds:6.2f}s  {result.detail}")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@monitoring_app.command("dashboards")
def dashboards_cmd(
    check: bool = typer.Option(False, "--check", help="Fail when the committed JSON is not up to date."),
) -> None:
    """Generate the Grafana dashboards (grafana/dashboards/*.json) from retailstream.monitoring.dashboards."""
    from retailstream.monitoring.dashboards import write_dashboards

    changed = write_dashboards(dry_run=check)
    for path in changed:
        typer.echo(f"{'out of date' if check else 'wrote'}: {path}")
    if check and changed:
        raise typer.Exit(1)


@monitoring_app.command("check-queries")
def check_queries_cmd() -> None:
    """Run every dashboard panel's PromQL against the live Prometheus; list the ones without data."""
    from retailstream.monitoring.dashboards import check_panel_queries

    empty = check_panel_queries()
    for query in empty:
        typer.echo(f"no data: {query.dashboard} / {query.panel}: {query.expr}")
    typer.echo(f"{len(empty)} panel queries without data")
    raise typer.Exit(1 if empty else 0)


@monitoring_app.command("alerts")
def alerts_cmd(
    minutes: float = typer.Option(60, help="Show notifications received in the last N minutes."),
) -> None:
    """The Alertmanager notifications the lab's webhook receiver recorded."""
    import time

    from retailstream.monitoring.alert_receiver import received_notifications

    for note in received_notifications(since=time.time() - minutes * 60):
        received = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(note["receivedAt"]))
        for alert in note["alerts"]:
            labels = alert["labels"]
            where = ", ".join(f"{k}={labels[k]}" for k in ("pipeline", "stage", "service") if k in labels)
            name = labels.get("alertname", "?")
            summary = alert.get("annotations", {}).get("summary", "")
            typer.echo(f"{received}  {alert['status']:8} {name:24} {where}  {summary}")
