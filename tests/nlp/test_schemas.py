from __future__ import annotations

import pandas as pd
import pytest

from nlp.schemas import COMMENT_KEYED, RUN_KEYED, SNAPSHOT, TABLES, conform, empty


def test_schemas_conform_adds_casts_and_rejects():
    df = conform(pd.DataFrame({"comment_id": ["a"], "score": ["0.5"]}), "sentiment")
    assert list(df.columns) == ["comment_id", "label", "score"]
    assert df["score"].dtype == "float64" and df["label"].isna().all()
    with pytest.raises(ValueError, match="unexpected columns"):
        conform(pd.DataFrame({"comment_id": ["a"], "oops": [1]}), "sentiment")


def test_schemas_every_table_is_declared_once():
    for name in TABLES:
        assert list(empty(name).columns) == list(TABLES[name])
    assert set(COMMENT_KEYED) | set(RUN_KEYED) | set(SNAPSHOT) <= set(TABLES)
    assert not set(COMMENT_KEYED) & set(RUN_KEYED)
