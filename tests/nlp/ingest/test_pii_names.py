from __future__ import annotations

import pytest

from nlp.ingest.pii import name_test, redact_patterns, redact_pii
from nlp.ingest.pii_names import (
    Gazetteer,
    NameTest,
    gazetteer_spans,
    load_gazetteer,
    merge_spans,
    not_a_person,
)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "my caseworker Marguerite Okonkwo-Velasquez never called back",
            "my caseworker [PERSON] never called back",
        ),
        ("i spoke to siobhan at the front desk", "i spoke to [PERSON] at the front desk"),
        ("nurse tomasz was lovely", "nurse [PERSON] was lovely"),
        ("my husband Gareth Pritchard-Jones had to drive", "my husband [PERSON] had to drive"),
    ],
)
def test_pii_names_the_four_leaked_phrasings_are_redacted(spacy_nlp, text, kept):
    assert redact_pii([text], spacy_nlp)[0] == (kept, 1)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Gurpreet was bedridden for six weeks", "Gurpreet"),
        ("When I rang I was frantic, thought kofi had died.", "kofi"),
        ("i spoke to svetlana sharma on reception", "svetlana sharma"),
        ("Björn was very good at allaying my fears", "Björn"),
        ("oksana I spoke to was very helpful", "oksana"),
    ],
)
def test_pii_names_found_without_a_cue(spacy_nlp, text, name):
    out, n = redact_pii([text], spacy_nlp)[0]
    assert name.split()[0] not in out and "[PERSON]" in out and n >= 1
    assert name.split()[-1] not in out


@pytest.mark.parametrize(
    "text",
    [
        "Internet freedom declines in #Libya #netfreedom2016 #Trump",
        "Flew from Heathrow. Emirates crew on both flights were lovely.",
        "Felt safe and comfortable. Info was clear.",
        "More leaflets about COVID and restrictions.",
        "Rang 999 and the ambulance was here in 10 mins.",
        "The Rose Hill Hospital team were kind.",
        "Thanks @user for the update",
    ],
)
def test_pii_names_hashtags_places_and_capitalised_words_are_kept(spacy_nlp, text):
    assert redact_pii([text], spacy_nlp)[0] == (text, 0)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # a lower-case first name before a surname that is also a word, or no known word
        (
            "Everything was fine. harpreet baker made sure",
            "Everything was fine. [PERSON] made sure",
        ),
        ("Please note deepak oyelaran has had visits", "Please note [PERSON] has had visits"),
        ("I was seeing maureen yamamoto psychiatrist", "I was seeing [PERSON] psychiatrist"),
        # a first name that is also a word, before a surname that is none
        ("no contact with bill akhtar.", "no contact with [PERSON]."),
        ("my wife called blessing osei had to", "my wife called [PERSON] had to"),
        # a word no list knows before a surname; particles inside the name
        ("Babajide Van Dijk was a good listener", "[PERSON] was a good listener"),
        ("but jean-luc van dijk on the desk rang", "but [PERSON] on the desk rang"),
        ("Mrs Ó Briain listened and gave advice", "Mrs [PERSON] listened and gave advice"),
        # a cue, a name no list knows and a surname that is a word
        ("My carer called babajide wood called them", "My carer called [PERSON] called them"),
        ("a psychiatrist called gethin evans-hughes visit", "a psychiatrist called [PERSON] visit"),
        # surnames before "I", a verb, a possessive; "O'" surnames
        ("I am a nurse called clive macleod I was", "I am a nurse called [PERSON] I was"),
        ("stayed with me until joaquín moss took over", "stayed with me until [PERSON] took over"),
        ("my father josé macleod's dnar", "my father [PERSON] dnar"),
        ("The man called yusuf o'sullivan I spoke to", "The man called [PERSON] I spoke to"),
        # a name the word lists hold after a kinship word, before a verb
        ("my husband stephen died in A&E", "my husband [PERSON] died in A&E"),
        # a capitalised first name after a cue, though an inflected form or a WordNet word
        ("a health visitor called Blessing, she was", "a health visitor called [PERSON], she was"),
        ("the carer called Marguerite and", "the carer called [PERSON] and"),
    ],
)
def test_pii_names_surnames_and_particles_after_a_first_name(spacy_nlp, text, kept):
    assert redact_pii([text], spacy_nlp)[0][0] == kept


@pytest.mark.parametrize(
    "text",
    [
        "I had a bill to pay and the grace period is long",
        "The van was late and de facto nobody came",
        "amber light on the dashboard, will smith was on the radio",
        "I love the da Vinci code",
        "my husband felt unwell and the nurse waited with me",
        "my husband Given up on us, spoke to Reception",
        # French function words the name lists hold
        "est ce que tu peux commencer, parce que on ne va pas",
    ],
)
def test_pii_names_words_that_are_names_stay_without_a_name_beside_them(spacy_nlp, text):
    assert redact_pii([text], spacy_nlp)[0] == (text, 0)


def test_pii_names_after_name_takes_common_surnames_but_not_verbs():
    last = {"baker": 49, "said": 3, "made": 9, "ward": 400, "osei": 8}
    gaz = Gazetteer(first={"kofi": 5}, last=last)

    def ordinary(word):
        return word in {"baker", "said", "ward", "made"}

    ordinary.is_form = lambda word: word == "said"
    names = NameTest(gaz, ordinary)
    assert names.after_name("baker", "made") and names.after_name("osei", "was")
    # a verb or an inflected form, though a common surname
    assert not names.after_name("made", "sure") and not names.after_name("said", "sure")
    assert not names.after_name("ward", "bay")  # a word, and a rare surname


def test_pii_names_reference_after_confirmation_is_not_a_person():
    text = "Confirmation # Kowalski arrived"
    at = text.index("Kowalski")
    assert not_a_person(text, at, at + len("Kowalski"))
    assert not not_a_person("I saw Kowalski today", 6, 14)


def test_pii_names_gazetteer_ranks_and_ordinary_words():
    gaz = Gazetteer(first={"siobhan": 50, "grace": 10, "mais": 390}, last={"okafor": 20})

    def ordinary(word):
        return word in {"grace", "baker"}

    ordinary.is_form = lambda word: False  # headwords, not inflected forms
    names = NameTest(gaz, ordinary)
    assert names.first_name("Siobhan") and not names.first_name("Grace")
    assert names.any_name("Grace")  # common first name, though an English word
    assert names.surname("Okafor") and names.surname("okafor") and not names.surname("baker")
    assert names.lower_name("siobhan") and not names.lower_name("okafor")
    assert not NameTest(gaz, ordinary, not_names={"siobhan"}).any_name("siobhan")


def test_pii_names_gazetteer_spans_take_the_surname_and_skip_blocked():
    gaz = Gazetteer(first={"siobhan": 50}, last={"okafor": 20})
    names = NameTest(gaz, {"was", "at"}.__contains__)
    text = "Siobhan Okafor was at Siobhan House"
    assert gazetteer_spans(text, names, []) == [(0, 14)]  # "Siobhan House" is a place
    assert gazetteer_spans(text, names, [(0, 14)]) == []
    assert merge_spans([(5, 9), (0, 3), (3, 4)]) == [(0, 4), (5, 9)]


def test_pii_names_shipped_gazetteer_loads(spacy_nlp):
    gaz = load_gazetteer()
    assert len(gaz.first) > 10_000 and len(gaz.last) > 10_000
    assert "the" not in gaz.first  # stop words are dropped from the lists
    names = name_test(spacy_nlp)
    assert names.first_name("siobhan") and not names.first_name("reception")


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("my NHS number is 943 476 5919", "[ID_NUMBER]"),
        ("nhs no 9434765919", "[ID_NUMBER]"),
        ("I live in ls6 2qt now", "[POSTCODE]"),
        ("postcode n12be", "[POSTCODE]"),
    ],
)
def test_pii_names_new_identifier_rules(text, placeholder):
    assert placeholder in redact_patterns(text)[0]


@pytest.mark.parametrize("text", ["on the m6 2nd exit", "ward b4 3rd floor", "at 9 2am"])
def test_pii_names_lower_case_postcode_rule_keeps_ordinals(text):
    assert redact_patterns(text) == (text, 0)


def test_pii_names_public_posts_keep_public_figures_but_not_cued_names(spacy_nlp):
    from nlp.ingest.pii import public_post

    tweet = "@user Ben Carson hasn't mastered walking onstage #debate"
    assert public_post(tweet) and not public_post("Ben Carson was my nurse #nhs")
    assert redact_pii([tweet], spacy_nlp)[0] == (tweet, 0)
    assert "Carson" not in redact_pii([tweet], spacy_nlp, keep_public_names=False)[0][0]
    cued = "@user thanks to nurse Siobhan Okafor #nhs"
    assert redact_pii([cued], spacy_nlp)[0][0] == "@user thanks to nurse [PERSON] #nhs"


def test_pii_names_international_prefix_stays_with_its_phone_number():
    out, _ = redact_patterns("Call +1 498-594-5889 please.")
    assert out == "Call [PHONE] please."


def test_pii_names_flow_canary_rows_leave_no_canary(spacy_nlp):
    rows = [
        "My nurse was Margaret Okafor and she was brilliant, phone (555) 201-3344.",
        "Thanks to nurse Siobhan Gallagher; my SSN 219-09-9999 was on the form.",
        "I spoke to Mr Adebayo Okonkwo twice, NI number QQ 12 34 56 C.",
        "Ask for Priya Ramanathan, she took my card 4111 1111 1111 1111 by mistake.",
        "Interviewer 1: Thanks, Hannah Lindqvist. Anything else about the service?",
        "My name is Wei Zhang and I waited for months to hear back.",
    ]
    canaries = [
        "Okafor",
        "Siobhan",
        "Gallagher",
        "Adebayo",
        "Okonkwo",
        "Ramanathan",
        "Hannah",
        "Lindqvist",
        "Wei",
        "Zhang",
        "201-3344",
        "219-09",
        "4111",
    ]
    out = " ".join(t for t, _ in redact_pii(rows, spacy_nlp))
    assert [c for c in canaries if c in out] == []


def test_pii_repeated_texts_are_redacted_once_and_returned_in_order(spacy_nlp):
    class Counting:  # the real pipeline, counting the texts NER reads
        def __init__(self, nlp):
            self.nlp, self.seen = nlp, []

        def __getattr__(self, name):
            return getattr(self.nlp, name)

        def pipe(self, texts, **kwargs):
            texts = list(texts)
            self.seen += texts
            return self.nlp.pipe(texts, **kwargs)

    named = "I spoke to Siobhan Murphy at the desk"
    rows = [named, "ok", named, "call 07700 900123", named]
    counting = Counting(spacy_nlp)
    out = redact_pii(rows, counting)
    assert out == [redact_pii([t], spacy_nlp)[0] for t in rows]
    assert out[0] == out[2] == out[4] and out[0][1] >= 1 and "07700" not in out[3][0]
    assert len(counting.seen) == 1  # the named text went through NER once, not three times
