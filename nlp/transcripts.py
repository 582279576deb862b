"""Split `Speaker: text` transcripts into speaker turns and mark the moderator's turns.

Speakers are replaced by pseudonyms: `MODERATOR` for interviewers/moderators/chairs and
`P01`, `P02`, ... for participants in order of first appearance. Real names never leave here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# `[00:01:02] Name: text`, `Name (00:01): text`, `Interviewer 1 : text`, `P3: text`.
_TIME = r"(?:\[?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\]?\s*)?"
_TURN = re.compile(
    r"^\s*" + _TIME + r"(?P<speaker>[A-Za-z][\w.'\- ]{0,38}?)\s*"
    r"(?:\((?P<ts2>\d{1,2}:\d{2}(?::\d{2})?)\))?\s*:\s*(?P<text>.*)$"
)
DEFAULT_MODERATOR_PATTERN = (
    r"^(interviewer|moderator|facilitator|host|chair|chairperson|commissioner|researcher|"
    r"q|question)\b"
)
_MAX_SPEAKER_WORDS = 4


@dataclass(frozen=True)
class Turn:
    """One speaker turn: consecutive lines of the same speaker merged."""

    speaker_label: str
    text: str
    turn_index: int
    start_time: float | None
    is_moderator: bool


def _seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    parts = [float(p) for p in ts.split(":")]
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def _speaker_line(line: str) -> tuple[str, str, float | None] | None:
    m = _TURN.match(line)
    if not m:
        return None
    speaker = re.sub(r"\s+", " ", m.group("speaker")).strip()
    if len(speaker.split()) > _MAX_SPEAKER_WORDS or speaker.lower() in {"http", "https", "note"}:
        return None
    return speaker, m.group("text").strip(), _seconds(m.group("ts") or m.group("ts2"))


def split_speaker_turns(
    text: str, moderator_pattern: str = DEFAULT_MODERATOR_PATTERN
) -> list[Turn]:
    """Parse a `Speaker: text` transcript into turns.

    Lines without a speaker prefix continue the current turn (lines before the first speaker are
    ignored as front matter). Consecutive turns by the same speaker are merged.
    """
    mod_re = re.compile(moderator_pattern, re.IGNORECASE)
    raw: list[list] = []  # [speaker, [texts], start_time]
    for line in text.splitlines():
        if not line.strip():
            continue
        parsed = _speaker_line(line)
        if parsed is None:
            if raw:
                raw[-1][1].append(line.strip())
            continue
        speaker, body, ts = parsed
        if raw and raw[-1][0].lower() == speaker.lower():
            raw[-1][1].append(body)
        else:
            raw.append([speaker, [body], ts])
    turns = []
    for speaker, bodies, ts in raw:
        body = " ".join(b for b in bodies if b).strip()
        if not body:
            continue
        turns.append(
            Turn(
                speaker_label=speaker,
                text=body,
                turn_index=len(turns),
                start_time=ts,
                is_moderator=bool(mod_re.search(speaker)),
            )
        )
    return turns


def speaker_pseudonyms(turns: list[Turn]) -> dict[str, str]:
    """Map each speaker label to `MODERATOR` or `P01`, `P02`, ... by first appearance."""
    mapping: dict[str, str] = {}
    n = 0
    for t in turns:
        key = t.speaker_label.lower()
        if key in mapping:
            continue
        if t.is_moderator:
            mapping[key] = "MODERATOR"
        else:
            n += 1
            mapping[key] = f"P{n:02d}"
    return mapping


def transcript_rows(
    text: str, transcript_id: str, moderator_pattern: str | None = None
) -> list[dict]:
    """Rows for the `comments` table, one per turn, with pseudonymous speakers.

    `kind` is `transcript_turn` for participants and `moderator_turn` for the moderator.
    """
    turns = split_speaker_turns(text, moderator_pattern or DEFAULT_MODERATOR_PATTERN)
    names = speaker_pseudonyms(turns)
    rows = []
    for t in turns:
        rows.append(
            {
                "transcript_id": transcript_id,
                "source_id": f"{transcript_id}:{t.turn_index:04d}",
                "speaker": names[t.speaker_label.lower()],
                "turn_index": t.turn_index,
                "start_time": t.start_time,
                "kind": "moderator_turn" if t.is_moderator else "transcript_turn",
                "text": t.text,
            }
        )
    return rows
