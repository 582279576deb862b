"""Fixtures for flow tests: a throw-away Prefect backend and a tiny real input set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="session")
def prefect_backend():
    """A temporary Prefect server and database for the session (real flow runs, no state kept)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory) -> dict:
    """200 real sample comments plus planted edge cases, a score file and one transcript.

    Planted: an empty comment, a placeholder, an exact duplicate row, an email and a phone
    number (PII canaries), a duplicate score id, a score for an unknown id, and a comment
    without a score.
    """
    root = tmp_path_factory.mktemp("inputs")
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments = comments[comments["text"].str.len() > 20].head(200).reset_index(drop=True)
    canary_email = "jo.canary@example.org"
    canary_phone = "07700 900461"
    planted = pd.DataFrame(
        [
            {"id": "X-EMPTY", "date": "2022-01-05", "service": "111", "text": "   "},
            {"id": "X-NA", "date": "2022-01-05", "service": "111", "text": "N/A"},
            {
                "id": "X-PII",
                "date": "2022-01-06",
                "service": "111",
                "text": f"Email me at {canary_email} or call {canary_phone}, the wait was awful.",
            },
            {
                "id": "X-NOSCORE",
                "date": "2022-01-07",
                "service": "111",
                "text": "The ambulance crew were kind but we waited four hours.",
            },
        ]
    )
    comments = pd.concat([comments, planted, comments.iloc[[0]]], ignore_index=True)
    scores = pd.read_csv(SAMPLE / "scores.csv", dtype=str)
    scores = scores[scores["id"].isin(comments["id"]) & (scores["id"] != "X-NOSCORE")]
    extra = pd.DataFrame(
        [
            {"id": "X-PII", "score": "5"},
            {"id": "X-PII", "score": "1"},  # duplicate score id: first one wins
            {"id": "NOT-A-COMMENT", "score": "2"},
        ]
    )
    scores = pd.concat([scores, extra], ignore_index=True)
    comments.to_csv(root / "comments.csv", index=False)
    scores.to_csv(root / "scores.csv", index=False)
    tdir = root / "transcripts"
    tdir.mkdir()
    (tdir / "interview.txt").write_text(
        (SAMPLE / "transcripts" / "interview_12.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return {
        "root": root,
        "comments": comments,
        "scores": scores,
        "canaries": [canary_email, canary_phone],
    }
