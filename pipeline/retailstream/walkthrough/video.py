"""Timing, subtitles, chapters and the MP4: every beat lasts as long as its narration; the sentences'
WAVs make one track; the subtitles are the sentences (WebVTT, burned in and as a subtitle track);
each chapter is an MP4 chapter (ffmpeg metadata)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from retailstream.walkthrough import voice
from retailstream.walkthrough.pages import FPS

LEAD_IN, PAUSE, TAIL = 0.4, 0.3, 0.6  # seconds of silence before, between and after a beat's sentences
CUE_CHARACTERS = 120  # a longer sentence is shown in parts, so a cue fits two lines of the band
VIDEO, SUBTITLES = "walkthrough.mp4", "walkthrough.vtt"


class VideoError(RuntimeError):
    """ffmpeg failed, or the video is not what it should be."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Timed:
    """One beat placed on the timeline: its sentences' start seconds and its length (whole frames)."""

    start: float
    seconds: float
    sentences: tuple[tuple[float, str, Path], ...]  # (start second, written text, speech WAV)


def place(start: float, sentences: list[tuple[str, Path, float]], at_least: float = 0.0) -> Timed:
    """Lay out a beat's (text, WAV, seconds) sentences from ``start``; the beat lasts whole frames."""
    clock, placed = start + LEAD_IN, []
    for text, wav, seconds in sentences:
        placed.append((clock, text, wav))
        clock += seconds + PAUSE
    length = max(clock - PAUSE + TAIL - start, at_least)
    return Timed(start, math.ceil(length * FPS - 1e-6) / FPS, tuple(placed))


def cues(timed: Timed, durations: dict[Path, float]) -> list[Cue]:
    """The beat's subtitles: one cue per sentence, long sentences in parts timed by their length."""
    result = []
    for start, text, wav in timed.sentences:
        parts = _parts(text)
        seconds, clock = durations[wav], start
        for part in parts:
            share = seconds * len(part) / sum(len(p) for p in parts)
            result.append(Cue(clock, clock + share, part))
            clock += share
    return result


def _parts(text: str) -> list[str]:
    if len(text) <= CUE_CHARACTERS:
        return [text]
    middle = len(text) // 2
    breaks = [m.end() for m in re.finditer(r"[,;:] ", text)] or [m.end() for m in re.finditer(" ", text)]
    cut = min(breaks, key=lambda at: abs(at - middle))
    return _parts(text[:cut].strip()) + _parts(text[cut:].strip())


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"
    )


def webvtt(all_cues: list[Cue]) -> str:
    blocks = [f"{_stamp(c.start)} --> {_stamp(c.end)}\n{c.text}" for c in all_cues]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def _metadata_value(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def ffmetadata(title: str, chapters: list[tuple[str, float, float]]) -> str:
    lines = [";FFMETADATA1", f"title={_metadata_value(title)}"]
    for name, start, end in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}", f"END={round(end * 1000)}"]
        lines.append(f"title={_metadata_value(name)}")
    return "\n".join(lines) + "\n"


# The band under the picture holds two lines of white DejaVu Sans. libass scales the style to a 288-line
# canvas (PlayResY), so 900 px / 288 ≈ 3.1 px per unit.
SUBTITLE_STYLE = (
    "FontName=DejaVu Sans,FontSize=10,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,"
    "BorderStyle=1,Outline=0.6,Shadow=0,Alignment=2,MarginV=4,MarginL=12,MarginR=12"
)


def encode(
    ffmpeg: str, frames: list[tuple[Path, int]], audio: Path, subtitles: Path, metadata: Path, out: Path
) -> Path:
    """H.264 video of the frames (each for its number of video frames) with the narration (AAC), the
    subtitles burned in and as a mov_text track, and the chapters."""
    listing = out.with_name("frames.txt")
    lines = [f"file '{image.resolve()}'\nduration {ticks / FPS:.6f}" for image, ticks in frames]
    lines.append(f"file '{frames[-1][0].resolve()}'")  # the concat demuxer ignores the last duration
    listing.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [
            ffmpeg, "-nostdin", "-loglevel", "error", "-y",
            "-f", "concat", "-safe", "0", "-i", listing.name,
            "-i", audio.name,
            "-f", "ffmetadata", "-i", metadata.name,
            "-i", subtitles.name,
            "-map", "0:v", "-map", "1:a", "-map", "3:s", "-map_metadata", "2", "-map_chapters", "2",
            "-vf", f"fps={FPS},subtitles={subtitles.name}:force_style='{SUBTITLE_STYLE}',format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "24",
            "-c:a", "aac", "-b:a", "96k", "-ar", "48000",
            "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
            "-movflags", "+faststart", out.name,
        ],
        capture_output=True,
        text=True,
        cwd=out.parent,
    )  # fmt: skip
    listing.unlink()
    if done.returncode:
        raise VideoError(f"ffmpeg failed: {done.stderr.strip()[-500:]}")
    return out


def make(
    ffmpeg: str,
    title: str,
    marks: list[tuple[str, float, float]],
    timeline: list[Timed],
    frames: list[tuple[Path, int]],
    durations: dict[Path, float],
    folder: Path,
) -> VideoFacts:
    """``walkthrough.mp4`` and ``walkthrough.vtt`` in ``folder``: the frames, the narration placed on the
    timeline, the subtitles and the chapters (``marks``: title, start, end) — checked once encoded."""
    total = timeline[-1].start + timeline[-1].seconds
    speech = [(start, wav) for timed in timeline for start, _, wav in timed.sentences]
    audio = voice.join(speech, total, folder / "narration.wav")
    (folder / SUBTITLES).write_text(webvtt([cue for timed in timeline for cue in cues(timed, durations)]))
    (folder / "chapters.txt").write_text(ffmetadata(title, marks))
    mp4 = encode(ffmpeg, frames, audio, folder / SUBTITLES, folder / "chapters.txt", folder / VIDEO)
    audio.unlink()
    (folder / "chapters.txt").unlink()
    facts = probe(mp4)
    if problems := check(facts, [name for name, _, _ in marks]):
        raise VideoError(f"{mp4}: " + "; ".join(problems))
    return facts


def check(facts: VideoFacts, chapters: list[str]) -> list[str]:
    """What is wrong with a walkthrough video: its narration not as long as its picture, a chapter not
    marked, or one without subtitles."""
    problems = []
    if abs(facts.audio_seconds - facts.video_seconds) > 0.5:
        problems.append(f"audio {facts.audio_seconds:.2f}s against video {facts.video_seconds:.2f}s")
    if [name for name, _, _ in facts.chapters] != chapters:
        problems.append(f"chapters {[name for name, _, _ in facts.chapters]}, expected {chapters}")
    for name, start, end in facts.chapters:
        if not any(cue.start < end and cue.end > start for cue in facts.cues):
            problems.append(f"no subtitle during chapter {name!r}")
    return problems


@dataclass(frozen=True)
class VideoFacts:
    seconds: float
    video_seconds: float
    audio_seconds: float
    width: int
    height: int
    chapters: list[tuple[str, float, float]]
    cues: list[Cue]  # from the MP4's own subtitle track
    size: int


def probe(path: Path) -> VideoFacts:
    """What the MP4 holds, read back with ffprobe (streams, chapters) and ffmpeg (the subtitle track)."""
    ffprobe, ffmpeg = shutil.which("ffprobe"), shutil.which("ffmpeg")
    if not ffprobe or not ffmpeg:
        raise VideoError("ffprobe/ffmpeg not found: `make setup` installs ffmpeg")
    shown = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-show_chapters", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(shown.stdout)
    streams = {s["codec_type"]: s for s in info["streams"]}
    if not {"video", "audio", "subtitle"} <= set(streams):
        raise VideoError(f"{path.name} has streams {sorted(streams)}: video, audio and subtitles expected")
    track = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", "webvtt", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return VideoFacts(
        seconds=float(info["format"]["duration"]),
        video_seconds=float(streams["video"]["duration"]),
        audio_seconds=float(streams["audio"]["duration"]),
        width=streams["video"]["width"],
        height=streams["video"]["height"],
        chapters=[
            (c["tags"].get("title", ""), float(c["start_time"]), float(c["end_time"]))
            for c in info["chapters"]
        ],
        cues=parse_webvtt(track.stdout),
        size=path.stat().st_size,
    )


def parse_webvtt(text: str) -> list[Cue]:
    found = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        timing = next((n for n, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = (_seconds(part.split()[0]) for part in lines[timing].split("-->"))
        found.append(Cue(start, end, " ".join(lines[timing + 1 :])))
    return found


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))
