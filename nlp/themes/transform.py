"""The nightly path of the themes stage: whether the saved topics still fit, and if so new
documents to the nearest live registry topic while earlier documents keep theirs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nlp.themes import registry as topic_registry
from nlp.themes.params import ThemeSettings, TopicResult
from nlp.themes.tables import ThemeTables, topic_tables

MIN_DRIFT_DOCS = 20  # fewer new documents never trigger a refit on their own


def refit_reason(
    registry: topic_registry.Registry,
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    new_ids: set[str],
    settings: ThemeSettings,
) -> str | None:
    """Why this run refits topics instead of assigning new documents to the saved ones."""
    if settings.retrain:
        return "retrain requested"
    if (registry.topics["status"] != "dormant").sum() == 0:
        return "no saved topics"
    fresh = docs["comment_id"].isin(new_ids).to_numpy()
    limit = settings.max_unassigned_share
    if fresh.sum() >= MIN_DRIFT_DOCS and limit is not None:
        got, _ = topic_registry.assign_nearest(
            embeddings[fresh], registry, settings.topic_params().outlier_threshold
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
    *,
    outlier_threshold: float,
    run_id: str,
    fitted_metrics: dict | None = None,
) -> ThemeTables:
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
    got, sim = topic_registry.assign_nearest(embeddings[~known], registry, outlier_threshold)
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
    result = TopicResult(assigned, scores, live, metrics)
    tables = topic_tables(result, registry, ids, assigned, scores)
    tables.counts = {
        "new_documents": int((~known).sum()),
        "saved_topics": len(live),
        "new_unassigned": int((got == -1).sum()),
    }
    return tables
