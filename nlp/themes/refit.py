"""The refit path of the themes stage: fit BERTopic (guided by known themes), measure its
stability, name topics after guided themes and map their ids through the registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nlp.schemas import conform
from nlp.themes import guided as guided_topics
from nlp.themes import model as topics
from nlp.themes import registry as topic_registry
from nlp.themes.hierarchy import parent_themes
from nlp.themes.params import ThemeSettings
from nlp.themes.stability import stability
from nlp.themes.statements import unit_comment_ids
from nlp.themes.tables import ThemeTables, fit_metadata, topic_tables

if TYPE_CHECKING:
    from spacy.language import Language


def guided_themes(
    settings: ThemeSettings, taxonomy_categories: Sequence
) -> list[guided_topics.GuidedTheme]:
    """The known themes: taxonomy categories (when switched on), then zero-shot names."""
    themes = (
        guided_topics.themes_from_taxonomy(taxonomy_categories) if settings.guided_taxonomy else []
    )
    return themes + guided_topics.themes_from_names(settings.guided_names)


def refit_tables(
    documents: pd.DataFrame,
    embeddings: np.ndarray,
    registry: topic_registry.Registry,
    *,
    nlp: Language,
    encode: Callable[[list[str]], np.ndarray],
    taxonomy_categories: Sequence,
    settings: ThemeSettings,
    run_id: str,
) -> ThemeTables:
    """Refit topics on every document and map them to the registry's ids."""
    params = settings.topic_params()
    themes = guided_themes(settings, taxonomy_categories)
    guided = settings.guided()
    fit_args = {
        "bertopic_args": guided_topics.bertopic_arguments(themes, encode, guided),
        "nlp": nlp,
        "encode": encode,
    }
    texts = documents["text"].tolist()
    # the comment each statement unit comes from: NPMI counts words in whole comments
    groups = pd.factorize(pd.Series(unit_comment_ids(documents["comment_id"])))[0]
    result = topics.fit_corpus_topics(texts, embeddings, params, groups=groups, **fit_args)
    if not result.skipped_reason:
        gate = stability(
            texts,
            embeddings,
            result.assignments,
            params,
            sample_size=settings.stability_sample,
            groups=groups,
            **{**fit_args, "encode": None, "nlp": None},  # words do not change a partition
        )
        result.metrics["stability_ari"] = gate.ari
        result.metrics["stability_method"] = gate.method
    ids = documents["comment_id"].to_numpy()
    assigned = result.assignments.copy()
    named = 0
    if len(result.topics):
        table = result.topics.copy()
        table["representative_ids"] = [
            "|".join(ids[i] for i in idx) for idx in table["representative_idx"]
        ]
        fit_ids = table["topic_id"].astype(int).tolist()
        centroids = topic_registry.centroids_of(embeddings, result.assignments, fit_ids)
        named = _name_topics(table, centroids, themes, encode, guided)
        mapping, registry = topic_registry.match_topics(
            registry, table.drop(columns="representative_idx"), centroids, run_id
        )
        assigned = np.array([mapping.get(int(t), -1) for t in result.assignments])
        registry = with_parents(registry)
    tables = topic_tables(result, registry, ids, assigned, result.scores)
    tables.fit_metadata = fit_metadata(documents, params, run_id, result, [t.name for t in themes])
    tables.counts = {"guided_named": named}
    return tables


def with_parents(registry: topic_registry.Registry) -> topic_registry.Registry:
    """The registry with parent themes (nlp.themes.hierarchy) over its live topics; dormant
    ones keep the parent they had. `name_source`: guided when a guided theme named it."""
    t = registry.topics.copy()
    live = (t["size"].fillna(0) > 0).to_numpy()
    if live.sum():
        parents = parent_themes(
            registry.centroids[live],
            t.loc[live, "topic_id"].astype(int).tolist(),
            t.loc[live, "size"].astype(int).tolist(),
            labels=t.loc[live, "label"].astype(str).tolist(),
            top_words=t.loc[live, "top_words"].astype(str).tolist(),
        )
        t.loc[live, "parent_id"] = parents.parent_id
        t.loc[live, "parent_label"] = [parents.labels[p] for p in parents.parent_id]
    guided = t["guided_name"].notna()
    t["name_source"] = t["name_source"].where(~live | t["name_source"].notna(), "phrase")
    t.loc[guided & live, "name_source"] = "guided"
    return topic_registry.Registry(conform(t, "topics"), registry.centroids)


def _name_topics(
    table: pd.DataFrame,
    centroids: np.ndarray,
    themes: list[guided_topics.GuidedTheme],
    encode: Callable[[list[str]], np.ndarray],
    guided: guided_topics.GuidedSettings,
) -> int:
    """Set `guided_name` (and the label) of topics a guided theme matches; how many it named."""
    table["guided_name"] = guided_topics.theme_names(
        centroids, guided_topics.theme_embeddings(themes, encode), themes, guided
    )
    named = table["guided_name"].notna()
    table.loc[named, "label"] = table.loc[named, "guided_name"]
    return int(named.sum())
