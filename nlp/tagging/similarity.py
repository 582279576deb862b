"""Similarity tagging: taxonomy categories as embedding prototypes, compared with sentence
embeddings (the run's encoder; no second model, no labelled data).

A category's prototype is the normalised mean of the embeddings of "name. description" and its
`examples` (optionally its phrases too). Thresholds are calibrated on the taxonomy itself, two
ways:
- `background` (the default): one threshold per category, `Z` standard deviations above the
  cosines of the *other* categories' descriptions and examples to its prototype (what "not
  this category" looks like in this taxonomy). A clause is compared on that scale: its
  category is the one it stands out for most, and it is tagged when it stands `Z` deviations
  clear, and at least the `loo` threshold (a floor for taxonomies of two or three categories,
  whose background is a handful of sentences). This corrects for prototypes that sit close
  to everything (a broad "positive experience") or far from everything (a narrow "food"),
  which one cosine cannot.
- `loo` (as before): each example is left out of its own category's prototype and compared
  with it and with every other prototype; one cosine threshold separates own from other
  categories best (highest F1; of equal ones the highest). Always computed and reported.

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
# Deviations above the other categories' examples. Chosen on the NHS development rows with two
# taxonomies (the 19-theme cold-start one and the default's 7 mapped categories): 3.0 was best
# for the hybrid on both (bench/results/cold_start.md).
Z = 3.0
# A multi-clause comment's clauses are embedded only when the comment itself comes within this
# many background deviations of the threshold of a category no rule found in it: embedding
# clauses is what similarity costs (every clause: 10x the tagging pass's CPU on 10,000
# comments; 0.5: +7 %, 4 % of the clauses), and the comments left out rarely have a clause
# that would pass (NHS dev macro-F1 -0.002 on the cold-start taxonomy, 0 on the default's).
CLAUSE_FILTER = 0.5
MIN_SPREAD = 0.02  # floor on a category's background deviation (tiny or duplicated taxonomies)


@dataclass(frozen=True)
class CategoryPrototypes:
    """One unit vector per category and the calibrated cosine threshold (`loo`; under
    `background` calibration the floor of the per-category `thresholds`)."""

    ids: tuple[str, ...]
    vectors: np.ndarray  # (n_categories, dim), unit rows
    threshold: float
    calibration: dict = field(default_factory=dict)
    level: str = "clause"  # what the tagger compares: each clause, or the whole comment
    # `background` calibration: per category, the mean and deviation of the other categories'
    # cosines to it, and the deviations a row must stand above them; None: `threshold` alone
    background: tuple[np.ndarray, np.ndarray] | None = None
    z: float = Z
    clause_filter: float | None = CLAUSE_FILTER  # None: embed every multi-clause comment's

    @property
    def thresholds(self) -> np.ndarray:
        """The cosine each category needs (one value repeated under `loo` calibration)."""
        if self.background is None:
            return np.full(len(self.ids), self.threshold, dtype=np.float32)
        mean, spread = self.background
        return np.maximum(mean + self.z * spread, self.threshold)

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine of each (unit) embedding row to each category: (n, n_categories)."""
        if embeddings.shape[1] != self.vectors.shape[1]:
            raise ValueError(
                f"embeddings have {embeddings.shape[1]} dimensions, the prototypes "
                f"{self.vectors.shape[1]}: build them with the encoder that embedded the comments"
            )
        return embeddings @ self.vectors.T

    def tags(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row: [(category, cosine)] for its best category when that reaches its threshold,
        else []. Best: the most similar (`loo`), or the one the row stands out for most,
        in background deviations (`background`)."""
        if len(embeddings) == 0:
            return []
        sims = self.similarities(embeddings)
        scale = (
            sims if self.background is None else (sims - self.background[0]) / self.background[1]
        )
        best = scale.argmax(axis=1)
        cut = self.thresholds
        return [
            [(self.ids[j], float(sims[i, j]))] if sims[i, j] >= cut[j] else []
            for i, j in enumerate(best)
        ]

    def worth_clauses(self, vectors: np.ndarray, found: Sequence[set[str]]) -> np.ndarray:
        """Per comment vector: whether its clauses could reach a threshold of a category not in
        its `found` set: the comment comes within `clause_filter` background deviations of one
        (always, under `loo` calibration or with the filter off)."""
        if self.background is None or self.clause_filter is None or len(vectors) == 0:
            return np.ones(len(vectors), dtype=bool)
        gap = (self.similarities(vectors) - self.thresholds) / self.background[1]
        for i, have in enumerate(found):
            gap[i, [j for j, c in enumerate(self.ids) if c in have]] = -np.inf
        return gap.max(axis=1) >= -self.clause_filter

    def best_clause(self, category: str, clause_vectors: np.ndarray) -> int:
        """Index of the clause (row of `clause_vectors`) most similar to `category`."""
        return int(np.argmax(clause_vectors @ self.vectors[self.ids.index(category)]))


def build_prototypes(
    categories: Sequence,
    encode: Encode,
    *,
    level: str = "clause",
    phrases: bool = False,
    calibration: str = "background",
    z: float = Z,
) -> CategoryPrototypes:
    """Embed each category's "name. description", examples and (with `phrases`) phrases;
    calibrate the thresholds (`calibration`: `background`, per category, `z` deviations above
    the other categories' items; or `loo`, one leave-one-out cosine, as before).
    `level="comment"` is the earliest behaviour. Phrases stay out by default: short phrases
    pull a prototype away from sentences (bench/results/cold_start.md).

    `categories` are taxonomy `Category` objects; `encode` returns unit-length rows. Needs
    examples in at least two categories (the calibration compares categories).
    """
    if level not in ("clause", "comment"):
        raise ValueError(f"similarity level must be 'clause' or 'comment', got {level!r}")
    if calibration not in ("background", "loo"):
        raise ValueError(f"calibration must be 'background' or 'loo', got {calibration!r}")
    with_examples = [c.id for c in categories if c.examples]
    if not can_calibrate(categories):
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
    threshold, report = calibrate_threshold(anchors, groups)
    protos = _centroids(anchors, groups)
    ids = tuple(c.id for c in categories)
    if calibration == "loo":
        return CategoryPrototypes(ids, protos, threshold, report, level)
    background = background_scale(protos, vectors, owner_arr)
    report = {**report, "calibration": f"background, z={z:g}, floor {threshold:.2f}"}
    prototypes = CategoryPrototypes(ids, protos, threshold, report, level, background, z)
    cuts = prototypes.thresholds
    report["thresholds"] = {i: round(float(t), 3) for i, t in zip(ids, cuts, strict=True)}
    return prototypes


def background_scale(
    protos: np.ndarray, vectors: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per category j: the mean and standard deviation of the cosines to prototype j of every
    embedded item (descriptions, owner -1 for the first len(protos); examples; phrases) that
    belongs to another category. `owner[i]` is item i's category (-1: the i-th description)."""
    owner = owner.copy()
    owner[: len(protos)] = np.arange(len(protos))
    sims = vectors @ protos.T
    mean = np.array([sims[owner != j, j].mean() for j in range(len(protos))], dtype=np.float32)
    spread = np.array([sims[owner != j, j].std() for j in range(len(protos))], dtype=np.float32)
    return mean, np.maximum(spread, MIN_SPREAD)


def can_calibrate(categories: Sequence) -> bool:
    """Whether the taxonomy has `examples` in at least two categories (calibration compares)."""
    return sum(1 for c in categories if c.examples) >= 2


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
