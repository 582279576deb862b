"""Two levels of themes: parents formed by merging theme centroids (cosine, average linkage).

About sqrt(n_topics) parents (at least 2 from 6 themes), never merging themes farther apart
than `MAX_MERGE_DISTANCE`, so a theme unlike the others stays its own parent. A parent's id is
its smallest child's topic id and its label its largest child's, so the same topics (a nightly
transform keeps them) give the same parents. Pure numpy / scipy: no model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import cut_tree, linkage

# Cosine distance (average linkage) above which two groups of themes are not merged, measured on
# MiniLM topic centroids (bench/results/stability.md). Up to 0.5 the groups read as one subject
# (NHS: waiting / response times / phone answering; driver / patient transport; Tweets: Middle
# East conflicts); from 0.55 NHS collapses into one 22-theme "staff and care" parent. At 0.5 the
# cap, not the sqrt target, decides on varied corpora: NHS 11 parents for 39 themes (target 6),
# Polis 10 for 18, tweets 37 for 77.
MAX_MERGE_DISTANCE = 0.5


@dataclass(frozen=True)
class Parents:
    """Per topic (in `topic_ids` order) its parent id; per parent its label, children and the
    linkage height at which they joined (0 for a theme alone); the whole merge heights."""

    topic_ids: list[int]
    parent_id: list[int]
    labels: dict[int, str] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    merge_distance: dict[int, float] = field(default_factory=dict)
    heights: list[float] = field(default_factory=list)
    shared_words: dict[int, list[str]] = field(default_factory=dict)

    def parent_of(self) -> dict[int, int]:
        return dict(zip(self.topic_ids, self.parent_id, strict=True))


def target_parents(n_topics: int) -> int:
    """How many parents to aim for: round(sqrt(n)), at least 2 from 6 topics."""
    if n_topics <= 1:
        return n_topics
    k = round(float(np.sqrt(n_topics)))
    return max(k, 2) if n_topics >= 6 else max(k, 1)


def parent_themes(
    centroids: np.ndarray,
    topic_ids: Sequence[int],
    sizes: Sequence[int],
    *,
    labels: Sequence[str],
    top_words: Sequence[str] | None = None,
    n_parents: int | None = None,
    max_distance: float = MAX_MERGE_DISTANCE,
) -> Parents:
    """Group themes under parents: average-linkage clusters of the centroids (cosine) cut at
    `n_parents` (default `target_parents`) groups, but never at a height above `max_distance`.

    `top_words` (comma-separated per topic) give each parent's `shared_words`: the top words
    all its children (two or more) have, in its largest child's order."""
    ids = [int(t) for t in topic_ids]
    sizes, labels = list(sizes), list(labels)
    words = list(top_words) if top_words is not None else [""] * len(ids)
    if not (len(ids) == len(sizes) == len(labels) == len(centroids)):
        raise ValueError("centroids, topic_ids, sizes and labels must have the same length")
    order = np.argsort(ids, kind="stable")  # ids, not input order, decide ties
    ids_sorted = [ids[i] for i in order]
    groups, heights = _groups(
        np.asarray(centroids, dtype=np.float64)[order], n_parents, max_distance
    )
    parent_of: dict[int, int] = {}
    out_labels: dict[int, str] = {}
    children: dict[int, list[int]] = {}
    merged: dict[int, float] = {}
    size_of = {ids[i]: int(sizes[i]) for i in range(len(ids))}
    label_of = {ids[i]: str(labels[i]) for i in range(len(ids))}
    words_of = {ids[i]: _split_words(words[i]) for i in range(len(ids))}
    shared: dict[int, list[str]] = {}
    for group in sorted(set(groups.tolist())):
        members = [ids_sorted[i] for i in np.flatnonzero(groups == group)]
        pid = min(members)
        largest = min(members, key=lambda t: (-size_of[t], t))
        out_labels[pid] = label_of[largest]
        children[pid] = members
        merged[pid] = _group_height(np.asarray(centroids, dtype=np.float64), ids, members)
        parent_of.update({t: pid for t in members})
        if len(members) > 1:
            common = set.intersection(*(set(words_of[t]) for t in members))
            shared[pid] = [w for w in words_of[largest] if w in common]
    parents = [parent_of[t] for t in ids]
    return Parents(ids, parents, out_labels, children, merged, heights, shared)


def _split_words(top_words: str | Sequence[str] | None) -> list[str]:
    if top_words is None:
        return []
    items = top_words.split(",") if isinstance(top_words, str) else top_words
    return [w.strip() for w in items if w and w.strip()]


def _groups(
    centroids: np.ndarray, n_parents: int | None, max_distance: float
) -> tuple[np.ndarray, list[float]]:
    """A group number per centroid row and the linkage's merge heights."""
    n = len(centroids)
    if n <= 1:
        return np.zeros(n, dtype=np.int64), []
    unit = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    tree = linkage(unit, method="average", metric="cosine")
    heights = [float(h) for h in tree[:, 2]]
    k = min(n, max(1, n_parents if n_parents is not None else target_parents(n)))
    allowed = int((tree[:, 2] <= max_distance).sum())  # merges under the cap, lowest first
    groups = cut_tree(tree, n_clusters=max(k, n - allowed)).ravel()
    return np.asarray(groups, dtype=np.int64), heights


def _group_height(centroids: np.ndarray, ids: list[int], members: list[int]) -> float:
    """Mean pairwise cosine distance between a group's centroids (its average-linkage height
    when it formed in one merge; 0 for one theme)."""
    if len(members) < 2:
        return 0.0
    rows = [ids.index(t) for t in members]
    unit = centroids[rows] / np.maximum(
        np.linalg.norm(centroids[rows], axis=1, keepdims=True), 1e-12
    )
    sims = unit @ unit.T
    upper = sims[np.triu_indices(len(rows), k=1)]
    return float(1.0 - upper.mean())
