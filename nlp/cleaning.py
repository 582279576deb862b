"""Text normalisation and row triage: every input row is kept or quarantined with a reason."""

from __future__ import annotations

import hashlib
import html
import re

import ftfy
import pandas as pd

# Answers that carry no feedback; compared after lower-casing and stripping punctuation.
PLACEHOLDERS = frozenset(
    {
        "",
        "na",
        "n a",
        "none",
        "nil",
        "nothing",
        "no",
        "no comment",
        "no comments",
        "nothing to add",
        "nothing to say",
        "not applicable",
        "null",
        "blank",
        "test",
        "did not answer",
        "no answer",
        "not answered",
        "prefer not to say",
    }
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200e\u200f\ufeff]")
_TAG = re.compile(r"<[^>]{1,200}>")
_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")


def normalise_text(text: object) -> str:
    """Repair mojibake (ftfy), NFKC-normalise, unescape HTML, drop tags and control characters,
    fold whitespace."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    s = ftfy.fix_text(str(text), normalization="NFKC")
    s = html.unescape(s)
    s = _TAG.sub(" ", s)
    s = _CONTROL.sub("", s)
    return _SPACE.sub(" ", s).strip()


def is_placeholder(text: str) -> bool:
    """True for answers like 'N/A', 'none', '-' that say nothing."""
    key = _NON_WORD.sub(" ", text.lower()).strip()
    return key in PLACEHOLDERS


# Back-channel words of spoken transcripts ("Yeah. Okay. Mm-hmm.").
FILLERS = frozenset(
    "uh um er erm ah oh mm hmm mhm yeah yes yep no ok okay right sure so well alright "
    "thanks thank you great good perfect cool exactly true".split()
)


def is_filler_turn(text: str, min_content_words: int = 3) -> bool:
    """True for a transcript turn with fewer than `min_content_words` non-filler words."""
    words = [w for w in _NON_WORD.split(text.lower()) if w]
    return sum(w not in FILLERS for w in words) < min_content_words


def text_hash(text: str) -> str:
    """Stable 16-hex-digit content hash of a (cleaned) text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def triage_comments(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise `text` and split rows into (kept, quarantined).

    Expects columns `source`, `row_number`, `source_id`, `text` and optionally `kind`.
    Quarantine reasons: `missing_id`, `empty_text`, `placeholder_text`, `filler_turn` (a
    transcript turn with under three content words), `duplicate_row` (same id and text seen
    earlier), `duplicate_id` (same id, different text). Identical texts from different
    respondents are kept: each respondent's score counts. Moderator turns are kept as they are.
    """
    work = df.copy()
    work["text"] = work["text"].map(normalise_text)
    sid = work["source_id"].astype("string").str.strip()
    work["source_id"] = sid
    reason = pd.Series(pd.NA, index=work.index, dtype="string")
    reason[sid.isna() | (sid == "")] = "missing_id"
    empty = work["text"] == ""
    reason[reason.isna() & empty] = "empty_text"
    placeholder = work["text"].map(is_placeholder) & ~empty
    reason[reason.isna() & placeholder] = "placeholder_text"
    if "kind" in work:
        turn = work["kind"] == "transcript_turn"
        filler = turn & work["text"].map(is_filler_turn)
        reason[reason.isna() & filler] = "filler_turn"
    candidates = reason.isna()
    dup_row = work.duplicated(subset=["source", "source_id", "text"], keep="first")
    reason[candidates & dup_row] = "duplicate_row"
    candidates = reason.isna()
    dup_id = work[candidates].duplicated(subset=["source", "source_id"], keep="first")
    reason[dup_id[dup_id].index] = "duplicate_id"

    kept = work[reason.isna()].copy()
    kept["text_hash"] = kept["text"].map(text_hash)
    quarantined = work.loc[reason.notna(), ["source", "row_number", "source_id"]].copy()
    quarantined["column"] = ["id" if r == "missing_id" else "text" for r in reason[reason.notna()]]
    quarantined["reason"] = reason[reason.notna()]
    return kept.reset_index(drop=True), quarantined.reset_index(drop=True)


# Frequent function words per language: a cheap, dependency-free language guess for routing
# (non-English is flagged, not dropped). Issue 4 may swap in a statistical identifier.
_FUNCTION_WORDS = {
    "en": "the and to was is of it i you that in for with my they were very not but have this",
    "fr": "le la les et est un une des que qui pas pour dans je vous nous avec sur du au ce",
    "es": "el la los las y es un una que de en por con para no se lo muy pero su del",
    "de": "der die das und ist nicht ein eine ich sie mit zu den von auf für sehr aber es",
    "nl": "de het een en is van niet ik je dat met voor op zijn was maar ook er te",
    "pt": "o a os as e é um uma que de em não com para por muito mas se do da",
}
_LANG_SETS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str, min_hits: int = 2) -> str:
    """ISO 639-1 guess from function-word hits; `und` when too short or unclear."""
    words = [w.lower() for w in _WORD.findall(text) if len(w) > 1]
    if not words:
        return "und"
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _LANG_SETS.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] < min_hits:
        return "und"
    return best
