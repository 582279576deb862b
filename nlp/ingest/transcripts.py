"""Transcripts → speaker turns, with the moderator's turns marked.

Every format becomes a list of `Segment`s (speaker label, text, start time, optional role):
`Speaker: text` lines (.txt, .docx paragraphs), WebVTT, SubRip, and diarised JSON segments with
a speakers file. Consecutive segments of one speaker merge into a turn. A speaker is the
moderator when its label or role matches the moderator pattern, or, when none does, when it
asks most of the questions. Speakers are replaced by pseudonyms: `MODERATOR` and `P01`, `P02`,
... in order of first appearance. Real names never leave this module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# `[00:01:02] Name: text`, `Name (00:01): text`, `Interviewer 1 : text`, `P3: text`.
_TIME = r"(?:\[?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\]?\s*)?"
_TURN = re.compile(
    r"^\s*" + _TIME + r"(?P<speaker>[A-Za-z][\w.'\- ]{0,38}?)\s*"
    r"(?:\((?P<ts2>\d{1,2}:\d{2}(?::\d{2})?)\))?\s*:\s*(?P<text>.*)$"
)
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+(?P<speaker>[^>]+)>(?P<text>.*?)(?:</v>)?$", re.DOTALL)
_TAGS = re.compile(r"</?[^>]+>")
# "(?![a-z])" rather than "\b": "Interviewer1" is a moderator, "Quality" is not.
DEFAULT_MODERATOR_PATTERN = (
    r"^(interviewer|moderator|facilitator|host|chair|chairperson|chairman|chairwoman|"
    r"commissioner|researcher|secretary|clerk|q|question)(?![a-z])"
)
_MAX_SPEAKER_WORDS = 4
UNKNOWN_SPEAKER = "UNKNOWN"
# Question-heavy heuristic: a speaker whose turns are mostly questions, far more than others'.
QUESTION_SHARE_AT = 0.4
QUESTION_RATIO_AT = 2.0


@dataclass(frozen=True)
class Segment:
    """One utterance as a format gives it, before turns are merged."""

    speaker: str
    text: str
    start_time: float | None = None
    role: str | None = None


@dataclass(frozen=True)
class Turn:
    """One speaker turn: consecutive segments of the same speaker merged."""

    speaker_label: str
    text: str
    turn_index: int
    start_time: float | None
    is_moderator: bool


def _seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    seconds = 0.0
    for part in ts.replace(",", ".").split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _speaker_line(line: str) -> tuple[str, str, float | None] | None:
    m = _TURN.match(line)
    if not m:
        return None
    speaker = re.sub(r"\s+", " ", m.group("speaker")).strip()
    if len(speaker.split()) > _MAX_SPEAKER_WORDS or speaker.lower() in {"http", "https", "note"}:
        return None
    return speaker, m.group("text").strip(), _seconds(m.group("ts") or m.group("ts2"))


# ---------------------------------------------------------------- formats → segments


def segments_from_lines(lines: Iterable[str]) -> list[Segment]:
    """`Speaker: text` lines; a line without a prefix continues the previous segment.

    Lines before the first speaker are front matter and ignored.
    """
    out: list[Segment] = []
    for line in lines:
        if not line.strip():
            continue
        parsed = _speaker_line(line)
        if parsed is None:
            if out:
                last = out[-1]
                out[-1] = Segment(last.speaker, f"{last.text} {line.strip()}", last.start_time)
            continue
        speaker, body, ts = parsed
        out.append(Segment(speaker, body, ts))
    return out


def _cue_segment(text: str, start: float | None) -> Segment | None:
    text = text.strip()
    voice = _VOICE.match(text)
    if voice:
        body = _TAGS.sub("", voice.group("text")).strip()
        return Segment(voice.group("speaker").strip(), " ".join(body.split()), start)
    text = " ".join(_TAGS.sub("", text).split())
    if not text:
        return None
    parsed = _speaker_line(text)
    if parsed:
        return Segment(parsed[0], parsed[1], start)
    return Segment(UNKNOWN_SPEAKER, text, start)


def segments_from_vtt(text: str) -> list[Segment]:
    """WebVTT cues; the speaker comes from `<v Name>` voice tags or a `Name:` prefix."""
    import webvtt

    captions = webvtt.from_buffer(io.StringIO(text))
    segs = (_cue_segment(c.raw_text, _seconds(c.start)) for c in captions)
    return _continue_unknown([s for s in segs if s])


def segments_from_srt(text: str) -> list[Segment]:
    """SubRip cues; the speaker comes from a `Name:` prefix in the cue text."""
    import pysrt

    subs = pysrt.from_string(text)
    segs = (_cue_segment(s.text, s.start.ordinal / 1000.0) for s in subs)
    return _continue_unknown([s for s in segs if s])


def _continue_unknown(segments: list[Segment]) -> list[Segment]:
    """Cues without a speaker continue the previous speaker (subtitles split long turns)."""
    out: list[Segment] = []
    for seg in segments:
        if seg.speaker == UNKNOWN_SPEAKER and out:
            out.append(Segment(out[-1].speaker, seg.text, seg.start_time, out[-1].role))
        else:
            out.append(seg)
    return out


def segments_from_records(
    records: Sequence[dict], speakers: dict[str, dict] | None = None
) -> list[Segment]:
    """Diarised JSON segments `{speaker, text, start_time}`; `speakers` maps labels to roles."""
    speakers = speakers or {}
    out = []
    for rec in records:
        label = str(rec.get("speaker", UNKNOWN_SPEAKER))
        text = str(rec.get("text") or "").strip()
        if not text:
            continue
        start = rec.get("start_time", rec.get("start"))
        role = speakers.get(label, {}).get("role")
        out.append(Segment(label, text, float(start) if start is not None else None, role))
    return out


# ---------------------------------------------------------------- segments → turns


def question_heavy_speakers(segments: Sequence[Segment]) -> set[str]:
    """Speakers most of whose segments are questions, at least twice any other speaker's share."""
    asked: dict[str, list[int]] = {}
    for s in segments:
        asked.setdefault(s.speaker.lower(), [0, 0])
        asked[s.speaker.lower()][0] += "?" in s.text
        asked[s.speaker.lower()][1] += 1
    if len(asked) < 2:
        return set()
    share = {k: q / n for k, (q, n) in asked.items()}
    top = max(share, key=lambda k: share[k])
    rest = max(v for k, v in share.items() if k != top)
    if share[top] >= QUESTION_SHARE_AT and share[top] >= QUESTION_RATIO_AT * rest:
        return {top}
    return set()


def merge_turns(
    segments: Sequence[Segment], moderator_pattern: str = DEFAULT_MODERATOR_PATTERN
) -> list[Turn]:
    """Merge consecutive segments of one speaker into turns and mark the moderator's."""
    mod_re = re.compile(moderator_pattern, re.IGNORECASE)
    moderators = {
        s.speaker.lower()
        for s in segments
        if mod_re.search(s.speaker) or (s.role and mod_re.search(s.role))
    }
    if not moderators:
        moderators = question_heavy_speakers(segments)
    merged: list[list] = []  # [speaker, [texts], start]
    for s in segments:
        if merged and merged[-1][0].lower() == s.speaker.lower():
            merged[-1][1].append(s.text)
        else:
            merged.append([s.speaker, [s.text], s.start_time])
    turns = []
    for speaker, texts, start in merged:
        body = " ".join(t for t in texts if t).strip()
        if body:
            turns.append(Turn(speaker, body, len(turns), start, speaker.lower() in moderators))
    return turns


def split_speaker_turns(
    text: str, moderator_pattern: str = DEFAULT_MODERATOR_PATTERN
) -> list[Turn]:
    """Parse a `Speaker: text` transcript into turns."""
    return merge_turns(segments_from_lines(text.splitlines()), moderator_pattern)


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


def rows_from_segments(
    segments: Sequence[Segment], transcript_id: str, moderator_pattern: str | None = None
) -> list[dict]:
    """Rows for the `comments` table, one per turn, with pseudonymous speakers.

    `kind` is `transcript_turn` for participants and `moderator_turn` for the moderator;
    `prompt` holds the moderator turn a participant turn answers (context, not analysed).
    """
    turns = merge_turns(segments, moderator_pattern or DEFAULT_MODERATOR_PATTERN)
    names = speaker_pseudonyms(turns)
    rows = []
    question = None  # the moderator's last turn: the prompt a participant answers
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
                "prompt": None if t.is_moderator else question,
            }
        )
        if t.is_moderator:
            question = t.text
    return rows


def transcript_rows(
    text: str, transcript_id: str, moderator_pattern: str | None = None
) -> list[dict]:
    """`rows_from_segments` for a `Speaker: text` transcript."""
    return rows_from_segments(
        segments_from_lines(text.splitlines()), transcript_id, moderator_pattern
    )
