"""Candidate theme names: the phrases people wrote in a theme's texts, counted per theme.

A candidate is a run of 1-6 words inside one clause (no stop, comma, bracket or masked term
such as `[SERVICE]`, `@handle` or a URL in between) that starts with a content word or a
negation ("not", "no", "never", "didn't") and ends with a content word: "long wait for an
ambulance", "phone line not answered", "friendly and helpful staff". Variants count as one
candidate: its key is the sequence of its content lemmas ("waited for hours" = "waiting hours"),
shown as most often written. With the tags of the spaCy token stream a candidate also ends
in a noun, adjective, number or past / -ing verb, holds no personal pronoun and never runs
over a missing full stop ("positive the app"); without them only the word lists apply.
Works on any text unit (comments, sentences, clauses).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nlp.themes.vocabulary import NAME_FUNCTION_WORDS, NAME_OPENERS, NEGATIONS, stem

if TYPE_CHECKING:
    from spacy.tokens import Doc

# A word of a clause: as written, its Penn tag ("" without a tagger), a space after it.
Token = tuple[str, str, bool]

MAX_WORDS = 6  # longest candidate, in words
MAX_GAP = 2  # function words in a row inside a candidate ("wait for an ambulance")
# Masked terms and markup never enter a name: placeholders ([SERVICE], [ORG], [PERSON],
# [Name redacted]), handles, URLs and e-mail addresses end the clause they sit in.
MASKED = re.compile(r"\[[^\]\n]{0,40}\]|\{[A-Z_]+\}|https?://\S+|www\.\S+|\S+@\S+|@\w+", re.I)
_PIECE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&-]*|[^\sA-Za-z0-9]+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&-]*")
_LETTERS = re.compile(r"[A-Za-z]{2}")
_JUNK = re.compile(r"(.)\1{2,}", re.I)  # "xxxx", "zzz": redaction marks, not words
# Words a negation never directly precedes in a name ("Not with the ambulance", "No your ...").
_NOT_AFTER_NEGATION = frozenset(
    "a an the my your our their his her its this that these those with of for to in on at "
    "from by about as and or but all it i you we they he she everything everyone anything "
    "anyone something someone".split()
)


# With a tagger, a name ends in a noun, adjective, number or a past / -ing verb form ("Phone
# line not answered", "Ambulance arrived"), never a bare verb ("Schools should provide").
END_TAGS = frozenset("NN NNS NNP NNPS JJ JJR JJS CD VBN VBD VBG FW".split())
# Determiners follow a verb, preposition or conjunction inside a name ("Wait for the
# ambulance"), never a noun or adjective: "positive the app" runs over a missing full stop.
_DET_TAGS = frozenset("DT PDT PRP$ WDT".split())
_BEFORE_DET = ("VB", "IN", "TO", "RP", "CC")


@dataclass
class ThemePhrases:
    """One theme's candidates: key -> documents it is written in, and its written forms."""

    n_docs: int
    doc_freq: Counter = field(default_factory=Counter)
    forms: dict = field(default_factory=lambda: defaultdict(Counter))
    written: dict = field(default_factory=lambda: defaultdict(Counter))  # lower form -> as written
    bags: list = field(default_factory=list)  # per document, the set of its content keys


def exclusion(terms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for `terms` (service or organisation names), whole words, any case."""
    words = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.I)


def tagged_clauses(doc: Doc) -> list[list[Token]]:
    """A tagged spaCy `doc` as clauses of tokens; clitics rejoin their word ("did" + "n't"
    is the negation "didn't", "WKU" + "'s" is "WKU's"), "follow-up" is one word; punctuation,
    spaces, URLs, e-mail addresses, @handles, #hashtags and placeholders end a clause."""
    out: list[list[Token]] = []
    run: list[Token] = []
    glue = False
    for tok in doc:
        text, space = tok.text.replace("’", "'"), bool(tok.whitespace_)
        low = text.lower()
        if run and (glue or (not run[-1][2] and (low.startswith("'") or low == "n't"))):
            tag = "RB" if low == "n't" else (tok.tag_ if glue else run[-1][1])
            run[-1], glue = (run[-1][0] + text, tag, space), False
        elif text == "-" and run and not run[-1][2] and not space:
            run[-1], glue = (run[-1][0] + "-", run[-1][1], False), True
        elif _breaks(tok, text):
            if run:
                out.append(run)
            run, glue = [], False
        else:
            run.append((text, tok.tag_, space))
    if run:
        out.append(run)
    return out


def _breaks(tok, text: str) -> bool:
    return (
        tok.is_space
        or tok.is_punct
        or tok.like_url
        or tok.like_email
        or text[:1] in "@#["
        or not any(ch.isalnum() for ch in text)
        or bool(MASKED.fullmatch(text) or _JUNK.fullmatch(text))
    )


def clauses(text: str, exclude: re.Pattern[str] | None = None) -> list[list[str]]:
    """`text` as runs of words between punctuation and masked terms (words as written);
    `exclude` matches act as masked terms too."""
    out, run = [], []
    text = MASKED.sub(" . ", text)
    if exclude is not None:
        text = exclude.sub(" . ", text)
    for piece in _PIECE.findall(text):
        if _WORD.fullmatch(piece) and not _JUNK.fullmatch(piece):
            run.append(piece.replace("’", "'").strip("'-"))
        elif piece not in ("'", "&", "-"):
            if run:
                out.append(run)
            run = []
    if run:
        out.append(run)
    return [[w for w in c if w] for c in out if any(c)]


def is_negation(word: str) -> bool:
    low = word.lower()
    return low in NEGATIONS or low.endswith("n't")


def is_content(word: str) -> bool:
    """A word that can carry a name: not a function word ("it's" = "its"), not a negation,
    2+ characters."""
    low = word.lower()
    bare = low.replace("'", "")
    return len(low) > 1 and bare not in NAME_FUNCTION_WORDS and not is_negation(low)


def normaliser(lemma_of: Mapping[str, str]):
    """word -> key word: its lemma (when the token stream had it), stemmed; negations -> not."""

    seen: dict[str, str] = {}

    def norm(word: str) -> str:
        low = word.lower()
        if low not in seen:
            seen[low] = "not" if is_negation(low) else stem(lemma_of.get(low, low))
        return seen[low]

    return norm


def spans(clause: Sequence[Token], norm) -> list[tuple[tuple[str, ...], str, str]]:
    """Every candidate in one clause: (key, form lower-cased, form as written)."""
    low = [t[0].lower() for t in clause]
    content = [is_content(w) for w in low]
    keyed = [content[k] or is_negation(w) for k, w in enumerate(low)]
    norms = [norm(w) if keyed[k] else "" for k, w in enumerate(low)]
    out = []
    for i in range(len(low)):
        opener = (keyed[i] and not content[i]) or low[i] in NAME_OPENERS
        if not (content[i] or opener) or (not opener and clause[i][1] in ("IN", "CC", "TO")):
            continue
        if opener and i + 1 < len(low) and low[i + 1] in _NOT_AFTER_NEGATION:
            continue
        gap = 0
        for j in range(i, min(i + MAX_WORDS, len(low))):
            gap = 0 if keyed[j] else gap + 1
            if gap > MAX_GAP or not _inner_ok(clause, i, j):
                break
            if content[j] and _end_ok(clause[j][1]):
                key = tuple(norms[k] for k in range(i, j + 1) if keyed[k])
                form = "".join(clause[k][0] + " " * clause[k][2] for k in range(i, j))
                form += clause[j][0]
                out.append((key, form.lower(), form))
    return out


def _end_ok(tag: str) -> bool:
    return not tag or tag in END_TAGS


def _inner_ok(clause: Sequence[Token], i: int, j: int) -> bool:
    """Whether word `j` may follow words i..j-1 in a name, by their tags (always without):
    no personal pronoun ("told me"), determiners only after a verb, preposition or
    conjunction, "and" / "or" between words of one kind ("friendly and helpful")."""
    tag = clause[j][1]
    if j == i or not tag:
        return True
    before = clause[j - 1][1]
    if tag == "PRP" or (tag in _DET_TAGS and not before.startswith(_BEFORE_DET)):
        return False
    if before == "CC" and j - 2 >= i:
        return clause[j - 2][1][:2] == tag[:2]
    return True


def as_tokens(words: Sequence[str]) -> list[Token]:
    """Untagged words as tokens (the regex path)."""
    return [(w, "", True) for w in words]


def content_or_negation(word: str) -> bool:
    return is_content(word) or is_negation(word)


def doc_clauses(
    text: str, tagged: Sequence[Sequence[Token]] | None, exclude: re.Pattern[str] | None
) -> list[list[Token]]:
    """A document's clauses: its tagged ones when the token stream has them, else by regex;
    `exclude` matches end a clause either way."""
    if tagged is None:
        return [as_tokens(c) for c in clauses(text, exclude)]
    if exclude is None:
        return [list(c) for c in tagged]
    out = []
    for clause in tagged:
        run: list[Token] = []
        for tok in clause:
            if exclude.fullmatch(tok[0]) or exclude.fullmatch(tok[0].split("'")[0]):
                out.append(run)
                run = []
            else:
                run.append(tok)
        out.append(run)
    return [c for c in out if c]


def theme_phrases(
    docs: Sequence[str],
    members: Sequence[int],
    lemma_of: Mapping[str, str],
    exclude: re.Pattern[str] | None = None,
    tagged: Sequence[Sequence[Sequence[Token]]] | None = None,
) -> ThemePhrases:
    """Candidates of one theme: in how many of its `members` each key is written, and how.
    `tagged` (per document, `tagged_clauses`) lets tags shape the candidates."""
    norm = normaliser(lemma_of)
    found = ThemePhrases(n_docs=len(members))
    for i in members:
        seen: set = set()
        bag: set = set()
        for clause in doc_clauses(docs[i], None if tagged is None else tagged[i], exclude):
            bag.update(norm(t[0]) for t in clause if content_or_negation(t[0]))
            for key, form, written in spans(clause, norm):
                if len(set(key)) == len(key):  # "phone phone", "wait waiting": not names
                    found.forms[key][form] += 1
                    found.written[form][written] += 1
                    seen.add(key)
        found.doc_freq.update(seen)
        found.bags.append(bag)
    return found


def word_cases(docs: Sequence[str], members: Sequence[int]) -> dict[str, str]:
    """Per lower-cased word, how to write it in a sentence-case name: acronyms ("GP", "A&E")
    and names ("Bowling Green") keep capitals when most mid-clause uses have them."""
    upper: Counter = Counter()
    title: Counter = Counter()
    total: Counter = Counter()
    for i in members:
        for clause in clauses(docs[i]):
            for w in clause[1:]:
                w = w.split("'")[0]  # "WKU's" is written as "WKU"
                low = w.lower()
                total[low] += 1
                upper[low] += w.isupper() and len(w) > 1
                title[low] += w[:1].isupper() and not w.isupper()
    cases = {}
    for low, n in total.items():
        if 2 * upper[low] > n:
            cases[low] = low.upper()
        elif 2 * title[low] > n:
            cases[low] = low.capitalize()
    cases["i"] = "I"
    return cases


def _cased_base(word: str, cases: Mapping[str, str]) -> str:
    base, sep, rest = word.partition("'")
    return cases.get(base, base) + sep + rest if sep else word


def sentence_case(form: str, cases: Mapping[str, str], written: str = "") -> str:
    """`form` (lower-cased words) in sentence case, acronyms and names kept: past the first
    word as in `written` (the form as most often written, "Warren County") unless that is
    all capitals, else by `cases` (`word_cases`)."""
    words = [cases.get(w) or _cased_base(w, cases) for w in form.split()]
    shown = written.split()
    if len(shown) == len(words) and not written.isupper():
        words[1:] = shown[1:]
        first = shown[0]
        if any(c.isupper() for c in first[1:]) and not first.isupper():  # "FantasticBeasts"
            words[0] = first
    words = [re.sub(r"\bi'", "I'", w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def quoted_names(
    docs: Sequence[str], members: Sequence[int], masked: re.Pattern[str] | None, max_chars: int
) -> list[str]:
    """A theme's central statements as names, in quotes, for a theme whose statements hold no
    phrase worth a name ("Can't think of anything", "None"): each cut to `max_chars` at a word,
    without its closing punctuation; one holding a placeholder, @handle, URL or masked term, or
    no word of two letters, is skipped."""
    out = []
    for i in members:
        text = " ".join(str(docs[i]).split()).strip(" .,;:!?-\"'")
        if MASKED.search(text) or "#" in text or not _LETTERS.search(text):
            continue
        if masked is not None and masked.search(text):
            continue
        if len(text) > max_chars:
            text = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
        quote = f'"{text[:1].upper()}{text[1:]}"'
        if quote not in out:
            out.append(quote)
    return out
