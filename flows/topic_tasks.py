"""The topic stage: nightly transform onto the saved topics, or a refit mapped through the
registry so the same theme keeps its id. Thin wiring over nlp.topics, nlp.topic_registry and
nlp.guided_topics."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from spacy.language import Language

from flows import io
from flows.config import PipelineConfig
from flows.tasks import STAGE, encoder_key
from nlp import embedding, guided_topics, pain_points, topic_registry, topics
from nlp.schemas import conform

MIN_DRIFT_DOCS = 20  # fewer new documents never trigger a refit on their own
_VERSIONED = ("bertopic", "umap-learn", "hdbscan", "scikit-learn", "sentence-transformers")


@dataclass
class TopicTables:
    result: topics.TopicResult
    topics: pd.DataFrame  # the `topics` table: the registry after this run (dormant included)
    comment_topics: pd.DataFrame
    registry: topic_registry.Registry
    # the fit these topics come from: this run's refit, or the saved one on a transform run
    fit_metadata: dict = field(default_factory=dict)


def topic_params(config: PipelineConfig) -> topics.TopicParams:
    return topics.TopicParams(
        seed=config.seed,
        min_topic_size=config.min_topic_size,
        min_samples=config.topics.min_samples,
        fit_sample=config.topics.fit_sample,
    )


def guided_themes(
    config: PipelineConfig, taxonomy: pain_points.Taxonomy
) -> list[guided_topics.GuidedTheme]:
    g = config.guided_topics
    themes = guided_topics.themes_from_taxonomy(taxonomy.categories) if g.taxonomy else []
    return themes + guided_topics.themes_from_names(g.names)


@task(name="topics", **STAGE)
def topics_task(
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    previous: pd.DataFrame,
    new_ids: set[str],
    models: tuple[Language, object],
    taxonomy: pain_points.Taxonomy,
    config: PipelineConfig,
    run_id: str,
) -> TopicTables:
    """Nightly: assign new documents to the saved topics (nearest registry centroid); earlier
    documents keep theirs. Refit instead (and map ids through the registry so the same theme
    keeps its id) on the first run, with `retrain`, or when too many new documents fit no
    saved topic (a theme the model does not know has arrived)."""
    logger = get_run_logger()
    nlp, encoder = models
    params = topic_params(config)
    registry = io.load_registry(config.out, encoder_key(config), embeddings.shape[1])
    reason = refit_reason(registry, docs, embeddings, new_ids, params, config)
    if reason is None:
        fitted = io.load_registry_metadata(config.out).get("fit") or {}
        tables = transform_topics(
            docs, embeddings, previous, new_ids, registry, params, run_id, fitted.get("metrics")
        )
        tables.fit_metadata = fitted
        return tables
    logger.info("topics: refit (%s)", reason)
    encode = partial(embedding.embed_texts, encoder)
    themes = guided_themes(config, taxonomy)
    settings = guided_topics.GuidedSettings(
        config.guided_topics.min_similarity, config.guided_topics.name_threshold
    )
    fit_args = {
        "bertopic_args": guided_topics.bertopic_arguments(themes, encode, settings),
        "nlp": nlp,
        "encode": encode,
    }
    texts = docs["text"].tolist()
    result = topics.fit_corpus_topics(texts, embeddings, params, **fit_args)
    if not result.skipped_reason:
        result.metrics["stability_ari"] = topics.stability_ari(
            texts,
            embeddings,
            result.assignments,
            params,
            config.quality.stability_sample,
            **{**fit_args, "encode": None, "nlp": None},  # words do not change a partition
        )
    ids = docs["comment_id"].to_numpy()
    assigned = result.assignments.copy()
    if len(result.topics):
        table = result.topics.copy()
        table["representative_ids"] = [
            "|".join(ids[i] for i in idx) for idx in table["representative_idx"]
        ]
        fit_ids = table["topic_id"].astype(int).tolist()
        centroids = topic_registry.centroids_of(embeddings, result.assignments, fit_ids)
        table["guided_name"] = guided_topics.theme_names(
            centroids, guided_topics.theme_embeddings(themes, encode), themes, settings
        )
        named = table["guided_name"].notna()
        table.loc[named, "label"] = table.loc[named, "guided_name"]
        mapping, registry = topic_registry.match_topics(
            registry, table.drop(columns="representative_idx"), centroids, run_id
        )
        assigned = np.array([mapping.get(int(t), -1) for t in result.assignments])
        logger.info(
            "topics: %d topics (%d named by guided themes), %.1f%% unassigned; registry %s",
            result.metrics["n_topics"],
            int(named.sum()),
            100 * result.metrics["unassigned_share"],
            registry.topics["status"].value_counts().to_dict(),
        )
    else:
        logger.warning("topics skipped: %s", result.skipped_reason)
    tables = _topic_tables(result, registry, ids, assigned, result.scores)
    tables.fit_metadata = fit_metadata(docs, params, config, run_id, result, themes)
    return tables


def fit_metadata(docs, params, config, run_id, result, themes) -> dict:
    """What a refit was made from: library versions, data fingerprint, settings, metrics."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    fingerprint = hashlib.sha256("\n".join(sorted(docs["text_hash"])).encode()).hexdigest()[:16]
    return {
        "fitted_run": run_id,
        "fitted_documents": len(docs),
        "data_fingerprint": fingerprint,
        "seed": params.seed,
        "params": {
            "min_topic_size": params.min_topic_size,
            "min_samples": params.min_samples,
            "fit_sample": params.fit_sample,
            "n_neighbors": params.n_neighbors,
            "n_components": params.n_components,
            "outlier_threshold": params.outlier_threshold,
        },
        "guided_themes": [t.name for t in themes],
        "metrics": {k: v for k, v in result.metrics.items() if not isinstance(v, list)},
        "skipped_reason": result.skipped_reason,
        "versions": versions,
    }


def refit_reason(
    registry: topic_registry.Registry,
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    new_ids: set[str],
    params: topics.TopicParams,
    config: PipelineConfig,
) -> str | None:
    """Why this run refits topics instead of assigning new documents to the saved ones."""
    if config.retrain:
        return "retrain requested"
    if (registry.topics["status"] != "dormant").sum() == 0:
        return "no saved topics"
    fresh = docs["comment_id"].isin(new_ids).to_numpy()
    limit = config.quality.max_unassigned_share
    if fresh.sum() >= MIN_DRIFT_DOCS and limit is not None:
        got, _ = topic_registry.assign_nearest(
            embeddings[fresh], registry, params.outlier_threshold
        )
        share = float((got == -1).mean())
        if share > limit:
            return f"{share:.0%} of {int(fresh.sum())} new documents fit no saved topic"
    return None


def transform_topics(
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    previous: pd.DataFrame,
    new_ids: set[str],
    registry: topic_registry.Registry,
    params: topics.TopicParams,
    run_id: str,
    fitted_metrics: dict | None = None,
) -> TopicTables:
    """New documents to the nearest live registry topic; NPMI and diversity are the last fit's
    (the topics did not change, and their words may be lemmas the raw corpus does not hold)."""
    ids = docs["comment_id"].to_numpy()
    before = previous.drop_duplicates("comment_id").set_index("comment_id")
    known = pd.Series(ids).isin(before.index).to_numpy() & ~pd.Series(ids).isin(new_ids).to_numpy()
    assigned = np.full(len(ids), -1, dtype=np.int64)
    scores = np.full(len(ids), np.nan)
    old = before.reindex(ids[known])
    assigned[known] = old["topic_id"].fillna(-1).astype(int).to_numpy()
    scores[known] = old["score"].astype("float64").to_numpy()
    got, sim = topic_registry.assign_nearest(embeddings[~known], registry, params.outlier_threshold)
    assigned[~known], scores[~known] = got, np.where(got >= 0, sim, np.nan)
    registry = topic_registry.refresh(registry, assigned, run_id)
    live = registry.topics[registry.topics["size"] > 0]
    fitted = fitted_metrics or {}
    metrics = {
        "n_topics": len(live),
        "unassigned_share": float((assigned == -1).mean()) if len(ids) else None,
        "topic_diversity": fitted.get("topic_diversity"),
        "npmi": fitted.get("npmi"),
        "stability_ari": None,  # nothing was refit
    }
    get_run_logger().info(
        "topics: %d new documents assigned to %d saved topics (%d unassigned)",
        int((~known).sum()),
        len(live),
        int((got == -1).sum()),
    )
    result = topics.TopicResult(assigned, scores, live, metrics)
    return _topic_tables(result, registry, ids, assigned, scores)


def _topic_tables(result, registry, ids, assigned, scores) -> TopicTables:
    assignments = pd.DataFrame(
        {
            "comment_id": ids,
            "topic_id": pd.array(np.where(assigned >= 0, assigned, None), dtype="Int64"),
            "score": scores,
        }
    )
    return TopicTables(
        result,
        conform(registry.topics, "topics"),
        conform(assignments, "comment_topics"),
        registry,
    )
