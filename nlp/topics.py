"""BERTopic topics over precomputed embeddings, with c-TF-IDF labels and quality metrics.

Seeds are fixed (UMAP `random_state`), so the same corpus gives the same topics. Outliers are
reassigned to the nearest topic when their embedding is similar enough; what stays far from
every topic stays unassigned (-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
    "think mean sort thing things"
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
    metrics = {
        "n_topics": len(rows),
        "unassigned_share": float((topics == -1).mean()),
        "topic_diversity": topic_diversity(top_word_lists),
        "npmi": npmi_coherence(docs, top_word_lists),
    }
    return TopicResult(topics.astype(np.int64), scores, table, metrics)


def topic_label(words: Sequence[str], n_terms: int = 3) -> str:
    """A short label from top words, skipping words already covered by a chosen phrase."""
    chosen: list[str] = []
    for w in words:
        covered = {t for c in chosen for t in c.split()}
        if set(w.split()) <= covered:
            continue
        # Prefer the phrase over a single word it contains that was already chosen.
        chosen = [c for c in chosen if not set(c.split()) < set(w.split())]
        chosen.append(w)
        if len(chosen) == n_terms:
            break
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
