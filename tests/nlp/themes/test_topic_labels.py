from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.themes.labels import (
    BREAK,
    ctfidf_terms,
    lemmatise_docs,
    phrase_labels,
    related,
    word_tokens,
)
from nlp.themes.vocabulary import STOP_WORDS

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"

PHONE = [
    "Could not get through on the phone, the phone line was engaged all morning.",
    "Phone lines always busy, waited on the phone for an hour.",
    "Nobody answered the phone and the phone line cut off.",
    "The phone line rings out, impossible to get through.",
    "Phone line engaged again, the receptionist never answered the phone.",
    "Spent ages on the phone line trying to book.",
]
PARKING = [
    "Car park is too small and parking charges are too high.",
    "Parking charges at the car park are a rip off.",
    "Could not find a space in the car park, parking is a nightmare.",
    "The car park was full and parking cost a fortune.",
    "Parking charges should be scrapped, the car park is expensive.",
    "No disabled spaces left in the car park.",
]


def _hash_encode(texts: list[str]) -> np.ndarray:
    """A stand-in encoder: bag of hashed words, so shared words mean similar vectors."""
    out = np.zeros((len(texts), 64))
    for i, text in enumerate(texts):
        for word in text.lower().split():
            out[i, zlib.crc32(word.encode()) % 64] += 1.0
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)


def test_topic_labels_lemmatiser_maps_wait_forms_and_drops_stop_words(spacy_nlp):
    tokens = lemmatise_docs(
        spacy_nlp,
        [
            "I waited for hours.",
            "We were waiting in A&E",
            "[PERSON] was lovely",
            "[Name redacted] said [word unreadable] kindly",
        ],
    )
    assert tokens.terms[0].split() == ["wait", "hour", BREAK]
    assert tokens.surface[0].split() == ["waited", "hours", BREAK]
    assert tokens.terms[1].split()[0] == "wait"
    assert tokens.terms[2] == f"lovely {BREAK}"  # the PII placeholder is not a word
    assert tokens.terms[3] == f"say kindly {BREAK}"  # nor are editors' marks in the data
    words = {w for doc in tokens.terms for w in doc.split()}
    assert not words & set(STOP_WORDS)
    for terms, surface in zip(tokens.terms, tokens.surface, strict=True):
        assert len(terms.split()) == len(surface.split())


def test_topic_labels_related_words_share_a_stem():
    assert related("homeless", "homelessness") and related("nurse", "nursing")
    assert not related("care", "car") and not related("staff", "stuff")


def test_topic_labels_fall_back_without_encoder_and_read_with_one():
    docs = PHONE + PARKING
    tokens = word_tokens(docs)
    assignments = np.array([0] * len(PHONE) + [1] * len(PARKING))
    embeddings = _hash_encode(docs)
    terms = ctfidf_terms(tokens.terms, assignments, [0, 1])
    assert terms[0][0] == "phone" and "car park" in terms[1][:5]
    plain = phrase_labels(docs, tokens, assignments, embeddings, None, [0, 1])
    labels = phrase_labels(docs, tokens, assignments, embeddings, _hash_encode, [0, 1])
    for names in (plain, labels):
        assert "phone" in names[0].lower() and "park" in names[1].lower()
        assert names[0] != names[1]
        for label in names.values():
            words = label.lower().split()
            assert len(label) <= 40 and " · " not in label and label[0].isupper()
            assert words[0] not in STOP_WORDS and words[-1] not in STOP_WORDS
            content = [w for w in words if w not in STOP_WORDS]
            assert not any(related(a, b) for i, a in enumerate(content) for b in content[i + 1 :])
    # a topic of stop words only has no candidate phrase: it is quoted from a statement
    # that has a word, else it says it has no label
    for texts, name in (
        (["ok.", "the and"], '"Ok"'),
        (["[PERSON]", "@acme", "-"], "(no label)"),
    ):
        named = phrase_labels(
            texts,
            word_tokens(texts),
            np.zeros(len(texts)),
            embeddings[: len(texts)],
            _hash_encode,
            [0],
        )
        assert named == {0: name}


@pytest.mark.slow
def test_topic_labels_fit_topics_real_comments_is_deterministic(spacy_nlp):
    from functools import partial

    from nlp.embedding import embed_texts, load_encoder
    from nlp.ingest.cleaning import is_placeholder, normalise_text
    from nlp.themes.model import TopicParams, fit_topics

    df = pd.read_csv(SAMPLE / "comments.csv", keep_default_na=False)
    texts = [normalise_text(t) for t in df["text"]]
    texts = [t for t in texts if len(t.split()) >= 3 and not is_placeholder(t)][:300]
    encoder = load_encoder()
    emb = embed_texts(encoder, texts)
    encode = partial(embed_texts, encoder)
    plain = fit_topics(texts, emb, TopicParams(seed=3))
    a = fit_topics(texts, emb, TopicParams(seed=3), nlp=spacy_nlp, encode=encode)
    b = fit_topics(texts, emb, TopicParams(seed=3), nlp=spacy_nlp, encode=encode)
    # the vocabulary changes the words, never the clusters
    np.testing.assert_array_equal(a.assignments, plain.assignments)
    np.testing.assert_array_equal(a.assignments, b.assignments)
    assert list(a.topics["label"]) == list(b.topics["label"])
    assert list(a.topics["representative_idx"]) == list(plain.topics["representative_idx"])
    for label in a.topics["label"]:
        assert 0 < len(label) <= 40 and label != "(no label)" and " · " not in label
    assert a.topics["label"].str.lower().is_unique
    lemma_vocab = {w for words in a.topics["top_words"] for w in words.split(", ")}
    assert not {"waited", "waiting times", "nurses"} & lemma_vocab
    assert a.metrics["npmi"] is not None and a.metrics["topic_diversity"] is not None
