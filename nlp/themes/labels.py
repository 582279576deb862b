"""Readable topic labels, and a spaCy-lemmatised token stream for c-TF-IDF.

`lemmatise_docs` turns each document into lower-case lemmas without stop words, kept aligned
with the words as written, so c-TF-IDF, NPMI and diversity share one vocabulary in which
"waited" and "waiting" are one word. `phrase_labels` reranks a topic's top c-TF-IDF terms
(1-3-grams) by the cosine of their embedding to the topic centroid (KeyBERTInspired), picks
diverse ones with MMR and shows them as people wrote them: "Waited for hours · ambulance".
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from nlp.themes.vocabulary import STOP_WORDS, stem, topic_label

if TYPE_CHECKING:
    from spacy.language import Language

# The vectoriser's token rule: a letter, then letters, apostrophes or hyphens (2+ characters).
TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b"
_TOKEN = re.compile(r"[a-zA-Z][a-zA-Z'-]+")
# PII placeholders ([PERSON]) and editors' marks in published data ([Name redacted],
# [word unreadable]) are not words people wrote.
_REDACTED = re.compile(r"\[(?:[A-Z_]+|[A-Za-z ]*(?:redacted|unreadable|illegible))\]", re.I)
# The tagger listens to tok2vec, so it must run too; the parser and NER are not needed.
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")
_STOP = frozenset(STOP_WORDS)
# Clause and document boundary in a token stream: n-grams never span it. A letters-only word,
# as BERTopic strips every other character before c-TF-IDF.
BREAK = "xxbreakxx"
_BREAKS = re.compile(r"[.!?;:\n]+")
SEPARATOR = " · "
DIVERSITY = 0.3  # MMR trade-off; 0.5 favoured off-topic words ("told") with MiniLM
RELEVANCE_FLOOR = 0.5  # a label term is at least this close to the centroid as the best one
# Words a label phrase may keep between its terms ("waited for hours", "polite and helpful").
GAP_WORDS = frozenset(
    "a an the and of for to in on at with from by or was were is are been very so too my our "
    "your their his her".split()
)


@dataclass(frozen=True)
class TokenDocs:
    """Per document, vocabulary tokens joined by spaces (lemmas, or lower-cased words; stop
    words removed) and the same tokens as written, lower-cased, aligned one-to-one. `BREAK`
    ends each clause (. ! ? ; : or a new line) and the document."""

    terms: list[str]
    surface: list[str]


# Lemmas the small English model gets wrong for feedback text ("data" -> "datum").
LEMMA_FIXES = {"datum": "data", "medium": "media", "criterion": "criteria", "staffs": "staff"}


def lemmatise_docs(nlp: Language, docs: Sequence[str], batch_size: int = 256) -> TokenDocs:
    """Lemmas of `docs` (one `nlp.pipe` pass, parser and NER off) minus stop words."""
    disable = [name for name in nlp.pipe_names if name not in LEMMA_PIPES]
    texts = (_REDACTED.sub(" ", d) for d in docs)
    terms, surface = [], []
    for doc in nlp.pipe(texts, batch_size=batch_size, disable=disable):
        lemmas, words = [], []
        for tok in doc:
            word = tok.lower_
            lemma = LEMMA_FIXES.get(tok.lemma_.lower(), tok.lemma_.lower())
            if _BREAKS.match(tok.text):
                if lemmas and lemmas[-1] != BREAK:
                    lemmas.append(BREAK)
                    words.append(BREAK)
            elif lemma in _STOP or word in _STOP:
                continue
            elif _TOKEN.fullmatch(lemma) and _TOKEN.fullmatch(word):
                lemmas.append(lemma)
                words.append(word)
        if lemmas and lemmas[-1] != BREAK:
            lemmas.append(BREAK)
            words.append(BREAK)
        terms.append(" ".join(lemmas))
        surface.append(" ".join(words))
    return TokenDocs(terms, surface)


def word_tokens(docs: Sequence[str]) -> TokenDocs:
    """The vectoriser's own token stream (lower-cased words minus stop words), no spaCy."""
    terms = []
    for d in docs:
        clauses = _BREAKS.split(_REDACTED.sub(" ", d).lower())
        words = [[w for w in re.findall(TOKEN_PATTERN, c) if w not in _STOP] for c in clauses]
        terms.append("".join(" ".join(c) + f" {BREAK} " for c in words if c).strip())
    return TokenDocs(terms, terms)


def clause_ngrams(text: str, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """The n-grams of a token stream, none spanning a `BREAK` (a CountVectorizer analyzer)."""
    low, high = ngram_range
    grams = []
    for clause in text.split(BREAK):
        words = clause.split()
        for n in range(low, high + 1):
            grams.extend(" ".join(words[k : k + n]) for k in range(len(words) - n + 1))
    return grams


def clause_vectorizer(ngram_range: tuple[int, int], min_df: int) -> CountVectorizer:
    """BERTopic's vectoriser for a token stream: its tokens as they are, n-grams per clause.

    BERTopic's safetensors save drops a callable analyzer; the token rule and n-gram range
    stored instead let a reloaded model read the same stream (without the clause breaks)."""
    return CountVectorizer(
        analyzer=partial(clause_ngrams, ngram_range=ngram_range),
        ngram_range=ngram_range,
        token_pattern=TOKEN_PATTERN,
        lowercase=False,
        min_df=min_df,
    )


def ctfidf_terms(
    terms: Sequence[str],
    assignments: np.ndarray,
    topic_ids: Sequence[int],
    n_terms: int = 30,
    ngram_range: tuple[int, int] = (1, 3),
) -> dict[int, list[str]]:
    """Each topic's top `n_terms` n-grams by BERTopic's c-TF-IDF (unassigned count as a class
    for the idf, as in BERTopic); n-grams with a repeated stem ("wait waiting") are left out."""
    assignments = np.asarray(assignments)
    cv = clause_vectorizer(ngram_range, min_df=2 if len(terms) >= 100 else 1)
    try:
        x = cv.fit_transform(terms)
    except ValueError:  # empty vocabulary: every document was stop words
        return {int(t): [] for t in topic_ids}
    classes = [int(t) for t in topic_ids] + [-1]
    row = {t: i for i, t in enumerate(classes)}
    docs = np.flatnonzero(np.isin(assignments, classes))
    indicator = sparse.csr_matrix(
        (np.ones(len(docs)), ([row[int(assignments[d])] for d in docs], docs)),
        shape=(len(classes), len(terms)),
    )
    counts = (indicator @ x).tocsr().astype(np.float64)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    freq = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(max(int(totals.mean()), 1) / np.maximum(freq, 1) + 1)
    vocab = cv.get_feature_names_out()
    out: dict[int, list[str]] = {}
    for t in topic_ids:
        r = counts.getrow(row[int(t)])
        weights = r.data / max(r.data.sum(), 1) * idf[r.indices]
        order = r.indices[np.lexsort((r.indices, -weights))]
        kept = [vocab[j] for j in order if _distinct_stems(vocab[j])]
        out[int(t)] = kept[:n_terms]
    return out


def related(a: str, b: str) -> bool:
    """Whether two words share a stem ("nurse", "nursing"; "homeless", "homelessness")."""
    sa, sb = stem(a), stem(b)
    short = min(len(sa), len(sb))
    return sa == sb or (short >= 4 and len(os.path.commonprefix([sa, sb])) >= max(4, 0.7 * short))


def _distinct_stems(term: str) -> bool:
    words = term.split()
    return not any(related(a, b) for i, a in enumerate(words) for b in words[i + 1 :])


def mmr(target: np.ndarray, candidates: np.ndarray, n: int, diversity: float = 0.5) -> list[int]:
    """Maximal marginal relevance: indices of `n` candidates close to `target` (unit vectors)
    but not to each other; `diversity` 0 ranks by relevance only, 1 by novelty only."""
    if len(candidates) == 0:
        return []
    relevance = candidates @ target
    between = candidates @ candidates.T
    chosen = [int(np.argmax(relevance))]
    rest = [i for i in range(len(candidates)) if i != chosen[0]]
    while rest and len(chosen) < n:
        novelty = between[np.ix_(rest, chosen)].max(axis=1)
        score = (1 - diversity) * relevance[rest] - diversity * novelty
        chosen.append(rest.pop(int(np.argmax(score))))
    return chosen


def surface_forms(
    tokens: TokenDocs, members: Sequence[int], terms: Sequence[str]
) -> dict[str, str]:
    """The most frequent written form (lower-cased) of each vocabulary n-gram in `members`."""
    want = set(terms)
    longest = max((len(t.split()) for t in terms), default=0)
    seen: dict[str, Counter] = defaultdict(Counter)
    for i in members:
        lemmas, words = tokens.terms[i].split(), tokens.surface[i].split()
        for n in range(1, longest + 1):
            for k in range(len(lemmas) - n + 1):
                gram = " ".join(lemmas[k : k + n])
                if gram in want:
                    seen[gram][" ".join(words[k : k + n])] += 1
    return {t: seen[t].most_common(1)[0][0] if seen[t] else t for t in terms}


def written_phrase(
    docs: Sequence[str], members: Sequence[int], surface: str, min_count: int = 3
) -> str | None:
    """`surface` as most often written in `members`, with the short function words that sat
    between its words ("waited hours" -> "waited for hours"); all-capital words keep their
    capitals. None when a phrase is written that way in fewer than `min_count` places: its
    words then co-occur across a clause ("taxes if you live") rather than form a phrase."""
    words = surface.split()
    gap = r"((?:\s+[A-Za-z']+){0,2}?)\s+"
    pattern = re.compile(r"\b" + gap.join(re.escape(w) for w in words) + r"\b", re.IGNORECASE)
    spans: Counter = Counter()
    capitals: Counter = Counter()
    written: Counter = Counter()
    for i in members:
        for match in pattern.finditer(docs[i]):
            if any(w not in GAP_WORDS for g in match.groups() for w in g.lower().split()):
                continue
            span = match.group(0).split()
            spans[" ".join(w.lower() for w in span)] += 1
            capitals.update(w.lower() for w in span if w.isupper())
            written.update(w.lower() for w in span)
    if not spans or (len(words) > 1 and spans.most_common(1)[0][1] < min_count):
        return None if len(words) > 1 else surface
    best = spans.most_common(1)[0][0].split()
    return " ".join(w.upper() if 2 * capitals[w] > written[w] or w == "i" else w for w in best)


def compose_label(
    terms: Iterable[tuple[str, str | None]], max_terms: int = 3, max_chars: int = 40
) -> str:
    """A label from ranked (vocabulary term, shown phrase or None) pairs: each new term adds a
    stem not shown yet, a phrase replaces the single word it extends, the label stays short."""
    chosen: list[tuple[list[str], str]] = []
    for term, shown in terms:
        if shown is None:
            continue
        words = term.split()
        overlap = [c for c in chosen if any(related(a, b) for a in c[0] for b in words)]
        if overlap:
            old = overlap[0]
            if len(overlap) == 1 and len(old[0]) == 1 and len(words) > 1:
                candidate = [(words, shown) if c is old else c for c in chosen]
                if len(SEPARATOR.join(s for _, s in candidate)) <= max_chars:
                    chosen = candidate
            continue
        if len(SEPARATOR.join([s for _, s in chosen] + [shown])) <= max_chars or not chosen:
            chosen.append((words, shown))
        if len(chosen) == max_terms:
            break
    label = SEPARATOR.join(s for _, s in chosen)
    return label[:1].upper() + label[1:] if label else "(no label)"


def phrase_labels(
    docs: Sequence[str],
    tokens: TokenDocs,
    assignments: np.ndarray,
    embeddings: np.ndarray,
    encode: Callable[[list[str]], np.ndarray] | None,
    topic_ids: Sequence[int],
    *,
    n_candidates: int = 30,
    diversity: float = DIVERSITY,
    max_chars: int = 40,
    max_docs: int = 2000,
) -> dict[int, str]:
    """A readable label per topic; without `encode`, `vocabulary.topic_label` of its c-TF-IDF terms.

    `docs` are the texts as written (redacted), `tokens` their vocabulary stream, `encode` the
    sentence encoder already loaded (unit-length rows). Phrases are looked up in the topic's
    `max_docs` most central documents.
    """
    assignments = np.asarray(assignments)
    candidates = ctfidf_terms(tokens.terms, assignments, topic_ids, n_candidates)
    if encode is None:
        return {t: topic_label(candidates[t]) for t in candidates}
    members, centroids, shown = _central_members(
        tokens, assignments, embeddings, candidates, max_docs
    )
    phrases = sorted({p for forms in shown.values() for p in forms.values()})
    vectors = np.asarray(encode(phrases), dtype=np.float64) if phrases else np.zeros((0, 1))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    row = {p: i for i, p in enumerate(phrases)}
    labels = {}
    for t, terms in candidates.items():
        if not terms:
            labels[t] = "(no label)"
            continue
        cand = vectors[[row[shown[t][term]] for term in terms]]
        relevance = cand @ centroids[t]
        order = mmr(centroids[t], cand, n=len(terms), diversity=diversity)
        order = [i for i in order if relevance[i] >= RELEVANCE_FLOOR * relevance.max()]
        ranked = ((terms[i], written_phrase(docs, members[t], shown[t][terms[i]])) for i in order)
        labels[t] = compose_label(ranked, max_chars=max_chars)
    return labels


def _central_members(
    tokens: TokenDocs,
    assignments: np.ndarray,
    embeddings: np.ndarray,
    candidates: dict[int, list[str]],
    max_docs: int,
) -> tuple[dict, dict, dict]:
    """Per topic: its `max_docs` most central members, unit centroid and terms as written."""
    members, centroids, shown = {}, {}, {}
    for t in candidates:
        idx = np.flatnonzero(assignments == t)
        centroid = embeddings[idx].mean(axis=0).astype(np.float64)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        members[t] = idx[np.argsort(-(embeddings[idx] @ centroid), kind="stable")[:max_docs]]
        centroids[t] = centroid
        shown[t] = surface_forms(tokens, members[t], candidates[t])
    return members, centroids, shown
