"""HTML the recorder renders itself: the slide around every picture, text cards, and two pages of the
lab's own built from a service's API where the service has no page to show (HDFS: this Hadoop build from
Maven Central has no NameNode dashboard; the webhook receiver answers JSON)."""

from __future__ import annotations

import base64
import html
import math
import time
from pathlib import Path

from retailstream.settings import Settings

WIDTH, HEIGHT = 1600, 900
HEADER = 64  # chapter and slide title
BAND = 100  # the subtitles are burned in here, never over the picture
CONTENT = HEIGHT - HEADER - BAND  # 736
BACKGROUND = "#0f172a"
FPS = 25

_PAGE_STYLE = """
body{margin:0;font-family:'DejaVu Sans',sans-serif;color:#0f172a;background:#fff}
h1{font-size:30px;margin:22px 32px 6px} p.lead{font-size:19px;margin:0 32px 14px;color:#334155}
table{border-collapse:collapse;margin:8px 32px 18px;font-size:19px}
th{background:#e2e8f0;text-align:left} th,td{padding:6px 16px;border-bottom:1px solid #cbd5e1}
td.n{text-align:right;font-variant-numeric:tabular-nums} code{font-size:18px}
h2{font-size:22px;margin:14px 32px 4px;color:#1e3a8a}
.firing{color:#b91c1c;font-weight:bold} .resolved{color:#15803d;font-weight:bold}
"""


def slide(chapter: str, title: str, content: str) -> str:
    """A slide: the header, ``content`` (HTML) in the picture area, the dark subtitle band."""
    return f"""<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;width:{WIDTH}px;height:{HEIGHT}px;background:{BACKGROUND};overflow:hidden;
font-family:'DejaVu Sans',sans-serif">
<div style="height:{HEADER}px;box-sizing:border-box;padding:0 28px;display:flex;align-items:center;
justify-content:space-between;color:#f8fafc;font-size:27px">
  <span><span style="color:#7dd3fc;font-weight:bold">{html.escape(chapter)}</span>
  <span style="color:#64748b"> · </span>{html.escape(title)}</span>
  <span style="color:#94a3b8;font-size:21px">RetailStream walkthrough</span>
</div>
<div style="width:{WIDTH}px;height:{CONTENT}px;overflow:hidden;background:#fff">{content}</div>
</body></html>"""


def picture(image: Path) -> str:
    encoded = base64.b64encode(image.read_bytes()).decode()
    return f'<img style="display:block" src="data:image/png;base64,{encoded}">'


def card(title: str, lines: tuple[str, ...]) -> str:
    items = "".join(
        f'<li style="margin:0 0 26px;padding-left:8px">{html.escape(line)}</li>' for line in lines
    )
    return f"""<div style="box-sizing:border-box;height:{CONTENT}px;padding:56px 90px;
background:linear-gradient(135deg,#1e293b,#0f172a);color:#e2e8f0">
<div style="font-size:46px;font-weight:bold;color:#f8fafc;margin-bottom:44px">{html.escape(title)}</div>
<ul style="font-size:29px;line-height:1.4;margin:0;padding-left:36px">{items}</ul></div>"""


def terminal_area() -> str:
    """The picture area of a terminal slide: the frames are drawn into it afterwards."""
    return f'<div style="height:{CONTENT}px;background:{BACKGROUND}"></div>'


def _size(length: int) -> str:
    if length < 1024:
        return f"{length:,} B"
    exponent = min(3, int(math.log(length, 1024)))
    return f"{length / 1024**exponent:,.1f} {('KB', 'MB', 'GB')[exponent - 1]}"


def _when(epoch_ms: int, form: str = "%Y-%m-%d %H:%M UTC") -> str:
    return time.strftime(form, time.gmtime(epoch_ms / 1000))


def hdfs_listing(s: Settings) -> str:
    """The lab's HDFS folders that the pipeline fills, read over WebHDFS: the raw features files and the
    Hive warehouse's table folders, with sizes."""
    from retailstream import clients

    client = clients.hdfs_client(s)
    raw = f"{s.hdfs_raw_dir}/features"
    warehouse = f"{s.hdfs_warehouse_dir}/{s.hive_database}.db"
    files = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td class=n>{_size(status['length'])}</td>"
        f"<td>{_when(status['modificationTime'])}</td></tr>"
        for name, status in client.list(raw, status=True)
        if status["type"] == "FILE"
    )
    tables = ""
    for name, status in client.list(warehouse, status=True):
        summary = client.content(f"{warehouse}/{name}")
        tables += (
            f"<tr><td><code>{html.escape(s.hive_database)}.{html.escape(name)}</code></td>"
            f"<td class=n>{summary['fileCount']:,}</td><td class=n>{summary['directoryCount'] - 1:,}</td>"
            f"<td class=n>{_size(summary['length'])}</td><td>{_when(status['modificationTime'])}</td></tr>"
        )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{_PAGE_STYLE}</style></head><body>
<h1>HDFS <code>{html.escape(s.hdfs_url)}</code></h1>
<p class=lead>Read over WebHDFS ({html.escape(s.webhdfs_url)}/webhdfs/v1) — the features files as
uploaded, and the Hive warehouse the Spark jobs and the transfer write.</p>
<h2>Raw features files — <code>{html.escape(raw)}</code></h2>
<table><tr><th>file</th><th>size</th><th>modified</th></tr>{files}</table>
<h2>Hive warehouse — <code>{html.escape(warehouse)}</code></h2>
<table><tr><th>table</th><th>files</th><th>partitions</th><th>size</th><th>modified</th></tr>{tables}</table>
</body></html>"""


def alerts_delivered(s: Settings, since: float, alertname: str, pipeline: str) -> str:
    """The notifications the webhook receiver got for one alert of one pipeline since ``since``."""
    from retailstream.monitoring.alert_receiver import received_notifications

    rows = ""
    for notification in received_notifications(since, s):
        for alert in notification["alerts"]:
            labels = alert["labels"]
            if (labels.get("alertname"), labels.get("pipeline")) != (alertname, pipeline):
                continue
            where = ", ".join(
                f"{k}={v}"
                for k, v in sorted(labels.items())
                if k not in ("alertname", "pipeline", "severity")
            )
            rows += (
                f"<tr><td>{_when(int(notification['receivedAt'] * 1000), '%H:%M:%S UTC')}</td>"
                f"<td class={alert['status']}>{alert['status']}</td><td>{html.escape(alertname)}</td>"
                f"<td><code>{html.escape(where)}</code></td>"
                f"<td>{html.escape(alert['annotations'].get('summary', ''))}</td></tr>"
            )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{_PAGE_STYLE}</style></head><body>
<h1>Alerts delivered to the webhook receiver</h1>
<p class=lead>{html.escape(s.alert_receiver_url)}/alerts — what Alertmanager sent for
<code>{html.escape(alertname)}</code>, pipeline <code>{html.escape(pipeline)}</code>.</p>
<table><tr><th>received</th><th>status</th><th>alert</th><th>labels</th><th>summary</th></tr>{rows}</table>
</body></html>"""
