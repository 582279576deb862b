"""BERTopic topics over precomputed embeddings, with c-TF-IDF labels and quality metrics.

Seeds are fixed (UMAP `random_state`), so the same corpus gives the same topics. Outliers are
reassigned to the nearest topic when their embedding is similar enough; what stays far from
every topic stays unassigned (-1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from bertopic import BERTopic
from sklearn.feature_extraction.text import CountVectorizer

from nlp.themes import labels as topic_labels
from nlp.themes.clustering import BalancedHDBSCAN
from nlp.themes.params import TopicParams, TopicResult
from nlp.themes.quality import assignment_metrics
from nlp.themes.reduction import CachedUMAP
from nlp.themes.registry import centroids_of, nearest_centroid
from nlp.themes.vocabulary import STOP_WORDS, topic_label

if TYPE_CHECKING:
    from spacy.language import Language

MIN_DOCS = 30  # below this a topic model is not meaningful
MIN_UNIQUE_DOCS = 10
# HDBSCAN's min_samples defaults to min_cluster_size; past ~25 it merges a 20k sample into a few
# giant clusters (100k bench: 3 topics, 12 % unassigned with 100; 24 topics, 3.5 % with 25).
AUTO_MIN_SAMPLES_CAP = 25


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
    groups: np.ndarray | None = None,
) -> TopicResult:
    """Fit BERTopic on `docs` and their `embeddings`; degenerate corpora are skipped.

    `bertopic_args` add BERTopic options (guided / zero-shot, see `nlp.themes.guided`).
    With a spaCy `nlp`, c-TF-IDF, NPMI and diversity count lemmas ("waited" = "wait"); with the
    sentence encoder's `encode`, labels are readable phrases (`nlp.themes.labels`). With
    `groups` (the document each unit of `docs` comes from: statements of one comment share a
    group), NPMI counts co-occurrence in whole documents, as it did before themes were found in
    statements (a statement is too short a window: most word pairs would never co-occur)."""

    params = params or TopicParams()
    docs = list(docs)
    reason = skip_reason(docs)
    if reason is not None:
        return _skipped(len(docs), reason)
    tokens = topic_labels.lemmatise_docs(nlp, docs) if nlp is not None else None
    fit_docs = tokens.terms if tokens is not None else docs
    clauses = tokens is not None
    model = _bertopic(
        params, len(docs), clauses=clauses, bertopic_args=bertopic_args, groups=groups
    )
    topics, _ = model.fit_transform(fit_docs, embeddings)
    topics = np.asarray(topics)
    if (topics >= 0).sum() == 0:
        return _skipped(len(docs), "no cluster found: documents too dissimilar")
    if (topics == -1).any() and len(set(topics.tolist()) - {-1}) > 0:
        topics = _reduce_outliers(model, fit_docs, topics, embeddings, params, clauses=clauses)
    result = _result(model, fit_docs, embeddings, topics, params, groups)
    result.model = model
    # eom, or leaf; None when BERTopic clustered nothing itself (every unit zero-shot)
    result.metrics["cluster_selection"] = getattr(model.hdbscan_model, "selection", None)
    if encode is not None and len(result.topics):
        ids = result.topics["topic_id"].astype(int).tolist()
        stream = tokens if tokens is not None else topic_labels.word_tokens(docs)
        labels = topic_labels.phrase_labels(docs, stream, topics, embeddings, encode, ids)
        result.topics["label"] = [labels[t] for t in ids]
    return result


def grouped_docs(docs: Sequence[str], groups: np.ndarray) -> list[str]:
    """The units of each group joined into one text, groups in order of first appearance."""
    joined: dict[int, list[str]] = {}
    for doc, group in zip(docs, np.asarray(groups).tolist(), strict=True):
        joined.setdefault(group, []).append(doc)
    return [" ".join(parts) for parts in joined.values()]


def _bertopic(
    params: TopicParams,
    n_docs: int,
    *,
    clauses: bool,
    bertopic_args: dict | None,
    groups: np.ndarray | None = None,
) -> BERTopic:
    """An unfitted BERTopic with seeded UMAP, HDBSCAN sized to the corpus and our vectoriser."""
    min_size = params.min_topic_size or default_min_topic_size(n_docs)
    return BERTopic(
        umap_model=CachedUMAP(
            n_neighbors=min(params.n_neighbors, n_docs - 1),
            n_components=params.n_components,
            min_dist=0.0,
            metric="cosine",
            random_state=params.seed,
            low_memory=True,
        ),
        hdbscan_model=BalancedHDBSCAN(  # eom; leaf when one cluster holds over 40 %
            groups=groups,  # of the units or is found in over 40 % of the documents
            min_cluster_size=min_size,
            min_samples=params.min_samples or min(min_size, AUTO_MIN_SAMPLES_CAP),
            metric="euclidean",
            prediction_data=False,
        ),
        vectorizer_model=_vectorizer(params, n_docs, clauses=clauses),
        top_n_words=params.top_n_words,
        calculate_probabilities=False,
        **(bertopic_args or {}),
    )


def _reduce_outliers(
    model: BERTopic,
    fit_docs: list[str],
    topics: np.ndarray,
    embeddings: np.ndarray,
    params: TopicParams,
    *,
    clauses: bool,
) -> np.ndarray:
    """Outliers to the nearest topic by embedding (above the threshold); topic words refreshed."""
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
        vectorizer_model=_vectorizer(params, len(fit_docs), clauses=clauses),
    )
    return topics


def _vectorizer(params: TopicParams, n_docs: int, clauses: bool = False) -> CountVectorizer:
    min_df = 2 if n_docs >= 100 else 1
    if clauses:  # a lemma stream (nlp.themes.labels): stop words gone, n-grams within a clause
        from nlp.themes.labels import clause_vectorizer

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
    groups: np.ndarray | None = None,
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
    whole = grouped_docs(docs, groups) if groups is not None else None  # NPMI's windows
    metrics = assignment_metrics(docs, topics, top_word_lists, coherence_docs=whole)
    return TopicResult(topics.astype(np.int64), scores, table, metrics)


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
    if fit_kwargs.get("groups") is not None:
        fit_kwargs = {**fit_kwargs, "groups": np.asarray(fit_kwargs["groups"])[sample]}
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
