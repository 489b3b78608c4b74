"""The demo's recorded output as moving text: a slice of the transcript (``demo-terminal.ansi``, with
its colours) typed into a terminal slide frame by frame, scrolling like a terminal when it overflows."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.color import Color
from rich.style import Style
from rich.terminal_theme import MONOKAI
from rich.text import Text

from retailstream.walkthrough.pages import CONTENT, FPS, HEADER, WIDTH
from retailstream.walkthrough.script import TerminalSlice

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core (a Chromium dependency)
FONT_SIZE, LINE_HEIGHT, MARGIN = 18, 22, 24  # 140 columns of DejaVu Sans Mono fill the 1600 px width
ROWS = (CONTENT - 2 * MARGIN) // LINE_HEIGHT
FOREGROUND = (226, 232, 240)
PROMPT = (134, 239, 172)
SECONDS_PER_KEY = 0.08
SECONDS_PER_LINE = 0.2  # output appears no faster than this, like a program printing …
REVEAL_SHARE = 0.7  # … and is all there by this share of the slide's time, for the narration to end on


class TranscriptError(ValueError):
    """The transcript has no line the script asks for."""


@dataclass(frozen=True)
class Frame:
    image: Path
    ticks: int  # how long it stays, in frames of the video (1/FPS s)


def cut(transcript: str, part: TerminalSlice) -> list[Text]:
    """The lines of ``part``: from the first containing ``part.start`` to the next containing
    ``part.until`` (not included), trailing blank lines dropped."""
    lines = [Text.from_ansi(line) for line in transcript.splitlines()]
    plain = [line.plain for line in lines]
    first = next((n for n, text in enumerate(plain) if part.start in text), None)
    if first is None:
        raise TranscriptError(f"the demo's output has no line with {part.start!r}")
    end = len(lines)
    if part.until:
        end = next((n for n in range(first + 1, len(lines)) if part.until in plain[n]), None)
        if end is None:
            raise TranscriptError(f"the demo's output has no line with {part.until!r} after {part.start!r}")
    chosen = lines[first:end]
    while chosen and not chosen[-1].plain.strip():
        chosen.pop()
    return chosen


def _fonts() -> dict[tuple[bool, bool], ImageFont.FreeTypeFont]:
    names = {
        (False, False): "DejaVuSansMono.ttf",
        (True, False): "DejaVuSansMono-Bold.ttf",
        (False, True): "DejaVuSansMono-Oblique.ttf",
        (True, True): "DejaVuSansMono-BoldOblique.ttf",
    }
    return {key: ImageFont.truetype(str(FONT_DIR / name), FONT_SIZE) for key, name in names.items()}


def _colour(style, background: tuple[int, int, int]) -> tuple[int, int, int]:
    colour = FOREGROUND
    if style and style.color and not style.color.is_default:
        colour = tuple(style.color.get_truecolor(MONOKAI))
    if style and style.dim:
        colour = tuple((c + b) // 2 for c, b in zip(colour, background, strict=True))
    return colour


class TerminalPainter:
    """Draws terminal lines into the picture area of a slide (``chrome``: the slide with an empty area)."""

    def __init__(self, chrome: Path):
        self.chrome = Image.open(chrome).convert("RGB")
        self.fonts = _fonts()
        self.cell = self.fonts[False, False].getlength("M")  # the advance PIL itself uses for every glyph
        self.background = self.chrome.getpixel((WIDTH // 2, HEADER + CONTENT // 2))

    def paint(self, lines: list[Text], cursor: bool, path: Path) -> Path:
        image = self.chrome.copy()
        draw = ImageDraw.Draw(image)
        shown = lines[-ROWS:]  # a terminal scrolls: the newest lines stay in view
        for row, line in enumerate(shown):
            y = HEADER + MARGIN + row * LINE_HEIGHT
            for column, text, style in _runs(line):
                font = self.fonts[bool(style.bold), bool(style.italic)]
                draw.text(
                    (MARGIN + column * self.cell, y), text, font=font, fill=_colour(style, self.background)
                )
            if cursor and row == len(shown) - 1:
                x = MARGIN + len(line.plain) * self.cell
                draw.rectangle((x, y + 2, x + self.cell - 1, y + LINE_HEIGHT - 2), fill=FOREGROUND)
        image.save(path, compress_level=1)
        return path


def _runs(line: Text):
    """(first column, text, style) of every run of characters that share a style."""
    styles = [Style.null()] * len(line.plain)
    for span in line.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        for index in range(span.start, min(span.end, len(styles))):
            styles[index] += style
    column = 0
    for style, run in groupby(zip(line.plain, styles, strict=True), key=lambda pair: pair[1]):
        text = "".join(character for character, _ in run)
        yield column, text, style
        column += len(text)


def minimum_seconds(command: str | None) -> float:
    """The shortest slide that still types the command and shows the output for a moment."""
    return (len(command) + 1) * SECONDS_PER_KEY + 0.4 + 1.0 if command else 1.0


def typed(
    painter: TerminalPainter, lines: list[Text], command: str | None, seconds: float, out: Path, name: str
) -> list[Frame]:
    """Frames that type ``command`` at a prompt, then print ``lines``; together exactly ``seconds`` long
    (a multiple of 1/FPS, at least ``minimum_seconds``)."""
    tick = 1 / FPS
    frames: list[Frame] = []
    prompt = [Text.assemble(("$ ", Style(color=Color.from_rgb(*PROMPT), bold=True)), (command or "", "bold"))]

    def frame(shown: list[Text], cursor: bool, ticks: int) -> None:
        path = painter.paint(shown, cursor, out / f"{name}-{len(frames):04d}.png")
        frames.append(Frame(path, ticks))

    if command:
        for typed_so_far in range(len(command) + 1):
            partial = prompt[0][: 2 + typed_so_far]
            frame([partial], True, round(SECONDS_PER_KEY / tick))
        frame(prompt, False, round(0.4 / tick))
    header = prompt if command else []
    total = round(seconds / tick)
    left = total - sum(f.ticks for f in frames)
    if left < 1:
        raise ValueError(f"{seconds:.2f}s is too short to type {command!r}")
    reveal = max(1, min(round(SECONDS_PER_LINE * len(lines) / tick), round(REVEAL_SHARE * left)))
    steps = min(len(lines), reveal) or 1
    for step in range(1, steps + 1):
        shown = lines[: round(step * len(lines) / steps)]
        frame(header + shown, False, reveal * step // steps - reveal * (step - 1) // steps)
    frames[-1] = Frame(frames[-1].image, frames[-1].ticks + total - sum(f.ticks for f in frames))
    return frames
