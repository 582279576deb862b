"""Theme names in words (#15): candidates, ranking and distinct names on hand-made texts.

The fast tests pass a tiny deterministic `encode` (hashed bag of words, no torch); the slow one
names three planted themes with the real encoder and spaCy lemmas.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from nlp.themes.labels import (
    Candidate,
    distinct_names,
    lemma_map,
    phrase_labels,
    shortlist,
    word_tokens,
)
from nlp.themes.phrases import (
    as_tokens,
    clauses,
    exclusion,
    quoted_names,
    sentence_case,
    spans,
    theme_phrases,
    word_cases,
)
from nlp.themes.vocabulary import STOP_WORDS

AMBULANCE = [
    "Long wait for an ambulance, over four hours.",
    "We had a long wait for an ambulance in the cold.",
    "The ambulance took hours to arrive, a long wait for an ambulance.",
    "Long wait for the ambulance and the staff were rushed.",
    "Ambulance came late after a long wait.",
    "A long wait for an ambulance again, the staff were lovely though.",
]
PHONE = [
    "The phone line was not answered all morning.",
    "Phone line not answered, rang twenty times.",
    "Nobody picks up, phone line not answered again.",
    "I rang and the phone line was not answered, staff too busy.",
    "Phone line not answered, so I walked in.",
    "The phone rings out, phone line not answered.",
]
STAFF = [
    "Friendly and helpful staff on the ward.",
    "The staff were friendly and helpful.",
    "Really friendly and helpful staff, thank you.",
    "Friendly and helpful staff made us welcome.",
    "Such friendly and helpful staff at reception.",
    "Staff friendly and helpful as always.",
]


def _encode(texts: list[str]) -> np.ndarray:
    """A stand-in encoder: hashed bag of crude stems, so shared words mean similar vectors."""
    out = np.zeros((len(texts), 128))
    for i, text in enumerate(texts):
        for word in text.lower().replace(",", " ").replace(".", " ").split():
            if word not in STOP_WORDS:
                out[i, zlib.crc32(word[:5].encode()) % 128] += 1.0
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)


def _corpus(*themes: list[str]) -> tuple[list[str], np.ndarray]:
    docs = [d for theme in themes for d in theme]
    return docs, np.repeat(np.arange(len(themes)), [len(t) for t in themes])


def _forms(words: list[str]) -> set[str]:
    return {form for _, form, _ in spans(as_tokens(words), str.lower)}


def test_labels_names_candidates_start_and_end_with_content_words():
    forms = _forms("we had a long wait for an ambulance".split())
    assert {"long wait for an ambulance", "long wait", "ambulance"} <= forms
    assert not {"wait for", "for an ambulance", "had a long wait for an"} & forms
    assert "phone line not answered" in _forms("phone line not answered".split())
    assert "not answered" in _forms("not answered".split())  # a negation may open a name
    assert "answered not" not in _forms("answered not".split())  # but not close one
    long = _forms("friendly staff and of the a nurse".split())
    assert "friendly staff and of the a nurse" not in long  # more than two function words


def test_labels_names_tags_keep_names_to_noun_and_verb_phrases(spacy_nlp):
    from nlp.themes.phrases import tagged_clauses

    def forms(text: str) -> set[str]:
        doc = spacy_nlp(text)
        return {form for c in tagged_clauses(doc) for _, form, _ in spans(c, str.lower)}

    # a missing full stop: "positive" and "the app" belong to two sentences
    got = forms("I tested positive the app did not tell anyone")
    assert "positive the app" not in got and "tested positive" in got
    assert "schools should provide" not in forms("Schools should provide lunch")  # bare verb
    assert "doctor told me" not in forms("The doctor told me to wait")  # personal pronoun
    got = forms("I didn't receive the OTP, follow-up was slow at WKU's campus")
    assert {"didn't receive the otp", "follow-up", "wku's campus"} <= got
    assert not any("," in f for f in got)


def test_labels_names_masked_terms_end_a_clause():
    text = "Called [SERVICE] twice, @nhs_trust never replied to me: see https://x.org/a [ORG] ok"
    words = [w.lower() for c in clauses(text) for w in c]
    assert not {"service", "nhs_trust", "org", "https", "x"} & set(words)
    assert clauses("Booking at St Mary's was slow") == [
        ["Booking", "at", "St", "Mary's", "was", "slow"]
    ]


def test_labels_names_variants_count_as_one_candidate():
    docs = ["I waited for hours.", "Waiting for hours again", "we waited for hours"]
    found = theme_phrases(docs, range(3), {"waited": "wait", "waiting": "wait", "hours": "hour"})
    key = ("wait", "hour")
    assert found.doc_freq[key] == 3
    assert found.forms[key].most_common(1)[0][0] == "waited for hours"


def test_labels_names_sentence_case_keeps_acronyms_and_names():
    docs = ["My GP surgery in Bowling Green is good", "the GP was late", "went to Bowling Green"]
    cases = word_cases(docs, range(3))
    assert sentence_case("gp surgery", cases) == "GP surgery"
    assert sentence_case("parking in bowling green", cases) == "Parking in Bowling Green"
    assert sentence_case("staff i met", cases) == "Staff I met"
    # past the first word, capitals as the phrase is most often written; shouting is not
    assert sentence_case("warren county", cases, "warren County") == "Warren County"
    assert sentence_case("gp surgery", cases, "GP SURGERY") == "GP surgery"
    assert (
        sentence_case("fantasticbeasts trailer", {}, "FantasticBeasts trailer")[:9] == "Fantastic"
    )
    written = "FantasticBeasts trailer"
    assert sentence_case("fantasticbeasts trailer", {}, written) == written
    assert sentence_case("food store", {}, "FOOD store") == "Food store"


def test_labels_names_are_phrases_of_each_theme():
    docs, assignments = _corpus(AMBULANCE, PHONE, STAFF)
    tokens = word_tokens(docs)
    emb = _encode(docs)
    names = phrase_labels(docs, tokens, assignments, emb, _encode, [0, 1, 2])
    assert names == {
        0: "Long wait for an ambulance",
        1: "Phone line not answered",
        2: "Friendly and helpful staff",
    }
    # without an encoder: cover and purity alone still give a phrase of each theme
    plain = phrase_labels(docs, tokens, assignments, emb, None, [0, 1, 2])
    for t, word in enumerate(("wait", "answered", "friendly")):
        assert word in plain[t].lower()
    for name in plain.values():
        words = name.split()
        assert 2 <= len(words) <= 6 and name[0].isupper() and " · " not in name
        assert words[-1].lower() not in STOP_WORDS
    assert len(set(plain.values())) == 3


def test_labels_names_shared_words_lose_to_distinct_ones():
    # "staff" is in most ambulance docs too: purity keeps it out of the first place
    docs, assignments = _corpus(AMBULANCE + STAFF[:2], STAFF)
    tokens = word_tokens(docs)
    themes = {
        t: theme_phrases(docs, np.flatnonzero(assignments == t), lemma_map(tokens)) for t in (0, 1)
    }
    cands = shortlist(themes, n_candidates=10, max_chars=40)
    best = max(cands[0], key=lambda c: c.cover * c.purity)
    assert "staff" not in best.key and "wait" in best.key
    staff = next(c for c in cands[1] if c.key == ("staff",))
    assert 0 < staff.purity < 1


def test_labels_names_distinct_across_themes():
    same = Candidate(("wait",), "long wait", 0.5, 0.5)
    other = Candidate(("queue",), "queue at reception", 0.3, 0.9)
    flipped = Candidate(("wait", "long"), "wait long", 0.3, 0.4)
    cands = {0: [same, flipped], 1: [same, other]}
    names = distinct_names(cands, {0: [0.9, 0.5], 1: [0.8, 0.4]}, {0: {}, 1: {}})
    assert names == {0: "Long wait", 1: "Queue at reception"}  # the better score keeps it
    # a theme with nothing left is "(no label)", numbered when several are
    names = distinct_names({0: [same], 1: [same], 2: [same]}, {0: [1.0], 1: [0.5], 2: [0.1]}, {})
    assert names == {0: "Long wait", 1: "(no label 1)", 2: "(no label 2)"}
    # ... unless it has a central statement to quote that no other theme took
    quotes = {1: ['"Nothing"'], 2: ['"Nothing"', '"Can\'t think of anything"']}
    names = distinct_names(
        {0: [same], 1: [same], 2: [same]}, {0: [1.0], 1: [0.5], 2: [0.1]}, {}, quotes
    )
    assert names == {0: "Long wait", 1: '"Nothing"', 2: '"Can\'t think of anything"'}


def test_labels_quoted_names_are_clean_and_short():
    docs = [
        "nothing really.",
        "[PERSON] was great",
        "see https://x.org",
        "I can't think of anything else I would change about the service at all!",
        "Nothing really",
        "Acme was fine",
        "?!",
    ]
    quotes = quoted_names(docs, range(len(docs)), exclusion(["Acme"]), max_chars=40)
    assert quotes == ['"Nothing really"', '"I can\'t think of anything else I would…"']
    assert all(len(q) <= 42 for q in quotes)


def test_labels_names_never_hold_masked_or_excluded_terms():
    docs = [d.replace("phone line", "[SERVICE] phone line") for d in PHONE]
    docs += [f"@trust {d} #Acme Acme hospital" for d in STAFF]
    docs, assignments = docs, np.repeat([0, 1], [len(PHONE), len(STAFF)])
    tokens = word_tokens(docs)
    names = phrase_labels(
        docs, tokens, assignments, _encode(docs), _encode, [0, 1], exclude=["Acme"]
    )
    for name in names.values():
        assert not {"service", "trust", "acme", "[service]"} & set(name.lower().split())


@pytest.mark.slow
def test_labels_names_planted_themes_with_real_encoder(spacy_nlp):
    from functools import partial

    from nlp.embedding import embed_texts, load_encoder
    from nlp.themes.labels import lemmatise_docs

    rng = np.random.default_rng(5)
    planted = {
        ("wait", "ambulance"): "We had a long wait for an ambulance {}.",
        ("phone", "answered"): "The phone line was not answered {}.",
        ("parking", "expensive"): "Parking is too expensive at the hospital {}.",
    }
    tails = ["today", "again", "last night", "for my dad", "at the weekend", "in the rain"]
    docs, assignments = [], []
    for t, template in enumerate(planted.values()):
        for k in range(30):
            docs.append(template.format(tails[k % len(tails)]))
            assignments.append(t)
    fillers = ["The food was cold.", "Staff were kind.", "It was fine overall."]
    docs = [d if rng.random() > 0.3 else f"{d} {rng.choice(fillers)}" for d in docs]
    encoder = load_encoder()
    names = phrase_labels(
        docs,
        lemmatise_docs(spacy_nlp, docs),
        np.array(assignments),
        embed_texts(encoder, docs),
        partial(embed_texts, encoder),
        [0, 1, 2],
    )
    for t, words in enumerate(planted):
        assert all(w in names[t].lower() for w in words), names
        assert 2 <= len(names[t].split()) <= 6 and " · " not in names[t]
