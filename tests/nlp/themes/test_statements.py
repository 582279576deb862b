"""Statements: sentences split again at contrastive clauses, offsets exact, earlier documents'
statements kept, and per-comment themes from statement assignments."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp.schemas import conform
from nlp.sentiment.clauses import parse_comments, split_clauses
from nlp.themes import statements
from nlp.themes.statements import (
    comment_topics_from_statements,
    corpus_statements,
    split_statements,
    unit_comment_ids,
    unit_keys,
)

MULTI = (
    "The nurses were lovely and explained everything. The car park costs far too much, "
    "but the food was fine!  Waited 3 hours."
)


@pytest.fixture
def nlp(spacy_nlp):
    return spacy_nlp


def _docs(texts: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"comment_id": list(texts), "text": list(texts.values())})


def test_statements_offsets_are_exact_and_contrastive_clauses_split(nlp):
    docs = _docs({"a": MULTI, "b": "Thank you", "c": "...", "d": ""})
    st = split_statements(nlp, docs)
    a = st[st["comment_id"] == "a"]
    assert a["text"].tolist() == [
        "The nurses were lovely and explained everything",
        "The car park costs far too much",
        "but the food was fine!",
        "Waited 3 hours",
    ]
    for row in st.itertuples():
        text = docs.set_index("comment_id").loc[row.comment_id, "text"]
        assert text[row.start : row.end] == row.text
    assert a["statement_index"].tolist() == [0, 1, 2, 3]
    assert st[st["comment_id"] == "b"]["text"].tolist() == ["Thank you"]  # one statement
    # no letter or digit: the text itself; an empty text has no statement
    assert st[st["comment_id"] == "c"]["text"].tolist() == ["..."]
    assert "d" not in set(st["comment_id"])
    assert st["text_hash"].is_unique


def test_statements_of_earlier_documents_are_kept_and_replaced_ones_split_again(nlp):
    docs = _docs({"a": MULTI, "b": "Staff rude. Parking fine."})
    first = split_statements(nlp, docs)
    previous = conform(first.drop(columns="text").assign(topic_id=1, score=0.5), "statements")
    previous.loc[previous["comment_id"] == "a", "start"] += 0  # unchanged offsets kept
    edited = _docs({"a": MULTI, "b": "Staff were kind.", "c": "New complaint. Nurses were rude"})
    st = corpus_statements(documents=edited, previous=previous, replaced={"b", "c"}, nlp=nlp)
    assert st["comment_id"].tolist() == ["a"] * 4 + ["b", "c", "c"]
    assert st[st["comment_id"] == "a"]["text"].tolist() == first.iloc[:4]["text"].tolist()
    assert st[st["comment_id"] == "b"]["text"].tolist() == ["Staff were kind"]
    # a document the previous table does not know (an upgrade) is split too
    st = corpus_statements(documents=edited, previous=previous.iloc[:0], replaced=set(), nlp=nlp)
    assert st["comment_id"].value_counts().to_dict() == {"a": 4, "c": 2, "b": 1}


def test_statements_unit_keys_round_trip_ids_with_any_characters():
    st = pd.DataFrame({"comment_id": ["x#1", "a|b"], "statement_index": [0, 12]})
    keys = unit_keys(st)
    assert len(set(keys)) == 2 and unit_comment_ids(keys) == ["x#1", "a|b"]


def test_statements_comment_topics_counts_shares_and_primary():
    st = pd.DataFrame(
        {
            "comment_id": ["a", "a", "a", "b", "b", "c"],
            "topic_id": pd.array([1, 2, 1, 3, None, None], dtype="Int64"),
            "score": [0.6, 0.9, 0.7, 0.5, None, None],
        }
    )
    ct = comment_topics_from_statements(st, ["c", "a", "b"])
    assert ct["comment_id"].tolist() == ["c", "a", "a", "b"]  # comment order kept, primary first
    a = ct[ct["comment_id"] == "a"].set_index("topic_id")
    assert a["statements"].to_dict() == {1: 2, 2: 1}
    assert a["share"].round(3).to_dict() == {1: 0.667, 2: 0.333}
    assert a["is_primary"].tolist() == [True, False]  # most statements wins over a higher score
    assert a.loc[1, "score"] == pytest.approx(0.65)
    b = ct[ct["comment_id"] == "b"].iloc[0]
    assert (b["topic_id"], b["share"], bool(b["is_primary"])) == (3, 0.5, True)
    c = ct[ct["comment_id"] == "c"].iloc[0]
    assert pd.isna(c["topic_id"]) and c["statements"] == 1 and bool(c["is_primary"])
    assert ct.groupby("comment_id")["is_primary"].sum().eq(1).all()


def test_statements_a_comments_only_statement_takes_the_comments_row():
    from nlp.themes.statements import own_document_rows

    docs = pd.DataFrame({"comment_id": ["a", "b", "c"]})
    st = pd.DataFrame({"comment_id": ["b", "a", "a", "c"], "statement_index": [0, 0, 1, 0]})
    assert own_document_rows(st, docs).tolist() == [1, -1, -1, 2]


def test_statements_theme_text_masks_services_and_handles_not_generic_codes():
    from nlp.themes.statements import with_theme_text

    st = pd.DataFrame(
        {
            "comment_id": ["a", "b", "c"],
            "text": ["Northgate Clinic's staff were rude", "Thanks @nhs_help", "Reason unknown"],
            "text_hash": ["h1", "h2", "h3"],
        }
    )
    out = with_theme_text(st, services=["Northgate Clinic", "Unknown", None])
    assert out["theme_text"].tolist() == ["staff were rude", "Thanks", "Reason unknown"]
    assert out["theme_hash"].iloc[2] == "h3" and out["theme_hash"].iloc[0] != "h1"
    assert out["text"].equals(st["text"])  # the stored text is never masked


def test_statements_a_repeated_text_is_parsed_once_and_split_like_the_full_pipeline(
    nlp, monkeypatch
):
    texts = [MULTI, "Staff rude. Parking fine, however the signs are poor.", MULTI, "Thank you"]
    docs = _docs({f"r{i}": t for i, t in enumerate(texts)})
    parsed: list[str] = []

    def counting(pipeline, batch, *args):
        parsed.extend(batch := list(batch))
        return parse_comments(pipeline, batch, *args)

    monkeypatch.setattr(statements, "parse_comments", counting)
    st = split_statements(nlp, docs)
    assert parsed == [MULTI, texts[1], "Thank you"]  # the repeat is not parsed again
    columns = ["statement_index", "start", "end", "text"]
    r0, r2 = st[st["comment_id"] == "r0"], st[st["comment_id"] == "r2"]
    assert r0[columns].reset_index(drop=True).equals(r2[columns].reset_index(drop=True))
    # the lean sentence pipeline gives the full pipeline's clauses (parser off, senter on)
    full = [[(c.start, c.end) for c in split_clauses(d)] for d in parse_comments(nlp, texts)]
    groups = st.groupby("comment_id", sort=False)
    lean = [list(zip(g["start"], g["end"], strict=True)) for _, g in groups]
    assert lean == full


def test_statements_fragments_of_speech_join_a_neighbouring_statement(nlp):
    texts = {
        "a": "Uh, so the data was bad. Yeah.",  # a leading and a trailing fragment
        "b": "All right. Uh, the labels were late. The model drifted. Okay, I see.",
        "c": "The app is slow, but not for me. I don't go out at all.",
        "d": "Yeah.",  # fragments only: one statement, the text itself
        "e": "@user @user that is terrible service. via @user",
        "f": "Mm-hmm. Okay.",
        "g": "The nurses were kind and patient. Thank you. Perfect.",  # one content word each
        "h": "Thank you",  # a comment that is only thanks keeps it as its statement
        "i": "So, so that's, that's my, uh, experience on it. The labels arrived late.",
    }
    docs = _docs(texts)
    st = split_statements(nlp, docs)
    by = st.groupby("comment_id")["text"].apply(list).to_dict()
    assert by["a"] == ["Uh, so the data was bad. Yeah"]
    assert by["b"] == ["All right. Uh, the labels were late", "The model drifted. Okay, I see"]
    assert by["c"] == ["The app is slow, but not for me. I don't go out at all"]
    assert by["d"] == ["Yeah"]
    assert by["e"] == ["@user @user that is terrible service. via @user"]
    assert by["f"] == ["Mm-hmm. Okay"]
    assert by["g"] == ["The nurses were kind and patient. Thank you. Perfect"]
    assert by["h"] == ["Thank you"]
    assert by["i"] == ["So, so that's, that's my, uh, experience on it. The labels arrived late"]
    for row in st.itertuples():
        assert texts[row.comment_id][row.start : row.end] == row.text
    assert (
        st.groupby("comment_id")["statement_index"]
        .apply(list)
        .map(lambda ix: ix == list(range(len(ix))))
        .all()
    )


def test_statements_is_fragment_needs_two_content_words():
    from nlp.themes.statements import is_fragment

    assert is_fragment(["uh"]) and is_fragment(["okay", "i", "see"]) and is_fragment([])
    assert is_fragment(["but", "not", "for", "me"]) and is_fragment(["thank", "you"])
    assert is_fragment(["good"]) and is_fragment(["i", "do", "n't", "go", "out", "at", "all"])
    assert is_fragment(["wording", "of", "of", "the"])  # one content word, however long
    assert not is_fragment(["waited", "hours"]) and not is_fragment(["staff", "were", "rude"])
    assert not is_fragment(["the", "app", "keeps", "crashing"])
