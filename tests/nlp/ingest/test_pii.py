from __future__ import annotations

import pytest

from nlp.ingest.pii import (
    _whole_name,
    ordinary_words,
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
        ("call 1-800-555-0199", "[PHONE]"),
        ("my IBAN GB82 WEST 1234 5698 7654 32", "[BANK_ACCOUNT]"),
        ("sort code 12-34-56", "[BANK_ACCOUNT]"),
        ("account number 12345678", "[BANK_ACCOUNT]"),
        ("DOB 12/03/1985", "[DATE_OF_BIRTH]"),
        ("date of birth: 3rd March 1985", "[DATE_OF_BIRTH]"),
        ("born on March 3, 1985", "[DATE_OF_BIRTH]"),
        ("my IP was 192.168.1.10", "[IP_ADDRESS]"),
        ("passport number 123456789", "[ID_NUMBER]"),
        ("patient ID 00123456", "[ID_NUMBER]"),
        ("my case reference is 2023/12345", "[ID_NUMBER]"),
        ("my claim ref is CL-2023-00042", "[ID_NUMBER]"),
        ("my username is jdoe1985 on the portal", "[USERNAME]"),
        ("car reg AB12 CDE was towed", "[ID_NUMBER]"),
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
        "version 1.2.3.4 of the app",
        "the tax 2019/2020 year, policy 2019, ward 12345",
        "it shows login error. unable to login further.",
        "I was born in 1985; on 12/03/2021 I called",
        "my account was locked #DM14 PSA 9",
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "my caseworker Marguerite Okonkwo-Velasquez never called back",
            "my caseworker [PERSON] never called back",
        ),
        ("i spoke to siobhan at the front desk", "i spoke to [PERSON] at the front desk"),
        ("nurse tomasz was lovely", "nurse [PERSON] was lovely"),
        (
            "my husband Gareth Pritchard-Jones had to drive me",
            "my husband [PERSON] had to drive me",
        ),
        ("My social worker Priya Ramanathan was great", "My social worker [PERSON] was great"),
        ("i asked for bethan-mai", "i asked for [PERSON]"),
        ("a lady called Dawn helped", "a lady called [PERSON] helped"),
        ("my partner tomasz was there", "my partner [PERSON] was there"),
    ],
)
def test_pii_names_after_roles_kin_and_cues(spacy_nlp, text, expected):
    assert redact_pii([text], spacy_nlp)[0] == (expected, 1)


@pytest.mark.parametrize(
    "text",
    [
        "i spoke to someone",
        "spoke to reception",
        "my husband and i",
        "the nurse was kind",
        "my caseworker never called",
        "my son kept waiting",
        "my wife waited hours",
        "asked for help",
        "spoke to the gp",
        "the nurse practitioner was great",
        "My Consultant Surgeon was great",
        "my friend Of the family",
        "my daughter's appointment",
        "my dad ive been",
    ],
)
def test_pii_role_and_cue_words_without_a_name_are_kept(spacy_nlp, text):
    assert redact_pii([text], spacy_nlp)[0] == (text, 0)


def test_pii_lower_case_names_need_a_word_list(spacy_nlp):
    # without the model's word lists a lower-case word is never taken for a name
    assert redact_names_in_context("nurse tomasz was lovely") == ("nurse tomasz was lovely", 0)
    is_ordinary = ordinary_words(spacy_nlp)
    assert is_ordinary("reception") and is_ordinary("waited") and not is_ordinary("siobhan")
    assert redact_names_in_context("nurse tomasz was lovely", is_ordinary)[1] == 1


def test_pii_entity_span_widened_over_a_split_hyphenated_name():
    text = "thanks to Gareth Pritchard-Jones today"
    start = text.index("Gareth")
    assert _whole_name(text, start, start + len("Gareth Pritchard")) == (
        start,
        start + len("Gareth Pritchard-Jones"),
    )
    start = text.index("Jones")
    assert _whole_name(text, start, start + 5)[0] == text.index("Pritchard")
