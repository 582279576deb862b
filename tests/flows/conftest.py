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

    Planted: an empty comment, a placeholder, an exact duplicate row, 24 distinct PII canaries
    (names, emails, phones, SSN, NI number, cards, address, postcode, URL) in comments and in
    the transcript (participant and moderator turns), a duplicate score id, a score for an
    unknown id, and a comment without a score.
    """
    root = tmp_path_factory.mktemp("inputs")
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments = comments[comments["text"].str.len() > 20].head(200).reset_index(drop=True)
    canary_rows = [
        "Email me at jo.canary@example.org or call 07700 900461, the wait was awful.",
        "My nurse was Margaret Okafor and she was brilliant, phone (555) 201-3344.",
        "Thanks to nurse Siobhan Gallagher; my SSN 219-09-9999 was on the form.",
        "I spoke to Mr Adebayo Okonkwo twice, NI number QQ 12 34 56 C.",
        "Ask for Priya Ramanathan, she took my card 4111 1111 1111 1111 by mistake.",
        "Refund to 5500-0000-0000-0004 please, letters go to 14 Willow Crescent, LS6 2QT.",
        "Tracking link https://example.org/track?user=canary77 did not work; +44 20 7946 0321.",
        "Write to r.smith+nhs@mail.example.co.uk about the delay.",
        # names with no title or capital letter to lean on (step 7's leaks)
        "My caseworker Marguerite Okonkwo-Velasquez never called back about the form.",
        "i spoke to siobhan at the front desk and she said the letter was lost",
        "nurse tomasz was lovely but the wait for the scan was far too long",
        "My husband Gareth Pritchard-Jones had to drive me because the bus never came.",
    ]
    planted = pd.DataFrame(
        [
            {"id": "X-EMPTY", "date": "2022-01-05", "service": "111", "text": "   "},
            {"id": "X-NA", "date": "2022-01-05", "service": "111", "text": "N/A"},
            {
                "id": "X-NOSCORE",
                "date": "2022-01-07",
                "service": "111",
                "text": "The ambulance crew were kind but we waited four hours.",
            },
        ]
        + [
            {"id": f"X-PII{i}", "date": "2022-01-06", "service": "111", "text": t}
            for i, t in enumerate(canary_rows)
        ]
    )
    comments = pd.concat([comments, planted, comments.iloc[[0]]], ignore_index=True)
    scores = pd.read_csv(SAMPLE / "scores.csv", dtype=str)
    scores = scores[scores["id"].isin(comments["id"]) & (scores["id"] != "X-NOSCORE")]
    extra = pd.DataFrame(
        [
            {"id": "X-PII0", "score": "5"},
            {"id": "X-PII0", "score": "1"},  # duplicate score id: first one wins
            {"id": "NOT-A-COMMENT", "score": "2"},
        ]
    )
    scores = pd.concat([scores, extra], ignore_index=True)
    bands = ["16-24", "25-44", "45-64", "65+", ""]  # a segment column; "" = not given
    comments["age_band"] = [bands[i % len(bands)] for i in range(len(comments))]
    comments.to_csv(root / "comments.csv", index=False)
    scores["ltr"] = [str(i % 11) for i in range(len(scores))]  # a 0-10 recommend column
    scores.to_csv(root / "scores.csv", index=False)
    tdir = root / "transcripts"
    tdir.mkdir()
    interview = (SAMPLE / "transcripts" / "interview_12.txt").read_text(encoding="utf-8")
    interview += (
        "Interviewer 1: Thanks, Hannah Lindqvist. Anything else about the service?\n"
        "Interviewee: My name is Wei Zhang and I waited for months to hear back.\n"
        "Interviewee: You can reach me on 07700 900987 or wz.canary@example.net if needed.\n"
    )
    (tdir / "interview.txt").write_text(interview, encoding="utf-8")
    return {
        "root": root,
        "comments": comments,
        "scores": scores,
        "canaries": [
            "jo.canary@example.org",
            "07700 900461",
            "Margaret Okafor",
            "Okafor",
            "(555) 201-3344",
            "Siobhan",
            "Gallagher",
            "219-09-9999",
            "Adebayo",
            "Okonkwo",
            "QQ 12 34 56 C",
            "Priya Ramanathan",
            "Ramanathan",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "14 Willow Crescent",
            "LS6 2QT",
            "canary77",
            "+44 20 7946 0321",
            "r.smith+nhs@mail.example.co.uk",
            "Hannah Lindqvist",
            "Lindqvist",
            "Wei Zhang",
            "07700 900987",
            "wz.canary@example.net",
            "Marguerite",
            "Velasquez",
            "siobhan",
            "tomasz",
            "Gareth",
            "Pritchard",
        ],
    }
