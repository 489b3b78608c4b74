"""Record the walkthrough: scenes → checked screenshots → captioned slides → video, page, manifest."""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from rich.console import Console

from retailstream.orchestration.airflow_api import AirflowClient
from retailstream.orchestration.demo import DAG_ID
from retailstream.orchestration.stages import safe_run_id
from retailstream.settings import Settings, get_settings

WIDTH, HEIGHT, CAPTION_HEIGHT = 1600, 900, 100
SHOT_HEIGHT = HEIGHT - CAPTION_HEIGHT
SECONDS_PER_SLIDE = 5
PAGE_TIMEOUT_MS = 60_000
# --no-sandbox: Chromium's sandbox refuses root (CI runs as root); it only opens the lab's own pages.
# The rest: the network is closed, and without them Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


# The server's JSON answer with one line per object of its list (headless Chromium's JSON viewer shows
# it as one long line and has no usable pretty-print box).
JSON_ONE_OBJECT_PER_LINE = """() => {
  const text = document.body.innerText;
  document.body.innerHTML = "";
  const pre = document.createElement("pre");
  pre.style.cssText = "font-size:15px;margin:16px;white-space:pre-wrap";
  pre.textContent = text.replaceAll("},{", "},\\n{");
  document.body.appendChild(pre);
}"""


def _dismiss_jupyter_news(page) -> None:
    """JupyterLab asks whether to fetch news a moment after it opens; answer No so the toast is gone."""
    page.get_by_text("The use cases with Spark DataFrames").first.wait_for(state="attached")
    page.wait_for_timeout(2000)
    answer = page.get_by_role("button", name="No")
    if answer.count() and answer.first.is_visible():
        answer.first.click()


class WalkthroughError(RuntimeError):
    """The walkthrough cannot be recorded (a tool is missing, a page does not show what it should)."""


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    caption: str
    url: str
    expect: str  # text the page must show before it is captured
    prepare: Callable | None = None  # e.g. click a tab: called with the Playwright page


@dataclass(frozen=True)
class Shot:
    image: Path
    title: str
    caption: str
    source: str  # where it came from (URL without query secrets, or "terminal")
    checked: str  # the text verified on the page ("" for terminal slices)


def scenes(s: Settings, run_id: str, report: Path) -> list[Scene]:
    """What a newcomer should see after a run, in the order the data flows."""
    airflow_run = f"{s.airflow_url}/dags/{DAG_ID}/runs/{quote(run_id)}"
    return [
        Scene(
            "airflow-dag",
            "Airflow: the retailstream DAG",
            "One DAG runs every stage, Mondays 06:00 UTC (the Glue trigger's schedule); "
            "the grid shows each task of the latest runs.",
            f"{s.airflow_url}/dags/{DAG_ID}",
            "transfer_to_hive",
        ),
        Scene(
            "airflow-graph",
            f"Airflow: run {run_id}",
            "Sales: S3 upload → Glue crawler and job → Lambda → RDS → Hive; features: HDFS → Hive; "
            "both feed the ten use cases and the report.",
            airflow_run,
            run_id,
            prepare=lambda page: page.get_by_role("button", name="Show Graph (Press g)").click(),
        ),
        Scene(
            "airflow-glue-log",
            "Airflow: the clean_merge task's log",
            "The Glue job run and its reconciliation: rows in = curated + quarantined + duplicates.",
            f"{airflow_run}/tasks/clean_merge",
            "glue.run_finished",
        ),
        Scene(
            "report",
            "The use-case report",
            "Ten business questions answered by PySpark, stored in RDS (retail_reports) and as "
            "Parquet/CSV, each with its computed finding and caveats.",
            report.as_uri(),
            "the ten business use cases",
        ),
        Scene(
            "prometheus-stage-rows",
            "Prometheus: rows per stage",
            "Every stage pushes rows in/out/quarantined/duplicates, duration and status for each run.",
            f"{s.prometheus_url}/classic/graph?g0.expr=retailstream_stage_rows_in&g0.tab=1",
            'stage="glue_job"',
        ),
        Scene(
            "prometheus-alerts",
            "Prometheus: alert rules",
            "Failed runs, slow stages, stale data, quarantine ratio, services and scrape targets down, "
            "dead letters — routed through Alertmanager to the webhook receiver.",
            f"{s.prometheus_url}/classic/alerts",
            "PipelineRunFailed",
        ),
        Scene(
            "pushgateway",
            "Pushgateway",
            "The pipeline's pushed stage metrics, one group per stage.",
            s.pushgateway_url,
            "retailstream",
        ),
        Scene(
            "hiveserver2",
            "HiveServer2: the Spark Thrift Server",
            "Hive tables served over the HiveServer2 protocol (PyHive, beeline); the sessions and SQL "
            "statements the pipeline and the notebooks ran.",
            f"http://{s.hiveserver2_host}:{s.thriftserver_ui_port}/sqlserver/",
            "JDBC/ODBC Server",
        ),
        Scene(
            "hdfs",
            "HDFS: the Hive warehouse over WebHDFS",
            f"The Hive database {s.hive_database}'s table folders on the real HDFS (this Hadoop build "
            "from Maven Central has no NameNode dashboard page).",
            f"{s.webhdfs_url}/webhdfs/v1{s.hdfs_warehouse_dir}/{s.hive_database}.db"
            f"?op=LISTSTATUS&user.name={s.hdfs_user}",
            '"pathSuffix"',
            prepare=lambda page: page.evaluate(JSON_ONE_OBJECT_PER_LINE),
        ),
        Scene(
            "jupyter",
            "JupyterLab: the use cases in a notebook",
            "The notebooks run the same package functions on the lab's Spark and Hive.",
            f"{s.jupyter_url}/lab/tree/02_use_cases_spark.ipynb?token={s.secret('jupyter_token')}",
            "The use cases with Spark DataFrames",  # the notebook's title cell
            prepare=_dismiss_jupyter_news,
        ),
    ]


def public(url: str) -> str:
    """The URL without its query (tokens) for the manifest and the page."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment))


def redacted(text: str, url: str) -> str:
    """``text`` without the values of ``url``'s query (tokens), which an error message may quote."""
    for values in parse_qs(urlsplit(url).query).values():
        for value in values:
            text = text.replace(value, "…")
    return text


def latest_successful_run(s: Settings) -> str:
    run_id = AirflowClient(s).latest_run_id(DAG_ID, state="success")
    if not run_id:
        raise WalkthroughError(f"no successful `{DAG_ID}` DAG run yet: run `make demo` first")
    return run_id


def _needed_tools(s: Settings) -> str:
    if not Path(s.chromium_path).exists():
        raise WalkthroughError(f"Chromium not found at {s.chromium_path}: `make setup` installs it")
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise WalkthroughError("ffmpeg not found: `make setup` installs it")
    return ffmpeg


def record(
    settings: Settings | None = None,
    out: Path | None = None,
    terminal: Console | None = None,
    on_slide: Callable[[str], None] | None = None,
) -> dict:
    """Record the walkthrough of the latest successful DAG run into ``out``, replacing an earlier one
    only once the new one is complete. ``terminal`` is a recording Console (e.g. the demo's output)
    whose transcript opens the walkthrough. Returns the manifest (also written as ``walkthrough.json``)."""
    from playwright.sync_api import sync_playwright

    s = settings or get_settings()
    ffmpeg = _needed_tools(s)
    out = out or s.reports_dir / "walkthrough"
    run_id = latest_successful_run(s)
    report = s.reports_dir / safe_run_id(run_id) / "report.html"
    if not report.exists():
        raise WalkthroughError(f"{report} is missing: the run {run_id} did not write its report here")
    _replaceable(out)
    final, out = out, out.parent / f".{out.name}.partial"  # swapped in whole at the end
    shutil.rmtree(out, ignore_errors=True)
    (out / "shots").mkdir(parents=True)
    (out / "slides").mkdir()
    notify = on_slide or (lambda _title: None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(s.chromium_path), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": SHOT_HEIGHT})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            shots = terminal_shots(page, terminal, out) if terminal else []
            _sign_in_to_airflow(page, s)
            for scene in scenes(s, run_id, report):
                notify(scene.title)
                shots.append(capture(page, scene, out))
            slides = render_slides(browser, shots, out)
        finally:
            browser.close()
    video = encode_video(ffmpeg, slides, out)
    manifest = {
        "run_id": run_id,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds_per_slide": SECONDS_PER_SLIDE,
        "video": video.name,
        "slides": [
            {
                "file": str(slide.relative_to(out)),
                "title": shot.title,
                "caption": shot.caption,
                "source": shot.source,
                "checked_text": shot.checked,
            }
            for slide, shot in zip(slides, shots, strict=True)
        ],
    }
    (out / "walkthrough.json").write_text(json.dumps(manifest, indent=1))
    (out / "index.html").write_text(index_page(manifest))
    shutil.rmtree(out / "shots")
    shutil.rmtree(final, ignore_errors=True)
    out.rename(final)
    return manifest


def _replaceable(out: Path) -> None:
    """Only an earlier walkthrough (or an empty folder) is replaced: ``--out`` must never wipe a folder
    that holds something else."""
    if out.exists() and any(out.iterdir()) and not (out / "walkthrough.json").exists():
        raise WalkthroughError(f"{out} is not empty and holds no earlier walkthrough: choose another --out")


def _sign_in_to_airflow(page, s: Settings) -> None:
    page.goto(f"{s.airflow_url}/")
    page.get_by_label("Username").fill(s.airflow_admin_user)
    page.get_by_label("Password").fill(s.secret("airflow_admin_password"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def capture(page, scene: Scene, out: Path) -> Shot:
    """Open the scene, wait until it shows its expected text, screenshot it."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.goto(scene.url)
        page.wait_for_load_state("networkidle")
        if scene.prepare:
            scene.prepare(page)
            page.wait_for_load_state("networkidle")
        # innerText holds rendered text only: the expectation must be on screen, not in a hidden node
        page.wait_for_function("text => document.body.innerText.includes(text)", arg=scene.expect)
    except PlaywrightError as error:
        first_line = redacted(str(error).splitlines()[0], scene.url)
        raise WalkthroughError(
            f"{scene.title}: {public(scene.url)} did not show {scene.expect!r} ({first_line})"
        ) from None
    page.wait_for_timeout(800)  # let charts and fonts settle
    image = out / "shots" / f"{scene.name}.png"
    page.screenshot(path=str(image))
    return Shot(image, scene.title, scene.caption, public(scene.url), scene.expect)


def terminal_shots(page, console: Console, out: Path, title: str = "make demo") -> list[Shot]:
    """The recorded terminal as an SVG (kept as ``terminal.svg``, text as ``terminal.txt``), cut into
    slide-sized pieces."""
    svg = out / "terminal.svg"
    console.save_svg(str(svg), title=title, clear=False)
    console.save_text(str(out / "terminal.txt"), clear=False)
    page.set_content(
        f'<body style="margin:0;background:#0f172a"><img id="t" style="width:{WIDTH}px;display:block" '
        f'src="data:image/svg+xml;base64,{base64.b64encode(svg.read_bytes()).decode()}"></body>'
    )
    page.wait_for_function("document.getElementById('t').complete")
    height = page.evaluate("document.getElementById('t').getBoundingClientRect().height")
    pieces = max(1, -(-int(height) // SHOT_HEIGHT))
    shots = []
    for number in range(pieces):
        image = out / "shots" / f"terminal-{number + 1:02d}.png"
        top = number * SHOT_HEIGHT
        page.screenshot(
            path=str(image),
            full_page=True,
            clip={"x": 0, "y": top, "width": WIDTH, "height": min(SHOT_HEIGHT, height - top)},
        )
        shots.append(
            Shot(
                image,
                f"$ {title}  ({number + 1}/{pieces})",
                "Prepare the data, trigger the DAG through Airflow's REST API, follow it, summarise "
                "each stage's rows and the ten answers.",
                "terminal",
                "",
            )
        )
    return shots


def render_slides(browser, shots: list[Shot], out: Path) -> list[Path]:
    """Each shot under a caption bar, at the video's size."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    slides = []
    for number, shot in enumerate(shots, start=1):
        encoded = base64.b64encode(shot.image.read_bytes()).decode()
        page.set_content(
            f"""<body style="margin:0;width:{WIDTH}px;height:{HEIGHT}px;background:#0f172a;
            font-family:'DejaVu Sans',sans-serif;overflow:hidden">
            <div style="height:{CAPTION_HEIGHT}px;box-sizing:border-box;padding:14px 28px;color:#f8fafc">
              <div style="display:flex;justify-content:space-between;font-size:30px;font-weight:bold">
                <span>{html.escape(shot.title)}</span>
                <span style="color:#94a3b8;font-weight:normal">RetailStream · {number}/{len(shots)}</span>
              </div>
              <div style="font-size:19px;color:#cbd5e1;margin-top:6px">{html.escape(shot.caption)}</div>
            </div>
            <img style="display:block" src="data:image/png;base64,{encoded}"></body>"""
        )
        slide = out / "slides" / f"{number:02d}-{shot.image.stem}.png"
        page.screenshot(path=str(slide))
        slides.append(slide)
    page.close()
    return slides


def encode_video(ffmpeg: str, slides: list[Path], out: Path) -> Path:
    """H.264 MP4, each slide for SECONDS_PER_SLIDE (ffmpeg's concat demuxer)."""
    listing = out / "slides.txt"
    lines = [f"file '{slide.resolve()}'\nduration {SECONDS_PER_SLIDE}" for slide in slides]
    lines.append(f"file '{slides[-1].resolve()}'")  # the demuxer ignores the last entry's duration
    listing.write_text("\n".join(lines) + "\n")
    video = out / "walkthrough.mp4"
    done = subprocess.run(
        [
            ffmpeg, "-nostdin", "-loglevel", "error", "-y",
            "-f", "concat", "-safe", "0", "-i", str(listing),
            "-vf", "fps=25,format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
            "-movflags", "+faststart", str(video),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    listing.unlink()
    if done.returncode:
        raise WalkthroughError(f"ffmpeg failed: {done.stderr.strip()[-500:]}")
    return video


def index_page(manifest: dict) -> str:
    """A page with the video and every slide with its caption and source."""
    items = "\n".join(
        f"<section><h2>{html.escape(s['title'])}</h2><p>{html.escape(s['caption'])}<br>"
        f"<small>{html.escape(s['source'])}</small></p>"
        f'<img src="{html.escape(s["file"])}" width="{WIDTH // 2}"></section>'
        for s in manifest["slides"]
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>RetailStream walkthrough — run {html.escape(manifest["run_id"])}</title>
<style>body{{font-family:sans-serif;max-width:{WIDTH // 2 + 40}px;margin:auto}}</style></head><body>
<h1>RetailStream walkthrough</h1>
<p>Run <code>{html.escape(manifest["run_id"])}</code>, recorded {manifest["recorded_at"]}.</p>
<video src="{manifest["video"]}" controls width="{WIDTH // 2}"></video>
{items}
</body></html>
"""
