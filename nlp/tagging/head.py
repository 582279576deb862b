"""Optional supervised pain-point tagger: one logistic regression per category on the shared
sentence embeddings, trained from the user's own labelled comments (e.g. NHS theme columns
mapped to our categories), with a decision threshold per category chosen by cross-validated F1
on the training rows only. Saved as safetensors + metadata.json (`nlp.storage`).

It labels whole comments; `pipeline.tag_comments` turns its labels into tags (evidence =
the comment's only clause, or the whole comment) next to the rule tagger's span-level tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.linear import check_width, standardise
from nlp.storage import load_head, save_head


@dataclass
class CategoryHead:
    categories: tuple[str, ...]
    weight: np.ndarray  # (dim, k)
    bias: np.ndarray  # (k,)
    mean: np.ndarray
    scale: np.ndarray
    thresholds: np.ndarray  # (k,) probability at or above which a comment gets the category
    encoder: str
    metadata: dict = field(default_factory=dict)
    origin: str = "category head"  # what errors call it: the directory it was loaded from

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        check_width(embeddings, self.weight, self.encoder)
        z = ((embeddings - self.mean) / self.scale) @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def tags(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row: (category, probability) for every category over its threshold."""
        p = self.probabilities(embeddings)
        hits = p >= self.thresholds
        return [
            [(self.categories[j], float(p[i, j])) for j in np.flatnonzero(hits[i])]
            for i in range(len(p))
        ]

    def save(self, directory: Path) -> Path:
        tensors = {
            "weight": self.weight,
            "bias": self.bias,
            "mean": self.mean,
            "scale": self.scale,
            "thresholds": self.thresholds,
        }
        meta = {**self.metadata, "encoder": self.encoder, "categories": list(self.categories)}
        return save_head(directory, tensors, meta)

    @classmethod
    def load(cls, directory: Path, encoder: str) -> CategoryHead:
        t, meta = load_head(directory, encoder)
        return cls(
            tuple(meta["categories"]),
            t["weight"],
            t["bias"],
            t["mean"],
            t["scale"],
            t["thresholds"],
            meta["encoder"],
            meta,
            str(directory),
        )


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of `p >= threshold` against boolean `y`."""
    best = (0.5, 0.0)
    for t in np.arange(0.05, 0.96, 0.025):
        pred = p >= t
        tp = int((pred & y).sum())
        f1 = 2 * tp / max(int(pred.sum()) + int(y.sum()), 1)
        if f1 > best[1]:
            best = (float(t), f1)
    return best


def train_category_head(
    embeddings: np.ndarray,
    labels: np.ndarray,
    categories: Sequence[str],
    encoder: str,
    *,
    c: float = 1.0,
    folds: int = 5,
    seed: int = 0,
    **metadata,
) -> CategoryHead:
    """Fit one class-balanced logistic regression per category (columns of boolean `labels`).

    Thresholds come from out-of-fold probabilities on these rows, so no evaluation row is
    needed to choose them. A category needs at least `folds` positive rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = np.asarray(labels, dtype=bool)
    if labels.shape != (len(embeddings), len(categories)):
        raise ValueError(f"labels must be (n, {len(categories)}), got {labels.shape}")
    few = [cat for cat, n in zip(categories, labels.sum(axis=0), strict=True) if n < folds]
    if few:
        raise ValueError(f"categories with fewer than {folds} positive rows: {few}")
    mean, scale = standardise(embeddings)
    Z = (embeddings - mean) / scale
    weights, biases, thresholds, cv_f1 = [], [], [], {}
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for j, cat in enumerate(categories):
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        oof = cross_val_predict(clf, Z, labels[:, j], cv=split, method="predict_proba")[:, 1]
        t, f1 = best_threshold(labels[:, j], oof)
        clf.fit(Z, labels[:, j])
        weights.append(clf.coef_[0])
        biases.append(clf.intercept_[0])
        thresholds.append(t)
        cv_f1[cat] = round(f1, 3)
    return CategoryHead(
        tuple(categories),
        np.stack(weights, axis=1).astype(np.float32),
        np.asarray(biases, dtype=np.float32),
        mean.astype(np.float32),
        scale.astype(np.float32),
        np.asarray(thresholds, dtype=np.float32),
        encoder,
        {"c": c, "n_train": len(labels), "cv_f1": cv_f1, **metadata},
    )
