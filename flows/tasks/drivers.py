"""The CSAT join and driver statistics task."""

from __future__ import annotations

import pandas as pd
from prefect import get_run_logger, task

from flows.config import PipelineConfig
from flows.tasks.common import STAGE
from flows.tasks.models import Run
from nlp.drivers.membership import Themes
from nlp.drivers.stage import DriverSettings, DriverTables, driver_tables
from nlp.ingest.merge import RunCorpus
from nlp.tagging.stage import TaggedComments
from nlp.themes.stage import ThemeTables

CsatTables = DriverTables  # the name the flow knew
__all__ = ["CsatTables", "DriverTables", "Themes", "csat_task", "driver_settings"]


@task(name="join-csat", **STAGE)
def csat_task(
    *,
    run: Run,
    corpus: RunCorpus,
    scores: pd.DataFrame | None,
    themes: ThemeTables,
    tagged: TaggedComments,
) -> DriverTables:
    """Scores joined to the corpus, then drivers, gaps and trends (nlp.drivers.stage)."""
    tables = driver_tables(
        comments=corpus.comments,
        quarantined_ids=corpus.quarantined_ids,
        score_table=scores,
        previous_scores=corpus.previous["scores"],
        themes=Themes(
            corpus.documents,
            themes.topics,
            themes.comment_topics,
            tagged.pain_points,
            tagged.sentiment,
        ),
        segments=corpus.segments,
        settings=driver_settings(run.config),
        run_id=run.id,
    )
    rate = tables.match_rate
    get_run_logger().info(
        "csat: %d scores read, corpus match rate %s, %d unmatched entries, %d theme x service",
        tables.scores_read,
        "n/a" if rate is None else f"{rate:.3f}",
        len(tables.unmatched),
        len(tables.topic_services),
    )
    return tables


def driver_settings(config: PipelineConfig) -> DriverSettings:
    """The drivers stage's settings from the pipeline config."""
    d = config.drivers
    return DriverSettings(
        scale=config.score_scale.scale(),
        casefold_ids=config.casefold_ids,
        min_n=config.min_n,
        n_boot=d.n_boot,
        seed=config.seed,
        trend_period=d.trend_period,
        trend_window=d.trend_window,
        emerging_alpha=d.emerging_alpha,
        emerging_min_count=d.emerging_min_count,
    )
