"""Pain-point taxonomy (YAML) and a spaCy component that tags category evidence in a Doc.

A category is an aspect of a service (waiting, staff manner, ...), matched whether it is
praised or criticised; a tag is a pain point when its clause is negative. The tagger matches
seed phrases on lemmas and exact wording (PhraseMatcher) and token patterns (Matcher); each
match becomes a span in `doc.spans["pain_points"]` labelled with the category id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import spacy
import yaml
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlp import lemmas  # noqa: F401  (registers the context_free_lemmatizer factory)
from nlp.category_head import CategoryHead
from nlp.category_similarity import CategoryPrototypes, Encode
from nlp.comment_taggers import SPAN_KEY
from nlp.schemas import conform
from nlp.sentiment import (
    Clause,
    SentimentScorer,
    parse_comments,
    sentiment_label,
    split_clauses,
)

JOURNEY_STAGES = ("learn", "apply", "use")
# The tagging pass runs no tagger, parser or NER (build_tagging_pipeline), so token patterns
# cannot ask for what those set.
NEEDS_MODEL = frozenset({"POS", "TAG", "MORPH", "DEP", "HEAD", "ENT_TYPE", "ENT_IOB", "ENT_ID"})
# Pipes that set lemmas, run on the seed phrases before they are added to the PhraseMatcher.
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer", "context_free_lemmatizer")
# (comment index, text, clauses, clause scores) -> (label, score): `SentimentHead.labeller`.
CommentLabel = Callable[[int, str, list[Clause], list[float]], tuple[str, float]]


class TaxonomyError(ValueError):
    """A taxonomy YAML that cannot be used; the message says where and what to fix."""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str
    journey_stage: str
    phrases: tuple[str, ...]
    patterns: tuple[tuple[dict[str, Any], ...], ...]
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: tuple[Category, ...]

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.categories}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "categories": [
                {
                    "id": c.id,
                    "name": c.name,
                    "description": c.description,
                    "journey_stage": c.journey_stage,
                    "phrases": list(c.phrases),
                    "patterns": [list(p) for p in c.patterns],
                    "examples": list(c.examples),
                }
                for c in self.categories
            ],
        }


def default_taxonomy_text() -> str:
    """The packaged default taxonomy YAML."""
    return resources.files("nlp").joinpath("taxonomy.yaml").read_text(encoding="utf-8")


def parse_taxonomy(text: str, origin: str = "taxonomy") -> Taxonomy:
    """Parse and validate a taxonomy YAML; errors name the origin and the category."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise TaxonomyError(f"{origin}: expected a mapping with a 'categories' list")
    cats = [_category(c, i, origin) for i, c in enumerate(data["categories"])]
    ids = [c.id for c in cats]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise TaxonomyError(f"{origin}: duplicate category ids {dupes}")
    return Taxonomy(version=str(data.get("version", "1")), categories=tuple(cats))


def _category(raw: Any, index: int, origin: str) -> Category:
    where = f"{origin}: categories[{index}]"
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: expected a mapping, got {type(raw).__name__}")
    missing = [k for k in ("id", "name", "description", "phrases") if k not in raw]
    if missing:
        raise TaxonomyError(f"{where}: missing keys {missing}")
    cid = str(raw["id"])
    where = f"{origin}: category {cid!r}"
    if not cid.replace("_", "").isalnum() or not cid.islower():
        raise TaxonomyError(f"{where}: id must be snake_case (a-z, 0-9, _)")
    stage = str(raw.get("journey_stage", "use"))
    if stage not in JOURNEY_STAGES:
        raise TaxonomyError(
            f"{where}: journey_stage must be one of {JOURNEY_STAGES}, got {stage!r}"
        )
    phrases = raw["phrases"] or []
    bad = [p for p in phrases if not isinstance(p, str) or not p.strip()]
    if not isinstance(phrases, list) or bad:
        raise TaxonomyError(
            f"{where}: phrases must be a list of non-empty strings (quote yes/no/on/off): {bad}"
        )
    patterns = raw.get("patterns") or []
    if not isinstance(patterns, list) or not all(
        isinstance(p, list) and p and all(isinstance(t, dict) for t in p) for p in patterns
    ):
        raise TaxonomyError(f"{where}: patterns must be a list of token-pattern lists")
    model_attrs = sorted({str(k).upper() for p in patterns for t in p for k in t} & NEEDS_MODEL)
    if model_attrs:
        raise TaxonomyError(
            f"{where}: patterns use {model_attrs}, which the tagging pass does not compute "
            "(it runs no tagger, parser or NER); use LEMMA, LOWER, TEXT, NORM, IS_* or LIKE_*"
        )
    examples = raw.get("examples") or []
    if not isinstance(examples, list) or any(
        not isinstance(e, str) or not e.strip() for e in examples
    ):
        raise TaxonomyError(
            f"{where}: examples must be a list of non-empty strings (one example clause each)"
        )
    return Category(
        id=cid,
        name=str(raw["name"]),
        description=str(raw["description"]),
        journey_stage=stage,
        phrases=tuple(p.strip() for p in phrases),
        patterns=tuple(tuple(p) for p in patterns),
        examples=tuple(e.strip() for e in examples),
    )


def merge_taxonomies(base: Taxonomy, extra: Taxonomy, mode: str = "extend") -> Taxonomy:
    """`replace`: use `extra` only. `extend`: add its categories, overriding ids it redefines."""
    if mode == "replace":
        return extra
    if mode != "extend":
        raise TaxonomyError(f"taxonomy mode must be 'extend' or 'replace', got {mode!r}")
    override = {c.id: c for c in extra.categories}
    merged = [override.pop(c.id, c) for c in base.categories] + list(override.values())
    return Taxonomy(version=f"{base.version}+{extra.version}", categories=tuple(merged))


class PainPointTagger:
    """spaCy component: phrase and token-pattern matches -> `doc.spans["pain_points"]`.

    A phrase matches on lemmas ("wait" matches "waited") and on its exact lower-cased wording
    (a phrase's lemmas can differ from the same words in context: "kept informed").
    """

    def __init__(self, nlp: Language, name: str, taxonomy: dict[str, Any]):
        self.name = name
        self.taxonomy = parse_taxonomy(yaml.safe_dump(taxonomy), origin=name)
        self.phrase_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.exact_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.matcher = Matcher(nlp.vocab, validate=True)
        disable = [p for p in nlp.pipe_names if p not in LEMMA_PIPES]
        for cat in self.taxonomy.categories:
            lowered = [p.lower() for p in cat.phrases]
            docs = list(nlp.pipe(lowered, disable=disable)) if lowered else []
            if docs:
                self.phrase_matcher.add(cat.id, docs)
                self.exact_matcher.add(cat.id, [nlp.make_doc(p) for p in lowered])
            if cat.patterns:
                try:
                    self.matcher.add(cat.id, [list(p) for p in cat.patterns])
                except (ValueError, KeyError) as exc:
                    raise TaxonomyError(f"{name}: category {cat.id!r}: bad pattern: {exc}") from exc

    def __call__(self, doc: Doc) -> Doc:
        spans = [Span(doc, s, e, label=m) for m, s, e in self.phrase_matcher(doc)]
        spans += [Span(doc, s, e, label=m) for m, s, e in self.exact_matcher(doc)]
        if len(self.matcher):
            spans += [Span(doc, s, e, label=m) for m, s, e in self.matcher(doc)]
        # One span per category and place: longest wins among overlaps of the same category.
        by_label: dict[str, list[Span]] = {}
        for span in spans:
            by_label.setdefault(span.label_, []).append(span)
        kept = [_whole_words(s) for group in by_label.values() for s in filter_spans(group)]
        # Across categories the more specific match wins: "form" (redundant_forms) inside
        # "online form" (digital_tool_failure) is dropped; partial overlaps keep both.
        kept = [s for s in kept if not any(_nested(s, o) for o in kept)]
        doc.spans[SPAN_KEY] = sorted(kept, key=lambda s: (s.start, s.label_))
        return doc


def _nested(span: Span, other: Span) -> bool:
    """True when `span` lies inside a longer span `other` of another category."""
    return (
        other.label != span.label
        and other.start <= span.start
        and span.end <= other.end
        and len(other) > len(span)
    )


def _whole_words(span: Span) -> Span:
    """Widen a span that starts inside a word ("n't help" in "aren't helping") to the word start."""
    start = span.start
    doc = span.doc
    while start > 0 and not doc[start - 1].whitespace_ and doc[start - 1].is_alpha:
        start -= 1
    return span if start == span.start else Span(doc, start, span.end, label=span.label)


@Language.factory("pain_point_tagger", default_config={"taxonomy": None})
def make_pain_point_tagger(nlp: Language, name: str, taxonomy: dict[str, Any] | None):
    data = taxonomy or yaml.safe_load(default_taxonomy_text())
    return PainPointTagger(nlp, name, data)


def build_tagging_pipeline(
    nlp: Language,
    taxonomy: Taxonomy,
    category_head: CategoryHead | None = None,
    similarity: tuple[CategoryPrototypes, Encode] | None = None,
) -> Language:
    """The tagging pass's pipeline, sharing `nlp`'s vocabulary and tokenizer: its sentence
    recogniser (`senter`), context-free lemmas (`nlp.lemmas`, from its lemmatizer's tables),
    the rule tagger with `taxonomy`, and optionally the comment-level taggers
    (`nlp.comment_taggers`): a supervised `category_head`, and `similarity` = (prototypes, the
    run's encode function). No tok2vec, tagger, parser or NER: the same sentences and, in
    99.7 % of comments, the same rule tags as the full pipeline, four times faster."""
    if "lemmatizer" not in nlp.pipe_names:
        raise ValueError(f"spaCy pipeline {nlp.meta.get('name')!r} has no lemmatizer tables")
    tagging = spacy.blank(nlp.lang, vocab=nlp.vocab)
    tagging.tokenizer = nlp.tokenizer
    if "senter" in nlp.component_names:
        tagging.add_pipe("senter", source=nlp)
    else:  # a pipeline without a sentence recogniser: punctuation rules
        tagging.add_pipe("sentencizer")
    lemmatizer = tagging.add_pipe("context_free_lemmatizer")
    lemmatizer.set_tables(nlp.get_pipe("lemmatizer").lookups)
    tagging.add_pipe("pain_point_tagger", config={"taxonomy": taxonomy.to_dict()})
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
    inputs: Sequence[str] | list[Doc] = texts
    if embeddings is not None:
        inputs = [nlp.make_doc(text) for text in texts]
        for doc, vector in zip(inputs, embeddings, strict=True):
            doc._.comment_vector = vector
    clause_rows, tag_rows, sent_rows = [], [], []
    docs = parse_comments(nlp, inputs, batch_size)
    for i, (cid, doc) in enumerate(zip(comment_ids, docs, strict=True)):
        clauses = split_clauses(doc)
        scores = [scorer.score(c.text) for c in clauses]
        if comment_sentiment is None:
            label, score = scorer.comment_sentiment(doc.text, scores)
        elif callable(comment_sentiment):
            label, score = comment_sentiment(i, doc.text, clauses, scores)
        else:
            label, score = comment_sentiment[0][i], float(comment_sentiment[1][i])
        sent_rows.append({"comment_id": cid, "label": label, "score": score})
        labels = [sentiment_label(s) for s in scores]
        if comment_sentiment is not None and len(clauses) == 1:
            # A one-clause comment: its clause is the comment, which the comment model reads
            # far better than the lexicon does (NHS hold-out macro-F1 0.78 against 0.49).
            scores, labels = [score], [label]
        for clause, s, clause_label in zip(clauses, scores, labels, strict=True):
            clause_rows.append(
                {
                    "comment_id": cid,
                    "clause_index": clause.index,
                    "start": clause.start,
                    "end": clause.end,
                    "sentiment_label": clause_label,
                    "sentiment_score": s,
                }
            )
        for span in doc.spans[SPAN_KEY]:
            idx = None if span._.whole_comment else _clause_of(clauses, span.start_char)
            clause_label = labels[idx] if idx is not None else label
            tag_rows.append(
                {
                    "comment_id": cid,
                    "clause_index": idx,
                    "category": span.label_,
                    "start": span.start_char,
                    "end": span.end_char,
                    "evidence": span.text,
                    "score": span._.tag_score,
                    "is_pain_point": _is_pain(clause_label, label),
                    "method": span._.tag_method,
                }
            )
    return (
        conform(pd.DataFrame(clause_rows), "clauses"),
        conform(pd.DataFrame(tag_rows), "pain_points"),
        conform(pd.DataFrame(sent_rows), "sentiment"),
    )


def _is_pain(clause_label: str, comment_label: str) -> bool:
    """A negative clause, or a neutral one inside a negative comment."""
    return clause_label == "negative" or (comment_label == "negative" and clause_label == "neutral")


def _clause_of(clauses: list[Clause], char: int) -> int | None:
    for c in clauses:
        if c.start <= char < c.end:
            return c.index
    return None
