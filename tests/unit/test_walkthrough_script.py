"""The walkthrough's script and its timing, without the lab: chapter files, pronunciations, subtitles,
chapters metadata, the typed terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console
from rich.table import Table

from retailstream.walkthrough import terminal, video
from retailstream.walkthrough.pages import CONTENT, FPS, HEADER, HEIGHT, WIDTH
from retailstream.walkthrough.recorder import (
    OPTIONAL_SCENES,
    Recording,
    WalkthroughError,
    plan,
    public,
    redacted,
    scenes,
)
from retailstream.walkthrough.script import (
    ScriptError,
    TerminalSlice,
    load_lexicon,
    load_script,
    sentences,
    spoken,
)


def recording(retried=("run-1", "load")) -> Recording:
    return Recording("demo__1", Path("/r/report.html"), Path("/r/notebooks"), retried, 0.0)


@pytest.fixture
def known(settings, tmp_path):
    lab = settings.model_copy(update={"home": Path("/")})  # the executed notebooks live under the project
    return scenes(lab, recording())


def test_every_page_of_the_script_is_a_scene_and_optional_ones_have_a_replacement(known):
    chapters = load_script()
    assert [c.title for c in chapters][0] == "The problem" and chapters[-1].title == "Challenges faced"
    pages = {b.page for c in chapters for b in c.beats if b.page}
    assert pages <= set(known)
    optional = [b for c in chapters for b in c.beats if b.page in OPTIONAL_SCENES]
    assert optional and all(b.otherwise and not b.otherwise.page for b in optional)
    assert all(beat.say for c in chapters for beat in c.beats)


def test_a_lab_without_a_retried_task_plays_the_replacement(settings):
    lab = settings.model_copy(update={"home": Path("/")})
    chapters = load_script()
    shown = plan(chapters, scenes(lab, recording(retried=None)))
    retry = next(b for c in chapters for b in c.beats if b.page == "airflow-retry")
    assert retry.otherwise in [item.beat for item in shown] and retry not in [item.beat for item in shown]


def test_an_unknown_page_is_refused(tmp_path, known):
    (tmp_path / "01-x.yaml").write_text("title: X\nbeats:\n  - page: nowhere\n    say: Hello.\n")
    with pytest.raises(WalkthroughError, match="no page named 'nowhere'"):
        plan(load_script(tmp_path), known)


@pytest.mark.parametrize(
    "beat",
    [
        "  - say: Only words.\n",
        "  - page: report\n    card: {title: T, lines: [a]}\n    say: Two things.\n",
        "  - card: {title: T, lines: [a]}\n    say: x\n    otherwise: {say: y, card: {title: U, lines: []}}",
        "  - terminal: {until: x}\n    say: No start.\n",
    ],
)
def test_malformed_beats_are_refused(tmp_path, beat):
    (tmp_path / "01-x.yaml").write_text("title: X\nbeats:\n" + beat)
    with pytest.raises(ScriptError):
        load_script(tmp_path)


def test_the_voice_reads_the_lexicon_but_subtitles_keep_the_written_words():
    lexicon = load_lexicon()
    said = spoken("With a jdbc:mariadb URL, MariaDB and Sqoop; use jdbc:mysql. Hive 2.3 binds.", lexicon)
    assert said == (
        "With a J D B C colon Maria D B URL, Maria D B and scoop; use J D B C colon my S Q L. "
        "Hive two point three binds."
    )
    assert spoken("DAGs and a DAG.", lexicon) == "DAGs and a dag."  # whole words only


def test_sentences_and_cues():
    text = "First one, e.g. this. Second: 2.3 is a version! Third?"
    assert sentences(text) == ["First one, e.g. this.", "Second: 2.3 is a version!", "Third?"]
    long = "word " * 40 + "end, " + "more " * 30 + "done."
    timed = video.place(10.0, [("Short.", Path("a.wav"), 2.0), (long, Path("b.wav"), 8.0)])
    assert timed.start == 10.0 and timed.sentences[0][0] == 10.0 + video.LEAD_IN
    assert timed.seconds * FPS == pytest.approx(round(timed.seconds * FPS))  # whole frames
    cues = video.cues(timed, {Path("a.wav"): 2.0, Path("b.wav"): 8.0})
    assert len(cues) > 2 and all(len(c.text) <= video.CUE_CHARACTERS for c in cues)
    assert " ".join(c.text for c in cues[1:]) == long.strip()
    assert cues[-1].end == pytest.approx(cues[1].start + 8.0)  # the parts share the sentence's time
    parsed = video.parse_webvtt(video.webvtt(cues))
    assert [(round(c.start, 3), round(c.end, 3), c.text) for c in parsed] == [
        (round(c.start, 3), round(c.end, 3), c.text) for c in cues
    ]


def test_chapter_metadata_escapes_its_special_characters():
    text = video.ffmetadata("run a=b", [("One; two", 0, 1.5), ("#3", 1.5, 4)])
    assert "title=run a\\=b" in text and "title=One\\; two" in text and "title=\\#3" in text
    assert "START=1500\nEND=4000" in text


def test_secret_query_parameters_never_reach_the_manifest_or_an_error():
    url = "http://127.0.0.1:8888/lab/tree/x.ipynb?token=s3cr3t&g0.tab=0"
    assert public(url) == "http://127.0.0.1:8888/lab/tree/x.ipynb?g0.tab=0"
    assert (
        redacted(f"net::ERR at {url} 0", url)
        == "net::ERR at http://127.0.0.1:8888/lab/tree/x.ipynb?token=…&g0.tab=0 0"
    )


def transcript() -> str:
    console = Console(record=True, width=140, file=io.StringIO(), color_system="truecolor")
    console.rule("RetailStream demo")
    console.print("data: [bold]ready[/bold]")
    table = Table(title="Per stage")
    table.add_column("stage")
    table.add_column("status")
    for number in range(40):
        table.add_row(f"stage {number}", "[green]ok[/green]")
    console.print(table)
    console.print("Where to look")
    return console.export_text(styles=True)


def test_a_terminal_slice_is_typed_into_exactly_its_time(tmp_path):
    lines = terminal.cut(transcript(), TerminalSlice("Per stage", "Where to look", "make demo"))
    assert "Per stage" in lines[0].plain and "Where to look" not in "".join(line.plain for line in lines)
    assert any(span.style for line in lines for span in line.spans)  # the colours came along
    chrome = tmp_path / "chrome.png"
    Image.new("RGB", (WIDTH, HEIGHT), (15, 23, 42)).save(chrome)
    seconds = 7.2
    frames = terminal.typed(terminal.TerminalPainter(chrome), lines, "make demo", seconds, tmp_path, "t")
    assert sum(f.ticks for f in frames) == round(seconds * FPS)
    assert len(frames) > len("make demo") + 10  # typed, then printed in steps
    last = Image.open(frames[-1].image)
    assert last.size == (WIDTH, HEIGHT)
    lit = last.crop((0, HEADER, WIDTH, HEADER + CONTENT)).convert("L").point(lambda v: v > 120).getbbox()
    assert lit and lit[3] > CONTENT - 3 * terminal.LINE_HEIGHT - terminal.MARGIN  # scrolled to the bottom


def test_a_missing_marker_names_it():
    with pytest.raises(terminal.TranscriptError, match="'The ten questions'"):
        terminal.cut(transcript(), TerminalSlice("The ten questions", None, None))
    with pytest.raises(terminal.TranscriptError, match="'nowhere' after 'Per stage'"):
        terminal.cut(transcript(), TerminalSlice("Per stage", "nowhere", None))
