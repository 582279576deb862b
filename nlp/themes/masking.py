"""Service-neutral text for themes: company / service names and @handles masked out.

Without it, comments about one airline or one trust cluster by who they are about ("United",
"@SouthwestAir") instead of why. The `service` column's values (multi-word, case-insensitive,
whole words, with their possessive, #hashtag, @handle and no-space forms such as
"SouthwestAir"), any @handle and configured extra terms are replaced by a placeholder the
embedding barely notices. The masked text is only embedded and counted for words, never
stored, so no offsets are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Measured on planted airline comments (bench/results/stability.md): with "" nearest neighbours
# share a service at chance, while "[ORG]" / "the company" keep a trace of the sentence frame.
PLACEHOLDER = ""
# Words a brand's no-space or handle form often adds ("SouthwestAir", "#DeltaAssist").
BRAND_SUFFIXES = (
    "air",
    "airlines",
    "airways",
    "app",
    "assist",
    "care",
    "help",
    "hq",
    "official",
    "support",
    "team",
    "uk",
    "us",
)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_EDGE_PUNCT = "-_.,;:!?()[]{}\"'’"
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?])")


@dataclass(frozen=True)
class MaskedTexts:
    """Texts with the terms replaced, the distinct terms that were (lowercased, as matched
    canonical service / term, "@handle" for handles) and how often each was masked."""

    texts: list[str]
    terms: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    masked_per_text: list[int] = field(default_factory=list)


def _words(value: str) -> list[str]:
    """Whitespace-separated chunks, lowercased, edge punctuation stripped ("A&E" stays)."""
    chunks = (c.strip(_EDGE_PUNCT) for c in value.lower().split())
    return [c for c in chunks if c]


def term_patterns(term: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Case-insensitive patterns for `term` (None if it has no word): the whole term and its
    variants — words joined by spaces, hyphens or nothing ("Virgin America",
    "VirginAmerica"), a possessive "'s", a leading # or @, a brand suffix in the joined form
    ("SouthwestAir") — and a hashtag that starts with it ("#unitedfail": the rest stays)."""
    words = _words(term)
    if not words:
        return None
    body = r"[\s\-_]*".join(re.escape(w) for w in words)
    suffix = "|".join(BRAND_SUFFIXES)
    whole = re.compile(rf"(?<![\w@#])[#@]?{body}(?:{suffix})?(?:['’]s)?(?![^\W_])", re.IGNORECASE)
    prefix = re.compile(rf"(?<![\w@#])#{body}(?=[^\W_])", re.IGNORECASE)
    return whole, prefix


def mask_terms(
    texts: Sequence[str],
    *,
    services: Iterable[str | None],
    extra_terms: Iterable[str] = (),
    handles: bool = True,
    placeholder: str = PLACEHOLDER,
) -> MaskedTexts:
    """`texts` with every service value (and its variants), extra term and, with `handles`,
    any @handle replaced by `placeholder`; longer terms first, so "Virgin America" wins over
    "Virgin"."""
    terms = _canonical_terms([*(s for s in services if s), *extra_terms])
    patterns = [(t, p) for t in terms if (p := term_patterns(t)) is not None]
    counts: Counter[str] = Counter()
    out, per_text = [], []
    for text in texts:
        masked, n = _mask_one(text or "", patterns, handles, placeholder, counts)
        out.append(masked)
        per_text.append(n)
    return MaskedTexts(out, tuple(sorted(counts)), dict(sorted(counts.items())), per_text)


def _canonical_terms(values: Iterable[str]) -> list[str]:
    """Distinct lowercased terms (whitespace collapsed), longest first, then alphabetical."""
    seen = {" ".join(_words(v)) for v in values if isinstance(v, str)}
    return sorted((t for t in seen if t), key=lambda t: (-len(t), t))


def _mask_one(
    text: str,
    patterns: list[tuple[str, tuple[re.Pattern[str], re.Pattern[str]]]],
    handles: bool,
    placeholder: str,
    counts: Counter[str],
) -> tuple[str, int]:
    total = 0
    for term, (whole, prefix) in patterns:
        text, n = whole.subn(placeholder, text)
        text, m = prefix.subn(f"{placeholder} ", text)
        n += m
        if n:
            counts[term] += n
            total += n
    if handles:
        text, n = _HANDLE.subn(placeholder, text)
        if n:
            counts["@handle"] += n
            total += n
    if total:
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)).strip().lstrip(",.;:-– ")
    return text, total


def excluded_terms(
    services: Iterable[str | None], extra_terms: Iterable[str] = ()
) -> frozenset[str]:
    """Lowercase terms the vectoriser, top words and labels must drop: every service value and
    extra term as a phrase ("virgin america"), its joined form ("virginamerica"), joined form +
    brand suffix ("southwestair") and possessives ("united's"). A multi-word value's single
    words are not dropped ("Patient Transport" must not remove "transport")."""
    out: set[str] = set()
    for term in _canonical_terms([*(s for s in services if s), *extra_terms]):
        joined = term.replace(" ", "")
        forms = {term, joined, *(joined + s for s in BRAND_SUFFIXES)}
        out |= forms | {f + "'s" for f in forms}
    return frozenset(out)


def drop_excluded(terms: Iterable[str], excluded: frozenset[str]) -> list[str]:
    """`terms` (words or n-grams) without those containing an excluded term as whole words."""
    phrases = [f" {e} " for e in excluded]
    kept = []
    for t in terms:
        padded = f" {' '.join(t.lower().split())} "
        if not any(p in padded for p in phrases):
            kept.append(t)
    return kept
