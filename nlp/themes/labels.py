"""Theme names in words, and a spaCy-lemmatised token stream for c-TF-IDF.

`lemmatise_docs` turns each document into lower-case lemmas without stop words, kept aligned
with the words as written, so c-TF-IDF, NPMI and diversity share one vocabulary in which
"waited" and "waiting" are one word; it also keeps every word's tag for the names.
`phrase_labels` names each topic with a phrase its documents wrote (`nlp.themes.phrases`):
"Long wait for an ambulance", "Phone line not answered", never a dot-joined word list (the top
words have their own column). Candidates rank by closeness to the topic's centroid, margin over
the other topics' centroids and how many of the topic's documents hold them; names are
distinct across topics.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from nlp.themes.phrases import (
    ThemePhrases,
    Token,
    exclusion,
    quoted_names,
    sentence_case,
    tagged_clauses,
    theme_phrases,
    word_cases,
)
from nlp.themes.vocabulary import STOP_WORDS, stem

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
NAME_DOCS = 500  # central documents per topic that names are mined from
MIN_WRITTEN = 2  # a name is written in at least this many of the topic's documents
CONTRAST = 0.5  # weight of a name's margin over the nearest other topic's centroid
COVER_WEIGHT = 0.3  # weight of sqrt(share of the topic's documents holding its words)
SINGLE_WORD_PENALTY = 0.25  # a phrase beats a bare word unless the word is clearly better
QUOTE_DOCS = 20  # central statements a theme without a phrase may be quoted from
WORD_BONUS = 0.03  # per content word past the first (up to 4): "Long wait for an ambulance"


@dataclass(frozen=True)
class TokenDocs:
    """Per document, vocabulary tokens joined by spaces (lemmas, or lower-cased words; stop
    words removed) and the same tokens as written, lower-cased, aligned one-to-one. `BREAK`
    ends each clause (. ! ? ; : or a new line) and the document. `tagged`, from spaCy, holds
    every word of each clause with its tag (`phrases.tagged_clauses`) for theme names."""

    terms: list[str]
    surface: list[str]
    tagged: list[list[list[Token]]] | None = None


# Lemmas the small English model gets wrong for feedback text ("data" -> "datum").
LEMMA_FIXES = {"datum": "data", "medium": "media", "criterion": "criteria", "staffs": "staff"}


def lemmatise_docs(nlp: Language, docs: Sequence[str], batch_size: int = 256) -> TokenDocs:
    """Lemmas of `docs` (one `nlp.pipe` pass, parser and NER off) minus stop words."""
    disable = [name for name in nlp.pipe_names if name not in LEMMA_PIPES]
    texts = (_REDACTED.sub(" ", d) for d in docs)
    terms, surface, tagged = [], [], []
    for doc in nlp.pipe(texts, batch_size=batch_size, disable=disable):
        tagged.append(tagged_clauses(doc))
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
    return TokenDocs(terms, surface, tagged)


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


@dataclass(frozen=True)
class Candidate:
    """A possible theme name: its key (content lemmas), form as most often written (lower
    case), `cover` (geometric mean of the share of the theme's documents that write it and
    the share holding all its content words: words that co-occur but are rarely written
    together, "positive the app", cover little) and `purity` (the second share over its sum
    across themes: 1 when no other theme has these words)."""

    key: tuple[str, ...]
    form: str
    cover: float
    purity: float
    written: str = ""  # the form as most often written (its capitals)


def lemma_map(tokens: TokenDocs) -> dict[str, str]:
    """Per word as written (lower case), its most frequent lemma in the token stream."""
    seen: dict[str, Counter] = defaultdict(Counter)
    for terms, surface in zip(tokens.terms, tokens.surface, strict=True):
        for lemma, word in zip(terms.split(), surface.split(), strict=False):
            if lemma != BREAK:
                seen[word][lemma] += 1
    return {w: c.most_common(1)[0][0] for w, c in seen.items()}


def _inverted(bags: Sequence[set]) -> dict[str, set[int]]:
    index: dict[str, set[int]] = defaultdict(set)
    for i, bag in enumerate(bags):
        for w in bag:
            index[w].add(i)
    return index


def _support(key: Sequence[str], index: dict[str, set[int]]) -> int:
    words = sorted(set(key), key=lambda w: len(index.get(w, ())))
    if not words:
        return 0
    docs = set(index.get(words[0], ()))
    for w in words[1:]:
        docs &= index.get(w, set())
    return len(docs)


def shortlist(
    themes: dict[int, ThemePhrases], n_candidates: int, max_chars: int
) -> dict[int, list[Candidate]]:
    """Per theme, its candidates written in at least `MIN_WRITTEN` documents (1 % of a large
    theme, at most 5), best `n_candidates` phrases and a third as many single words by
    cover x purity (a c-TF-IDF-like contrast between themes)."""
    index = {t: _inverted(th.bags) for t, th in themes.items()}
    out = {}
    for t, th in themes.items():
        floor = min(5, max(MIN_WRITTEN, math.ceil(0.01 * th.n_docs)))
        cands = []
        for key, written in th.doc_freq.items():
            form = th.forms[key].most_common(1)[0][0]
            if written < floor or len(form) > max_chars:
                continue
            covers = {u: _support(key, index[u]) / max(themes[u].n_docs, 1) for u in themes}
            share = written / max(th.n_docs, 1)
            bag = max(covers[t], share)
            purity = bag / max(sum(covers.values()) - covers[t] + bag, 1e-12)
            shown = th.written[form].most_common(1)[0][0] if th.written.get(form) else ""
            cands.append(Candidate(key, form, float(np.sqrt(share * bag)), purity, shown))
        cands.sort(key=lambda c: (-c.cover * c.purity, c.form))
        phrases = [c for c in cands if " " in c.form][:n_candidates]
        words = [c for c in cands if " " not in c.form][: max(1, n_candidates // 3)]
        out[t] = phrases + words
    return out


def shape_bonus(c: Candidate) -> float:
    """What a name's shape adds: more content words say more; a bare word says little."""
    words = min(sum(w != "not" for w in c.key), 4)
    return WORD_BONUS * (words - 1) - SINGLE_WORD_PENALTY * (" " not in c.form)


def frequency_scores(cands: Sequence[Candidate]) -> list[float]:
    """Without an encoder: how typical (cover) and how specific (purity) a name is."""
    return [float(np.sqrt(c.cover) * c.purity + shape_bonus(c)) for c in cands]


def embedding_scores(
    cands: dict[int, list[Candidate]],
    centroids: dict[int, np.ndarray],
    encode: Callable[[list[str]], np.ndarray],
    contrast: float,
) -> dict[int, list[float]]:
    """Per candidate: cosine to its theme's centroid, plus `contrast` x its margin over the
    nearest other theme's centroid, plus `COVER_WEIGHT` x sqrt(cover), plus `shape_bonus`."""
    forms = sorted({c.form for cs in cands.values() for c in cs})
    if not forms:
        return {t: [] for t in cands}
    vectors = np.asarray(encode(forms), dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    ids = list(centroids)
    sims = vectors @ np.stack([centroids[t] for t in ids]).T
    row = {f: i for i, f in enumerate(forms)}
    out = {}
    for col, t in enumerate(ids):
        scores = []
        for c in cands[t]:
            s = sims[row[c.form]]
            other = np.delete(s, col).max() if len(ids) > 1 else 0.0
            score = s[col] + contrast * (s[col] - other) + COVER_WEIGHT * np.sqrt(c.cover)
            scores.append(float(score + shape_bonus(c)))
        out[t] = scores
    return out


def distinct_names(
    cands: dict[int, list[Candidate]],
    scores: dict[int, list[float]],
    cases: dict[int, dict[str, str]],
    quotes: Mapping[int, Sequence[str]] | None = None,
) -> dict[int, str]:
    """One name per theme, no two alike: the best (theme, candidate) pairs are taken first,
    a candidate whose words another theme already has ("staff friendly" after "friendly
    staff") is skipped. A theme left without one is named by the first of its `quotes` (its
    central statements, `quoted_names`) no other theme has, else "(no label)", numbered if
    needed."""
    pool = sorted(
        ((s, t, c) for t in cands for s, c in zip(scores[t], cands[t], strict=True)),
        key=lambda x: (-x[0], x[1], x[2].form),
    )
    names: dict[int, str] = {}
    used: set = set()
    for _, t, c in pool:
        sign = frozenset(c.key)
        if t in names or sign in used or c.form in used:
            continue
        names[t] = sentence_case(c.form, cases.get(t, {}), c.written)
        used.update((sign, c.form))
    for t in (t for t in cands if t not in names):
        quote = next((q for q in (quotes or {}).get(t, ()) if q not in used), None)
        if quote:
            names[t] = quote
            used.add(quote)
    missing = [t for t in cands if t not in names]
    for t in missing:
        names[t] = "(no label)" if len(missing) == 1 else f"(no label {t})"
    return {t: names[t] for t in cands}


def phrase_labels(
    docs: Sequence[str],
    tokens: TokenDocs,
    assignments: np.ndarray,
    embeddings: np.ndarray,
    encode: Callable[[list[str]], np.ndarray] | None,
    topic_ids: Sequence[int],
    *,
    n_candidates: int = 30,
    diversity: float = CONTRAST,
    max_chars: int = 40,
    max_docs: int = NAME_DOCS,
    exclude: Iterable[str] = (),
) -> dict[int, str]:
    """A short name per topic, a phrase its documents wrote ("Long wait for an ambulance").

    `docs` are the texts as written (redacted; any unit: comments, sentences), `tokens` their
    token stream (lemmas group "waited"/"waiting"), `encode` the sentence encoder already
    loaded. Candidates come from each topic's `max_docs` most central documents; with
    `encode` they rank by closeness to the topic's centroid, `diversity` x the margin over
    other topics and cover; without it by cover x purity. Names are distinct across topics
    and never hold a masked term ([SERVICE], @handle, a URL) or one of the `exclude` terms.
    """
    assignments = np.asarray(assignments)
    ids = [int(t) for t in topic_ids]
    members, centroids = _central_members(assignments, embeddings, ids, max_docs)
    lemma_of = lemma_map(tokens)
    masked = exclusion(exclude)
    themes = {t: theme_phrases(docs, members[t], lemma_of, masked, tokens.tagged) for t in ids}
    cands = shortlist(themes, n_candidates, max_chars)
    if encode is None:
        scores = {t: frequency_scores(cands[t]) for t in ids}
    else:
        scores = embedding_scores(cands, centroids, encode, diversity)
    cases = {t: word_cases(docs, members[t]) for t in ids}
    quotes = {t: quoted_names(docs, members[t][:QUOTE_DOCS], masked, max_chars) for t in ids}
    return distinct_names(cands, scores, cases, quotes)


def _central_members(
    assignments: np.ndarray, embeddings: np.ndarray, ids: Sequence[int], max_docs: int
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per topic: its `max_docs` members closest to its centroid, and the unit centroid."""
    members, centroids = {}, {}
    for t in ids:
        idx = np.flatnonzero(assignments == t)
        centroid = embeddings[idx].mean(axis=0).astype(np.float64) if len(idx) else None
        if centroid is None:
            centroid = np.zeros(embeddings.shape[1])
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        members[t] = idx[np.argsort(-(embeddings[idx] @ centroid), kind="stable")[:max_docs]]
        centroids[t] = centroid
    return members, centroids
