from __future__ import annotations

import pytest

from nlp.ingest.pii import (
    redact_names_in_context,
    redact_patterns,
    redact_pii,
    redact_texts_and_prompts,
)


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("mail a.b+x@nhs.example.co.uk now", "[EMAIL]"),
        ("call 07700 900123", "[PHONE]"),
        ("call +1 (555) 123-4567", "[PHONE]"),
        ("tel 020 7946 0958", "[PHONE]"),
        ("SSN 219-09-9999", "[ID_NUMBER]"),
        ("NI QQ 12 34 56 C", "[ID_NUMBER]"),
        ("card 4111 1111 1111 1111", "[CARD]"),
        ("see https://x.example/a?b=c", "[URL]"),
        ("at 14 Willow Crescent", "[ADDRESS]"),
        ("postcode LS6 2QT", "[POSTCODE]"),
        ("Springfield, IL 62704", "[POSTCODE]"),
    ],
)
def test_pii_rules_redact(text, placeholder):
    out, n = redact_patterns(text)
    assert placeholder in out and n >= 1


def test_pii_rules_leave_ordinary_numbers():
    for text in (
        "waited 4 hours",
        "in 2019 I paid 150 pounds",
        "at 10.30 on ward 7",
        "card 4111 1111 1111 1112",
    ):
        out, n = redact_patterns(text)
        assert "[CARD]" not in out
        if "1112" not in text:
            assert (out, n) == (text, 0)


def test_pii_names_by_ner_and_context(spacy_nlp):
    texts = [
        "John Smith called me back.",
        "Thanks to nurse Siobhan for her care.",
        "Please thank Gareth and Bethan on ward 7.",
        "Thank you Ambulance Service for everything.",
    ]
    out = redact_pii(texts, spacy_nlp)
    assert out[0] == ("[PERSON] called me back.", 1)
    assert out[1][0] == "Thanks to nurse [PERSON] for her care."
    assert "Gareth" not in out[2][0] and "Bethan" not in out[2][0]
    assert out[3] == ("Thank you Ambulance Service for everything.", 0)


def test_pii_context_rules_alone():
    assert redact_names_in_context("I spoke to Mr Adebayo Okonkwo") == ("I spoke to Mr [PERSON]", 1)
    assert redact_names_in_context("Dr said I could go") == ("Dr said I could go", 0)


def test_pii_redact_texts_and_prompts_matches_one_redact_pii_call(spacy_nlp):
    texts = ["mail me at a@b.example", "fine thanks", "call 07700 900123 or 07700 900124"]
    prompts = ["Can I reach you at c@d.example?", "", ""]
    out_texts, counts, out_prompts = redact_texts_and_prompts(texts, prompts, spacy_nlp)
    both = redact_pii([*texts, prompts[0]], spacy_nlp)
    assert out_texts == [t for t, _ in both[:3]]
    assert counts == [1, 0, 2]  # per text; prompt redactions are not counted
    assert out_prompts == [both[3][0], None, None]
    assert "[EMAIL]" in out_prompts[0]
    assert redact_texts_and_prompts([], [], spacy_nlp) == ([], [], [])
