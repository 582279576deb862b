"""BERTopic topics over precomputed embeddings, with c-TF-IDF labels and quality metrics.

Seeds are fixed (UMAP `random_state`), so the same corpus gives the same topics. Outliers are
reassigned to the nearest topic when their embedding is similar enough; what stays far from
every topic stays unassigned (-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from bertopic import BERTopic
from hdbscan import HDBSCAN
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from umap import UMAP

from nlp.cleaning import FILLERS

# English stop words plus spoken fillers and apostrophe-less contractions ("dont").
_EXTRA_STOP = (
    "dont didnt doesnt im ive wasnt couldnt wouldnt cant isnt gonna like just really know "
    "think mean sort thing things thats theres whats its youre theyre hes shes weve wed id "
    "ill lot lots bit got get"
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | FILLERS | set(_EXTRA_STOP.split()))
MIN_DOCS = 30  # below this a topic model is not meaningful
MIN_UNIQUE_DOCS = 10


@dataclass(frozen=True)
class TopicParams:
    """Topic-model settings; `min_topic_size=None` scales it with the corpus."""

    seed: int = 42
    min_topic_size: int | None = None
    n_neighbors: int = 15
    n_components: int = 5
    outlier_threshold: float = 0.35
    top_n_words: int = 10
    ngram_range: tuple[int, int] = (1, 2)


@dataclass
class TopicResult:
    """Assignment per document (-1 = unassigned), a row per topic, and quality metrics."""

    assignments: np.ndarray
    scores: np.ndarray
    topics: pd.DataFrame  # topic_id, label, top_words, size, representative_idx
    metrics: dict[str, float | None] = field(default_factory=dict)
    skipped_reason: str | None = None


def skip_reason(docs: Sequence[str]) -> str | None:
    """Why a corpus is too small or too uniform for topic modelling, or None."""
    if len(docs) < MIN_DOCS:
        return f"only {len(docs)} documents (need {MIN_DOCS})"
    if len(set(docs)) < MIN_UNIQUE_DOCS:
        return f"only {len(set(docs))} distinct documents (need {MIN_UNIQUE_DOCS})"
    return None


def default_min_topic_size(n_docs: int) -> int:
    """Half a percent of the corpus, at least 10: keeps topic counts readable as data grows."""
    return max(10, round(n_docs * 0.005))


def fit_topics(
    docs: Sequence[str], embeddings: np.ndarray, params: TopicParams | None = None
) -> TopicResult:
    """Fit BERTopic on `docs` and their `embeddings`; degenerate corpora are skipped."""
    params = params or TopicParams()
    docs = list(docs)
    reason = skip_reason(docs)
    if reason is not None:
        return _skipped(len(docs), reason)
    min_size = params.min_topic_size or default_min_topic_size(len(docs))
    model = BERTopic(
        umap_model=UMAP(
            n_neighbors=min(params.n_neighbors, len(docs) - 1),
            n_components=params.n_components,
            min_dist=0.0,
            metric="cosine",
            random_state=params.seed,
            low_memory=True,
        ),
        hdbscan_model=HDBSCAN(
            min_cluster_size=min_size,
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        ),
        vectorizer_model=_vectorizer(params, len(docs)),
        top_n_words=params.top_n_words,
        calculate_probabilities=False,
    )
    topics, _ = model.fit_transform(docs, embeddings)
    topics = np.asarray(topics)
    if (topics >= 0).sum() == 0:
        return _skipped(len(docs), "no cluster found: documents too dissimilar")
    if (topics == -1).any() and len(set(topics.tolist()) - {-1}) > 0:
        reduced = model.reduce_outliers(
            docs,
            topics.tolist(),
            strategy="embeddings",
            embeddings=embeddings,
            threshold=params.outlier_threshold,
        )
        topics = np.asarray(reduced)
        model.update_topics(
            docs, topics=topics.tolist(), vectorizer_model=_vectorizer(params, len(docs))
        )
    return _result(model, docs, embeddings, topics, params)


def _vectorizer(params: TopicParams, n_docs: int) -> CountVectorizer:
    return CountVectorizer(
        stop_words=STOP_WORDS,
        ngram_range=params.ngram_range,
        min_df=2 if n_docs >= 100 else 1,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b",
    )


def _skipped(n: int, reason: str) -> TopicResult:
    return TopicResult(
        assignments=np.full(n, -1, dtype=np.int64),
        scores=np.full(n, np.nan),
        topics=pd.DataFrame(
            columns=["topic_id", "label", "top_words", "size", "representative_idx"]
        ),
        metrics={"unassigned_share": 1.0 if n else None, "n_topics": 0},
        skipped_reason=reason,
    )


def _result(
    model: BERTopic,
    docs: list[str],
    embeddings: np.ndarray,
    topics: np.ndarray,
    params: TopicParams,
) -> TopicResult:
    scores = np.full(len(docs), np.nan)
    rows = []
    top_word_lists = []
    for tid in sorted(set(topics.tolist()) - {-1}):
        members = np.flatnonzero(topics == tid)
        centroid = embeddings[members].mean(axis=0)
        centroid /= max(np.linalg.norm(centroid), 1e-12)
        sims = embeddings[members] @ centroid
        scores[members] = sims
        words = [w for w, _ in (model.get_topic(tid) or [])][: params.top_n_words]
        top_word_lists.append(words)
        rows.append(
            {
                "topic_id": int(tid),
                "label": topic_label(words),
                "top_words": ", ".join(words),
                "size": int(len(members)),
                "representative_idx": members[np.argsort(-sims)[:3]].tolist(),
            }
        )
    table = pd.DataFrame(rows)
    metrics = assignment_metrics(docs, topics, top_word_lists)
    return TopicResult(topics.astype(np.int64), scores, table, metrics)


def assignment_metrics(
    docs: Sequence[str], assignments: np.ndarray, top_word_lists: Sequence[Sequence[str]]
) -> dict[str, float | None]:
    """Topic count, unassigned share, diversity and NPMI of an assignment (-1 = none)."""
    return {
        "n_topics": len(top_word_lists),
        "unassigned_share": float((np.asarray(assignments) == -1).mean()) if len(docs) else None,
        "topic_diversity": topic_diversity(top_word_lists),
        "npmi": npmi_coherence(docs, top_word_lists),
    }


def _stem(word: str) -> str:
    """A crude stem so 'waiting', 'waited' and 'wait' count as one word in a label."""
    w = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def topic_label(words: Sequence[str], n_terms: int = 3) -> str:
    """A short label from top words: each term adds a word stem not already shown."""
    chosen: list[str] = []
    for w in words:
        stems = {_stem(t) for t in w.split()}
        overlap = [c for c in chosen if {_stem(t) for t in c.split()} & stems]
        if not overlap:
            if len(chosen) < n_terms:
                chosen.append(w)
            continue
        # a phrase replaces the single word it extends ("wait" -> "waiting time")
        if len(overlap) == 1 and len(overlap[0].split()) == 1 and len(stems) > 1:
            chosen[chosen.index(overlap[0])] = w
    return " / ".join(chosen) if chosen else "(no label)"


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


def stability_ari(
    docs: Sequence[str],
    embeddings: np.ndarray,
    assignments: np.ndarray,
    params: TopicParams,
    sample_size: int = 2000,
) -> float | None:
    """ARI between this fit's assignments and a refit with another seed on a sample.

    1.0 means the refit finds the same partition; unassigned (-1) counts as a label.
    """
    from sklearn.metrics import adjusted_rand_score

    n = len(docs)
    if sample_size <= 0 or skip_reason(list(docs)) is not None:
        return None
    rng = np.random.default_rng(params.seed)
    idx = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    refit = fit_topics(
        [docs[i] for i in idx], embeddings[idx], replace(params, seed=params.seed + 1)
    )
    if refit.skipped_reason:
        return None
    return float(adjusted_rand_score(assignments[idx], refit.assignments))


@dataclass(frozen=True)
class QualityThresholds:
    """A run whose topics fall outside these is marked `degraded` (None disables a check)."""

    max_unassigned_share: float | None = 0.25
    min_stability_ari: float | None = 0.5
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
