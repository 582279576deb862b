"""Seed phrases that match across inflection and small gaps, on lemmas alone (no POS or DEP).

A user writes "lost bag" and people write "lost my bag", "my bags were lost" or "the bag got
lost"; "long line" comes as "the line was so long". spaCy's PhraseMatcher needs the words
side by side, so this matcher takes a phrase's lemma sequence and lets up to `max_gap` tokens
sit between consecutive words; a two-word phrase also matches in the other order. A match
stays inside one clause: a sentence start, punctuation or a contrast word ("but") between the
words breaks it, and so does a negation ("the line was not long" is no "long line"). Words are
compared on lemma or lower-cased form, whole tokens only ("bagel" is not "bag").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from spacy.attrs import LEMMA, LOWER, SENT_START
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.strings import hash_string
from spacy.tokens import Doc

NEGATIONS = frozenset(
    {"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "n't"}
)
BREAKS = frozenset(
    {"but", "however", "although", "though", "whereas", "yet", "except", "unfortunately"}
)
_JOINERS = frozenset({"'", "’", "-", "/"})  # punctuation inside a word group, not a boundary


class GappedPhraseMatcher:
    """Matches lemma sequences with up to `max_gap` tokens between consecutive words.

    `add(label, sequences)` takes each phrase as its tokens' (lemma, lower) pairs; phrases of
    one word are left to the PhraseMatcher. Two-word phrases of content words (neither a stop
    word) also match reversed ("bags were lost" for "lost bag"). With `content_only`, phrases
    with a stop word ("got through", "call back") are left to the contiguous matchers. Words
    are compared as string hashes from `Doc.to_array`, not as token attributes.
    """

    def __init__(self, max_gap: int = 2, content_only: bool = False):
        if max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, got {max_gap}")
        self.max_gap = max_gap
        self.content_only = content_only
        # first word's hash (lemma or lower) -> [(label, words)], words = ((lemma, lower), ...)
        self._starts: dict[int, list[tuple[str, tuple[tuple[int, int], ...]]]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._starts.values())

    def add(self, label: str, sequences: Iterable[Sequence[tuple[str, str]]]) -> None:
        for seq in sequences:
            words = tuple((lemma.lower(), lower.lower()) for lemma, lower in seq)
            if len(words) < 2 or (self.content_only and any(_stop(w) for w in words)):
                continue
            self._index(label, words)
            if len(words) == 2 and not any(_stop(w) for w in words):
                self._index(label, words[::-1])

    def _index(self, label: str, words: tuple[tuple[str, str], ...]) -> None:
        entry = (label, tuple((hash_string(a), hash_string(b)) for a, b in words))
        for key in set(entry[1][0]):
            bucket = self._starts.setdefault(key, [])
            if entry not in bucket:
                bucket.append(entry)

    def __call__(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(label, start, end) token offsets of every match; a gapless match is included."""
        if not self._starts or len(doc) < 2:
            return []
        rows = doc.to_array([LEMMA, LOWER, SENT_START])
        lemmas, lowers = rows[:, 0].tolist(), rows[:, 1].tolist()
        starts = self._starts
        pairs = enumerate(zip(lemmas, lowers, strict=True))
        hits = [i for i, (a, b) in pairs if a in starts or b in starts]
        if not hits:
            return []
        sent_starts = (rows[:, 2].astype(np.int64) == 1).tolist()
        barrier: dict[int, bool] = {}
        found: set[tuple[str, int, int]] = set()
        for i in hits:
            entries = list(self._starts.get(lemmas[i], []))
            entries += [e for e in self._starts.get(lowers[i], []) if e not in entries]
            for label, words in entries:
                end = self._extend(words, i, (lemmas, lowers, sent_starts), barrier, doc)
                if end is not None:
                    found.add((label, i, end))
        return sorted(found, key=lambda m: (m[1], m[2], m[0]))

    def _extend(self, words, i, columns, barrier, doc: Doc) -> int | None:
        """End token of the match of `words` starting at token i, or None. `columns` are the
        Doc's lemma and lower hashes and sentence starts; `barrier` memoises `_is_barrier`."""
        lemmas, lowers, sent_starts = columns
        pos = i
        for lemma, lower in words[1:]:
            nxt = None
            for j in range(pos + 1, min(pos + 2 + self.max_gap, len(doc))):
                if sent_starts[j]:
                    return None
                if lemmas[j] == lemma or lowers[j] == lower:
                    nxt = j
                    break
                if j not in barrier:
                    barrier[j] = _is_barrier(doc[j])
                if barrier[j]:
                    return None
            if nxt is None:
                return None
            pos = nxt
        return pos + 1


def _stop(word: tuple[str, str]) -> bool:
    return word[0] in STOP_WORDS or word[1] in STOP_WORDS or word[0] in NEGATIONS


def _is_barrier(token) -> bool:
    """A token that may not sit inside a gap: punctuation, a contrast word or a negation."""
    if token.is_punct and token.text not in _JOINERS:
        return True
    low = token.lower_
    return low in BREAKS or low in NEGATIONS or token.lemma_.lower() in NEGATIONS
