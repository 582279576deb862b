"""The tagging stage: clauses with sentiment, pain-point tags with evidence, comment sentiment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from spacy.language import Language

from nlp.sentiment.clauses import SentimentScorer
from nlp.tagging.head import CategoryHead
from nlp.tagging.pipeline import CommentLabel, build_tagging_pipeline, tag_comments
from nlp.tagging.similarity import CategoryPrototypes, build_prototypes, can_calibrate
from nlp.tagging.taxonomy import Taxonomy


@dataclass
class TaggedComments:
    """The `clauses`, `pain_points` and `sentiment` rows of the tagged documents."""

    clauses: pd.DataFrame
    pain_points: pd.DataFrame
    sentiment: pd.DataFrame
    prototypes: CategoryPrototypes | None = None  # similarity tagging's, when it ran


def tagged_comments(
    *,
    documents: pd.DataFrame,
    embeddings: np.ndarray,
    nlp: Language,
    taxonomy: Taxonomy,
    comment_labeller: CommentLabel | None = None,
    category_head: CategoryHead | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> TaggedComments:
    """Tag `documents` (comment_id, text) on the lean tagging pipeline. `embeddings` are their
    rows of the shared encoder pass (the heads and similarity tagging re-use them); `encode`
    (the run's encoder) turns on similarity tagging: it embeds the taxonomy's examples and,
    for evidence in multi-clause comments, the clauses. A taxonomy with `examples` in fewer
    than two categories cannot calibrate a threshold: it is tagged by its rules alone
    (`prototypes` stays None)."""
    similarity = None
    if encode is not None and len(documents) and can_calibrate(taxonomy.categories):
        prototypes = build_prototypes(taxonomy.categories, encode)
        similarity = (prototypes, encode)
    tagging_nlp = build_tagging_pipeline(nlp, taxonomy, category_head, similarity)
    clauses, tags, sentiment = tag_comments(
        tagging_nlp,
        SentimentScorer(),
        documents["comment_id"].tolist(),
        documents["text"].tolist(),
        comment_sentiment=comment_labeller,
        embeddings=embeddings,
    )
    return TaggedComments(clauses, tags, sentiment, similarity[0] if similarity else None)
