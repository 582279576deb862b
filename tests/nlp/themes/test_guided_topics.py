from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.tagging.taxonomy import default_taxonomy_text, parse_taxonomy
from nlp.themes.guided import (
    GuidedSettings,
    GuidedTheme,
    bertopic_arguments,
    theme_names,
    themes_from_names,
    themes_from_taxonomy,
)

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_guided_topics_names_are_one_to_one_and_thresholded():
    themes = [GuidedTheme("Waiting", "waiting"), GuidedTheme("Staff", "staff")]
    emb = _unit([1, 0, 0], [0, 1, 0])
    # two topics near "Waiting": only the closer one takes the name; a far topic gets none
    centroids = _unit([1, 0.1, 0], [1, 0.3, 0], [0, 0, 1])
    names = theme_names(centroids, emb, themes, GuidedSettings(name_threshold=0.5))
    assert names == ["Waiting", None, None]


def test_guided_topics_zero_shot_names_go_first_at_their_own_threshold():
    themes = [GuidedTheme("Parking", "parking", zero_shot=True), GuidedTheme("Access", "access")]
    emb = _unit([1, 0, 0], [1, 0.2, 0])  # the two themes are close to each other
    centroids = _unit([1, 0.05, 0], [1, 0.25, 0])
    settings = GuidedSettings(min_similarity=0.9, name_threshold=0.5)
    assert theme_names(centroids, emb, themes, settings) == ["Parking", "Access"]
    strict = GuidedSettings(min_similarity=0.9999, name_threshold=0.5)
    assert theme_names(centroids, emb, themes, strict)[0] != "Parking"


@pytest.mark.slow  # builds BERTopic's embedding backend (imports BERTopic and torch)
def test_guided_topics_bertopic_arguments_switch_on_guided_and_zero_shot():
    def encode(texts):
        return np.ones((len(texts), 4))

    assert bertopic_arguments([], encode, GuidedSettings()) == {}
    taxonomy = parse_taxonomy(default_taxonomy_text())
    seeded = bertopic_arguments(themes_from_taxonomy(taxonomy.categories), encode, GuidedSettings())
    assert len(seeded["seed_topic_list"]) == len(taxonomy.categories)
    assert "zeroshot_topic_list" not in seeded
    vectors = seeded["embedding_model"].embed(["a", "b"])
    assert vectors.shape == (2, 4) and vectors.dtype == np.float32
    zero = bertopic_arguments(themes_from_names(["Parking", " "]), encode, GuidedSettings(0.6))
    assert zero["zeroshot_topic_list"] == ["Parking"] and zero["zeroshot_min_similarity"] == 0.6


@pytest.fixture(scope="module")
def sample_corpus():
    from nlp.embedding import embed_texts, load_encoder
    from nlp.ingest.cleaning import is_placeholder, normalise_text

    df = pd.read_csv(SAMPLE / "comments.csv", keep_default_na=False)
    texts = [normalise_text(t) for t in df["text"]]
    texts = [t for t in texts if len(t.split()) >= 3 and not is_placeholder(t)][:400]
    encoder = load_encoder()
    return texts, embed_texts(encoder, texts), lambda t: embed_texts(encoder, t)


@pytest.mark.slow
def test_guided_topics_zero_shot_theme_appears_under_its_name(sample_corpus):
    from nlp.themes.guided import theme_embeddings
    from nlp.themes.model import TopicParams, fit_topics
    from nlp.themes.registry import centroids_of

    texts, emb, encode = sample_corpus
    themes = themes_from_names(["Waiting times"])
    settings = GuidedSettings()
    result = fit_topics(
        texts, emb, TopicParams(seed=1), bertopic_args=bertopic_arguments(themes, encode, settings)
    )
    ids = result.topics["topic_id"].astype(int).tolist()
    names = theme_names(
        centroids_of(emb, result.assignments, ids),
        theme_embeddings(themes, encode),
        themes,
        settings,
    )
    assert names.count("Waiting times") == 1
    named = ids[names.index("Waiting times")]
    members = [t.lower() for t, a in zip(texts, result.assignments, strict=True) if a == named]
    assert len(members) >= 3
    about_waiting = ("wait", "delay", "queue", "hour", "time", "long", "quick")
    assert np.mean([any(w in t for w in about_waiting) for t in members]) > 0.8


@pytest.mark.slow
def test_topics_large_corpus_fits_a_sample_and_assigns_the_rest(sample_corpus):
    from nlp.themes.model import TopicParams, fit_corpus_topics

    texts, emb, _ = sample_corpus
    params = TopicParams(seed=2, fit_sample=200, min_topic_size=10)
    result = fit_corpus_topics(texts, emb, params)
    assert len(result.assignments) == len(texts) and result.metrics["fit_sample"] == 200
    assigned = result.assignments[result.assignments >= 0]
    sizes = result.topics.set_index("topic_id")["size"]
    assert sizes.sum() == len(assigned)  # sizes count the assigned rest too
    assert result.metrics["unassigned_share"] == pytest.approx(
        float((result.assignments == -1).mean())
    )
    rng = np.random.default_rng(2)
    sample = np.sort(rng.choice(len(texts), size=200, replace=False))
    rest = np.setdiff1d(np.arange(len(texts)), sample)
    # every assigned document of the rest went to its nearest centroid
    for tid in sizes.index:
        members = rest[result.assignments[rest] == tid]
        assert (result.scores[members] >= params.outlier_threshold).all()
