"""Record the walkthrough: the script's chapters → checked pages, cards and the demo's typed output →
narrated, subtitled MP4 with chapters, an HTML page and a manifest."""

from __future__ import annotations

import html
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from retailstream.orchestration.airflow_api import AirflowClient
from retailstream.orchestration.demo import DAG_ID, TRANSCRIPT
from retailstream.orchestration.stages import safe_run_id
from retailstream.settings import Settings, get_settings
from retailstream.steps import NAMES
from retailstream.walkthrough import pages, terminal, video, voice
from retailstream.walkthrough.drill import PIPELINE as DRILL_PIPELINE
from retailstream.walkthrough.drill import AlertDrill, DrillError
from retailstream.walkthrough.pages import CONTENT, FPS, HEIGHT, WIDTH
from retailstream.walkthrough.script import Beat, Chapter, load_lexicon, load_script, sentences, spoken

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
SPARK_NOTEBOOK, SQL_NOTEBOOK = "02_use_cases_spark", "01_explore_with_pyhive"
STAMP = "Executed for pipeline run"  # the first cell of an executed notebook copy


class WalkthroughError(RuntimeError):
    """The walkthrough cannot be recorded (a tool is missing, a page does not show what it should)."""


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    url: str  # the page; for a page the recorder renders itself, the API it reads
    expect: str  # text the page must show before it is captured
    prepare: Callable | None = None  # e.g. click a tab: called with the Playwright page
    render: Callable[[], str] | None = None  # HTML of a page of the lab's own, built from ``url``'s API
    after_drill: bool = False  # shows the alert drill's outcome


@dataclass(frozen=True)
class Recording:
    """What the pages are about."""

    run_id: str
    report: Path
    notebooks: Path  # the run's executed notebook copies
    retried: tuple[str, str] | None  # (run id, task id) of the latest task that needed a second try
    drill_since: float


# --- what the pages must show, and how to make them readable -------------------------------------------


def _full_log(page) -> None:
    """A task's log over the whole window, not squeezed beside the grid."""
    page.get_by_role("button", name="Press f for fullscreen").click()


def _whole_graph(page) -> None:
    page.get_by_role("button", name="Show Graph (Press g)").click()
    collapse = page.get_by_role("button", name="Collapse Details Panel")
    if collapse.count():
        collapse.first.click()
    page.locator(".react-flow__controls-fitview").click()


def _first_try(page) -> None:
    """Both tries beside the grid, and the log of the failed first one: it holds the error."""
    page.get_by_role("button", name="Show Grid (Press g)").click()
    page.get_by_text("Task Tries").wait_for()
    page.get_by_role("button", name="1", exact=True).first.click()


def _scroll_to(selector: str) -> Callable:
    def scroll(page) -> None:
        page.locator(selector).first.evaluate("node => node.scrollIntoView({block: 'center'})")

    return scroll


def _graph_only(page) -> None:
    """Prometheus' classic graph page: the chart and its legend in view (the query box scrolled away)."""
    page.locator(".legend").first.wait_for()
    page.evaluate("""() => {
      document.querySelector('nav').style.display = 'none';
      document.querySelector('.tab-content').scrollIntoView({block: 'start'});
    }""")


def _notebook_in_jupyter(page) -> None:
    """JupyterLab asks whether to fetch news a moment after it opens: answer No; then show a chart."""
    page.wait_for_function("text => document.body.innerText.includes(text)", arg=STAMP)
    page.wait_for_timeout(2000)
    answer = page.get_by_role("button", name="No")
    if answer.count() and answer.first.is_visible():
        answer.first.click()
    page.locator(".jp-OutputArea-output img").first.evaluate("node => node.scrollIntoView({block: 'center'})")


def scenes(s: Settings, rec: Recording) -> dict[str, Scene]:
    """Every page the script can show, by name (``page:`` in the chapter files)."""
    airflow_run = f"{s.airflow_url}/dags/{DAG_ID}/runs/{quote(rec.run_id)}"
    prometheus_graph = f"{s.prometheus_url}/classic/graph?g0.tab=0&g0.range_input="
    since = rec.drill_since
    executed = rec.notebooks
    listed = [
        Scene(
            "airflow-graph",
            f"Airflow: run {rec.run_id}",
            airflow_run,
            rec.run_id,
            prepare=_whole_graph,
        ),
        Scene(
            "airflow-glue-log",
            "Airflow: the clean task's log — the Glue job run",
            f"{airflow_run}/tasks/clean",
            "glue.run_finished",
            prepare=_full_log,
        ),
        Scene(
            "airflow-transfer-log",
            "Airflow: the transfer task's log",
            f"{airflow_run}/tasks/transfer",
            "stage=transfer",
            prepare=_full_log,
        ),
        Scene(
            "hdfs",
            "HDFS: the raw files and the Hive warehouse (WebHDFS)",
            f"{s.webhdfs_url}/webhdfs/v1{s.hdfs_warehouse_dir}/{s.hive_database}.db?op=LISTSTATUS",
            f"{s.hive_database}.features",
            render=lambda: pages.hdfs_listing(s),
        ),
        Scene(
            "hiveserver2",
            "HiveServer2: the Spark Thrift Server",
            f"http://{s.hiveserver2_host}:{s.thriftserver_ui_port}/sqlserver/",
            "JDBC/ODBC Server",
        ),
        Scene("report", "The use-case report", rec.report.as_uri(), "the ten business use cases"),
        Scene(
            "report-chart",
            "The report: use case 2",
            rec.report.as_uri(),
            "Holiday-week sales by store type",
            prepare=_scroll_to('img[alt="chart for use case 2"]'),
        ),
        Scene(
            "notebook-spark",
            f"JupyterLab: {SPARK_NOTEBOOK}, executed by the demo",
            f"{s.jupyter_url}/lab/tree/{_under_home(s, executed / f'{SPARK_NOTEBOOK}.ipynb')}"
            f"?token={s.secret('jupyter_token')}",
            STAMP,
            prepare=_notebook_in_jupyter,
        ),
        Scene(
            "notebook-sql",
            f"{SQL_NOTEBOOK}.html: SQL through HiveServer2",
            (executed / f"{SQL_NOTEBOOK}.html").as_uri(),
            STAMP,
            prepare=_scroll_to(".jp-OutputArea-output img >> nth=1"),
        ),
        Scene(
            "alert-task-failed",
            "The webhook receiver: PipelineTaskFailed",
            f"{s.alert_receiver_url}/alerts?since={since:.0f}",
            "firing",
            render=lambda: pages.alerts_delivered(s, since, "PipelineTaskFailed", DRILL_PIPELINE),
            after_drill=True,
        ),
        Scene(
            "prometheus-stage-durations",
            "Prometheus: each stage's duration, the latest runs",
            f"{prometheus_graph}3h&g0.expr="
            + quote(f'max by (stage) (retailstream_stage_duration_seconds{{pipeline="{s.pipeline_name}"}})'),
            'stage="clean"',
            prepare=_graph_only,
        ),
        Scene(
            "prometheus-alerts",
            "Prometheus: the alert rules",
            f"{s.prometheus_url}/classic/alerts",
            "PipelineRunFailed",
        ),
        Scene(
            "prometheus-drill",
            "Prometheus: the drill's stage status (0 failed, 1 ok) and its firing alert",
            f"{prometheus_graph}5m&g0.expr="
            + quote(
                f'retailstream_stage_last_status{{pipeline="{DRILL_PIPELINE}"}} '
                f'or ALERTS{{pipeline="{DRILL_PIPELINE}", alertstate="firing"}}'
            ),
            'alertstate="firing"',
            prepare=_graph_only,
            after_drill=True,
        ),
        Scene(
            "alert-run-failed",
            "The webhook receiver: PipelineRunFailed, firing and resolved",
            f"{s.alert_receiver_url}/alerts?since={since:.0f}",
            "resolved",
            render=lambda: pages.alerts_delivered(s, since, "PipelineRunFailed", DRILL_PIPELINE),
            after_drill=True,
        ),
    ]
    if rec.retried:
        run, task = rec.retried
        listed.append(
            Scene(
                "airflow-retry",
                f"Airflow: {task} needed a second try (run {run})",
                f"{s.airflow_url}/dags/{DAG_ID}/runs/{quote(run)}/tasks/{task}",
                "Task Tries",
                prepare=_first_try,
            )
        )
    return {scene.name: scene for scene in listed}


OPTIONAL_SCENES = {"airflow-retry"}  # only when the lab has one to show: the script says what instead


def _under_home(s: Settings, path: Path) -> str:
    """``path`` as JupyterLab names it: relative to its root, the project."""
    try:
        return quote(str(path.relative_to(s.home)))
    except ValueError:
        raise WalkthroughError(f"{path} is outside the project {s.home}, which JupyterLab serves") from None


def _secret(parameter: str) -> bool:
    return any(word in parameter.lower() for word in ("token", "password", "secret"))


def public(url: str) -> str:
    """The URL without its secret query parameters (tokens), for the manifest, the page and errors."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


def redacted(text: str, url: str) -> str:
    """``text`` without the secret values of ``url``'s query, which an error message may quote."""
    for parameter, value in parse_qsl(urlsplit(url).query):
        if _secret(parameter) and value:
            text = text.replace(value, "…")
    return text


# --- what to record -------------------------------------------------------------------------------------


def latest_demo_run(s: Settings) -> str:
    """The newest successful run that `make demo` made: its report, notebooks and transcript exist, and
    its tasks are today's steps (a run of an earlier release may have other task names)."""
    client = AirflowClient(s)
    for run in client.recent(f"/dags/{DAG_ID}/dagRuns", "dag_runs"):
        folder = s.reports_dir / safe_run_id(run["dag_run_id"])
        if (
            run["state"] != "success"
            or not (folder / TRANSCRIPT).exists()
            or not (folder / "notebooks").exists()
        ):
            continue
        if {t.task_id for t in client.task_states(DAG_ID, run["dag_run_id"])} >= set(NAMES):
            return run["dag_run_id"]
    raise WalkthroughError(
        f"no successful `{DAG_ID}` run made by `make demo` (with its transcript and notebooks in "
        f"{s.reports_dir}): run `make demo` or `make walkthrough`"
    )


def latest_retried_task(s: Settings) -> tuple[str, str] | None:
    """(run id, task id) of the newest task instance of the DAG that needed more than one try."""
    for instance in AirflowClient(s).recent(f"/dags/{DAG_ID}/dagRuns/~/taskInstances", "task_instances"):
        if instance["try_number"] > 1 and instance["state"] == "success":
            return instance["dag_run_id"], instance["task_id"]
    return None


@dataclass(frozen=True)
class Shown:
    """A beat as it will be shown: the beat actually played (an ``otherwise`` one where its page is
    missing), its chapter and, for a page, the scene."""

    chapter: int
    beat: Beat
    scene: Scene | None


def plan(chapters: list[Chapter], known: dict[str, Scene]) -> list[Shown]:
    shown = []
    for number, chapter in enumerate(chapters):
        for beat in chapter.beats:
            if beat.page and beat.page not in known:
                if beat.page in OPTIONAL_SCENES and beat.otherwise:
                    shown.append(Shown(number, beat.otherwise, None))
                    continue
                raise WalkthroughError(f"chapter {chapter.title!r}: no page named {beat.page!r}")
            shown.append(Shown(number, beat, known[beat.page] if beat.page else None))
    return shown


def _needed_tools(s: Settings) -> str:
    if not Path(s.chromium_path).exists():
        raise WalkthroughError(f"Chromium not found at {s.chromium_path}: `make setup` installs it")
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise WalkthroughError("ffmpeg not found: `make setup` installs it")
    return ffmpeg


# --- recording -------------------------------------------------------------------------------------------


def record(
    settings: Settings | None = None,
    out: Path | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> dict:
    """Record the walkthrough of the latest `make demo` run into ``out``, replacing an earlier one only
    once the new one is complete. Returns the manifest (also written as ``walkthrough.json``)."""
    from playwright.sync_api import sync_playwright

    s = settings or get_settings()
    ffmpeg = _needed_tools(s)
    notify = on_progress or (lambda _what: None)
    out = out or s.reports_dir / "walkthrough"
    run_id = latest_demo_run(s)
    run_dir = s.reports_dir / safe_run_id(run_id)
    transcript = (run_dir / TRANSCRIPT).read_text()
    chapters = load_script()
    _replaceable(out)
    final, out = out, out.parent / f".{out.name}.partial"  # swapped in whole at the end
    shutil.rmtree(out, ignore_errors=True)
    for folder in ("shots", "slides", "frames", "speech"):
        (out / folder).mkdir(parents=True)

    notify("speech: festival reads the script")
    speech = speak(chapters, out / "speech")
    drill = AlertDrill(s)
    notify(f"alert drill: a failed stage and a task alert under pipeline={DRILL_PIPELINE}")
    try:
        drill.start()
        rec = Recording(
            run_id, run_dir / "report.html", run_dir / "notebooks", latest_retried_task(s), drill.since
        )
        shown = plan(chapters, scenes(s, rec))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(s.chromium_path), args=list(CHROMIUM_ARGS)
            )
            try:
                shots = _capture_all(browser, s, shown, drill, out, notify)
                notify("slides and terminal frames")
                timeline, frames, slides = _compose(browser, chapters, shown, shots, speech, transcript, out)
            finally:
                browser.close()
    except DrillError as error:
        raise WalkthroughError(str(error)) from None
    finally:
        drill.cleanup()
    notify("video: ffmpeg encodes, subtitles burned in")
    manifest = _write_video(ffmpeg, run_id, chapters, shown, timeline, frames, slides, speech, out)
    for folder in ("shots", "frames", "speech"):
        shutil.rmtree(out / folder)
    shutil.rmtree(final, ignore_errors=True)
    out.rename(final)
    return manifest


Speech = dict[Beat, list[tuple[str, Path, float]]]  # every beat's sentences: written text, WAV, seconds


def speak(chapters: list[Chapter], folder: Path) -> Speech:
    """The whole script read aloud, one WAV per sentence (``otherwise`` beats too)."""
    lexicon = load_lexicon()
    beats = [b for chapter in chapters for beat in chapter.beats for b in (beat, beat.otherwise) if b]
    written = [(beat, sentence) for beat in beats for sentence in sentences(beat.say)]
    try:
        wavs = voice.synthesize([spoken(text, lexicon) for _, text in written], folder)
    except voice.VoiceError as error:
        raise WalkthroughError(str(error)) from None
    speech: Speech = {}
    for (beat, text), wav in zip(written, wavs, strict=True):
        speech.setdefault(beat, []).append((text, wav, voice.duration(wav)))
    return speech


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


def _capture_all(browser, s: Settings, shown: list[Shown], drill: AlertDrill, out: Path, notify) -> dict:
    """Screenshot every scene the plan shows; the drill's pages last, once its alerts went both ways."""
    page = browser.new_page(viewport={"width": WIDTH, "height": CONTENT})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    _sign_in_to_airflow(page, s)
    needed = list({item.scene.name: item.scene for item in shown if item.scene}.values())
    shots = {}
    for scene in [scene for scene in needed if not scene.after_drill]:
        notify(f"capturing: {scene.title}")
        shots[scene.name] = capture(page, scene, out)
    notify("alert drill: waiting for the alerts to fire and resolve")
    drill.finish()
    for scene in [scene for scene in needed if scene.after_drill]:
        notify(f"capturing: {scene.title}")
        shots[scene.name] = capture(page, scene, out)
    page.close()
    return shots


def capture(page, scene: Scene, out: Path) -> Path:
    """Open the scene, wait until it shows its expected text, screenshot it."""
    import requests
    from playwright.sync_api import Error as PlaywrightError

    try:
        if scene.render:
            page.set_content(scene.render())
        else:
            page.goto(scene.url)
        page.wait_for_load_state("networkidle")
        if scene.prepare:
            scene.prepare(page)
            page.wait_for_load_state("networkidle")
        # innerText holds rendered text only: the expectation must be on screen, not in a hidden node
        page.wait_for_function("text => document.body.innerText.includes(text)", arg=scene.expect)
    except (PlaywrightError, requests.RequestException, OSError) as error:
        first_line = redacted(str(error).splitlines()[0], scene.url)
        raise WalkthroughError(
            f"{scene.title}: {public(scene.url)} did not show {scene.expect!r} ({first_line})"
        ) from None
    page.wait_for_timeout(800)  # let charts and fonts settle
    image = out / "shots" / f"{scene.name}.png"
    page.screenshot(path=str(image))
    return image


def _compose(browser, chapters, shown, shots, speech, transcript, out):
    """The timeline (every beat as long as its narration), the video's frames and one slide per beat."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    timeline, frames, slides = [], [], []
    clock = 0.0
    for number, item in enumerate(shown, start=1):
        chapter = chapters[item.chapter]
        label = f"{item.chapter + 1}/{len(chapters)} {chapter.title}"
        beat = item.beat
        lines = terminal.cut(transcript, beat.terminal) if beat.terminal else []
        at_least = terminal.minimum_seconds(beat.terminal.command) if beat.terminal else 0.0
        timed = video.place(clock, speech[beat], at_least)
        clock += timed.seconds
        timeline.append(timed)
        name = f"{number:02d}-{beat.page or ('terminal' if beat.terminal else 'card')}"
        if beat.terminal:
            title, content = "make demo — its recorded output", pages.terminal_area()
        elif beat.card:
            title, content = beat.card.title, pages.card(beat.card.title, beat.card.lines)
        else:
            title, content = item.scene.title, pages.picture(shots[item.scene.name])
        page.set_content(pages.slide(label, title, content))
        slide = out / "slides" / f"{name}.png"
        page.screenshot(path=str(slide))
        if beat.terminal:
            painter = terminal.TerminalPainter(slide)
            typed = terminal.typed(painter, lines, beat.terminal.command, timed.seconds, out / "frames", name)
            frames += [(f.image, f.ticks) for f in typed]
            shutil.copy(typed[-1].image, slide)  # the slide of a terminal beat: its last frame
        else:
            frames.append((slide, round(timed.seconds * FPS)))
        slides.append((slide, title))
    page.close()
    return timeline, frames, slides


def _write_video(ffmpeg, run_id, chapters, shown, timeline, frames, slides, speech, out) -> dict:
    marks = []
    for number, chapter in enumerate(chapters):
        mine = [t for item, t in zip(shown, timeline, strict=True) if item.chapter == number]
        marks.append((chapter.title, mine[0].start, mine[-1].start + mine[-1].seconds))
    durations = {wav: seconds for beat in speech.values() for _, wav, seconds in beat}
    try:
        facts = video.make(
            ffmpeg, f"RetailStream walkthrough — run {run_id}", marks, timeline, frames, durations, out
        )
    except (video.VideoError, voice.VoiceError) as error:
        raise WalkthroughError(str(error)) from None
    manifest = {
        "run_id": run_id,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "voice": voice.VOICE,
        "video": video.VIDEO,
        "subtitles": video.SUBTITLES,
        "seconds": round(facts.seconds, 2),
        "bytes": facts.size,
        "chapters": [
            {
                "title": name,
                "start": round(start, 3),
                "end": round(end, 3),
                "beats": [
                    {
                        "slide": str(slide.relative_to(out)),
                        "title": slide_title,
                        "say": item.beat.say,
                        "source": _source(item),
                        "checked_text": item.scene.expect if item.scene else "",
                        "start": round(timed.start, 3),
                        "seconds": round(timed.seconds, 3),
                    }
                    for item, timed, (slide, slide_title) in zip(shown, timeline, slides, strict=True)
                    if item.chapter == number
                ],
            }
            for number, (name, start, end) in enumerate(marks)
        ],
    }
    (out / "walkthrough.json").write_text(json.dumps(manifest, indent=1))
    (out / "index.html").write_text(index_page(manifest))
    return manifest


def _source(item: Shown) -> str:
    if item.scene:
        return public(item.scene.url)
    return "terminal: the demo's recorded output" if item.beat.terminal else "card"


def index_page(manifest: dict) -> str:
    """A page with the video (subtitles on) and every chapter's slides with their narration."""
    sections = []
    for chapter in manifest["chapters"]:
        beats = "\n".join(
            f'<figure><img src="{html.escape(b["slide"])}" width="{WIDTH // 2}">'
            f"<figcaption><b>{html.escape(b['title'])}</b> — {html.escape(b['say'])}<br>"
            f"<small>{html.escape(b['source'])}</small></figcaption></figure>"
            for b in chapter["beats"]
        )
        start = int(chapter["start"])
        sections.append(
            f"<section><h2>{html.escape(chapter['title'])} <small>{start // 60}:{start % 60:02d}</small></h2>"
            f"{beats}</section>"
        )
    body = "\n".join(sections)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>RetailStream walkthrough — run {html.escape(manifest["run_id"])}</title>
<style>body{{font-family:sans-serif;max-width:{WIDTH // 2 + 40}px;margin:auto}}
figure{{margin:0 0 24px}}</style></head><body>
<h1>RetailStream walkthrough</h1>
<p>Run <code>{html.escape(manifest["run_id"])}</code>, recorded {manifest["recorded_at"]},
{manifest["seconds"] / 60:.1f} minutes, narrated by festival ({html.escape(manifest["voice"])}).</p>
<video src="{manifest["video"]}" controls width="{WIDTH // 2}">
<track kind="subtitles" src="{manifest["subtitles"]}" srclang="en" label="English" default></video>
{body}
</body></html>
"""
