"""The walkthrough's script: chapters of beats (a slide and its narration), read from ``script/*.yaml``
(see ``script/README.md``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SCRIPT_DIR = Path(__file__).with_name("script")


class ScriptError(ValueError):
    """A chapter file does not follow the script's format."""


@dataclass(frozen=True)
class Card:
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TerminalSlice:
    start: str  # the first line shown contains this
    until: str | None  # the first line after it that contains this is not shown
    command: str | None  # typed at a prompt before the output


@dataclass(frozen=True)
class Beat:
    say: str
    page: str | None = None
    terminal: TerminalSlice | None = None
    card: Card | None = None
    otherwise: Beat | None = None  # played instead when the page has nothing to show


@dataclass(frozen=True)
class Chapter:
    title: str
    beats: tuple[Beat, ...]


def load_script(folder: Path = SCRIPT_DIR) -> list[Chapter]:
    chapters = [_chapter(path) for path in sorted(folder.glob("[0-9]*.yaml"))]
    if not chapters:
        raise ScriptError(f"{folder} holds no chapter (NN-name.yaml)")
    return chapters


def load_lexicon(folder: Path = SCRIPT_DIR) -> dict[str, str]:
    path = folder / "lexicon.yaml"
    return (
        {str(k): str(v) for k, v in (yaml.safe_load(path.read_text()) or {}).items()} if path.exists() else {}
    )


def _chapter(path: Path) -> Chapter:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or set(data) != {"title", "beats"} or not data["beats"]:
        raise ScriptError(f"{path.name}: a chapter has a title and a list of beats")
    return Chapter(
        str(data["title"]),
        tuple(_beat(item, f"{path.name} beat {n}") for n, item in enumerate(data["beats"], start=1)),
    )


def _beat(item, where: str) -> Beat:
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: a beat is a mapping")
    shown = [key for key in ("page", "terminal", "card") if key in item]
    unknown = set(item) - {"page", "terminal", "card", "say", "otherwise"}
    if len(shown) != 1 or unknown or not str(item.get("say", "")).strip():
        raise ScriptError(f"{where}: a beat has `say` and exactly one of page, terminal, card")
    if "otherwise" in item and "page" not in item:
        raise ScriptError(f"{where}: only a page can have an `otherwise` beat")
    terminal = card = None
    if "terminal" in item:
        spec = item["terminal"]
        if not isinstance(spec, dict) or "from" not in spec or set(spec) - {"from", "until", "command"}:
            raise ScriptError(f"{where}: terminal takes from, until and command")
        terminal = TerminalSlice(str(spec["from"]), spec.get("until"), spec.get("command"))
    if "card" in item:
        spec = item["card"]
        if not isinstance(spec, dict) or set(spec) != {"title", "lines"}:
            raise ScriptError(f"{where}: a card has a title and lines")
        card = Card(str(spec["title"]), tuple(" ".join(str(line).split()) for line in spec["lines"]))
    return Beat(
        say=" ".join(str(item["say"]).split()),
        page=item.get("page"),
        terminal=terminal,
        card=card,
        otherwise=_beat(item["otherwise"], f"{where} otherwise") if "otherwise" in item else None,
    )


# A sentence ends at . ! ? followed by a space and a capital letter or a digit ("e.g. x" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def spoken(text: str, lexicon: dict[str, str]) -> str:
    """``text`` as the voice should read it: every lexicon word replaced by its spoken form."""
    for written in sorted(lexicon, key=len, reverse=True):
        text = re.sub(rf"(?<![\w:.-]){re.escape(written)}(?![\w:-])", lexicon[written], text)
    return text
