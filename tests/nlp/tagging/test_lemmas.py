"""Context-free lemmas for the tagging pass (nlp.tagging.lemmas)."""

from __future__ import annotations

import pytest

from nlp.tagging.lemmas import ContextFreeLemmatizer


@pytest.fixture(scope="module")
def lemmatizer(spacy_nlp):
    return ContextFreeLemmatizer().set_tables(spacy_nlp.get_pipe("lemmatizer").lookups)


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("waited", "wait"),
        ("waiting", "wait"),
        ("kept", "keep"),  # an exception
        ("informed", "inform"),
        ("hours", "hour"),
        ("minutes", "minute"),
        ("appointments", "appointment"),
        ("stairs", "stair"),
        ("glasses", "glass"),
        ("was", "be"),
        ("crashing", "crash"),
        ("apps", "app"),  # a plural no index knows
        ("bed", "bed"),  # not "be": forms under three letters are refused
        ("news", "news"),  # "new" is no noun
        ("this", "this"),
        ("staff", "staff"),
        ("lovely", "lovely"),
    ],
)
def test_lemmas_fold_inflections_without_a_tagger(lemmatizer, word, lemma):
    assert lemmatizer.lemma(word) == lemma


def test_lemmas_component_uses_the_norm_so_contractions_read_as_words(spacy_nlp, lemmatizer):
    doc = lemmatizer(spacy_nlp.make_doc("They couldn’t help and can't ring back"))
    assert [t.lemma_ for t in doc] == [
        "they",
        "could",
        "not",
        "help",
        "and",
        "can",
        "not",
        "ring",
        "back",
    ]


def test_lemmas_need_tables_first():
    with pytest.raises(RuntimeError, match="set_tables"):
        ContextFreeLemmatizer().lemma("waited")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("is", "be"), ("does", "do"), ("doing", "do"), ("has", "have"), ("ups", "up"), ("nhs", "nhs")],
)
def test_lemmas_auxiliaries_short_plurals_and_acronyms(lemmatizer, word, lemma):
    assert lemmatizer.lemma(word) == lemma
