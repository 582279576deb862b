"""The themes stage: nightly, new documents go to the saved topics (nearest registry centroid)
and earlier documents keep theirs; a refit, mapped through the registry so the same theme
keeps its id, runs on the first run, on request, or when the saved topics stop fitting."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nlp.themes.params import ThemeSettings
from nlp.themes.registry import Registry
from nlp.themes.tables import ThemeTables
from nlp.themes.transform import refit_reason, transform_topics

if TYPE_CHECKING:
    from spacy.language import Language


def theme_tables(
    *,
    documents: pd.DataFrame,
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
    """This run's `topics` and `comment_topics` tables and the registry after it.

    `documents` (comment_id, text, text_hash) align with `embeddings`; `previous` is the last
    run's comment_topics, `registry` and `saved_fit` (its metadata's "fit") the saved topics.
    """
    saved_fit = saved_fit or {}
    reason = refit_reason(registry, documents, embeddings, new_ids, settings)
    if reason is None:
        tables = transform_topics(
            documents,
            embeddings,
            previous,
            new_ids,
            registry,
            outlier_threshold=settings.topic_params().outlier_threshold,
            run_id=run_id,
            fitted_metrics=saved_fit.get("metrics"),
        )
        tables.fit_metadata = saved_fit
        return tables
    # BERTopic (and with it torch) is imported only when a refit needs it.
    from nlp.themes.refit import refit_tables

    tables = refit_tables(
        documents,
        embeddings,
        registry,
        nlp=nlp,
        encode=encode,
        taxonomy_categories=taxonomy_categories,
        settings=settings,
        run_id=run_id,
    )
    tables.refit_reason = reason
    return tables
