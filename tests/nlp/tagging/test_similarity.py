"""Similarity tagging: threshold calibration on the taxonomy itself and clause-level tags
(nlp.tagging.similarity, components.SimilarityTagger), with a deterministic fake encoder."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.sentiment.clauses import SentimentScorer
from nlp.tagging.pipeline import build_tagging_pipeline, tag_comments
from nlp.tagging.similarity import build_prototypes, calibrate_threshold
from nlp.tagging.taxonomy import parse_taxonomy

TINY = """
categories:
  - id: food
    name: Food
    description: Meals and drinks.
    phrases: [cold food, menu]
    examples: [The meals were tasty., Dinner was cold.]
  - id: staff
    name: Staff
    description: Nurses and doctors.
    phrases: [rude nurse, kind doctor]
    examples: [The nurses were lovely., A doctor was rude.]
  - id: parking
    name: Parking
    description: The car park.
    phrases: [car park]
    examples: [No parking spaces., Parking cost too much.]
"""
# word -> axis of a 4-d toy space: food, staff, parking, anything else
AXES = {
    "food": 0, "meals": 0, "drinks": 0, "dinner": 0, "cold": 0, "menu": 0, "tasty": 0,
    "nurses": 1, "nurse": 1, "doctors": 1, "doctor": 1, "rude": 1, "kind": 1, "lovely": 1,
    "staff": 1, "parking": 2, "car": 2, "park": 2, "spaces": 2,
}  # fmt: skip


def fake_encode(texts: list[str]) -> np.ndarray:
    """Deterministic bag-of-keywords vectors (unit rows); unknown words add a little noise axis."""
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().replace(".", " ").replace(",", " ").split():
            axis = AXES.get(word, 3)
            out[i, axis] += 1.0 if axis < 3 else 0.25
    out[:, 3] += 1e-3
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_similarity_threshold_calibrates_between_own_and_other_categories():
    tax = parse_taxonomy(TINY)
    protos = build_prototypes(tax.categories, fake_encode, phrases=True)
    cal = protos.calibration
    assert cal["n_examples"] == 2 * 3 + 5  # every example and phrase left out once
    assert cal["loo_top1_accuracy"] == 1.0
    assert cal["other_mean"] < protos.threshold <= cal["own_mean"]
    assert protos.level == "clause"
    # examples only (the default), compared at comment level: the earlier behaviour
    assert build_prototypes(tax.categories, fake_encode).calibration["n_examples"] == 6
    old = build_prototypes(tax.categories, fake_encode, level="comment")
    assert old.calibration["n_examples"] == 6 and old.level == "comment"
    with pytest.raises(ValueError, match="level"):
        build_prototypes(tax.categories, fake_encode, level="sentence")


def test_similarity_calibration_follows_the_examples():
    """Well separated categories give a high threshold; overlapping ones a lower one."""
    anchors = np.eye(3, dtype=np.float32)
    rng = np.random.default_rng(0)

    def groups(spread: float) -> list[np.ndarray]:
        out = []
        for j in range(3):
            g = anchors[j] + spread * rng.normal(size=(4, 3))
            out.append((g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32))
        return out

    tight, _ = calibrate_threshold(anchors, groups(0.05))
    loose, cal = calibrate_threshold(anchors, groups(0.8))
    assert tight > 0.8 and loose < tight
    assert cal["n_examples"] == 12 and 0.0 <= cal["loo_f1"] <= 1.0


def test_similarity_clause_level_tags_each_clause_with_its_own_evidence(spacy_nlp):
    tax = parse_taxonomy(TINY)
    rules_off = parse_taxonomy(
        "categories:\n"
        + "".join(
            f"  - {{id: {c.id}, name: {c.name}, description: {c.description}, phrases: [],"
            f" examples: {list(c.examples)}}}\n"
            for c in tax.categories
        )
    )
    protos = build_prototypes(tax.categories, fake_encode)
    nlp = build_tagging_pipeline(spacy_nlp, rules_off, similarity=(protos, fake_encode))
    texts = ["The dinner was awful, but the nurses were lovely.", "Tasty meals", "Nothing more"]
    _, tags, _ = tag_comments(
        nlp, SentimentScorer(), ["a", "b", "c"], texts, embeddings=fake_encode(texts)
    )
    assert (tags["method"] == "similarity").all()
    a = tags[tags["comment_id"] == "a"].set_index("category")
    assert set(a.index) == {"food", "staff"}  # one comment, two categories, one per clause
    assert a.loc["food", "evidence"] == "The dinner was awful"
    assert a.loc["staff", "evidence"] == "but the nurses were lovely"
    assert list(tags.loc[tags["comment_id"] == "b", "category"]) == ["food"]
    assert "c" not in set(tags["comment_id"])
    for row in tags.itertuples():
        assert texts["abc".index(row.comment_id)][row.start : row.end] == row.evidence
        assert row.score >= protos.threshold
    # comment level: one category for the whole comment
    old = build_prototypes(tax.categories, fake_encode, level="comment", phrases=False)
    nlp = build_tagging_pipeline(spacy_nlp, rules_off, similarity=(old, fake_encode))
    _, tags, _ = tag_comments(
        nlp, SentimentScorer(), ["a"], texts[:1], embeddings=fake_encode(texts[:1])
    )
    assert len(tags) <= 1


def test_background_thresholds_sit_z_deviations_above_the_other_categories():
    """Per category: the mean + z * deviation of the other categories' description and example
    cosines to its prototype, never below the leave-one-out threshold."""
    tax = parse_taxonomy(TINY)
    protos = build_prototypes(tax.categories, fake_encode)
    assert protos.background is not None and protos.z == 3.0
    texts, owner = [], []
    for j, c in enumerate(tax.categories):
        texts += [f"{c.name}. {c.description}", *c.examples]
        owner += [j] * (1 + len(c.examples))
    sims = fake_encode(texts) @ protos.vectors.T
    owner = np.asarray(owner)
    for j in range(len(tax.categories)):
        others = sims[owner != j, j]
        want = max(others.mean() + 3.0 * max(others.std(), 0.02), protos.threshold)
        assert protos.thresholds[j] == pytest.approx(want, abs=1e-5)
    assert set(protos.calibration["thresholds"]) == {"food", "staff", "parking"}
    looser = build_prototypes(tax.categories, fake_encode, z=0.0)
    assert (looser.thresholds <= protos.thresholds).all()
    single = build_prototypes(tax.categories, fake_encode, calibration="loo")
    assert single.background is None and single.threshold == protos.threshold
    assert (single.thresholds == single.threshold).all()
    with pytest.raises(ValueError, match="calibration"):
        build_prototypes(tax.categories, fake_encode, calibration="quantile")


def test_background_scale_picks_the_category_a_clause_stands_out_for():
    """A broad category sits close to everything: a clause a little closer to it than to a
    narrow one, but far above the narrow one's background, is the narrow category's."""
    from nlp.tagging.similarity import CategoryPrototypes

    vectors = np.eye(2, dtype=np.float32)  # broad, narrow
    background = (np.array([0.5, 0.1], np.float32), np.array([0.05, 0.05], np.float32))
    protos = CategoryPrototypes(("broad", "narrow"), vectors, 0.3, {}, "clause", background)
    assert protos.thresholds == pytest.approx([0.65, 0.3])  # narrow: the floor
    rows = np.array([[0.62, 0.55], [0.70, 0.2], [0.2, 0.25]], np.float32)
    assert protos.tags(rows) == [
        [("narrow", pytest.approx(0.55))],  # z 9 against 2.4, though 0.62 > 0.55
        [("broad", pytest.approx(0.70))],  # z 4 against 2: above broad's 0.65
        [],  # narrow stands out most (z 3) but is under the 0.3 floor
    ]
    single = CategoryPrototypes(("broad", "narrow"), vectors, 0.3, {}, "clause")
    assert [t[0][0] for t in single.tags(rows[:2])] == ["broad", "broad"]  # most similar


def test_clauses_are_embedded_only_for_comments_near_a_category_the_rules_missed(spacy_nlp):
    from dataclasses import replace

    tax = parse_taxonomy(TINY)
    protos = build_prototypes(tax.categories, fake_encode)
    seen: list[str] = []

    def counting(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return fake_encode(texts)

    texts = [
        "Nothing more to add. Nothing at all.",  # near no category
        "The menu is short. The cold food is awful.",  # near food, which the rules find
        "The dinner was awful. Some nurses were lovely.",  # near food and staff, no rule
    ]
    ids = ["none", "rule", "near"]
    nlp = build_tagging_pipeline(spacy_nlp, tax, similarity=(protos, counting))
    _, tags, _ = tag_comments(nlp, SentimentScorer(), ids, texts, embeddings=fake_encode(texts))
    assert seen == ["The dinner was awful", "Some nurses were lovely"]
    similar = tags[tags["method"] == "similarity"]
    assert set(zip(similar["comment_id"], similar["category"], strict=True)) == {
        ("near", "food"),
        ("near", "staff"),
    }
    seen.clear()  # the filter off: every multi-clause comment's clauses, the same tags
    everything = (replace(protos, clause_filter=None), counting)
    nlp = build_tagging_pipeline(spacy_nlp, tax, similarity=everything)
    _, again, _ = tag_comments(nlp, SentimentScorer(), ids, texts, embeddings=fake_encode(texts))
    assert len(seen) == 6
    assert again.equals(tags)
