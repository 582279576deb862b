"""The service facet of themes: which services a theme's comments come from.

A theme is never a service (services are where feedback comes from, themes what it says), so
the facet is a separate table: comments per (theme, service) and their share of the theme's
comments, each comment counted once per theme.
"""

from __future__ import annotations

import pandas as pd

from nlp.drivers.membership import theme_membership
from nlp.schemas import conform


def topic_services(comment_topics: pd.DataFrame, analysed: pd.DataFrame) -> pd.DataFrame:
    """`topic_services`: per theme and service, n comments and share of the theme's comments.

    `analysed` has (comment_id, service). The share's denominator is all the theme's analysed
    comments, so comments without a service (not listed) keep the shares honest: they sum to
    1 only when every comment has a service. Sorted by theme, then n descending, then service.
    Empty when no analysed comment has a service.
    """
    m = theme_membership(comment_topics)
    service = analysed[["comment_id", "service"]].drop_duplicates("comment_id")
    m = m.merge(service, on="comment_id")
    if m["service"].isna().all():
        return conform(pd.DataFrame(), "topic_services")
    totals = m.groupby("topic_id").size().rename("total")
    n = m.dropna(subset=["service"]).groupby(["topic_id", "service"]).size().rename("n")
    out = n.reset_index().merge(totals.reset_index(), on="topic_id")
    out["share"] = out["n"] / out["total"]
    out = out.sort_values(["topic_id", "n", "service"], ascending=[True, False, True])
    return conform(out.drop(columns="total"), "topic_services")
