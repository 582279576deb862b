from __future__ import annotations

import pandas as pd
import pytest

from nlp.schemas import conform
from nlp.validation import OutputValidationError, input_failures, validate_outputs


def test_validation_input_failures_name_reason_and_column():
    rows = pd.DataFrame(
        {"source_id": ["a", None, "", "x" * 300, "e"], "text": ["ok", "x", "y", "z", "w" * 100_001]}
    )
    got = input_failures(rows)
    assert got["reason"].to_dict() == {
        1: "missing_id",
        2: "missing_id",
        3: "id_too_long",
        4: "text_too_long",
    }
    assert got.loc[4, "column"] == "text" and got.loc[1, "column"] == "id"


def test_validation_outputs_pass_and_fail_lazily():
    ok = conform(
        pd.DataFrame({"comment_id": ["a"], "label": ["positive"], "score": [0.4]}), "sentiment"
    )
    validate_outputs({"sentiment": ok})
    bad = conform(
        pd.DataFrame(
            {"comment_id": ["a", "a"], "label": ["great", "negative"], "score": [1.5, 0.0]}
        ),
        "sentiment",
    )
    with pytest.raises(OutputValidationError) as err:
        validate_outputs({"sentiment": bad})
    msg = str(err.value)
    assert "sentiment.label" in msg and "sentiment.score" in msg and "comment_id" in msg
