"""The topics task: load the saved registry and fit, run the themes stage, log what it did."""

from __future__ import annotations

from functools import partial

from prefect import get_run_logger, task

from flows import io
from flows.config import PipelineConfig
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp import embedding
from nlp.embedding.stage import Embedded
from nlp.ingest.merge import RunCorpus
from nlp.themes.edits import apply_edits
from nlp.themes.params import ThemeSettings
from nlp.themes.stage import theme_tables
from nlp.themes.statements import theme_input
from nlp.themes.tables import ThemeTables


def theme_settings(config: PipelineConfig) -> ThemeSettings:
    """The configuration the themes stage reads."""
    g = config.guided_topics
    return ThemeSettings(
        seed=config.seed,
        min_topic_size=config.min_topic_size,
        min_samples=config.topics.min_samples,
        fit_sample=config.topics.fit_sample,
        retrain=config.retrain,
        max_unassigned_share=config.quality.max_unassigned_share,
        stability_sample=config.quality.stability_sample,
        guided_taxonomy=g.taxonomy,
        guided_names=tuple(g.names),
        min_similarity=g.min_similarity,
        name_threshold=g.name_threshold,
    )


@task(name="topics", **STAGE)
def topics_task(*, run: Run, corpus: RunCorpus, embedded: Embedded) -> ThemeTables:
    """Nightly: new documents to the saved topics; a refit on the first run, with `retrain`,
    or when too many new documents fit no saved topic (see nlp.themes.stage). A registry
    from before the space id carried the model version is refit once (never mixed)."""
    config, space = run.config, encoder_key(run.config)
    legacy = embedding.LEGACY_SPACE_IDS.get(space)
    embeddings = embedded.statement_matrix
    tables = theme_tables(
        statements=theme_input(embedded.statements),  # themes are found in the masked text
        embeddings=embeddings,
        previous=corpus.previous["statements"],
        new_ids=set(corpus.new_documents["comment_id"]),
        registry=io.load_registry(config.out, space, embeddings.shape[1], legacy_id=legacy),
        saved_fit=io.load_registry_metadata(config.out).get("fit") or {},
        nlp=run.models.nlp,
        encode=partial(embedding.embed_texts, run.models.encoder),
        taxonomy_categories=run.taxonomy.categories,
        settings=theme_settings(config),
        run_id=run.id,
    )
    _log(tables)
    return _with_edits(tables, embedded, config)


def _with_edits(tables: ThemeTables, embedded: Embedded, config: PipelineConfig) -> ThemeTables:
    """The analysts' edits (`feedback themes ...`, <out>/models/theme_edits.json) applied to
    this run's tables; the registry stays the model's, so edits replay on every run and survive
    a refit through the registry's ids."""
    edits = io.load_edits(config.out)
    if not edits:
        return tables
    edited = apply_edits(
        topics=tables.topics,
        comment_topics=tables.comment_topics,
        statements=tables.statements,
        statement_texts=embedded.statements["text"],
        edits=edits,
    )
    tables.topics, tables.comment_topics = edited.topics, edited.comment_topics
    tables.statements = edited.statements
    logger = get_run_logger()
    logger.info("topics: %d analyst edits applied", len(edited.applied))
    for skipped in edited.skipped:
        logger.warning("topics: %s", skipped.message())
    return tables


def _log(tables: ThemeTables) -> None:
    logger, counts = get_run_logger(), tables.counts
    if tables.refit_reason is None:
        logger.info(
            "topics: %d new statements assigned to %d saved topics (%d unassigned)",
            counts["new_documents"],
            counts["saved_topics"],
            counts["new_unassigned"],
        )
        return
    logger.info("topics: refit (%s)", tables.refit_reason)
    result = tables.result
    if len(result.topics):
        logger.info(
            "topics: %d topics (%d named by guided themes, %s cluster selection), %.1f%% "
            "unassigned; registry %s",
            result.metrics["n_topics"],
            counts["guided_named"],
            result.metrics.get("cluster_selection", "eom"),
            100 * result.metrics["unassigned_share"],
            tables.registry.topics["status"].value_counts().to_dict(),
        )
    else:
        logger.warning("topics skipped: %s", result.skipped_reason)
