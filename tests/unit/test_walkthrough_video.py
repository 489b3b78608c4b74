"""A short walkthrough video made by the real pieces (festival, the timeline, ffmpeg), checked with
ffprobe: a narration track as long as the picture, subtitles in every chapter, every chapter marked."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from retailstream.walkthrough import video
from retailstream.walkthrough.pages import FPS, HEIGHT, WIDTH
from retailstream.walkthrough.recorder import speak
from retailstream.walkthrough.script import Beat, Card, Chapter

CHAPTERS = [
    Chapter(
        "The problem",
        (
            Beat("Forty-five stores send their sales every week.", card=Card("Stores", ("45",))),
            Beat("Ten questions. Ten answers, with Sqoop and MariaDB.", card=Card("Questions", ("10",))),
        ),
    ),
    Chapter("Airflow", (Beat("One DAG runs every stage.", card=Card("DAG", ("one",))),)),
]


def test_a_short_walkthrough_has_narration_subtitles_and_chapters(tmp_path):
    speech = speak(CHAPTERS, tmp_path / "speech")
    timeline, frames, marks, clock = [], [], [], 0.0
    for chapter in CHAPTERS:
        start = clock
        for beat in chapter.beats:
            timed = video.place(clock, speech[beat])
            timeline.append(timed)
            clock += timed.seconds
            slide = tmp_path / f"{len(frames):02d}.png"
            Image.new("RGB", (WIDTH, HEIGHT), (20 * len(frames), 60, 90)).save(slide)
            frames.append((slide, round(timed.seconds * FPS)))
        marks.append((chapter.title, start, clock))
    durations = {wav: seconds for sentences in speech.values() for _, wav, seconds in sentences}

    facts = video.make(shutil.which("ffmpeg"), "test", marks, timeline, frames, durations, tmp_path)

    assert video.check(facts, ["The problem", "Airflow"]) == []
    assert facts.video_seconds == pytest.approx(clock, abs=0.1)
    assert facts.audio_seconds == pytest.approx(facts.video_seconds, abs=0.5)
    assert (facts.width, facts.height) == (WIDTH, HEIGHT)
    assert [name for name, _, _ in facts.chapters] == ["The problem", "Airflow"]
    assert facts.chapters[0][2] == pytest.approx(facts.chapters[1][1], abs=0.01)
    assert [cue.text for cue in facts.cues] == [
        "Forty-five stores send their sales every week.",
        "Ten questions.",
        "Ten answers, with Sqoop and MariaDB.",  # written as written, not as spoken
        "One DAG runs every stage.",
    ]
    assert (tmp_path / video.SUBTITLES).read_text().startswith("WEBVTT")
    assert not (tmp_path / "narration.wav").exists()


def test_a_video_whose_sound_is_short_is_reported():
    facts = video.VideoFacts(
        seconds=10,
        video_seconds=10,
        audio_seconds=8,
        width=WIDTH,
        height=HEIGHT,
        chapters=[("A", 0, 5), ("B", 5, 10)],
        cues=[video.Cue(1, 2, "only in A")],
        size=1,
    )
    assert video.check(facts, ["A", "B"]) == [
        "audio 8.00s against video 10.00s",
        "no subtitle during chapter 'B'",
    ]
