"""The rule tagger: a spaCy component matching the taxonomy's seed phrases (on lemmas and exact
wording, and across small gaps and a two-word phrase's other order: `nlp.tagging.phrases`) and
token patterns; each match becomes a span in `doc.spans["pain_points"]` labelled with the
category id."""

from __future__ import annotations

from typing import Any

import yaml
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlp.tagging.components import SPAN_KEY
from nlp.tagging.phrases import GappedPhraseMatcher
from nlp.tagging.taxonomy import TaxonomyError, default_taxonomy_text, parse_taxonomy

# Pipes that set lemmas, run on the seed phrases before they are added to the PhraseMatcher.
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer", "context_free_lemmatizer")


class PainPointTagger:
    """spaCy component: phrase and token-pattern matches -> `doc.spans["pain_points"]`.

    A phrase matches on lemmas ("wait" matches "waited") and on its exact lower-cased wording
    (a phrase's lemmas can differ from the same words in context: "kept informed"); with
    `phrase_gaps` > 0 also with up to that many tokens between its words, and a two-word
    phrase in either order, within a clause and without a negation in the gap ("lost bag" in
    "my bags were lost"; `nlp.tagging.phrases`).
    """

    def __init__(self, nlp: Language, name: str, taxonomy: dict[str, Any], phrase_gaps: int = 2):
        self.name = name
        self.gapped = GappedPhraseMatcher(phrase_gaps) if phrase_gaps > 0 else None
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
                if self.gapped is not None:
                    self.gapped.add(cat.id, [[(t.lemma_, t.lower_) for t in d] for d in docs])
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
        if self.gapped is not None and len(self.gapped):
            spans += [Span(doc, s, e, label=m) for m, s, e in self.gapped(doc)]
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


@Language.factory("pain_point_tagger", default_config={"taxonomy": None, "phrase_gaps": 2})
def make_pain_point_tagger(
    nlp: Language, name: str, taxonomy: dict[str, Any] | None, phrase_gaps: int
):
    data = taxonomy or yaml.safe_load(default_taxonomy_text())
    return PainPointTagger(nlp, name, data, phrase_gaps)
