"""Clause splitting and sentiment per clause and per comment.

First version: VADER (lexicon and rules, handles negation and intensifiers) scores each clause;
a comment with both clearly positive and clearly negative clauses is `neutral` (mixed).
Clauses are spaCy sentences split again before contrastive conjunctions ("but", "however").
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

CONTRAST = frozenset(
    {"but", "however", "although", "though", "whereas", "yet", "except", "unfortunately"}
)
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
MIXED_AT = 0.3  # a clause this strong either way makes a comment with the opposite one mixed
_TRIM = " \t\n,;:-–—."
# Service-feedback words VADER's general lexicon scores as neutral (valence on its -4..4 scale).
DOMAIN_LEXICON = {
    "waited": -1.2,
    "waiting": -0.8,
    "wait": -0.6,
    "delay": -1.5,
    "delayed": -1.5,
    "delays": -1.5,
    "late": -1.2,
    "slow": -1.5,
    "ages": -1.0,
    "forever": -1.0,
    "crash": -1.8,
    "crashed": -1.8,
    "crashes": -1.8,
    "crashing": -1.8,
    "glitch": -1.5,
    "bug": -1.2,
    "broken": -1.8,
    "error": -1.5,
    "unanswered": -1.5,
    "cancelled": -1.2,
    "canceled": -1.2,
    "rescheduled": -0.8,
    "lost": -1.2,
    "repeat": -0.6,
    "chase": -1.2,
    "chasing": -1.2,
    "confusing": -1.5,
    "unclear": -1.3,
    "dismissive": -2.0,
    "ignored": -1.8,
    "unprofessional": -2.0,
    "understaffed": -1.8,
    "dirty": -1.8,
    "cold": -0.8,
    "uncomfortable": -1.5,
    "expensive": -1.2,
    "overcrowded": -1.5,
    "kind": 1.8,
    "caring": 2.0,
    "prompt": 1.5,
    "promptly": 1.5,
    "efficient": 1.8,
    "reassuring": 1.8,
    "professional": 1.8,
    "polite": 1.8,
    "informative": 1.5,
    "attentive": 1.8,
    "punctual": 1.5,
    "thorough": 1.5,
    "quick": 1.2,
    "quickly": 1.0,
}


@dataclass(frozen=True)
class Clause:
    index: int
    start: int  # character offsets into the doc's text
    end: int
    text: str


def split_clauses(doc: Doc) -> list[Clause]:
    """Sentences, split again before a contrastive conjunction that does not open the sentence."""
    bounds: list[tuple[int, int]] = []
    for sent in doc.sents:
        start = sent.start_char
        for tok in sent[1:]:
            if tok.lower_ in CONTRAST and tok.i > sent.start + 1:
                bounds.append((start, tok.idx))
                start = tok.idx
        bounds.append((start, sent.end_char))
    clauses = []
    text = doc.text
    for s, e in bounds:
        while s < e and text[s] in _TRIM:
            s += 1
        while e > s and text[e - 1] in _TRIM:
            e -= 1
        if e > s and any(ch.isalnum() for ch in text[s:e]):
            clauses.append(Clause(len(clauses), s, e, text[s:e]))
    return clauses


def sentiment_label(score: float) -> str:
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


class SentimentScorer:
    """Scores text in [-1, 1]; wraps one VADER analyser (load once, reuse)."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self._vader.lexicon.update(DOMAIN_LEXICON)

    def score(self, text: str) -> float:
        return float(self._vader.polarity_scores(text)["compound"])

    def comment_sentiment(self, text: str, clause_scores: list[float]) -> tuple[str, float]:
        """(label, score) of a whole comment; mixed comments are `neutral`."""
        score = self.score(text)
        if clause_scores and max(clause_scores) >= MIXED_AT and min(clause_scores) <= -MIXED_AT:
            return "neutral", score
        return sentiment_label(score), score
