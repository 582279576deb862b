"""Plain-data helpers of the report: frame rows as dicts with nulls as None, and quote windows."""

from __future__ import annotations

from typing import Any

import pandas as pd

QUOTE_CONTEXT = 160  # characters of context shown either side of the evidence


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `df` as dicts, nulls (NaN, NA, NaT) as None."""
    return [{k: (None if isna(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def quote_window(text: str, start: int, end: int, context: int = QUOTE_CONTEXT) -> dict[str, str]:
    """The evidence with up to `context` characters either side, cut at word boundaries."""
    before, after = text[:start], text[end:]
    if len(before) > context:
        cut = before.find(" ", len(before) - context)
        before = "…" + before[cut + 1 if cut >= 0 else len(before) - context :]
    if len(after) > context:
        cut = after.rfind(" ", 0, context)
        after = after[: cut if cut > 0 else context] + "…"
    return {"before": before, "evidence": text[start:end], "after": after}
