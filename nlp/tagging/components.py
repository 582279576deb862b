"""Comment-level pain-point taggers as spaCy components, beside the rule tagger.

`category_head_tagger` (a supervised `nlp.tagging.head.CategoryHead`) and `similarity_tagger`
(closeness to the taxonomy's prototypes, `nlp.tagging.similarity`) read the comment's sentence
embedding, which the topic stage already computed and `pipeline.tag_comments` puts on each
Doc as `doc._.comment_vector`: no second model runs. They add spans to
`doc.spans["pain_points"]` for categories no earlier tagger found there, with `span._.tag_method`
(`head` / `similarity`; rule spans keep the default `rule`) and `span._.tag_score`. Evidence: a
head tag covers the comment's only clause, or the whole comment (`span._.whole_comment`); a
similarity tag covers the clause that matched (clause level, the default: the clauses of a
multi-clause comment are embedded with the run's encoder, one call per batch of Docs, when the
comment comes near a category its rules did not find; a one-clause comment uses its comment
vector) or, at comment level, the clause most similar to the category the comment matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from nlp.sentiment.clauses import Clause, split_clauses
from nlp.tagging.head import CategoryHead
from nlp.tagging.similarity import CategoryPrototypes, Encode

SPAN_KEY = "pain_points"
for _name, _default in (("tag_method", "rule"), ("tag_score", 1.0), ("whole_comment", False)):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=_default)
if not Doc.has_extension("comment_vector"):
    Doc.set_extension("comment_vector", default=None)


def comment_vectors(docs: list[Doc], component: str) -> np.ndarray:
    """The batch's `doc._.comment_vector` rows; a clear error when one is missing."""
    if any(doc._.comment_vector is None for doc in docs):
        raise ValueError(
            f"{component}: a Doc has no comment_vector; pass the comments' embeddings to "
            "nlp.tagging.pipeline.tag_comments (embeddings=...)"
        )
    return np.stack([doc._.comment_vector for doc in docs])


def add_tag(
    doc: Doc, category: str, score: float, method: str, clause: Clause | None = None
) -> None:
    """Append a `method` span for `category` over `clause`, or the whole comment without one."""
    if clause is None:
        span = Span(doc, 0, len(doc), label=category)
        span._.whole_comment = True
    else:
        span = doc.char_span(clause.start, clause.end, label=category, alignment_mode="expand")
    span._.tag_method = method
    span._.tag_score = float(score)
    doc.spans[SPAN_KEY].append(span)


def found(doc: Doc) -> set[str]:
    return {span.label_ for span in doc.spans.get(SPAN_KEY, [])}


class _CommentTagger:
    """Shared batching: subclasses tag a list of Docs in place."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        self.tag_batch([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        for batch in minibatch(docs, batch_size):
            self.tag_batch(batch)
            yield from batch

    def tag_batch(self, docs: list[Doc]) -> None:
        raise NotImplementedError


class CategoryHeadTagger(_CommentTagger):
    """Tags from a supervised category head; `set_head` before use."""

    head: CategoryHead | None = None

    def set_head(self, head: CategoryHead) -> CategoryHeadTagger:
        self.head = head
        return self

    def tag_batch(self, docs: list[Doc]) -> None:
        if self.head is None:
            raise RuntimeError(f"{self.name}: call set_head(head) before use")
        if not docs:
            return
        for doc, tags in zip(docs, self.head.tags(comment_vectors(docs, self.name)), strict=True):
            have = found(doc)
            clauses = split_clauses(doc) if tags else []
            for category, prob in tags:
                if category not in have:
                    add_tag(doc, category, prob, "head", clauses[0] if len(clauses) == 1 else None)


class SimilarityTagger(_CommentTagger):
    """Tags from similarity to category prototypes; `set_prototypes` before use."""

    prototypes: CategoryPrototypes | None = None
    encode: Encode | None = None

    def set_prototypes(self, prototypes: CategoryPrototypes, encode: Encode) -> SimilarityTagger:
        """`encode` is the run's sentence encoder (unit rows), for clause evidence."""
        self.prototypes, self.encode = prototypes, encode
        return self

    def tag_batch(self, docs: list[Doc]) -> None:
        if self.prototypes is None or self.encode is None:
            raise RuntimeError(f"{self.name}: call set_prototypes(prototypes, encode) first")
        if not docs:
            return
        vectors = comment_vectors(docs, self.name)
        if self.prototypes.level == "comment":
            self._tag_comments(docs, vectors)
        else:
            self._tag_clauses(docs, vectors)

    def _tag_clauses(self, docs: list[Doc], vectors: np.ndarray) -> None:
        """Each clause against the prototypes; a one-clause comment uses its own vector, and a
        comment that comes nowhere near a category its rules did not find is left as it is
        (`CategoryPrototypes.worth_clauses`: its clauses are not embedded)."""
        clauses = [split_clauses(doc) for doc in docs]
        haves = [found(doc) for doc in docs]
        worth = self.prototypes.worth_clauses(vectors, haves)
        multi = [
            c.text for cs, w in zip(clauses, worth, strict=True) if len(cs) > 1 and w for c in cs
        ]
        encoded = self.encode(multi) if multi else None
        offset = 0
        for doc, vector, cs, have, w in zip(docs, vectors, clauses, haves, worth, strict=True):
            if len(cs) > 1 and not w:
                continue
            if len(cs) > 1:
                rows = encoded[offset : offset + len(cs)]
                offset += len(cs)
            else:
                rows = vector[None, :]
            for clause, tags in zip(cs or [None], self.prototypes.tags(rows), strict=True):
                for category, cosine in tags:
                    if category not in have:
                        add_tag(doc, category, cosine, "similarity", clause)
                        have.add(category)

    def _tag_comments(self, docs: list[Doc], vectors: np.ndarray) -> None:
        """The comment vector against the prototypes; evidence is the most similar clause."""
        pending: list[tuple[Doc, str, float, list[Clause]]] = []
        for doc, tags in zip(docs, self.prototypes.tags(vectors), strict=True):
            for category, cosine in tags:
                if category in found(doc):
                    continue
                clauses = split_clauses(doc)
                if len(clauses) > 1:
                    pending.append((doc, category, cosine, clauses))
                else:
                    add_tag(doc, category, cosine, "similarity", clauses[0] if clauses else None)
        if pending:
            vectors = self.encode([c.text for *_, clauses in pending for c in clauses])
            offset = 0
            for doc, category, cosine, clauses in pending:
                rows = vectors[offset : offset + len(clauses)]
                offset += len(clauses)
                best = clauses[self.prototypes.best_clause(category, rows)]
                add_tag(doc, category, cosine, "similarity", best)


@Language.factory("category_head_tagger")
def make_category_head_tagger(nlp: Language, name: str) -> CategoryHeadTagger:
    return CategoryHeadTagger(name)


@Language.factory("similarity_tagger")
def make_similarity_tagger(nlp: Language, name: str) -> SimilarityTagger:
    return SimilarityTagger(name)
