"""The walkthrough recorder against the running lab: Debian's Chromium on the real UIs, ffmpeg's video."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import socket
import subprocess

import pytest
from rich.console import Console

from retailstream.orchestration.airflow_api import AirflowClient
from retailstream.orchestration.demo import DAG_ID, links, read_findings
from retailstream.orchestration.stages import safe_run_id
from retailstream.walkthrough.recorder import (
    CHROMIUM_ARGS,
    HEIGHT,
    SECONDS_PER_SLIDE,
    WIDTH,
    Scene,
    WalkthroughError,
    capture,
    record,
    scenes,
)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def successful_run(lab, settings) -> str:
    """The DAG's latest successful run with its report (`make demo` leaves one; else run the DAG)."""
    client = AirflowClient(settings)
    run_id = client.latest_run_id(DAG_ID, state="success")
    if not run_id or not (settings.reports_dir / safe_run_id(run_id) / "report.html").exists():
        client.set_paused(DAG_ID, False)
        run_id = client.trigger(DAG_ID)
        assert client.follow(DAG_ID, run_id, timeout=1800) == "success"
    return run_id


def test_walkthrough_records_checked_slides_and_a_video(settings, successful_run, tmp_path):
    report_dir = settings.reports_dir / safe_run_id(successful_run)
    terminal = Console(record=True, width=140, file=io.StringIO())
    terminal.print(links(settings, report_dir / "report.html"))
    for finding in read_findings(report_dir):
        terminal.print(finding)
    out = tmp_path / "walkthrough"

    manifest = record(settings, out, terminal)

    assert manifest["run_id"] == successful_run
    expected = scenes(settings, successful_run, report_dir / "report.html")
    slides = manifest["slides"]
    pieces = [s for s in slides if s["source"] == "terminal"]
    assert len(pieces) >= 2  # ten findings and the links do not fit one slide
    assert slides[: len(pieces)] == pieces  # the terminal opens the walkthrough
    assert [s["checked_text"] for s in slides[len(pieces) :]] == [scene.expect for scene in expected]
    images = [(out / s["file"]).read_bytes() for s in slides]
    assert all(png_size(image) == (WIDTH, HEIGHT) for image in images)
    assert len({hashlib.sha256(image).digest() for image in images}) == len(images)
    assert "Where to look" in (out / "terminal.txt").read_text()

    written = (out / "walkthrough.json").read_text() + (out / "index.html").read_text()
    assert json.loads((out / "walkthrough.json").read_text()) == manifest
    for secret in ("jupyter_token", "airflow_admin_password"):
        assert settings.secret(secret) not in written
    page = (out / "index.html").read_text()
    assert all(s["file"] in page for s in slides) and manifest["video"] in page
    assert not (out / "shots").exists() and not (tmp_path / ".walkthrough.partial").exists()

    entries = "stream=codec_name,width,height:format=duration"
    probe = subprocess.run(
        [
            shutil.which("ffprobe"),
            "-v",
            "error",
            "-show_entries",
            entries,
            "-of",
            "json",
            str(out / manifest["video"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    video = json.loads(probe.stdout)
    assert video["streams"][0] == {"codec_name": "h264", "width": WIDTH, "height": HEIGHT}
    assert float(video["format"]["duration"]) == pytest.approx(len(slides) * SECONDS_PER_SLIDE, abs=0.5)


def test_a_page_that_does_not_show_its_text_fails_the_recording(settings, lab, tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "shots").mkdir()
    scene = Scene(
        "missing",
        "Prometheus",
        "a caption",
        f"{settings.prometheus_url}/classic/alerts?token=secret",
        "NoSuchAlertRule",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(settings.chromium_path), args=list(CHROMIUM_ARGS)
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(3000)
            with pytest.raises(WalkthroughError, match="did not show 'NoSuchAlertRule'") as failure:
                capture(page, scene, tmp_path)
            # a refused connection: the browser's message quotes the whole URL, token included
            with socket.socket() as sock:  # a port nothing listens on (Chromium refuses low "unsafe" ones)
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            refused = Scene(
                "refused", "Jupyter", "a caption", f"http://127.0.0.1:{port}/lab?token=secret", "x"
            )
            with pytest.raises(WalkthroughError, match="ERR_CONNECTION_REFUSED") as refusal:
                capture(page, refused, tmp_path)
            assert "secret" not in str(refusal.value)
        finally:
            browser.close()
    assert f"{settings.prometheus_url}/classic/alerts " in str(failure.value)  # named, without its query
    assert "secret" not in str(failure.value)
    assert not (tmp_path / "shots" / "missing.png").exists()


def test_it_never_replaces_a_folder_that_holds_something_else(settings, lab, tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(WalkthroughError, match="not empty and holds no earlier walkthrough"):
        record(settings, tmp_path)
    assert keep.read_text() == "mine"
