from __future__ import annotations

import pandas as pd
import pytest
import yaml

from nlp.sentiment.clauses import SentimentScorer
from nlp.tagging.pipeline import build_tagging_pipeline, tag_comments
from nlp.tagging.taxonomy import (
    TaxonomyError,
    default_taxonomy_text,
    merge_taxonomies,
    parse_taxonomy,
)

CUSTOM = """
version: 2
categories:
  - id: parking
    name: Parking
    description: Car parks and parking spaces.
    journey_stage: use
    phrases: [no parking spaces, car park]
"""


def test_pain_points_default_taxonomy_is_valid():
    tax = parse_taxonomy(default_taxonomy_text())
    assert len(tax.categories) == 12
    assert {c.journey_stage for c in tax.categories} <= {"learn", "apply", "use"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: [", "not valid YAML"),
        ("categories:\n  - id: x\n    name: X\n", "missing keys"),
        (
            "categories:\n  - {id: x, name: X, description: d, phrases: [a], journey_stage: later}",
            "journey_stage",
        ),
        ("categories:\n  - {id: x, name: X, description: d, phrases: [on]}", "quote yes/no"),
        ("categories:\n  - {id: Bad-Id, name: X, description: d, phrases: [a]}", "snake_case"),
    ],
)
def test_pain_points_invalid_taxonomy_errors_clearly(text, message):
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(text, "mine.yaml")


def test_pain_points_merge_extend_and_replace():
    base = parse_taxonomy(default_taxonomy_text())
    extra = parse_taxonomy(CUSTOM)
    assert [c.id for c in merge_taxonomies(base, extra, "replace").categories] == ["parking"]
    extended = merge_taxonomies(base, extra, "extend")
    assert len(extended.categories) == 13 and extended.categories[-1].id == "parking"


def test_pain_points_tags_with_exact_evidence(tagging_nlp):
    text = "I waited 4 hours and the receptionist was rude, and they aren't helping."
    clauses, tags, sentiment = tag_comments(tagging_nlp, SentimentScorer(), ["c1"], [text])
    assert {"slow_process", "staff_attitude"} <= set(tags["category"])
    for row in tags.itertuples():
        assert text[row.start : row.end] == row.evidence
        assert not text[row.start - 1].isalpha()  # spans start on a word boundary
    assert tags.loc[tags["category"] == "staff_attitude", "is_pain_point"].all()
    assert list(sentiment["label"]) == ["negative"]


def test_pain_points_custom_taxonomy_replaces_default(spacy_nlp):
    from nlp.language import load_spacy

    nlp = build_tagging_pipeline(load_spacy(), parse_taxonomy(CUSTOM))
    _, tags, _ = tag_comments(
        nlp, SentimentScorer(), ["a"], ["There were no parking spaces and I waited hours."]
    )
    assert list(tags["category"]) == ["parking"]


class _RowHead:
    """A category head stand-in: the comment vector's argmax row picks its tags."""

    categories = ("slow_process", "unclear_communication")
    origin = "row head"
    by_row = (
        [("slow_process", 0.9)],
        [("unclear_communication", 0.7)],
        [("unclear_communication", 0.6)],
    )

    def tags(self, vectors):
        return [self.by_row[int(v.argmax())] for v in vectors]


def test_pain_points_head_tags_add_evidence_without_duplicating_rules(spacy_nlp):
    import numpy as np

    texts = [
        "I waited 4 hours and the receptionist was rude.",  # rules find both categories
        "Nobody ever said what the note meant.",  # one clause, no rule match
        "The nurse was fine. Nobody said what the results meant, but parking was easy.",
    ]
    tax = parse_taxonomy(default_taxonomy_text())
    nlp = build_tagging_pipeline(spacy_nlp, tax, category_head=_RowHead())
    assert nlp.pipe_names[-1] == "category_head_tagger"
    _, tags, sentiment = tag_comments(
        nlp,
        SentimentScorer(),
        ["a", "b", "c"],
        texts,
        comment_sentiment=(["negative", "negative", "neutral"], [-0.8, -0.6, 0.0]),
        embeddings=np.eye(3, dtype="float32"),
    )
    a = tags[tags["comment_id"] == "a"]
    assert (a["method"] == "rule").all() and (a["category"] == "slow_process").sum() == 1
    b = tags[tags["comment_id"] == "b"].iloc[0]
    assert b["method"] == "head" and b["score"] == 0.7 and b["clause_index"] == 0
    assert (
        b["evidence"] == texts[1][b["start"] : b["end"]] == "Nobody ever said what the note meant"
    )
    assert b["is_pain_point"]  # the comment is negative
    c = tags[(tags["comment_id"] == "c") & (tags["method"] == "head")].iloc[0]
    assert pd.isna(c["clause_index"]) and (c["start"], c["end"]) == (0, len(texts[2]))
    assert list(sentiment["label"]) == ["negative", "negative", "neutral"]
    with pytest.raises(ValueError, match="no comment_vector"):
        tag_comments(nlp, SentimentScorer(), ["a"], texts[:1])  # the head needs the embeddings


def test_pain_points_head_with_categories_outside_the_taxonomy_is_refused(spacy_nlp):
    with pytest.raises(
        TaxonomyError, match=r"row head: categories \['slow_process', 'unclear_communication'\]"
    ):
        build_tagging_pipeline(spacy_nlp, parse_taxonomy(CUSTOM), category_head=_RowHead())


def test_pain_points_category_head_trains_thresholds_and_round_trips(tmp_path):
    import numpy as np

    from nlp.tagging.head import CategoryHead, train_category_head

    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (300, 6)).astype("float32")
    Y = np.column_stack([X[:, 0] > 0.8, X[:, 1] + X[:, 2] > 1.0])
    head = train_category_head(X, Y, ["slow_process", "staff_attitude"], "toy", c=1.0)
    P = head.probabilities(X) >= head.thresholds
    f1 = [2 * (P[:, j] & Y[:, j]).sum() / (P[:, j].sum() + Y[:, j].sum()) for j in range(2)]
    assert min(f1) > 0.8 and set(head.metadata["cv_f1"]) == {"slow_process", "staff_attitude"}
    again = CategoryHead.load(head.save(tmp_path / "h"), "toy")
    assert again.tags(X[:20]) == head.tags(X[:20])
    with pytest.raises(ValueError, match="not 'minilm'"):
        CategoryHead.load(tmp_path / "h", "minilm")
    with pytest.raises(ValueError, match="fewer than 5 positive"):
        train_category_head(X[:40], Y[:40] & False, ["slow_process", "staff_attitude"], "toy")


WITH_EXAMPLES = """
version: 3
categories:
  - id: parking
    name: Parking
    description: Parking spaces and the car park.
    phrases: [car park]
    examples: [No parking spaces left., Parking was easy., The parking spaces cost too much.]
  - id: noise
    name: Noise
    description: Noise and quiet in the building.
    phrases: [too loud]
    examples: [The room was noisy., Loud music all day., A quiet and calm place.]
"""
_TOY_WORDS = {
    "parking": 0,
    "car": 0,
    "spaces": 0,
    "noisy": 1,
    "noise": 1,
    "loud": 1,
    "quiet": 1,
    "music": 1,
}


def _toy_encode(texts):
    """A stand-in sentence encoder: parking words, noise words, everything else."""
    import numpy as np

    out = np.zeros((len(texts), 3), dtype="float32")
    for i, text in enumerate(texts):
        for word in text.lower().replace(".", " ").split():
            out[i, _TOY_WORDS.get(word, 2)] += 1.0 if word in _TOY_WORDS else 0.2
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_pain_points_examples_validate_and_round_trip():
    tax = parse_taxonomy(WITH_EXAMPLES, "mine.yaml")
    assert tax.categories[0].examples == (
        "No parking spaces left.",
        "Parking was easy.",
        "The parking spaces cost too much.",
    )
    assert parse_taxonomy(CUSTOM).categories[0].examples == ()  # the key is optional
    again = parse_taxonomy(yaml.safe_dump(tax.to_dict()))
    assert again == tax and again.to_dict()["categories"][1]["examples"][0] == "The room was noisy."
    assert all(c.examples for c in parse_taxonomy(default_taxonomy_text()).categories)
    for bad in ("examples: [ok, '  ']", "examples: just one string", "examples: [1, 2]"):
        text = f"categories:\n  - {{id: x, name: X, description: d, phrases: [a], {bad}}}"
        with pytest.raises(TaxonomyError, match=r"mine\.yaml: category 'x': examples must be"):
            parse_taxonomy(text, "mine.yaml")


def test_pain_points_aspect_phrase_tags_praise_and_complaint(tagging_nlp):
    texts = ["The receptionist was friendly and helpful.", "The receptionist was rude to me."]
    _, tags, _ = tag_comments(tagging_nlp, SentimentScorer(), ["good", "bad"], texts)
    staff = tags[tags["category"] == "staff_attitude"].set_index("comment_id")
    assert set(staff.index) == {"good", "bad"}
    assert not staff.loc[["good"], "is_pain_point"].any()
    assert staff.loc[["bad"], "is_pain_point"].all()


def test_pain_points_default_taxonomy_tags_a_mixed_comment(tagging_nlp):
    text = "The staff were lovely but I waited four hours for a call back"
    _, tags, _ = tag_comments(tagging_nlp, SentimentScorer(), ["m"], [text])
    pain = tags.groupby("category")["is_pain_point"].agg(["any", "all"])
    assert not pain.loc["staff_attitude", "any"]
    assert pain.loc["slow_process", "all"]
    assert (tags["method"] == "rule").all()


def test_pain_points_similarity_tags_exact_evidence_and_not_where_a_rule_found_it(spacy_nlp):
    from nlp.tagging.similarity import build_prototypes

    tax = parse_taxonomy(WITH_EXAMPLES)
    protos = build_prototypes(tax.categories, _toy_encode)
    nlp = build_tagging_pipeline(spacy_nlp, tax, similarity=(protos, _toy_encode))
    assert 0.1 <= protos.threshold < 0.9 and protos.calibration["n_examples"] == 6
    texts = [
        "The car park was full. Parking spaces were hard to get.",  # the rule finds parking
        "Nice building. Parking spaces were hard to get, sadly.",  # several clauses, no rule
        "Loud music all night",  # one clause, no rule
        "Nothing else to say",  # close to no category
    ]
    _, tags, _ = tag_comments(
        nlp,
        SentimentScorer(),
        ["a", "b", "c", "d"],
        texts,
        comment_sentiment=(["neutral", "negative", "negative", "neutral"], [0.0, -0.5, -0.4, 0.0]),
        embeddings=_toy_encode(texts),
    )
    assert list(tags.loc[tags["comment_id"] == "a", "method"]) == ["rule"]
    similar = tags[tags["method"] == "similarity"].set_index("comment_id")
    assert list(similar.index) == ["b", "c"]
    assert list(similar["category"]) == ["parking", "noise"]
    assert similar.loc["b", "evidence"] == "Parking spaces were hard to get, sadly"
    assert similar.loc["b", "clause_index"] == 1
    assert similar.loc["c", "evidence"] == "Loud music all night"
    for cid, row in similar.iterrows():
        text = texts[ord(cid) - ord("a")]
        assert text[row["start"] : row["end"]] == row["evidence"]
        assert protos.threshold <= row["score"] <= 1.0
    assert similar["is_pain_point"].all()  # negative comments


def test_pain_points_similarity_needs_examples_and_is_on_by_default(spacy_nlp):
    from flows.config import ConfigError, load_config
    from nlp.tagging.similarity import build_prototypes
    from nlp.tagging.stage import tagged_comments

    with pytest.raises(ValueError, match="needs `examples` in at least two"):
        build_prototypes(parse_taxonomy(CUSTOM).categories, _toy_encode)
    assert load_config(None).tagging.similarity is True  # bench/results/cold_start.md
    assert load_config(None, tagging={"similarity": False}).tagging.similarity is False
    # on by default, so a taxonomy without examples is tagged by its rules, not refused
    docs = pd.DataFrame({"comment_id": ["x"], "text": ["The car park was full."]})
    texts = docs["text"].tolist()
    for text, with_similarity in ((CUSTOM, False), (WITH_EXAMPLES, True)):
        tagged = tagged_comments(
            documents=docs,
            embeddings=_toy_encode(texts),
            nlp=spacy_nlp,
            taxonomy=parse_taxonomy(text),
            encode=_toy_encode,
        )
        assert (tagged.prototypes is not None) is with_similarity
        assert "rule" in set(tagged.pain_points["method"])
    with pytest.raises(ConfigError, match="similar"):
        load_config(None, tagging={"similar": True})


@pytest.mark.slow
def test_pain_points_default_prototypes_calibrate_on_the_real_encoder():
    import numpy as np

    from nlp import embedding
    from nlp.tagging.similarity import build_prototypes

    encoder = embedding.load_encoder()
    tax = parse_taxonomy(default_taxonomy_text())
    encode = lambda t: embedding.embed_texts(encoder, t)  # noqa: E731
    protos = build_prototypes(tax.categories, encode)
    assert 0.3 <= protos.threshold <= 0.6
    assert protos.calibration["loo_top1_accuracy"] > 0.5
    assert np.isclose(np.linalg.norm(protos.vectors, axis=1), 1).all()
    # per-category thresholds: above the single one, each its own
    assert (protos.thresholds >= protos.threshold).all() and len(set(protos.thresholds)) > 6
    texts = [
        "The receptionist was rude and unhelpful to me",
        "I waited three hours to be seen",
        "The weather was sunny on Tuesday",
        "The woman at the front desk could not have been nicer to us",
    ]
    tags = protos.tags(encode(texts))
    assert [t[0][0] if t else None for t in tags[:3]] == ["staff_attitude", "slow_process", None]
    # an indirect one stays under staff_attitude's background threshold, but the single
    # leave-one-out threshold (calibration="loo") tags it
    assert tags[3] == []
    loo = build_prototypes(tax.categories, encode, calibration="loo")
    [[(category, cosine)]] = loo.tags(encode(texts[3:]))
    assert category == "staff_attitude" and cosine >= loo.threshold


def test_pain_points_longer_match_of_another_category_wins(tagging_nlp):
    # (not "the online form was short": "form was short" is the forms phrase "short form")
    text = "The online form was simple and the app is user friendly."
    _, tags, _ = tag_comments(tagging_nlp, SentimentScorer(), ["f"], [text])
    assert "online form" in set(tags["evidence"])
    assert not {"redundant_forms", "staff_attitude"} & set(tags["category"])


def test_pain_points_tagging_pipeline_runs_no_tagger_and_keeps_the_shared_one(spacy_nlp):
    before = (list(spacy_nlp.pipe_names), list(spacy_nlp.disabled))
    tax = parse_taxonomy(default_taxonomy_text())
    tagging = build_tagging_pipeline(spacy_nlp, tax)
    assert tagging.pipe_names == ["senter", "context_free_lemmatizer", "pain_point_tagger"]
    assert (list(spacy_nlp.pipe_names), list(spacy_nlp.disabled)) == before
    assert tagging.vocab is spacy_nlp.vocab
    text = "We waited hours. The nurses were kind but the forms were too long."
    doc = tagging(text)
    full = spacy_nlp(text)
    # the same sentences as the full pipeline (its senter), and inflections folded for phrases
    assert [s.text for s in doc.sents] == [s.text for s in full.sents]
    assert {s.label_ for s in doc.spans["pain_points"]} >= {
        "slow_process",
        "staff_attitude",
        "redundant_forms",
    }


def test_pain_points_patterns_needing_a_tagger_are_refused():
    text = (
        "categories:\n  - {id: x, name: X, description: d, phrases: [a],"
        " patterns: [[{LEMMA: form, POS: NOUN}]]}"
    )
    with pytest.raises(TaxonomyError, match=r"category 'x': patterns use \['POS'\]"):
        parse_taxonomy(text, "mine.yaml")


def test_pain_points_one_clause_comment_takes_the_comment_models_sentiment(tagging_nlp):
    texts = ["The wait was long", "Staff were lovely but I waited 4 hours."]
    # the comment model's verdicts (here given in advance) overrule the lexicon for a comment
    # of one clause only; a mixed comment's clauses keep their own lexicon scores
    clauses, tags, _ = tag_comments(
        tagging_nlp,
        SentimentScorer(),
        ["one", "two"],
        texts,
        comment_sentiment=(["positive", "neutral"], [0.7, 0.0]),
    )
    one = clauses[clauses["comment_id"] == "one"]
    assert list(one["sentiment_label"]) == ["positive"] and list(one["sentiment_score"]) == [0.7]
    assert not tags.loc[tags["comment_id"] == "one", "is_pain_point"].any()
    two = clauses[clauses["comment_id"] == "two"]
    assert list(two["sentiment_label"]) == ["positive", "negative"]
    pain = tags[tags["comment_id"] == "two"].set_index("category")["is_pain_point"]
    assert pain["slow_process"] and not pain["staff_attitude"]
