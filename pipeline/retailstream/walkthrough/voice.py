"""The narrator: Debian's festival with the HTS voice cmu_us_slt_arctic_hts (package festvox-us-slt-hts),
offline. Chosen over espeak-ng because it sounds like a person, not a formant synthesizer: the same
narration was understood far better by a speech recognizer (pocketsphinx, word error rate 0.42 against
0.89 for espeak-ng's best English voice) — see docs/walkthrough.md.

Every sentence becomes its own WAV, so that subtitles start and end exactly with their sentence."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

VOICE = "voice_cmu_us_slt_arctic_hts"
RATE = 1.1  # hts_engine's speed: 10 % brisker than the voice's own pace, as well understood


class VoiceError(RuntimeError):
    """festival or its voice is missing, or it failed."""


def synthesize(texts: list[str], out: Path) -> list[Path]:
    """One WAV per text (``out/0001.wav`` …), all in one festival process."""
    festival = shutil.which("festival")
    if not festival:
        raise VoiceError("festival not found: `make setup` installs festival and festvox-us-slt-hts")
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{number:04d}.wav" for number in range(1, len(texts) + 1)]
    script = [
        f"({VOICE})",
        f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {RATE}))))',
    ] + [
        f'(utt.save.wave (utt.synth (Utterance Text "{_scheme_string(text)}")) "{path}" \'riff)'
        for text, path in zip(texts, paths, strict=True)
    ]
    (out / "narration.scm").write_text("\n".join(script) + "\n")
    done = subprocess.run([festival, "-b", str(out / "narration.scm")], capture_output=True, text=True)
    missing = [path.name for path in paths if not path.exists()]
    if done.returncode or missing:
        detail = (done.stderr or done.stdout).strip()[-400:]
        raise VoiceError(f"festival ({VOICE}) did not speak {len(missing)} sentence(s): {detail}")
    return paths


def _scheme_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def duration(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def join(parts: list[tuple[float, Path]], total: float, out: Path) -> Path:
    """One mono track of ``total`` seconds: silence, with each WAV placed at its start second."""
    with wave.open(str(parts[0][1])) as first:
        params = first.getparams()
    if params.nchannels != 1 or params.sampwidth != 2:
        raise VoiceError(f"expected 16-bit mono speech, festival wrote {params}")
    rate = params.framerate
    track = bytearray(int(round(total * rate)) * 2)
    for start, path in parts:
        with wave.open(str(path)) as audio:
            frames = audio.readframes(audio.getnframes())
        offset = int(round(start * rate)) * 2
        if offset + len(frames) > len(track):
            raise VoiceError(f"{path.name} does not fit the track at {start:.2f}s")
        track[offset : offset + len(frames)] = frames
    with wave.open(str(out), "wb") as result:
        result.setnchannels(1)
        result.setsampwidth(2)
        result.setframerate(rate)
        result.writeframes(bytes(track))
    return out
