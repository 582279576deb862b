"""What the driver statistics run over: topic and pain-point membership of comments."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Themes:
    """Analysed documents and their topics, pain-point tags and sentiment."""

    analysed: pd.DataFrame  # comment_id, date, service of analysed documents
    topics: pd.DataFrame
    comment_topics: pd.DataFrame
    tags: pd.DataFrame
    sentiment: pd.DataFrame

    def memberships(self) -> list[tuple[str, str, pd.DataFrame]]:
        """(theme_type, column, membership); pain points count only negative clauses."""
        pains = self.tags[self.tags["is_pain_point"].fillna(False)]
        return [
            ("topic", "topic_id", self.comment_topics.dropna(subset=["topic_id"])),
            ("pain_point", "category", pains),
        ]
