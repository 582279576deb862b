"""Clause splitting and sentiment per clause and per comment.

Clauses are spaCy sentences split again before contrastive conjunctions ("but", "however") and
scored by VADER (lexicon and rules: negation, intensifiers) with a service-feedback lexicon.
A comment is labelled by `nlp.sentiment.head.SentimentHead` from its sentence embedding and the
CLAUSE_FEATURES computed here (strongest and weakest clause, counts, a contrast, length).
Without a head (or with embeddings from another encoder) the comment falls back to VADER,
where clearly positive and clearly negative clauses together make it `neutral` (mixed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import spacy
from spacy.language import Language
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


def parse_comments(nlp: Language, texts: Iterable[str], batch_size: int = 256) -> Iterator[Doc]:
    """Docs for clause splitting and tagging, NER off; sentences come from spaCy's `senter`
    instead of the dependency parser when the pipeline has one (same clauses in 96.5 % of NHS
    comments, same tagging and sentiment F1, 15-20 % faster); nothing here reads dependencies.
    The pipeline is put back as it was afterwards.
    """
    swap = "parser" in nlp.pipe_names and "senter" in nlp.disabled
    disable = [p for p in nlp.pipe_names if p == "ner" or (swap and p == "parser")]
    if swap:
        nlp.enable_pipe("senter")
    try:
        yield from nlp.pipe(texts, batch_size=batch_size, disable=disable)
    finally:
        if swap:
            nlp.disable_pipe("senter")


def sentence_pipeline(nlp: Language) -> Language:
    """A lean pipeline sharing `nlp`'s vocabulary and tokenizer with only its sentence
    recogniser (`senter`, which has its own embedding layer; punctuation rules when `nlp` has
    none): the same sentences, so the same `split_clauses` spans, as `parse_comments` on the
    full pipeline (3,535 of 3,535 texts of four shared sets), about 15 times faster."""
    lean = spacy.blank(nlp.lang, vocab=nlp.vocab)
    lean.tokenizer = nlp.tokenizer
    if "senter" in nlp.component_names:
        lean.add_pipe("senter", source=nlp)
    else:
        lean.add_pipe("sentencizer")
    return lean


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


# What the stacked head reads besides the embedding; a head trained on other features is refused.
CLAUSE_FEATURES = (
    "clause_max",
    "clause_min",
    "clause_mean",
    "n_positive",
    "n_negative",
    "n_strong_positive",
    "n_strong_negative",
    "share_positive",
    "share_negative",
    "mixed",
    "contrast",
    "log_words",
    "log_clauses",
)


def clause_features(text: str, clauses: Sequence[Clause], scores: Sequence[float]) -> list[float]:
    """The CLAUSE_FEATURES of one comment from its clauses and their lexicon scores.

    Plain Python: it runs once per comment inside `tag_comments`, where numpy's per-call
    overhead on a handful of numbers would cost more than the arithmetic."""
    s = list(scores) or [0.0]
    n = len(s)
    top, bottom = max(s), min(s)
    pos = sum(x >= POSITIVE_AT for x in s)
    neg = sum(x <= NEGATIVE_AT for x in s)
    contrast = any(
        c.text.split(None, 1)[0].lower().strip(",.;:!?") in CONTRAST for c in clauses[1:]
    )
    return [
        top,
        bottom,
        sum(s) / n,
        pos,
        neg,
        sum(x >= MIXED_AT for x in s),
        sum(x <= -MIXED_AT for x in s),
        pos / n,
        neg / n,
        float(top >= MIXED_AT and bottom <= -MIXED_AT),
        float(contrast),
        math.log1p(len(text.split())),
        math.log1p(len(clauses)),
    ]


def comment_clause_features(
    nlp: Language, scorer: SentimentScorer, texts: Sequence[str], batch_size: int = 256
) -> np.ndarray:
    """CLAUSE_FEATURES of each text (rows), split and scored exactly as `tag_comments` does."""
    rows = []
    for doc in parse_comments(nlp, texts, batch_size):
        clauses = split_clauses(doc)
        rows.append(clause_features(doc.text, clauses, [scorer.score(c.text) for c in clauses]))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(CLAUSE_FEATURES))
