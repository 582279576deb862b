"""BERTopic topics over precomputed embeddings, with c-TF-IDF labels and quality metrics.

Seeds are fixed (UMAP `random_state`), so the same corpus gives the same topics. Outliers are
reassigned to the nearest topic when their embedding is similar enough; what stays far from
every topic stays unassigned (-1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from bertopic import BERTopic
from hdbscan import HDBSCAN
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from umap import UMAP

from nlp.cleaning import FILLERS
from nlp.topic_quality import assignment_metrics
from nlp.topic_registry import centroids_of, nearest_centroid

if TYPE_CHECKING:
    from spacy.language import Language

# English stop words plus spoken fillers and apostrophe-less contractions ("dont").
_EXTRA_STOP = (
    "dont didnt doesnt im ive wasnt couldnt wouldnt cant isnt gonna like just really know "
    "think mean sort thing things thats theres whats its youre theyre hes shes weve wed id "
    "ill lot lots bit got get"
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | FILLERS | set(_EXTRA_STOP.split()))
MIN_DOCS = 30  # below this a topic model is not meaningful
MIN_UNIQUE_DOCS = 10
# HDBSCAN's min_samples defaults to min_cluster_size; past ~25 it merges a 20k sample into a few
# giant clusters (100k bench: 3 topics, 12 % unassigned with 100; 24 topics, 3.5 % with 25).
AUTO_MIN_SAMPLES_CAP = 25


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
    min_samples: int | None = None  # HDBSCAN density; None = min(min_topic_size, 25)
    fit_sample: int = 20_000  # larger corpora: fit on a seeded sample, assign the rest


@dataclass
class TopicResult:
    """Assignment per document (-1 = unassigned), a row per topic, and quality metrics."""

    assignments: np.ndarray
    scores: np.ndarray
    topics: pd.DataFrame  # topic_id, label, top_words, size, representative_idx
    metrics: dict[str, float | None] = field(default_factory=dict)
    skipped_reason: str | None = None
    model: BERTopic | None = None  # the fitted model, saved with safetensors for notebooks


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
    docs: Sequence[str],
    embeddings: np.ndarray,
    params: TopicParams | None = None,
    bertopic_args: dict | None = None,
    *,
    nlp: Language | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> TopicResult:
    """Fit BERTopic on `docs` and their `embeddings`; degenerate corpora are skipped.

    `bertopic_args` add BERTopic options (guided / zero-shot, see `nlp.guided_topics`).
    With a spaCy `nlp`, c-TF-IDF, NPMI and diversity count lemmas ("waited" = "wait"); with the
    sentence encoder's `encode`, labels are readable phrases (`nlp.topic_labels`)."""
    from nlp import topic_labels  # it imports this module

    params = params or TopicParams()
    docs = list(docs)
    reason = skip_reason(docs)
    if reason is not None:
        return _skipped(len(docs), reason)
    tokens = topic_labels.lemmatise_docs(nlp, docs) if nlp is not None else None
    fit_docs = tokens.terms if tokens is not None else docs
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
            min_samples=params.min_samples or min(min_size, AUTO_MIN_SAMPLES_CAP),
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        ),
        vectorizer_model=_vectorizer(params, len(docs), clauses=tokens is not None),
        top_n_words=params.top_n_words,
        calculate_probabilities=False,
        **(bertopic_args or {}),
    )
    topics, _ = model.fit_transform(fit_docs, embeddings)
    topics = np.asarray(topics)
    if (topics >= 0).sum() == 0:
        return _skipped(len(docs), "no cluster found: documents too dissimilar")
    if (topics == -1).any() and len(set(topics.tolist()) - {-1}) > 0:
        reduced = model.reduce_outliers(
            fit_docs,
            topics.tolist(),
            strategy="embeddings",
            embeddings=embeddings,
            threshold=params.outlier_threshold,
        )
        topics = np.asarray(reduced)
        model.update_topics(
            fit_docs,
            topics=topics.tolist(),
            vectorizer_model=_vectorizer(params, len(docs), clauses=tokens is not None),
        )
    result = _result(model, fit_docs, embeddings, topics, params)
    result.model = model
    if encode is not None and len(result.topics):
        ids = result.topics["topic_id"].astype(int).tolist()
        stream = tokens if tokens is not None else topic_labels.word_tokens(docs)
        labels = topic_labels.phrase_labels(docs, stream, topics, embeddings, encode, ids)
        result.topics["label"] = [labels[t] for t in ids]
    return result


def _vectorizer(params: TopicParams, n_docs: int, clauses: bool = False) -> CountVectorizer:
    min_df = 2 if n_docs >= 100 else 1
    if clauses:  # a lemma stream (nlp.topic_labels): stop words gone, n-grams within a clause
        from nlp.topic_labels import clause_vectorizer

        return clause_vectorizer(params.ngram_range, min_df)
    return CountVectorizer(
        stop_words=STOP_WORDS,
        ngram_range=params.ngram_range,
        min_df=min_df,
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
        words = [w for w, _ in (model.get_topic(tid) or []) if w][: params.top_n_words]
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


def stability_ari(
    docs: Sequence[str],
    embeddings: np.ndarray,
    assignments: np.ndarray,
    params: TopicParams,
    sample_size: int = 2000,
    **fit_kwargs,
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
        [docs[i] for i in idx], embeddings[idx], replace(params, seed=params.seed + 1), **fit_kwargs
    )
    if refit.skipped_reason:
        return None
    return float(adjusted_rand_score(assignments[idx], refit.assignments))


def fit_corpus_topics(
    docs: Sequence[str], embeddings: np.ndarray, params: TopicParams | None = None, **fit_kwargs
) -> TopicResult:
    """`fit_topics` on the whole corpus, or above `params.fit_sample` documents on a seeded
    sample, the rest assigned to the nearest topic centroid (cosine ≥ the outlier threshold).

    UMAP and HDBSCAN grow super-linearly in time and memory; a 20k sample finds the same
    themes at a fraction of the cost, and nearest-centroid assignment is what a nightly run
    does to new documents anyway. `fit_kwargs` go to `fit_topics`.
    """
    params = params or TopicParams()
    docs = list(docs)
    n = len(docs)
    if n <= params.fit_sample:
        return fit_topics(docs, embeddings, params, **fit_kwargs)
    rng = np.random.default_rng(params.seed)
    sample = np.sort(rng.choice(n, size=params.fit_sample, replace=False))
    result = fit_topics([docs[i] for i in sample], embeddings[sample], params, **fit_kwargs)
    if result.skipped_reason:
        return _skipped(n, result.skipped_reason)
    topic_ids = result.topics["topic_id"].astype(int).to_numpy()
    centroids = centroids_of(embeddings[sample], result.assignments, topic_ids.tolist())
    assignments, best = nearest_centroid(embeddings, centroids, topic_ids, params.outlier_threshold)
    scores = np.where(assignments >= 0, best, np.nan)
    assignments[sample] = result.assignments  # the fitted documents keep the fit's topics
    scores[sample] = result.scores
    table = result.topics.copy()
    for row, tid in enumerate(topic_ids):
        members = np.flatnonzero(assignments == tid)
        table.at[row, "size"] = len(members)
        table.at[row, "representative_idx"] = members[np.argsort(-scores[members])[:3]].tolist()
    # NPMI and diversity stay those of the fit (its vocabulary may be lemmas of the sample).
    metrics = {**result.metrics, "unassigned_share": float((assignments == -1).mean())}
    metrics["fit_sample"] = params.fit_sample
    return TopicResult(assignments, scores, table, metrics, model=result.model)
