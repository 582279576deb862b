"""The themes stage: themes are found in *statements* (nlp.themes.statements), and a comment
carries every theme one of its statements is in. Nightly, new statements go to the saved topics
(nearest registry centroid) and earlier ones keep theirs; a refit, mapped through the registry
so the same theme keeps its id, runs on the first run, on request, when the saved topics stop
fitting, or once when the saved topics were fit on whole comments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nlp.schemas import TABLES, conform
from nlp.themes import statements as units
from nlp.themes.params import ThemeSettings
from nlp.themes.registry import Registry
from nlp.themes.tables import ThemeTables
from nlp.themes.transform import refit_reason, transform_topics

UNIT = "statement"  # what the saved topics were fit on (fit metadata "unit")

if TYPE_CHECKING:
    from spacy.language import Language


def theme_tables(
    *,
    statements: pd.DataFrame,
    embeddings: np.ndarray,
    previous: pd.DataFrame,
    new_ids: set[str],
    registry: Registry,
    saved_fit: dict,
    nlp: Language,
    encode: Callable[[list[str]], np.ndarray],
    taxonomy_categories: Sequence,
    settings: ThemeSettings,
    run_id: str,
) -> ThemeTables:
    """This run's `topics`, `statements` and `comment_topics` tables and the registry after it.

    `statements` (comment_id, statement_index, start, end, text, text_hash; every analysed
    document's, nlp.themes.statements) align with `embeddings`; `previous` is the last run's
    `statements` table, `registry` and `saved_fit` (its metadata's "fit") the saved topics;
    `new_ids` the comment ids this run (re)processed.
    """
    saved_fit = saved_fit or {}
    keys = units.unit_keys(statements)
    docs = pd.DataFrame({"comment_id": keys, "text": statements["text"].to_numpy()})
    docs["text_hash"] = statements["text_hash"].to_numpy()
    new_keys = set(keys[statements["comment_id"].isin(new_ids).to_numpy()])
    before = _model_assignments(previous)
    reason = refit_reason(registry, docs, embeddings, new_keys, settings) or _unit_reason(
        registry, saved_fit
    )
    if reason is None:
        tables = transform_topics(
            docs,
            embeddings,
            before,
            new_keys,
            registry,
            outlier_threshold=settings.topic_params().outlier_threshold,
            run_id=run_id,
            fitted_metrics=saved_fit.get("metrics"),
        )
        tables.fit_metadata = saved_fit
        return _per_comment(tables, statements)
    # BERTopic (and with it torch) is imported only when a refit needs it.
    from nlp.themes.refit import refit_tables

    tables = refit_tables(
        docs,
        embeddings,
        registry,
        nlp=nlp,
        encode=encode,
        taxonomy_categories=taxonomy_categories,
        settings=settings,
        run_id=run_id,
    )
    tables.refit_reason = reason
    tables.fit_metadata = {**tables.fit_metadata, "unit": UNIT}
    return _per_comment(tables, statements)


def _unit_reason(registry: Registry, saved_fit: dict) -> str | None:
    """Why saved topics must be refit once: they were fit on whole comments."""
    if len(registry.topics) and saved_fit.get("unit") != UNIT:
        return "the saved topics were fit on whole comments; themes are now statement-level"
    return None


def _per_comment(tables: ThemeTables, statements: pd.DataFrame) -> ThemeTables:
    """Statement-unit tables to the `statements` and per-comment `comment_topics` tables;
    representative ids back to comment ids."""
    assigned = tables.comment_topics  # one row per unit, in `statements` order
    topic_ids = assigned["topic_id"].to_numpy()
    table = statements.drop(columns="text").assign(
        topic_id=topic_ids, score=assigned["score"].to_numpy(), model_topic_id=topic_ids
    )
    tables.statements = conform(table, "statements")
    comment_ids = statements["comment_id"].drop_duplicates().tolist()
    tables.comment_topics = units.comment_topics_from_statements(table, comment_ids)
    tables.topics = _comment_representatives(tables.topics)
    tables.registry.topics = _comment_representatives(tables.registry.topics)
    tables.result.metrics.update(units.statement_metrics(table, tables.comment_topics))
    if tables.result.skipped_reason:  # the units the topic model saw are statements
        reason = tables.result.skipped_reason.replace(" documents", " statements")
        tables.result.skipped_reason = reason
    return tables


def _model_assignments(previous: pd.DataFrame) -> pd.DataFrame:
    """The last run's statements as units with the model's topic (not the analyst-edited one:
    edits are applied again on every run, so an undone edit is undone everywhere)."""
    previous = conform(previous[[c for c in previous if c in TABLES["statements"]]], "statements")
    model = previous["model_topic_id"]
    known = model.notna() | previous["topic_id"].isna()  # rows from before the column existed
    topic = model.where(known, previous["topic_id"])
    return previous.assign(comment_id=units.unit_keys(previous), topic_id=topic)


def _comment_representatives(topics: pd.DataFrame) -> pd.DataFrame:
    ids = topics["representative_ids"].map(_comment_ids, na_action="ignore")
    return conform(topics.assign(representative_ids=ids), "topics")


def _comment_ids(value: str) -> str:
    """'c1<sep>0|c1<sep>2|c2<sep>3' -> 'c1|c2' (each comment once, in order)."""
    return "|".join(dict.fromkeys(units.unit_comment_ids(value.split("|"))))
