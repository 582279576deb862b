"""Text normalisation and row triage: every input row is kept or quarantined with a reason."""

from __future__ import annotations

import functools
import hashlib
import html
import re

import ftfy
import pandas as pd

from nlp.validation import input_failures

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

# C0 controls, zero-width space / non-joiner, BOM, and every bidi control (LRM, RLM, ALM,
# embeddings/overrides U+202A-U+202E, isolates U+2066-U+2069), which can make stored text
# display differently from what it says ("Trojan Source"). Zero-width joiner stays (emoji).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e"
    r"\u2066-\u2069\ufeff]"
)
_TAG = re.compile(r"<[^>]{1,200}>")
_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")
_WORD = re.compile(r"[^\W\d_]+")


def normalise_text(text: object) -> str:
    """Repair mojibake (ftfy), NFKC-normalise, unescape HTML, drop tags and control characters,
    fold whitespace."""
    if text is None or text is pd.NA or (isinstance(text, float) and pd.isna(text)):
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


# Back-channel words of spoken transcripts ("Yeah. Okay. Mm-hmm."), and the courtesies that
# fill a turn as well ("Thank you. Great."): a turn of these alone is a filler turn.
BACKCHANNELS = frozenset(
    "uh um er erm ah oh mm hmm mhm yeah yes yep no ok okay right sure so well alright".split()
)
FILLERS = BACKCHANNELS | frozenset("thanks thank you great good perfect cool exactly true".split())


def is_filler_turn(text: str, min_content_words: int = 3) -> bool:
    """True for a transcript turn with fewer than `min_content_words` non-filler words."""
    words = [w for w in _NON_WORD.split(text.lower()) if w]
    return sum(w not in FILLERS for w in words) < min_content_words


NEAR_DUPLICATE_MIN_WORDS = 8
_DIGITS = re.compile(r"\d+")


def near_duplicate_of(texts: pd.Series, ids: pd.Series, min_words: int = NEAR_DUPLICATE_MIN_WORDS):
    """For each text, the id of an earlier row with the same wording (case, punctuation and
    numbers ignored), else null. Short texts ("Very good") are never near-duplicates: many
    people write them. Flags template spam and re-submissions; nothing is dropped."""
    first: dict[str, str] = {}
    out = []
    for text, cid in zip(texts, ids, strict=True):
        key = _NON_WORD.sub(" ", _DIGITS.sub(" ", text.lower())).split()
        if len(key) < min_words:
            out.append(None)
            continue
        k = " ".join(key)
        out.append(first.get(k))
        first.setdefault(k, cid)
    return pd.Series(out, index=texts.index, dtype="string")


def parse_dates(raw: pd.Series) -> pd.Series:
    """ISO dates first; then day-first (dd/mm/yyyy) and month-first for what is left.

    Unparseable dates become null: the comment is still analysed, without a period.
    """
    s = raw.astype("string")
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce")
    day = pd.to_datetime(s, format="%d/%m/%Y", errors="coerce")
    month = pd.to_datetime(s, format="%m/%d/%Y", errors="coerce")
    return iso.fillna(day).fillna(month)


def text_hash(text: str) -> str:
    """Stable 16-hex-digit content hash of a (cleaned) text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def triage_comments(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise `text` and split rows into (kept, quarantined).

    Expects columns `source`, `row_number`, `source_id`, `text` and optionally `kind`.
    Quarantine reasons: `missing_id`, `id_too_long`, `text_too_long` (pandera checks in
    nlp.validation), `empty_text`, `placeholder_text`, `filler_turn` (a
    transcript turn with under three content words), `duplicate_row` (same id and text seen
    earlier), `duplicate_id` (same id, different text). Identical texts from different
    respondents are kept: each respondent's score counts. Moderator turns are kept as they are.
    """
    work = df.copy()
    work["text"] = work["text"].map(normalise_text)
    sid = work["source_id"].astype("string").str.strip()
    work["source_id"] = sid
    reason = pd.Series(pd.NA, index=work.index, dtype="string")
    column = pd.Series("text", index=work.index, dtype="string")
    failures = input_failures(work)  # pandera: missing or oversize id, oversize text
    reason[failures.index] = failures["reason"]
    column[failures.index] = failures["column"]
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
    carried = [
        c for c in ("source", "row_number", "source_id", "comment_id", "row_hash") if c in work
    ]
    quarantined = work.loc[reason.notna(), carried].copy()
    quarantined["column"] = column[reason.notna()]
    quarantined["reason"] = reason[reason.notna()]
    return kept.reset_index(drop=True), quarantined.reset_index(drop=True)


MIN_LANGUAGE_CONFIDENCE = 0.5
_MIN_LANGUAGE_WORDS = 2


@functools.lru_cache(maxsize=1)
def _language_identifier():
    """py3langid's model (shipped inside the package, loaded on first use, ~0.8 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """ISO 639-1 code, or `und` when the text is too short or the guess is unsure (< 0.5)."""
    if len(_WORD.findall(text)) < _MIN_LANGUAGE_WORDS:
        return "und"
    lang, prob = _language_identifier().classify(text)
    return lang if prob >= MIN_LANGUAGE_CONFIDENCE else "und"
