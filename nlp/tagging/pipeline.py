"""The tagging pass: a lean spaCy pipeline (senter, context-free lemmas, the taggers) and the
loop that turns its Docs into clause, pain-point and comment-sentiment rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from spacy.language import Language
from spacy.tokens import Doc

from nlp.schemas import conform
from nlp.sentiment.clauses import (
    Clause,
    SentimentScorer,
    parse_comments,
    sentence_pipeline,
    sentiment_label,
    split_clauses,
)
from nlp.tagging import lemmas, rules  # noqa: F401  (register the lemmatizer and tagger factories)
from nlp.tagging.components import SPAN_KEY
from nlp.tagging.head import CategoryHead
from nlp.tagging.similarity import CategoryPrototypes, Encode
from nlp.tagging.taxonomy import Taxonomy, TaxonomyError

# (comment index, text, clauses, clause scores) -> (label, score): `SentimentHead.labeller`.
CommentLabel = Callable[[int, str, list[Clause], list[float]], tuple[str, float]]


def build_tagging_pipeline(
    nlp: Language,
    taxonomy: Taxonomy,
    category_head: CategoryHead | None = None,
    similarity: tuple[CategoryPrototypes, Encode] | None = None,
    *,
    phrase_gaps: int = 2,
) -> Language:
    """The tagging pass's pipeline, sharing `nlp`'s vocabulary and tokenizer: its sentence
    recogniser (`senter`), context-free lemmas (`nlp.tagging.lemmas`, from its lemmatizer's tables),
    the rule tagger with `taxonomy`, and optionally the comment-level taggers
    (`nlp.tagging.components`): a supervised `category_head`, and `similarity` = (prototypes, the
    run's encode function). `phrase_gaps`: tokens allowed between a phrase's words
    (`nlp.tagging.phrases`; 0 = side by side only, as before). No tok2vec, tagger, parser or
    NER: the same sentences as the full pipeline, four times faster."""
    if "lemmatizer" not in nlp.pipe_names:
        raise ValueError(f"spaCy pipeline {nlp.meta.get('name')!r} has no lemmatizer tables")
    tagging = sentence_pipeline(nlp)
    lemmatizer = tagging.add_pipe("context_free_lemmatizer")
    lemmatizer.set_tables(nlp.get_pipe("lemmatizer").lookups)
    tagging.add_pipe(
        "pain_point_tagger",
        config={"taxonomy": taxonomy.to_dict(), "phrase_gaps": phrase_gaps},
    )
    if category_head is not None:
        unknown = sorted(set(category_head.categories) - set(taxonomy.names()))
        if unknown:
            raise TaxonomyError(
                f"{category_head.origin}: categories {unknown} are not in the taxonomy"
            )
        tagging.add_pipe("category_head_tagger").set_head(category_head)
    if similarity is not None:
        tagging.add_pipe("similarity_tagger").set_prototypes(*similarity)
    return tagging


def tag_comments(
    nlp: Language,
    scorer: SentimentScorer,
    comment_ids: Sequence[str],
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    comment_sentiment: tuple[Sequence[str], Sequence[float]] | CommentLabel | None = None,
    embeddings: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clauses with sentiment, pain-point tags with evidence, and comment sentiment.

    `nlp` is a `build_tagging_pipeline`; its taggers put spans in `doc.spans["pain_points"]`.
    `embeddings` (rows aligned with `texts`: the topic stage's sentence embeddings) go on each
    Doc as `doc._.comment_vector` for the comment-level taggers, which need them.
    `comment_sentiment` labels whole comments: (labels, scores) given in advance, or a
    `SentimentHead.labeller`, called with each comment's clauses; without it the clause scorer
    labels them too. Sentences come from `parse_comments` (spaCy's senter, not the parser).
    Clauses are scored by the lexicon scorer, except the clause of a one-clause comment, which
    takes the comment's label and score when `comment_sentiment` is given (a model's).
    A tag `is_pain_point` when its clause is negative, or neutral inside a negative comment (a
    tag over a whole multi-clause comment: when the comment is negative). Offsets are character
    offsets into the given (redacted) text.
    """
    if embeddings is not None and len(embeddings) != len(texts):
        raise ValueError(f"{len(embeddings)} embeddings for {len(texts)} texts")
    rows = _distinct_rows(texts, embeddings)  # a repeated comment is parsed and tagged once
    firsts = sorted(set(rows))
    inputs: list[str] | list[Doc] = [texts[i] for i in firsts]
    if embeddings is not None:
        inputs = [nlp.make_doc(text) for text in inputs]
        for doc, i in zip(inputs, firsts, strict=True):
            doc._.comment_vector = embeddings[i]
    parsed = {}
    for i, doc in zip(firsts, parse_comments(nlp, inputs, batch_size), strict=True):
        clauses = split_clauses(doc)
        parsed[i] = (doc.text, clauses, [scorer.score(c.text) for c in clauses], _spans(doc))
    clause_rows, tag_rows, sent_rows = [], [], []
    for i, cid in enumerate(comment_ids):
        text, clauses, scores, spans = parsed[rows[i]]
        label, score = _comment_label(i, text, clauses, scores, scorer, comment_sentiment)
        sent_rows.append({"comment_id": cid, "label": label, "score": score})
        labels = [sentiment_label(s) for s in scores]
        if comment_sentiment is not None and len(clauses) == 1:
            # A one-clause comment: its clause is the comment, which the comment model reads
            # far better than the lexicon does (NHS hold-out macro-F1 0.78 against 0.49).
            scores, labels = [score], [label]
        clause_rows += _clause_rows(cid, clauses, scores, labels)
        tag_rows += _tag_rows(cid, spans, clauses, labels, label)
    return (
        conform(pd.DataFrame(clause_rows), "clauses"),
        conform(pd.DataFrame(tag_rows), "pain_points"),
        conform(pd.DataFrame(sent_rows), "sentiment"),
    )


def _distinct_rows(texts: Sequence[str], embeddings: np.ndarray | None) -> list[int]:
    """For each row, the first row with the same text (and the same embedding, if given)."""
    first: dict = {}
    if embeddings is None:
        return [first.setdefault(text, i) for i, text in enumerate(texts)]
    return [
        first.setdefault((t, v.tobytes()), i)
        for i, (t, v) in enumerate(zip(texts, embeddings, strict=True))
    ]


def _spans(doc: Doc) -> list[tuple]:
    """The taggers' spans of `doc`: (category, start, end, evidence, score, method, whole)."""
    return [
        (
            s.label_,
            s.start_char,
            s.end_char,
            s.text,
            s._.tag_score,
            s._.tag_method,
            s._.whole_comment,
        )
        for s in doc.spans[SPAN_KEY]
    ]


def _comment_label(i, text, clauses, scores, scorer, comment_sentiment) -> tuple[str, float]:
    """The comment's label and score: given in advance, from the labeller, or the lexicon's."""
    if comment_sentiment is None:
        return scorer.comment_sentiment(text, scores)
    if callable(comment_sentiment):
        return comment_sentiment(i, text, clauses, scores)
    return comment_sentiment[0][i], float(comment_sentiment[1][i])


def _clause_rows(cid: str, clauses: list[Clause], scores, labels) -> list[dict]:
    return [
        {
            "comment_id": cid,
            "clause_index": clause.index,
            "start": clause.start,
            "end": clause.end,
            "sentiment_label": clause_label,
            "sentiment_score": s,
        }
        for clause, s, clause_label in zip(clauses, scores, labels, strict=True)
    ]


def _tag_rows(cid: str, spans: list[tuple], clauses: list[Clause], labels, label: str) -> list:
    rows = []
    for category, start, end, evidence, score, method, whole in spans:
        idx = None if whole else _clause_of(clauses, start)
        clause_label = labels[idx] if idx is not None else label
        rows.append(
            {
                "comment_id": cid,
                "clause_index": idx,
                "category": category,
                "start": start,
                "end": end,
                "evidence": evidence,
                "score": score,
                "is_pain_point": _is_pain(clause_label, label),
                "method": method,
            }
        )
    return rows


def _is_pain(clause_label: str, comment_label: str) -> bool:
    """A negative clause, or a neutral one inside a negative comment."""
    return clause_label == "negative" or (comment_label == "negative" and clause_label == "neutral")


def _clause_of(clauses: list[Clause], char: int) -> int | None:
    for c in clauses:
        if c.start <= char < c.end:
            return c.index
    return None
