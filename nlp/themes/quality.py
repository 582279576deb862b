"""Topic quality: coherence (NPMI), diversity, size distribution and the thresholds that mark
a run `degraded`. Pure functions over documents, assignments and top words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer


def assignment_metrics(
    docs: Sequence[str],
    assignments: np.ndarray,
    top_word_lists: Sequence[Sequence[str]],
    coherence_docs: Sequence[str] | None = None,
) -> dict[str, float | None]:
    """Topic count, unassigned share, diversity and NPMI of an assignment (-1 = none); NPMI
    counts co-occurrence in `coherence_docs` when given (whole comments, where `docs` are
    their statements), else in `docs`."""
    return {
        "n_topics": len(top_word_lists),
        "unassigned_share": float((np.asarray(assignments) == -1).mean()) if len(docs) else None,
        "topic_diversity": topic_diversity(top_word_lists),
        "npmi": npmi_coherence(docs if coherence_docs is None else coherence_docs, top_word_lists),
    }


def topic_diversity(top_words: Sequence[Sequence[str]]) -> float | None:
    """Share of unique words among all topics' top words (1 = no overlap)."""
    flat = [w for words in top_words for w in words]
    return len(set(flat)) / len(flat) if flat else None


def npmi_coherence(
    docs: Sequence[str], top_words: Sequence[Sequence[str]], top_n: int = 10
) -> float | None:
    """Mean NPMI of top-word pairs, with document co-occurrence in the corpus itself."""
    vocab = sorted({w for words in top_words for w in words[:top_n]})
    if not vocab:
        return None
    cv = CountVectorizer(
        vocabulary=vocab,
        ngram_range=(1, 3),
        binary=True,
        lowercase=True,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b",
    )
    x = cv.transform(docs).astype(np.float64)
    n = x.shape[0]
    p = np.asarray(x.sum(axis=0)).ravel() / n
    joint = (x.T @ x).toarray() / n
    index = {w: i for i, w in enumerate(vocab)}
    values = []
    eps = 1e-12
    for words in top_words:
        ids = [index[w] for w in words[:top_n]]
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                i, j = ids[a], ids[b]
                pij = joint[i, j]
                if pij <= 0:
                    values.append(-1.0)
                    continue
                pmi = np.log(pij / (p[i] * p[j] + eps))
                values.append(float(pmi / -np.log(pij + eps)))
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class QualityThresholds:
    """A run whose topics fall outside these is marked `degraded` (None disables a check)."""

    max_unassigned_share: float | None = 0.25
    min_stability_ari: float | None = 0.3
    min_topic_diversity: float | None = 0.5
    min_npmi: float | None = -0.6


def quality_issues(metrics: dict, thresholds: QualityThresholds) -> list[str]:
    """Human-readable reasons the topic metrics miss their thresholds (empty when fine)."""
    checks = [
        ("unassigned_share", thresholds.max_unassigned_share, lambda v, t: v > t, ">"),
        ("stability_ari", thresholds.min_stability_ari, lambda v, t: v < t, "<"),
        ("topic_diversity", thresholds.min_topic_diversity, lambda v, t: v < t, "<"),
        ("npmi", thresholds.min_npmi, lambda v, t: v < t, "<"),
    ]
    issues = []
    for key, limit, bad, sign in checks:
        value = metrics.get(key)
        if limit is not None and value is not None and bad(value, limit):
            issues.append(f"{key} {value:.2f} {sign} {limit:.2f}")
    return issues


def size_distribution(topic_table: pd.DataFrame) -> dict[str, float | None]:
    """Largest topic's share of the assigned documents and the median topic size (live topics):
    one giant topic or a long tail of tiny ones both read badly."""
    sizes = topic_table["size"].fillna(0).astype(float)
    sizes = sizes[sizes > 0]
    if sizes.empty:
        return {"largest_topic_share": None, "median_topic_size": None}
    return {
        "largest_topic_share": float(sizes.max() / sizes.sum()),
        "median_topic_size": float(sizes.median()),
    }
