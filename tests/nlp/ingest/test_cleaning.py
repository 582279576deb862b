from __future__ import annotations

import pandas as pd

from nlp.ingest.cleaning import (
    detect_language,
    is_filler_turn,
    is_placeholder,
    near_duplicate_of,
    normalise_text,
    parse_dates,
    triage_comments,
)


def test_cleaning_normalise_text_repairs_and_strips():
    assert normalise_text("cafÃ© &amp; <b>bar</b>\x00  ok") == "café & bar ok"
    assert normalise_text(None) == ""
    assert normalise_text("مرحبا 👍") == "مرحبا 👍"


def test_cleaning_normalise_text_strips_bidi_controls():
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    assert normalise_text(f"fine \u202eevil\u202c {bidi}ok") == "fine evil ok"
    assert (
        normalise_text("\u2067\u05e9\u05dc\u05d5\u05dd\u2069 thanks")
        == "\u05e9\u05dc\u05d5\u05dd thanks"
    )
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # zero-width joiners are kept
    assert normalise_text(f"a\u200bb {family}") == f"ab {family}"
    assert normalise_text(pd.NA) == ""


def test_cleaning_placeholders_and_fillers():
    for t in ("N/A", "none", "-", "Did not answer", "  Nothing. "):
        assert is_placeholder(normalise_text(t)), t
    assert not is_placeholder("no waiting at all")
    assert is_filler_turn("Yeah. Okay, right.")
    assert not is_filler_turn("The form asked for my address twice.")


def test_cleaning_triage_reasons_and_invariant():
    df = pd.DataFrame(
        {
            "source": "f.csv",
            "row_number": range(1, 8),
            "source_id": ["1", "2", "3", None, "1", "5", "5"],
            "text": ["Very good", "Very good", "", "orphan", "Very good", "a", "b"],
            "kind": "comment",
        }
    )
    kept, quarantined = triage_comments(df)
    assert len(kept) + len(quarantined) == len(df)
    assert list(kept["source_id"]) == ["1", "2", "5"]  # same text, other respondent: kept
    reasons = dict(zip(quarantined["row_number"], quarantined["reason"], strict=True))
    assert reasons == {3: "empty_text", 4: "missing_id", 5: "duplicate_row", 7: "duplicate_id"}


def test_cleaning_filler_only_quarantined_for_transcript_turns():
    df = pd.DataFrame(
        {
            "source": "t",
            "row_number": [1, 2],
            "source_id": ["a", "b"],
            "text": ["Yeah okay", "Yeah okay"],
            "kind": ["transcript_turn", "moderator_turn"],
        }
    )
    kept, quarantined = triage_comments(df)
    assert list(quarantined["reason"]) == ["filler_turn"] and list(kept["source_id"]) == ["b"]


def test_cleaning_language_and_dates_and_near_duplicates():
    assert detect_language("The staff were lovely and very kind to my father") == "en"
    assert detect_language("Le personnel était très gentil avec mon père") == "fr"
    assert detect_language("ok") == "und"
    dates = parse_dates(pd.Series(["2022-03-01", "31/12/2021", "12/31/2021", "soon"]))
    assert [d.strftime("%Y-%m-%d") if pd.notna(d) else None for d in dates] == [
        "2022-03-01",
        "2021-12-31",
        "2021-12-31",
        None,
    ]
    texts = pd.Series(
        [
            "Please fix the car park it costs 5 pounds every visit now",
            "Very good",
            "please FIX the car park, it costs 7 pounds every visit now!",
            "Very good",
        ]
    )
    dup = near_duplicate_of(texts, pd.Series(["a", "b", "c", "d"]))
    assert dup.tolist()[2] == "a" and dup.isna().tolist() == [True, True, False, True]
