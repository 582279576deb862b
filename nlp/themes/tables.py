"""What the themes stage returns: the `topics` and `comment_topics` tables, the registry after
the run, and the fit they come from (`fit_metadata`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from nlp.schemas import conform, empty
from nlp.themes.params import TopicParams, TopicResult
from nlp.themes.registry import Registry

_VERSIONED = ("bertopic", "umap-learn", "hdbscan", "scikit-learn", "sentence-transformers")


@dataclass
class ThemeTables:
    """The themes stage's output: tables to write, the registry to save, and what it did."""

    result: TopicResult
    topics: pd.DataFrame  # the `topics` table: the registry after this run (dormant included)
    comment_topics: pd.DataFrame
    registry: Registry
    # the fit these topics come from: this run's refit, or the saved one on a transform run
    fit_metadata: dict = field(default_factory=dict)
    refit_reason: str | None = None  # why this run refit; None = new documents transformed
    # for the task's log line: transform: new_documents, saved_topics, new_unassigned;
    # refit: guided_named (topics named by a guided theme)
    counts: dict[str, int] = field(default_factory=dict)
    # per statement (nlp.themes.stage): comment_topics above is then per (comment, theme)
    statements: pd.DataFrame = field(default_factory=lambda: empty("statements"))


def topic_tables(
    result: TopicResult,
    registry: Registry,
    ids: np.ndarray,
    assigned: np.ndarray,
    scores: np.ndarray,
) -> ThemeTables:
    """The conformed `topics` (the registry) and `comment_topics` (registry id per document)."""
    assignments = pd.DataFrame(
        {
            "comment_id": ids,
            "topic_id": pd.array(np.where(assigned >= 0, assigned, None), dtype="Int64"),
            "score": scores,
        }
    )
    return ThemeTables(
        result,
        conform(registry.topics, "topics"),
        conform(assignments, "comment_topics"),
        registry,
    )


def fit_metadata(
    docs: pd.DataFrame,
    params: TopicParams,
    run_id: str,
    result: TopicResult,
    theme_names: Sequence[str],
) -> dict:
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
        "guided_themes": list(theme_names),
        "metrics": {k: v for k, v in result.metrics.items() if not isinstance(v, list)},
        "skipped_reason": result.skipped_reason,
        "versions": versions,
    }
