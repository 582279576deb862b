"""Topic registry: stable topic ids across runs by matching topic centroids.

A run's topics are matched one-to-one to the registry's (Hungarian assignment on centroid
cosine similarity, accepted at `threshold`). A matched topic keeps its id; an unmatched one gets
a new id and is `emerging` when it is far from every known topic, or `active` with a
`parent_topic_id` when it split off a known one. Registry topics not seen in a run are `dormant`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from nlp import schemas
from nlp.schemas import conform

MATCH_THRESHOLD = 0.80  # same theme across seeds: 0.85-1.0 on real feedback; others < 0.6


@dataclass
class Registry:
    """Topics known so far: one row per topic and its unit-length centroid."""

    topics: pd.DataFrame  # topic_id, label, top_words, size, status, first_seen_run, ...
    centroids: np.ndarray  # (n_topics, dim) float32, aligned with `topics` rows

    @classmethod
    def empty(cls, dim: int) -> Registry:
        return cls(schemas.empty("topics"), np.zeros((0, dim), dtype=np.float32))


def centroids_of(
    embeddings: np.ndarray, assignments: np.ndarray, topic_ids: list[int]
) -> np.ndarray:
    """Unit-length mean embedding of each topic's members, in `topic_ids` order."""
    out = np.zeros((len(topic_ids), embeddings.shape[1]), dtype=np.float32)
    for row, tid in enumerate(topic_ids):
        c = embeddings[assignments == tid].mean(axis=0)
        out[row] = c / max(float(np.linalg.norm(c)), 1e-12)
    return out


def match_topics(
    registry: Registry,
    new_topics: pd.DataFrame,
    new_centroids: np.ndarray,
    run_id: str,
    threshold: float = MATCH_THRESHOLD,
) -> tuple[dict[int, int], Registry]:
    """Map this run's topic ids to registry ids and return the updated registry.

    `new_topics` has topic_id (this fit's ids), label, top_words, size, representative_ids.
    """
    sims = (
        new_centroids @ registry.centroids.T
        if len(registry.topics) and len(new_topics)
        else np.zeros((len(new_topics), 0))
    )
    mapping, parent = _match_ids(registry, new_topics, sims, threshold)
    rows_out, cents_out = _registry_rows(
        registry, new_topics, new_centroids, mapping, parent, run_id
    )
    topics = conform(pd.DataFrame(rows_out).sort_values("topic_id"), "topics")
    order = np.argsort([r["topic_id"] for r in rows_out], kind="stable")
    dim = new_centroids.shape[1] if new_centroids.size else registry.centroids.shape[1]
    centroids = (
        np.asarray(cents_out, dtype=np.float32)[order]
        if cents_out
        else np.zeros((0, dim), dtype=np.float32)
    )
    return mapping, Registry(topics, centroids)


def _match_ids(
    registry: Registry, new_topics: pd.DataFrame, sims: np.ndarray, threshold: float
) -> tuple[dict[int, int], dict[int, int | None]]:
    """This fit's id -> registry id (Hungarian on `sims`, else a new id), and each new id's
    parent: the closest registry topic when it is within `threshold`, else None."""
    mapping: dict[int, int] = {}
    parent: dict[int, int | None] = {}
    reg_ids = registry.topics["topic_id"].astype(int).tolist()
    if sims.size:
        rows, cols = linear_sum_assignment(-sims)
        for r, c in zip(rows, cols, strict=True):
            if sims[r, c] >= threshold:
                mapping[int(new_topics["topic_id"].iloc[r])] = reg_ids[c]
    next_id = max(reg_ids, default=-1) + 1
    for r, tid in enumerate(new_topics["topic_id"].astype(int)):
        if tid in mapping:
            continue
        mapping[tid] = next_id
        next_id += 1
        best = int(np.argmax(sims[r])) if sims.shape[1] else None
        parent[tid] = reg_ids[best] if best is not None and sims[r, best] >= threshold else None
    return mapping, parent


def _registry_rows(
    registry: Registry,
    new_topics: pd.DataFrame,
    new_centroids: np.ndarray,
    mapping: dict[int, int],
    parent: dict[int, int | None],
    run_id: str,
) -> tuple[list[dict], list[np.ndarray]]:
    """The registry's rows and centroids after a refit: this run's topics, then dormant ones."""
    first_run = len(registry.topics) == 0
    old = registry.topics.set_index("topic_id") if len(registry.topics) else None
    rows_out, cents_out = [], []
    seen = set()
    for r, row in enumerate(new_topics.itertuples(index=False)):
        new_id = mapping[int(row.topic_id)]
        seen.add(new_id)
        known = old is not None and new_id in old.index
        is_new = not known
        status = "active"
        if is_new and not first_run and parent.get(int(row.topic_id)) is None:
            status = "emerging"
        rows_out.append(
            {
                "topic_id": new_id,
                "label": row.label,
                "top_words": row.top_words,
                "size": int(row.size),
                "status": status,
                "first_seen_run": old.loc[new_id, "first_seen_run"] if known else run_id,
                "last_seen_run": run_id,
                "parent_topic_id": (
                    old.loc[new_id, "parent_topic_id"] if known else parent.get(int(row.topic_id))
                ),
                "representative_ids": row.representative_ids,
                "guided_name": getattr(row, "guided_name", None),
            }
        )
        cents_out.append(new_centroids[r])
    for i, reg_row in enumerate(registry.topics.itertuples(index=False)):
        if int(reg_row.topic_id) in seen:
            continue
        rows_out.append({**reg_row._asdict(), "size": 0, "status": "dormant"})
        cents_out.append(registry.centroids[i])
    return rows_out, cents_out


def assign_nearest(
    embeddings: np.ndarray, registry: Registry, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nightly transform: each document's nearest live registry topic by centroid cosine.

    Returns (registry topic id or -1, similarity); documents whose best similarity is under
    `threshold` (the fit's outlier threshold) stay unassigned.
    """
    live = (registry.topics["status"] != "dormant").to_numpy()
    ids = registry.topics["topic_id"].astype(int).to_numpy()[live]
    return nearest_centroid(embeddings, registry.centroids[live], ids, threshold)


def nearest_centroid(
    embeddings: np.ndarray,
    centroids: np.ndarray,
    ids: np.ndarray,
    threshold: float,
    chunk: int = 20_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centroid by cosine (unit-length rows): (its id, or -1 under
    `threshold`; the best similarity). Similarities are computed `chunk` rows at a time, so
    memory stays bounded at 100k+ documents."""
    labels = np.full(len(embeddings), -1, dtype=np.int64)
    best = np.full(len(embeddings), np.nan)
    if len(embeddings) == 0 or len(centroids) == 0:
        return labels, best
    for start in range(0, len(embeddings), chunk):
        sims = embeddings[start : start + chunk] @ centroids.T
        arg = sims.argmax(axis=1)
        score = sims[np.arange(len(arg)), arg].astype("float64")
        best[start : start + chunk] = score
        labels[start : start + chunk] = np.where(score >= threshold, ids[arg], -1)
    return labels, best


def refresh(registry: Registry, assignments: np.ndarray, run_id: str) -> Registry:
    """The registry after a transform run: sizes from `assignments` (registry ids, -1 = none);
    topics with documents are seen this run (`active`; `emerging` lasts one run), the rest
    `dormant`. Centroids, labels
    and ids are unchanged: only a refit (`--retrain`) changes what the topics are."""
    counts = pd.Series(assignments[assignments >= 0]).value_counts()
    topics = registry.topics.copy()
    size = topics["topic_id"].astype(int).map(counts).fillna(0).astype(int)
    seen = size > 0
    topics["size"] = size.to_numpy()
    topics["status"] = np.where(seen, "active", "dormant")  # emerging only in its first run
    topics.loc[seen, "last_seen_run"] = run_id
    return Registry(conform(topics, "topics"), registry.centroids)
