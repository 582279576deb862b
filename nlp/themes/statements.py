"""Statements: the units themes are found in. A statement is a sentence, a long one split again
at a contrastive clause ("the staff were lovely but the wait was awful" is two), with character
offsets into `comments.text`; a one-sentence comment is one statement.

A review that praises the staff and complains about the price is one point in embedding space;
its statements are two, so clustering statements finds *why*, and a comment carries every theme
one of its statements is in (`comment_topics`, one row per comment and theme). The themes stage
works on statement *units* keyed `<comment_id><UNIT_SEP><statement_index>` so the registry,
the nightly transform and the refit stay unit-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from spacy.lang.en.stop_words import STOP_WORDS

from nlp.ingest.cleaning import BACKCHANNELS, text_hash
from nlp.sentiment.clauses import parse_comments, sentence_pipeline, split_clauses
from nlp.themes.edit_ops import comment_topics_from_statements

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "comment_topics_from_statements",  # nlp.themes.edit_ops: without spaCy, for the CLI
    "corpus_statements",
    "is_fragment",
    "own_document_rows",
    "split_statements",
    "statement_spans",
    "statement_metrics",
    "theme_input",
    "unit_comment_ids",
    "unit_keys",
]
UNIT_SEP = "\x1f"  # ASCII unit separator: never in a cleaned comment id
STATEMENT_COLUMNS = ["comment_id", "statement_index", "start", "end", "text", "text_hash"]


def split_statements(nlp: Language, documents: pd.DataFrame) -> pd.DataFrame:
    """The statements of `documents` (comment_id, text), in document order: comment_id,
    statement_index, start, end, text (exactly `text[start:end]`) and text_hash."""
    ids, texts = documents["comment_id"].tolist(), documents["text"].tolist()
    distinct = list(dict.fromkeys(texts))  # a repeated text is parsed once
    docs = parse_comments(sentence_pipeline(nlp), distinct)
    spans_of = {t: statement_spans(d) for t, d in zip(distinct, docs, strict=True)}
    rows: list[tuple] = []
    for cid, text in zip(ids, texts, strict=True):
        spans = spans_of[text]
        if not spans and text.strip():  # no clause with a letter or digit: the text itself
            spans = [(0, len(text))]
        for index, (start, end) in enumerate(spans):
            rows.append((cid, index, start, end, text[start:end]))
    frame = pd.DataFrame(rows, columns=STATEMENT_COLUMNS[:-1])
    frame["text_hash"] = [text_hash(t) for t in frame["text"]]
    return frame.astype({"statement_index": "int64", "start": "int64", "end": "int64"})


# Words that carry no theme on their own: the transcripts' back-channel words, in their
# spoken spellings too, and "like".
FRAGMENT_FILLERS = BACKCHANNELS | frozenset("mm-hmm mmm hm huh uh-huh umm ooh yup nah like".split())
# A clause with at most this many content words (words that are neither stop words nor
# fillers) is a fragment, not a statement: "Uh,", "Okay, I see", "Thank you", "Perfect",
# "wording of, of the", "but it's the data that", "Very helpful". Measured on the five shared
# sets (bench/results/fragments.md): with 0 the interviews' rambling clauses and courtesies
# made themes of their own ("Question" in 60 % of the turns, "Perfect", "No worries"); with 1
# the largest is in 22 % and seeds agree (ARI 0.27 -> 0.75); the written sets lose a few
# themes and gain NPMI. Chosen on all five sets, not on one.
FRAGMENT_MAX_CONTENT_WORDS = 1


def is_fragment(words: list[str]) -> bool:
    """True for a clause (its words, lower case) with at most FRAGMENT_MAX_CONTENT_WORDS words
    that are neither stop words nor fillers. A clause with no word at all ("@user @user",
    "2)"; @handles and links are no words) is a fragment too. Its words are not lost: it joins a
    neighbouring statement (`statement_spans`), and a text of fragments only is one statement,
    so a comment that is only "Thank you" keeps its theme."""
    content = sum(w not in FRAGMENT_FILLERS and w not in STOP_WORDS for w in words)
    return content <= FRAGMENT_MAX_CONTENT_WORDS


def statement_spans(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) of the statements of one parsed text: its clauses (`split_clauses`), each
    fragment of speech (`is_fragment`) joined to the statement before it in the text, or to the
    one after when it comes first, so "Uh, so the data was bad. Yeah." and "The staff were kind.
    Thank you." are one statement each. A text of fragments only is one statement from the first
    to the last."""
    clauses = [(c.start, c.end) for c in split_clauses(doc)]
    fragment = [is_fragment(_words(doc, s, e)) for s, e in clauses]
    spans: list[list[int]] = []
    leading: int | None = None  # start of the fragments before the first statement
    for (s, e), frag in zip(clauses, fragment, strict=True):
        if not frag:
            spans.append([s if leading is None else leading, e])
            leading = None
        elif spans:
            spans[-1][1] = e
        elif leading is None:
            leading = s
    if not spans and clauses:
        spans = [[clauses[0][0], clauses[-1][1]]]
    return [(s, e) for s, e in spans]


def _words(doc: Doc, start: int, end: int) -> list[str]:
    return [
        t.lower_
        for t in doc.char_span(start, end, alignment_mode="expand")
        if any(ch.isalpha() for ch in t.text) and not (t.like_url or t.text.startswith("@"))
    ]


def corpus_statements(
    *, documents: pd.DataFrame, previous: pd.DataFrame, replaced: Iterable[str], nlp: Language
) -> pd.DataFrame:
    """Statements of every analysed document, ordered like `documents`: documents this run
    (re)processed, or without statements yet, are split now; the others keep the offsets of
    `previous` (the `statements` table), their text sliced from the unchanged document."""
    replaced = set(replaced)
    docs = documents[["comment_id", "text"]].reset_index(drop=True)
    keep = previous[
        ~previous["comment_id"].isin(replaced) & previous["comment_id"].isin(docs["comment_id"])
    ]
    todo = docs[~docs["comment_id"].isin(keep["comment_id"])]
    fresh = split_statements(nlp, todo) if len(todo) else pd.DataFrame(columns=STATEMENT_COLUMNS)
    kept = _sliced(keep, docs)
    frame = pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh
    order = pd.Series(np.arange(len(docs)), index=docs["comment_id"])
    frame = frame.assign(_doc=order.reindex(frame["comment_id"]).to_numpy())
    frame = frame.sort_values(["_doc", "statement_index"], kind="stable").drop(columns="_doc")
    return frame.reset_index(drop=True)[STATEMENT_COLUMNS]


def _sliced(keep: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    if not len(keep):
        return pd.DataFrame(columns=STATEMENT_COLUMNS)
    text = docs.set_index("comment_id")["text"].reindex(keep["comment_id"]).tolist()
    starts = keep["start"].astype("int64").tolist()
    ends = keep["end"].astype("int64").tolist()
    frame = keep[["comment_id", "statement_index", "start", "end"]].astype(
        {"comment_id": object, "statement_index": "int64", "start": "int64", "end": "int64"}
    )
    frame["text"] = [t[s:e] for t, s, e in zip(text, starts, ends, strict=True)]
    frame["text_hash"] = keep["text_hash"].astype(object).to_numpy()
    missing = frame["text_hash"].isna()
    frame.loc[missing, "text_hash"] = [text_hash(t) for t in frame.loc[missing, "text"]]
    return frame


def own_document_rows(statements: pd.DataFrame, documents: pd.DataFrame) -> np.ndarray:
    """For each statement, the row in `documents` of its comment when the statement is the
    comment's only one and its theme text is unmasked (its vector is then the comment's:
    nothing to encode again), else -1."""
    only = statements.groupby("comment_id")["statement_index"].transform("size").eq(1)
    if "theme_text" in statements:
        only &= statements["theme_text"].eq(statements["text"])
    rows = pd.Index(documents["comment_id"]).get_indexer(statements["comment_id"])
    return np.where(only.to_numpy(), rows, -1)


# Service values that are codes for "no service", not names: never masked out of the text.
GENERIC_SERVICES = frozenset({"unknown", "other", "none", "n/a", "na", "all", "general", "misc"})


def with_theme_text(
    statements: pd.DataFrame, *, services: Iterable[str], extra_terms: Iterable[str] = ()
) -> pd.DataFrame:
    """`statements` with `theme_text`: the text themes are found in, the services' names,
    @handles and `extra_terms` masked (nlp.themes.masking) so a theme says why, not who, and
    `theme_hash` (its text hash, the embedding cache's key)."""
    from nlp.themes.masking import mask_terms

    names = [
        s for s in services if isinstance(s, str) and s.strip().lower() not in GENERIC_SERVICES
    ]
    masked = mask_terms(statements["text"].tolist(), services=names, extra_terms=extra_terms)
    hashes = [
        h if m == t else text_hash(m)
        for t, m, h in zip(statements["text"], masked.texts, statements["text_hash"], strict=True)
    ]
    return statements.assign(theme_text=masked.texts, theme_hash=hashes)


def theme_input(statements: pd.DataFrame) -> pd.DataFrame:
    """`with_theme_text` statements as the themes stage reads them: `text` is the masked text."""
    return statements.assign(text=statements["theme_text"]).drop(
        columns=["theme_text", "theme_hash"]
    )


def unit_keys(statements: pd.DataFrame) -> np.ndarray:
    """`<comment_id><UNIT_SEP><statement_index>` per statement row (object array)."""
    cids = statements["comment_id"].astype(str).to_numpy(dtype=object)
    index = statements["statement_index"].astype("int64").astype(str).to_numpy(dtype=object)
    return cids + UNIT_SEP + index


def unit_comment_ids(keys: Iterable[str]) -> list[str]:
    """The comment id of each unit key."""
    return [k.rsplit(UNIT_SEP, 1)[0] for k in keys]


def statement_metrics(statements: pd.DataFrame, comment_topics: pd.DataFrame) -> dict:
    """Counts for run_summary: statements analysed, comments with no theme, with 2+ themes."""
    per_comment = comment_topics.dropna(subset=["topic_id"]).groupby("comment_id").size()
    comments = comment_topics["comment_id"].nunique()
    return {
        "statements_analysed": len(statements),
        "unassigned_comment_share": (float(1 - len(per_comment) / comments) if comments else None),
        "multi_theme_share": float((per_comment >= 2).sum() / comments) if comments else None,
    }
