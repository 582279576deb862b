"""Similarity tagging: taxonomy categories as embedding prototypes, compared with sentence
embeddings (the run's encoder; no second model, no labelled data).

A category's prototype is the normalised mean of the embeddings of "name. description" and its
`examples` (optionally its phrases too). The threshold is calibrated on the taxonomy itself:
each example (and phrase) is left out of its own category's prototype and compared with it and
with every other prototype; the threshold is the cosine that best separates own from other
categories (highest F1; of equal ones the highest).

Two levels: `clause` (default) tags each clause (statement) with its most similar category
when the cosine reaches the threshold, so a comment about the food and the staff can get both;
the clause is the evidence, and a one-clause comment uses the comment's own embedding.
`comment` (as before) tags the whole comment's embedding with one category and picks the most
similar clause as evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Encode = Callable[[list[str]], np.ndarray]
GRID = np.round(np.arange(0.10, 0.90, 0.01), 2)


@dataclass(frozen=True)
class CategoryPrototypes:
    """One unit vector per category and the calibrated cosine threshold."""

    ids: tuple[str, ...]
    vectors: np.ndarray  # (n_categories, dim), unit rows
    threshold: float
    calibration: dict = field(default_factory=dict)
    level: str = "clause"  # what the tagger compares: each clause, or the whole comment

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine of each (unit) embedding row to each category: (n, n_categories)."""
        if embeddings.shape[1] != self.vectors.shape[1]:
            raise ValueError(
                f"embeddings have {embeddings.shape[1]} dimensions, the prototypes "
                f"{self.vectors.shape[1]}: build them with the encoder that embedded the comments"
            )
        return embeddings @ self.vectors.T

    def tags(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row: [(most similar category, cosine)] when it reaches the threshold, else []."""
        if len(embeddings) == 0:
            return []
        sims = self.similarities(embeddings)
        best = sims.argmax(axis=1)
        return [
            [(self.ids[j], float(sims[i, j]))] if sims[i, j] >= self.threshold else []
            for i, j in enumerate(best)
        ]

    def best_clause(self, category: str, clause_vectors: np.ndarray) -> int:
        """Index of the clause (row of `clause_vectors`) most similar to `category`."""
        return int(np.argmax(clause_vectors @ self.vectors[self.ids.index(category)]))


def build_prototypes(
    categories: Sequence, encode: Encode, *, level: str = "clause", phrases: bool = False
) -> CategoryPrototypes:
    """Embed each category's "name. description", examples and (with `phrases`) phrases;
    calibrate the threshold. `level="comment"` is the earlier behaviour. Phrases stay out by
    default: short phrases pull a prototype away from sentences (the default taxonomy's ~30
    per category halve similarity F1 on NHS; bench/results/cold_start.md).

    `categories` are taxonomy `Category` objects; `encode` returns unit-length rows. Needs
    examples in at least two categories (the calibration compares categories).
    """
    if level not in ("clause", "comment"):
        raise ValueError(f"similarity level must be 'clause' or 'comment', got {level!r}")
    with_examples = [c.id for c in categories if c.examples]
    if len(with_examples) < 2:
        raise ValueError(
            "similarity tagging needs `examples` in at least two taxonomy categories "
            f"(found them in {with_examples or 'none'}); add examples or switch it off"
        )
    texts = [f"{c.name}. {c.description}" for c in categories]
    owner = [-1] * len(texts)
    for j, c in enumerate(categories):
        items = list(c.examples) + (list(c.phrases) if phrases else [])
        texts += items
        owner += [j] * len(items)
    vectors = np.asarray(encode(texts), dtype=np.float32)
    owner_arr = np.asarray(owner)
    anchors = vectors[: len(categories)]
    groups = [vectors[owner_arr == j] for j in range(len(categories))]
    threshold, calibration = calibrate_threshold(anchors, groups)
    protos = _centroids(anchors, groups)
    ids = tuple(c.id for c in categories)
    return CategoryPrototypes(ids, protos, threshold, calibration, level)


def calibrate_threshold(anchors: np.ndarray, examples: Sequence[np.ndarray]) -> tuple[float, dict]:
    """Leave-one-out threshold from the taxonomy's own examples.

    `anchors[j]` embeds category j's description, `examples[j]` its examples. An example's
    cosine to its own prototype (rebuilt without it) is a positive, to every other prototype a
    negative; the threshold maximises F1 over these pairs.
    """
    full = _centroids(anchors, examples)
    pos, neg, top1 = [], [], []
    for j, group in enumerate(examples):
        for k, vec in enumerate(group):
            rest = np.delete(group, k, axis=0)
            sims = full @ vec
            sims[j] = _centroids(anchors[j : j + 1], [rest])[0] @ vec
            pos.append(sims[j])
            neg.extend(np.delete(sims, j))
            top1.append(sims[j] >= sims.max())
    p, n = np.asarray(pos), np.asarray(neg)
    tp = (p[None, :] >= GRID[:, None]).sum(axis=1)
    fp = (n[None, :] >= GRID[:, None]).sum(axis=1)
    f1 = 2 * tp / (tp + fp + len(p))
    best = len(GRID) - 1 - int(np.argmax(f1[::-1]))  # the highest of equally good thresholds
    threshold = float(GRID[best])
    return threshold, {
        "n_examples": len(p),
        "loo_f1": round(float(f1[best]), 3),
        "loo_top1_accuracy": round(float(np.mean(top1)), 3),
        "own_mean": round(float(p.mean()), 3),
        "other_mean": round(float(n.mean()), 3),
    }


def _centroids(anchors: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Unit mean of each category's description and example vectors."""
    rows = [np.vstack([anchors[j][None], g]).mean(axis=0) for j, g in enumerate(groups)]
    out = np.stack(rows)
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
