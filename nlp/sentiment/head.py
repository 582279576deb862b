"""The comment sentiment head: trained on labelled comments, applied to shared embeddings.

A multinomial logistic regression on the sentence embedding the topic stage already computed,
stacked with a second one over its log-probabilities and the comment's clause lexicon features
(`nlp.sentiment.clauses.CLAUSE_FEATURES`); saved as safetensors + metadata.json (see `nlp.storage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.linear import check_width, standardise
from nlp.sentiment.clauses import CLAUSE_FEATURES, Clause, clause_features
from nlp.storage import load_head, save_head

LABELS = ("negative", "neutral", "positive")
_STACK = ("stack_weight", "stack_bias", "stack_mean", "stack_scale")


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-6, None))


@dataclass
class Stack:
    """The second stage: a softmax regression over [first-stage log-probabilities,
    CLAUSE_FEATURES], standardised (tensors `stack_weight`, `stack_bias`, `stack_mean`,
    `stack_scale`). Shared by the embedding regression head and the sentiment branch."""

    weight: np.ndarray  # (3 + n_features, 3)
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    c: float = 1.0

    def probabilities(self, log_p: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        if features is None or features.shape != (len(log_p), len(CLAUSE_FEATURES)):
            raise ValueError(
                f"this sentiment model also reads clause features: pass a ({len(log_p)}, "
                f"{len(CLAUSE_FEATURES)}) array from comment_clause_features"
            )
        z = (np.hstack([log_p, features]) - self.mean) / self.scale
        return _softmax(z @ self.weight + self.bias)

    def labeller(self, log_p: np.ndarray) -> CommentLabeller:
        # Fold the standardisation into the weights: one small matrix product per comment.
        folded_w = self.weight / self.scale[:, None]
        folded_b = self.bias - (self.mean / self.scale) @ self.weight
        return CommentLabeller(log_p, folded_w.astype(np.float64), folded_b.astype(np.float64))

    def tensors(self) -> dict[str, np.ndarray]:
        return dict(zip(_STACK, (self.weight, self.bias, self.mean, self.scale), strict=True))

    def metadata(self) -> dict:
        return {"stack_features": list(CLAUSE_FEATURES), "stack_c": self.c}

    @classmethod
    def load(cls, tensors: dict[str, np.ndarray], meta: dict, where: str = "") -> Stack | None:
        """The saved stack, None if the model has none; refuses another feature list."""
        if "stack_features" not in meta:
            return None
        if meta["stack_features"] != list(CLAUSE_FEATURES) or not set(_STACK) <= set(tensors):
            raise ValueError(
                f"{where}: model stacked on clause features {meta['stack_features']}, "
                f"this code computes {list(CLAUSE_FEATURES)}; retrain it with "
                "scripts/train_sentiment.py"
            )
        arrays = [tensors[k].astype(np.float32) for k in _STACK]
        return cls(*arrays, c=float(meta.get("stack_c", 1.0)))

    @classmethod
    def fit(
        cls, log_p: np.ndarray, features: np.ndarray, labels: Sequence[str], c: float = 1.0
    ) -> Stack:
        if features.shape != (len(log_p), len(CLAUSE_FEATURES)):
            raise ValueError(
                f"features must be ({len(log_p)}, {len(CLAUSE_FEATURES)}), got {features.shape}"
            )
        x = np.hstack([log_p, features])
        mean, scale = standardise(x)
        top = _logistic(c).fit((x - mean) / scale, np.asarray(labels))
        return cls(
            _ordered(top, "coef_"),
            _ordered(top, "intercept_"),
            mean.astype(np.float32),
            scale.astype(np.float32),
            c,
        )

    def cross_validated_f1(
        self, log_p: np.ndarray, features: np.ndarray, labels: Sequence[str], folds: int, seed: int
    ) -> float:
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        z = (np.hstack([log_p, features]) - self.mean) / self.scale
        split = StratifiedKFold(folds, shuffle=True, random_state=seed)
        y = np.asarray(labels)
        return float(
            f1_score(y, cross_val_predict(_logistic(self.c), z, y, cv=split), average="macro")
        )


@dataclass
class SentimentHead:
    """Softmax regression on standardised sentence embeddings: comment -> negative/neutral/positive.

    With `stack` (tensors `stack_weight`, `stack_bias`, `stack_mean`, `stack_scale`) a second
    softmax regression reads [log-probabilities of the first, CLAUSE_FEATURES] and gives the
    label. `score` = P(positive) - P(negative), in [-1, 1]. `encoder` names the embedding model
    the head was trained on; it refuses embeddings of another size and `load` refuses another
    encoder, since its weights mean nothing in a different space.
    """

    weight: np.ndarray  # (dim, 3) float32, columns in LABELS order
    bias: np.ndarray  # (3,)
    mean: np.ndarray  # (dim,)
    scale: np.ndarray  # (dim,)
    encoder: str
    metadata: dict = field(default_factory=dict)
    stack: Stack | None = None

    def embedding_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """The first stage: probabilities from the embedding alone."""
        check_width(embeddings, self.weight, self.encoder)
        return _softmax(((embeddings - self.mean) / self.scale) @ self.weight + self.bias)

    def probabilities(
        self, embeddings: np.ndarray, features: np.ndarray | None = None
    ) -> np.ndarray:
        p = self.embedding_probabilities(embeddings)
        return p if self.stack is None else self.stack.probabilities(_log(p), features)

    def predict(
        self, embeddings: np.ndarray, features: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        """(labels, scores) per row of `embeddings` (and of `features` for a stacked head)."""
        return _labels(self.probabilities(embeddings, features))

    def labeller(self, embeddings: np.ndarray) -> CommentLabeller:
        """Per-comment labelling for `tag_comments`, which has each comment's clauses at hand."""
        log_p = _log(self.embedding_probabilities(embeddings))
        return CommentLabeller(log_p) if self.stack is None else self.stack.labeller(log_p)

    def save(self, directory: Path) -> Path:
        """Write model.safetensors + metadata.json into `directory` (temp dir + rename)."""
        tensors = {"weight": self.weight, "bias": self.bias, "mean": self.mean, "scale": self.scale}
        meta = {**self.metadata, "encoder": self.encoder, "labels": list(LABELS)}
        if self.stack is not None:
            tensors |= self.stack.tensors()
            meta |= self.stack.metadata()
        return save_head(directory, tensors, meta)

    @classmethod
    def load(cls, directory: Path, encoder: str) -> SentimentHead:
        """Load a saved head; refuses pickle files, another encoder's head and other features."""
        t, meta = load_head(directory, encoder)
        stack = Stack.load(t, meta, str(directory))
        return cls(t["weight"], t["bias"], t["mean"], t["scale"], meta["encoder"], meta, stack)


def _labels(p: np.ndarray) -> tuple[list[str], np.ndarray]:
    return [LABELS[i] for i in p.argmax(axis=1)], (p[:, 2] - p[:, 0]).astype("float64")


@dataclass(frozen=True)
class CommentLabeller:
    """A head bound to a run's embeddings; called per comment with its clauses and their scores."""

    log_p: np.ndarray  # first-stage log-probabilities, one row per comment
    weight: np.ndarray | None = None  # the stack with its standardisation folded in
    bias: np.ndarray | None = None

    def __call__(
        self, i: int, text: str, clauses: Sequence[Clause], scores: Sequence[float]
    ) -> tuple[str, float]:
        if self.weight is None:
            logits = self.log_p[i]
        else:
            z = np.concatenate((self.log_p[i], clause_features(text, clauses, scores)))
            logits = z @ self.weight + self.bias
        p = np.exp(logits - logits.max())
        k = int(p.argmax())
        return LABELS[k], float((p[2] - p[0]) / p.sum())


def _logistic(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")


def _ordered(clf, attr: str) -> np.ndarray:
    order = [list(clf.classes_).index(label) for label in LABELS]
    values = getattr(clf, attr)
    return (values[order].T if values.ndim == 2 else values[order]).astype(np.float32)


def train_head(
    embeddings: np.ndarray,
    labels: Sequence[str],
    encoder: str,
    *,
    c: float = 0.01,
    features: np.ndarray | None = None,
    stack_c: float = 1.0,
    folds: int = 5,
    seed: int = 0,
    **metadata,
) -> SentimentHead:
    """Fit a class-balanced multinomial logistic regression on standardised embeddings and,
    given `features` (CLAUSE_FEATURES per row), a second one stacked on its out-of-fold
    log-probabilities and the features.

    `c` (inverse L2 strength) is small on purpose: strong regularisation keeps the head from
    learning one dataset's vocabulary, so it transfers better to other kinds of feedback.
    """
    from sklearn.metrics import f1_score

    unknown = set(labels) - set(LABELS)
    if unknown:
        raise ValueError(f"sentiment labels must be in {LABELS}, got {sorted(unknown)}")
    y = np.asarray(labels)
    mean, scale = standardise(embeddings)
    z = (embeddings - mean) / scale
    clf = _logistic(c).fit(z, y)
    head = SentimentHead(
        weight=_ordered(clf, "coef_"),
        bias=_ordered(clf, "intercept_"),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        encoder=encoder,
        metadata={"c": c, "n_train": len(y), **metadata},
    )
    if features is None:
        return head
    if features.shape != (len(y), len(CLAUSE_FEATURES)):
        raise ValueError(
            f"features must be ({len(y)}, {len(CLAUSE_FEATURES)}), got {features.shape}"
        )
    oof = _out_of_fold(embeddings, y, c, folds, seed)
    head.stack = Stack.fit(_log(oof), features, y, stack_c)
    cv_stack = head.stack.cross_validated_f1(_log(oof), features, y, folds, seed + 1)
    cv_embedding = np.array(LABELS)[oof.argmax(axis=1)]
    head.metadata |= {
        "stack_c": stack_c,
        "folds": folds,
        "seed": seed,
        "cv_macro_f1_embedding": round(float(f1_score(y, cv_embedding, average="macro")), 4),
        "cv_macro_f1_stacked": round(cv_stack, 4),
    }
    return head


def _out_of_fold(embeddings: np.ndarray, y: np.ndarray, c: float, folds: int, seed: int):
    """Out-of-fold first-stage probabilities (standardised on each fold's own rows), so the
    second stage learns how far to trust the first on comments it has not seen."""
    from sklearn.model_selection import StratifiedKFold

    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    oof = np.zeros((len(y), len(LABELS)))
    for fit_rows, held in split.split(embeddings, y):
        m, s = standardise(embeddings[fit_rows])
        fold = _logistic(c).fit((embeddings[fit_rows] - m) / s, y[fit_rows])
        order = [list(fold.classes_).index(label) for label in LABELS]
        oof[held] = fold.predict_proba((embeddings[held] - m) / s)[:, order]
    return oof
