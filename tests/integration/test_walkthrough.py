"""The walkthrough recorder against the running lab: Debian's Chromium on the real UIs, festival's voice,
ffmpeg's video — checked with ffprobe."""

from __future__ import annotations

import hashlib
import json
import re
import socket

import pytest
import requests

from retailstream.settings import Settings
from retailstream.walkthrough import video
from retailstream.walkthrough.pages import HEIGHT, WIDTH
from retailstream.walkthrough.recorder import (
    CHROMIUM_ARGS,
    Scene,
    WalkthroughError,
    capture,
    record,
)
from retailstream.walkthrough.script import load_script


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_walkthrough_is_a_narrated_video_of_checked_pages(settings, demo_run, tmp_path):
    out = tmp_path / "walkthrough"
    # The DAG's stages push their metrics under the lab's pipeline name, not this session's test label.
    lab = settings.model_copy(update={"pipeline_name": Settings.model_fields["pipeline_name"].default})

    manifest = record(lab, out)

    assert manifest["run_id"] == demo_run
    chapters = load_script()
    assert [c["title"] for c in manifest["chapters"]] == [c.title for c in chapters]
    beats = [b for c in manifest["chapters"] for b in c["beats"]]
    pages = [b for b in beats if b["checked_text"]]
    assert len(pages) >= 12 and all(b["source"].startswith(("http", "file:")) for b in pages)
    assert sum(b["source"].startswith("terminal") for b in beats) >= 4  # the demo's output, typed out
    images = [(out / b["slide"]).read_bytes() for b in beats]
    assert all(png_size(image) == (WIDTH, HEIGHT) for image in images)
    assert len({hashlib.sha256(image).digest() for image in images}) == len(images)

    written = "".join(
        (out / name).read_text() for name in ("walkthrough.json", "index.html", video.SUBTITLES)
    )
    assert json.loads((out / "walkthrough.json").read_text()) == manifest
    for secret in ("jupyter_token", "airflow_admin_password"):
        assert settings.secret(secret) not in written
    assert all(b["slide"] in written for b in beats) and manifest["video"] in written
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "slides",
        "walkthrough.json",
        "walkthrough.mp4",
        "walkthrough.vtt",
    ]
    assert not (tmp_path / ".walkthrough.partial").exists()

    facts = video.probe(out / manifest["video"])
    assert video.check(facts, [c.title for c in chapters]) == []
    assert (facts.width, facts.height) == (WIDTH, HEIGHT)
    assert abs(facts.audio_seconds - facts.video_seconds) <= 0.5
    assert 180 <= facts.seconds <= 360  # 3 to 6 minutes
    for title, start, end in facts.chapters:
        assert any(start <= cue.start < end for cue in facts.cues), title


def test_a_page_that_does_not_show_its_text_fails_the_recording(settings, lab, tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "shots").mkdir()
    scene = Scene(
        "missing", "Prometheus", f"{settings.prometheus_url}/classic/alerts?token=secret", "NoSuchRule"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(settings.chromium_path), args=list(CHROMIUM_ARGS)
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(3000)
            with pytest.raises(WalkthroughError, match="did not show 'NoSuchRule'") as failure:
                capture(page, scene, tmp_path)
            # a refused connection: the browser's message quotes the whole URL, token included
            refused = Scene("refused", "Jupyter", f"http://127.0.0.1:{closed_port()}/lab?token=secret", "x")
            with pytest.raises(WalkthroughError, match="ERR_CONNECTION_REFUSED") as refusal:
                capture(page, refused, tmp_path)
            assert "secret" not in str(refusal.value)
            # a page of the lab's own whose service does not answer names the service's URL
            url = f"http://127.0.0.1:{closed_port()}/webhdfs/v1/?op=LISTSTATUS"
            down = Scene("down", "HDFS", url, "x", render=lambda: requests.get(url, timeout=2).text)
            with pytest.raises(WalkthroughError, match=re.escape(url)):
                capture(page, down, tmp_path)
        finally:
            browser.close()
    assert f"{settings.prometheus_url}/classic/alerts " in str(failure.value)  # named, without its token
    assert "secret" not in str(failure.value)
    assert not (tmp_path / "shots" / "missing.png").exists()


def closed_port() -> int:
    """A port nothing listens on (Chromium refuses well-known ones such as 9 before connecting)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_never_replaces_a_folder_that_holds_something_else(settings, lab, tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(WalkthroughError, match="not empty and holds no earlier walkthrough"):
        record(settings, tmp_path)
    assert keep.read_text() == "mine"
