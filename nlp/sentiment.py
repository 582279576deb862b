"""Clause splitting and sentiment per clause and per comment.

Clauses are spaCy sentences split again before contrastive conjunctions ("but", "however") and
scored by VADER (lexicon and rules: negation, intensifiers) with a service-feedback lexicon.
A comment is labelled by `SentimentHead`, a multinomial logistic regression on the sentence
embedding the topic stage already computed (no second model), trained on labelled feedback
and saved as safetensors + metadata.json; without a head (or with embeddings from another
encoder) the comment falls back to VADER, where clearly positive and clearly negative clauses
together make it `neutral` (mixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from spacy.tokens import Doc
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from nlp.heads import check_width, load_head, save_head, standardise

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


LABELS = ("negative", "neutral", "positive")
HEAD_DIR = Path(__file__).resolve().parent.parent / "models" / "sentiment_head"


@dataclass
class SentimentHead:
    """Softmax regression on standardised sentence embeddings: comment -> negative/neutral/positive.

    `score` = P(positive) - P(negative), in [-1, 1]. `encoder` names the embedding model the
    head was trained on; it refuses embeddings of another size and `load` refuses another
    encoder, since its weights mean nothing in a different space.
    """

    weight: np.ndarray  # (dim, 3) float32, columns in LABELS order
    bias: np.ndarray  # (3,)
    mean: np.ndarray  # (dim,)
    scale: np.ndarray  # (dim,)
    encoder: str
    metadata: dict = field(default_factory=dict)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        check_width(embeddings, self.weight, self.encoder)
        logits = ((embeddings - self.mean) / self.scale) @ self.weight + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(labels, scores) per row of `embeddings`."""
        p = self.probabilities(embeddings)
        labels = [LABELS[i] for i in p.argmax(axis=1)]
        return labels, (p[:, 2] - p[:, 0]).astype("float64")

    def save(self, directory: Path) -> Path:
        """Write model.safetensors + metadata.json into `directory` (temp dir + rename)."""
        tensors = {"weight": self.weight, "bias": self.bias, "mean": self.mean, "scale": self.scale}
        meta = {**self.metadata, "encoder": self.encoder, "labels": list(LABELS)}
        return save_head(directory, tensors, meta)

    @classmethod
    def load(cls, directory: Path, encoder: str) -> SentimentHead:
        """Load a saved head; refuses pickle files and heads trained on another encoder."""
        t, meta = load_head(directory, encoder)
        return cls(t["weight"], t["bias"], t["mean"], t["scale"], meta["encoder"], meta)


def train_head(
    embeddings: np.ndarray, labels: list[str], encoder: str, c: float = 0.05, **metadata
) -> SentimentHead:
    """Fit a class-balanced multinomial logistic regression on standardised embeddings.

    `c` (inverse L2 strength) is small on purpose: strong regularisation keeps the head from
    learning one dataset's vocabulary, so it transfers better to other kinds of feedback.
    """
    from sklearn.linear_model import LogisticRegression

    unknown = set(labels) - set(LABELS)
    if unknown:
        raise ValueError(f"sentiment labels must be in {LABELS}, got {sorted(unknown)}")
    mean, scale = standardise(embeddings)
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    clf.fit((embeddings - mean) / scale, labels)
    order = [list(clf.classes_).index(label) for label in LABELS]
    return SentimentHead(
        weight=clf.coef_[order].T.astype(np.float32),
        bias=clf.intercept_[order].astype(np.float32),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        encoder=encoder,
        metadata={"c": c, "n_train": len(labels), **metadata},
    )
