"""The themes stage's settings and the topic model's result type, without importing BERTopic
(so the nightly transform path and its tests load no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from bertopic import BERTopic


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


@dataclass(frozen=True)
class GuidedSettings:
    """Thresholds for MiniLM cosines, measured on NHS and Polis comments (bench/README.md)."""

    min_similarity: float = 0.5  # zero-shot: a document joins a named topic at this cosine
    name_threshold: float = 0.45  # a topic centroid this close to a theme takes its name


@dataclass(frozen=True)
class ThemeSettings:
    """What the themes stage reads from the pipeline configuration (defaults as there)."""

    seed: int = 42
    min_topic_size: int | None = None
    min_samples: int | None = None
    fit_sample: int = 20_000
    retrain: bool = False  # refit even when the saved topics still fit
    max_unassigned_share: float | None = 0.25  # drift: more new documents unassigned -> refit
    stability_sample: int = 2000  # documents refit with another seed; 0 = off
    guided_taxonomy: bool = False  # taxonomy categories seed and name the topics
    guided_names: tuple[str, ...] = ()  # zero-shot theme names
    min_similarity: float = 0.5
    name_threshold: float = 0.45

    def topic_params(self) -> TopicParams:
        return TopicParams(
            seed=self.seed,
            min_topic_size=self.min_topic_size,
            min_samples=self.min_samples,
            fit_sample=self.fit_sample,
        )

    def guided(self) -> GuidedSettings:
        return GuidedSettings(self.min_similarity, self.name_threshold)
