"""Service-neutral masking: service names in their usual forms, handles and extra terms are
masked as whole words; other words (even ones containing a name) are left alone."""

from __future__ import annotations

import pytest

from nlp.themes.masking import drop_excluded, excluded_terms, mask_terms


def test_masking_service_names_in_every_usual_form():
    texts = [
        "United lost my bag",
        "UNITED's crew were lovely",
        "thanks @United for nothing",
        "#SouthwestAir delayed again",
        "flew southwest, never again",
        "SouthwestAir app crashed",
        "Virgin America and VirginAmerica and Virgin-America",
    ]
    out = mask_terms(texts, services=["United", "Southwest", "Virgin America"], handles=False)
    assert out.texts == [
        "lost my bag",
        "crew were lovely",
        "thanks for nothing",
        "delayed again",
        "flew, never again",
        "app crashed",
        "and and",
    ]
    assert out.counts == {"southwest": 3, "united": 3, "virgin america": 3}
    assert out.terms == ("southwest", "united", "virgin america")
    assert out.masked_per_text == [1, 1, 1, 1, 1, 1, 3]


def test_masking_keeps_words_that_only_contain_a_name():
    texts = ["we were reunited at the gate", "the united states", "deltas of rivers"]
    out = mask_terms(texts, services=["United", "Delta"], handles=False)
    assert out.texts[0] == "we were reunited at the gate"
    assert out.texts[1] == "the states"  # a whole-word match, case-insensitive
    assert out.texts[2] == "deltas of rivers"
    assert out.counts == {"united": 1}


def test_masking_hashtag_starting_with_a_name_keeps_the_rest():
    out = mask_terms(["#unitedfail again"], services=["United"], placeholder="[ORG]")
    assert out.texts == ["[ORG] fail again"]


def test_masking_longer_service_wins_and_punctuation_in_names_counts():
    out = mask_terms(
        ["Virgin America beat Virgin Atlantic", "A&E was slow", "a & e"],
        services=["Virgin", "Virgin America", "A&E"],
        handles=False,
    )
    assert out.texts == ["beat Atlantic", "was slow", "a & e"]
    assert out.counts == {"a&e": 1, "virgin": 1, "virgin america": 1}


def test_masking_handles_and_extra_terms_switchable():
    texts = ["@JetBlue and @bob_99 helped, mail me at me@x.org", "Heathrow T5 was chaos"]
    on = mask_terms(texts, services=[None, ""], extra_terms=["Heathrow"], placeholder="it")
    assert on.texts == ["it and it helped, mail me at me@x.org", "it T5 was chaos"]
    assert on.counts == {"@handle": 2, "heathrow": 1}
    off = mask_terms(texts, services=[], handles=False)
    assert off.texts == texts and off.counts == {} and off.masked_per_text == [0, 0]


@pytest.mark.parametrize("placeholder", ["", "the company", "[ORG]"])
def test_masking_placeholder_replaces_the_name_only(placeholder):
    out = mask_terms(["I love Delta, truly"], services=["Delta"], placeholder=placeholder)
    expected = f"I love {placeholder}, truly" if placeholder else "I love, truly"
    assert out.texts == [expected]


def test_masking_excluded_terms_drop_names_not_shared_words():
    excluded = excluded_terms(["United", "Patient Transport"], extra_terms=["NHS"])
    assert {"united", "united's", "unitedairlines", "patient transport", "nhs"} <= excluded
    assert "transport" not in excluded and "patient" not in excluded
    kept = drop_excluded(
        ["united staff", "reunited", "patient transport late", "transport", "nhs app", "delay"],
        excluded,
    )
    assert kept == ["reunited", "transport", "delay"]
