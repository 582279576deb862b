"""What the driver statistics run over: theme, parent-theme and pain-point membership.

A comment counts once per theme it contains, however many of its statements the theme holds:
`comment_topics` may have one row per comment (the old shape) or one per (comment, theme); a
comment with no theme has a null topic_id and is in no theme. A comment is in a parent theme
when it is in any of the parent's children, again once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def theme_membership(comment_topics: pd.DataFrame) -> pd.DataFrame:
    """(comment_id, topic_id), one row per comment and theme it contains."""
    m = comment_topics[["comment_id", "topic_id"]].dropna()
    return m.drop_duplicates().reset_index(drop=True)


def parent_membership(comment_topics: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """(comment_id, parent_id), one row per comment and parent theme it contains.

    Empty when `topics` has no parent_id column or no theme has a parent.
    """
    if "parent_id" not in topics:
        return pd.DataFrame({"comment_id": [], "parent_id": []})
    parents = topics[["topic_id", "parent_id"]].dropna().drop_duplicates("topic_id")
    m = theme_membership(comment_topics).merge(parents, on="topic_id")
    return m[["comment_id", "parent_id"]].drop_duplicates().reset_index(drop=True)


def parent_labels(topics: pd.DataFrame) -> pd.Series:
    """parent_label by parent_id (the first non-null label of each parent)."""
    if "parent_id" not in topics or "parent_label" not in topics:
        return pd.Series(dtype="string")
    p = topics[["parent_id", "parent_label"]].dropna(subset=["parent_id"])
    return p.dropna().drop_duplicates("parent_id").set_index("parent_id")["parent_label"]


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
            ("topic", "topic_id", theme_membership(self.comment_topics)),
            ("pain_point", "category", pains),
        ]

    def parents(self) -> pd.DataFrame:
        """(comment_id, parent_id): the parent level of the topics (see `parent_membership`)."""
        return parent_membership(self.comment_topics, self.topics)
