"""Person names without a cue: a first-name / surname gazetteer checks spaCy's PERSON spans and
finds the names the small NER model misses.

NER alone redacts capitalised words ("Felt safe", "Covid", "#Trump", "Heathrow") and misses
names it has not seen ("Gurpreet was bedridden", "thought kofi had died"). Here a PERSON span is
kept only when one of its words is a known name (names-dataset, see data/README.md) and it is
not a hashtag, a handle, a reference code or a place/organisation ("Rose Hill Hospital",
"Emirates crew"). A known first name that is not an ordinary English word is a name wherever
it stands, in any case; a known surname or an ordinary word that is also a name ("Grace",
"Mark") needs NER's PERSON or a name beside it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from spacy.lang.en.stop_words import STOP_WORDS

DATA = resources.files("nlp.ingest") / "data"
# A first name ranked this high in some country is a name even when it is an English word.
COMMON_RANK = 200
# A first name ranked this high is a name though the word lists hold it ("john", "mary").
TOP_RANK = 30
# A lower-case word with no cue is taken for a name only when this common a first name.
LOWER_RANK = 1000
# A capitalised headword of the English word lists (WordNet holds "Lakshmi") that NER calls a
# person is one when it is a name ranked this high.
NER_RANK = 300

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
# A place or organisation, not a person, when the capitalised words are followed by one of these.
_ORG_NOUN = re.compile(
    r"\s+(?i:hospital|ward|unit|house|centre|center|clinic|surgery|practice|road|street|lane|"
    r"avenue|crew|crews|airlines?|airways|app|team|trust|council|school|college|university|"
    r"park|court|close|way|group|ltd|limited|plc|inc|bank|pharmacy|medical|health|building|"
    r"wing|suite|lodge|hall|station|bay|ambulance|services?)\b"
)
# Reference codes, not people: "Confirmation # JXKQ", "booking ref: ABCD".
_REFERENCE_BEFORE = re.compile(
    r"(?i:confirmation|reference|ref|booking|order|case|ticket|claim|account|tracking)\.?"
    r"\s*(?i:#|no\.?|number|code|id)?\s*[:#]?\s*$"
)


# English words that are also common given names: a capitalised one is a name in context.
WORD_NAMES = frozenset(
    """grace rose mark bill dawn joy hope faith amber holly ivy ruby jack will pat sue rob
    victor frank carol jean june april may summer crystal pearl olive daisy lily iris violet
    heather jasmine poppy robin sky hunter chase harry peter sunny angel precious blessing
    patience prudence charity honor rich guy don art max ray gene terry wade bob dean drew
    gray hazel ginger ashley brook rocky rusty sandy misty autumn dusty penny hollie ben
    jay kit nick pip sam tom bonnie jewel goldie destiny ebony neve lois""".split()
)


@dataclass(frozen=True)
class Gazetteer:
    """Lower-cased first names and surnames with their best rank in any country."""

    first: dict[str, int]
    last: dict[str, int]


@functools.lru_cache(maxsize=2)
def load_gazetteer(directory: Traversable = DATA) -> Gazetteer:
    """The shipped name lists (nlp/ingest/data/{first,last}_names.tsv)."""

    def read(name: str) -> dict[str, int]:
        table = {}
        for line in (directory / name).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                word, _, rank = line.partition("\t")
                if word not in STOP_WORDS:
                    table[word] = int(rank)
        return table

    return Gazetteer(read("first_names.tsv"), read("last_names.tsv"))


class NameTest:
    """Which words are names, given the gazetteer and a test for ordinary English words."""

    def __init__(
        self, gazetteer: Gazetteer, is_ordinary: Callable[[str], bool] | None, not_names=()
    ):
        self.gaz = gazetteer
        self.is_ordinary = is_ordinary or (lambda w: False)
        self.is_form = getattr(is_ordinary, "is_form", self.is_ordinary)
        self.not_names = frozenset(not_names)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one NameTest per pipeline
    def first_name(self, word: str) -> bool:
        """A first name that is not an ordinary word ("Siobhan", "Gurpreet", "tomasz"); a
        hyphenated one when every part is a name ("Jean-Luc", "Anne-Marie")."""
        w = word.lower()
        if self._ordinary(w):
            return False
        if w in self.gaz.first:
            return True
        parts = w.split("-")  # not "Jan-June"
        known = [p in self.gaz.first or p in self.gaz.last for p in parts]
        return len(parts) > 1 and all(known) and not any(p in self.not_names for p in parts)

    def common_first_name(self, word: str) -> bool:
        """A first name common somewhere: no English word, or one of the English words that
        are common given names ("Grace", "bill"; not "Ring" or "Joke", which the lists hold)."""
        w = word.lower()
        if w in self.not_names or self.gaz.first.get(w, 10**9) > COMMON_RANK:
            return False
        if w in WORD_NAMES or not self._ordinary(w):
            return True
        return self.gaz.first[w] <= TOP_RANK and not self.is_form(w)  # "John" (WordNet: toilet)

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def any_name(self, word: str) -> bool:
        """Any known name, for words with a cue or NER's PERSON: a first or last name that is
        no English word, or a common first name that is no inflected form."""
        w = word.lower()
        if w in self.not_names or w in STOP_WORDS or len(w) < 2:
            return False
        if self.gaz.first.get(w, 10**9) <= COMMON_RANK and not self.is_form(w):
            return True  # in context: "the carer Graham" (WordNet: graham flour), "Grace"
        return (w in self.gaz.first or w in self.gaz.last) and not self._ordinary(w)

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def lower_name(self, word: str) -> bool:
        """A lower-case word taken for a name with no cue: a common first name, not a word."""
        return (
            len(word) >= 3
            and self.gaz.first.get(word, 10**9) <= LOWER_RANK
            and not self._ordinary(word)
        )

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def surname(self, word: str) -> bool:
        """A word that continues a name: a surname, or a capitalised word that is no word."""
        w = word.lower()
        if w in self.not_names or w in STOP_WORDS:
            return False
        if word[:1].isupper():
            return w in self.gaz.last or w in self.gaz.first or not self._ordinary(w)
        return (w in self.gaz.last or w in self.gaz.first) and not self._ordinary(w)

    def ner_name(self, word: str) -> bool:
        """Enough, with NER's PERSON label, for a name: any known name, or a well-ranked
        name that is no inflected form ("Lakshmi", not "Given")."""
        if self.any_name(word):
            return True
        w = word.lower()
        rank = min(self.gaz.first.get(w, 10**9), self.gaz.last.get(w, 10**9))
        return rank <= NER_RANK and w not in self.not_names and not self.is_form(w)

    def lower_surname(self, word: str, follows: str) -> bool:
        """A lower-case surname after a name: a known one, or one that is also a word
        ("marsh") or no known word ("higginbottom") when a function word or punctuation
        follows."""
        if self.surname(word):
            return True
        w = word.lower()
        ok = w not in self.not_names and w not in STOP_WORDS
        known = w in self.gaz.last or not self.is_ordinary(w)  # "macleod", "higginbottom"
        return ok and known and (follows == "" or follows in STOP_WORDS or not follows[0].isalnum())

    def unknown(self, word: str) -> bool:
        """A word neither the English word lists nor the name lists hold."""
        w = word.lower()
        known = w in self.gaz.first or w in self.gaz.last or w in self.not_names
        return not known and w not in STOP_WORDS and not self.is_ordinary(w)

    def listed(self, word: str) -> bool:
        """In the name lists at all (many English words are: "Parsons", "Grace")."""
        w = word.lower()
        return (w in self.gaz.first or w in self.gaz.last) and w not in self.not_names

    def strict_surname(self, word: str) -> bool:
        """A known surname that is no English word ("Ramanathan", not "Baker")."""
        w = word.lower()
        return w in self.gaz.last and not self._ordinary(w)

    def _ordinary(self, w: str) -> bool:
        return w in self.not_names or w in STOP_WORDS or self.is_ordinary(w)


def not_a_person(text: str, start: int, end: int) -> bool:
    """A hashtag, a handle, a reference code, or a place/organisation name."""
    before = text[max(0, start - 40) : start]
    if before.endswith(("#", "@")) or _REFERENCE_BEFORE.search(before):
        return True
    last = text.rfind(" ", start, end)
    return bool(_ORG_NOUN.match(text, end) or (last > 0 and _ORG_NOUN.fullmatch(text, last, end)))


def ner_span_is_name(text: str, start: int, end: int, names: NameTest) -> bool:
    """A spaCy PERSON span worth redacting: a known name among its words, not a hashtag,
    reference or organisation, not all capitals ("NHS", "COVID")."""
    span = text[start:end]
    if "[" in span or not_a_person(text, start, end) or span.isupper():
        return False
    words = _WORD.findall(span)
    if any(names.ner_name(w) for w in words):
        return True
    # "Angharad Parsons": a word no list knows beside a known name
    known = [w.lower() in names.gaz.first or w.lower() in names.gaz.last for w in words]
    unknown = [
        not names.is_ordinary(w.lower()) and not k for w, k in zip(words, known, strict=True)
    ]
    return len(words) > 1 and any(known) and any(unknown)


_CAPITALISED = re.compile(r"(?<![\w#@'’.-])[A-Z][a-z\u00c0-\u024f][\w'’-]*")
_LOWER = re.compile(r"(?<![\w#@'’./-])[a-z\u00df-\u024f][\w'’-]{2,}(?![\w@])")
_NEXT = re.compile(r"[ \t]+([^\W\d_][\w'’-]*)")


def gazetteer_spans(text: str, names: NameTest, blocked: list[tuple[int, int]]) -> list:
    """(start, end) of names found by the gazetteer alone, with the surname after them: a
    capitalised first name that is no English word; a capitalised common first name in mid
    sentence ("tests on Joy.") or before a known surname ("Holly Ramanathan"); a common
    lower-case first name before a function word ("thought kofi had died"). Not inside
    `blocked` (NER's place, organisation and product spans)."""
    spans = []
    tests = (
        (_CAPITALISED, lambda m: names.first_name(_stem(m)) or _capitalised_name(m, names)),
        (_LOWER, lambda m: names.lower_name(m.group()) and _subject_like(m, names)),
    )
    for pattern, test in tests:
        for m in pattern.finditer(text):
            word = m.group()
            if not test(m) or any(s <= m.start() < e for s, e in blocked):
                continue
            end = m.end()
            while (nxt := _NEXT.match(text, end)) and _continues(nxt, names):
                if _ORG_NOUN.match(text, end) or (word[:1].islower() and nxt[1][:1].isupper()):
                    break
                end = nxt.end()
            if not not_a_person(text, m.start(), end):
                spans.append((m.start(), end))
    return spans


_FOLLOWS = frozenset(
    """was is has had and said says told who did does came went helped made gave took rang
    called explained kept got will would could can from at on in with to for but or as
    when if because died passed looked sorted""".split()
)


def _capitalised_name(m: re.Match, names: NameTest) -> bool:
    """A common first name in mid sentence after a lower-case word, or before a surname."""
    word, text = m.group(), m.string
    nxt = _NEXT.match(text, m.end())
    w = word.lower()
    if nxt and nxt.group(1)[:1].isupper() and w in names.gaz.first and w not in names.not_names:
        if names.strict_surname(nxt.group(1)) or names.first_name(nxt.group(1)):
            return True  # "Holly Ramanathan", "Marguerite Okonkwo-Velasquez"
        if names.any_name(word) and names.unknown(nxt.group(1)):
            return True  # "Rose Higginbottom": a name, then a word no list knows
    if not names.common_first_name(_stem(m)):
        return False
    if nxt and nxt.group(1) in _VERBS:
        return True  # "Amber explained", "Blessing was calm"
    before = text[max(0, m.start() - 30) : m.start()]
    prev = re.search(r"([\w'’]+)[ \t]+$", before)
    return bool(prev and prev.group(1).islower() and not (nxt and nxt.group(1)[:1].isupper()))


_VERBS = frozenset(
    """was is has had said says told did came went helped made gave took rang called explained
    kept got listened phoned arrived sorted looked""".split()
)


def _subject_like(m: re.Match, names: NameTest) -> bool:
    """A lower-case name with no cue stands before a verb or function word, not after a digit."""
    nxt = re.compile(r"\s*([,.!?;]|[\w'’]+)").match(m.string, m.end())
    prev = re.search(r"(\S+)\s+$", m.string[max(0, m.start() - 20) : m.start()])
    if prev and prev.group(1)[-1:].isdigit():
        return False
    if not nxt:
        return True
    word = nxt.group(1)
    w = word.lower()  # "oksana I spoke to", "hayley listened"
    follows = w in _FOLLOWS or w in _VERBS or w in STOP_WORDS
    return follows or not word[0].isalnum() or names.surname(word)


_FOLLOWER = re.compile(r"\s*([\w'’]+|[^\w\s]|$)")


def _continues(nxt: re.Match, names: NameTest) -> bool:
    """The next word is the surname of the name before it."""
    word = nxt.group(1)
    if word[:1].isupper():
        return names.surname(word)
    return names.lower_surname(word, _FOLLOWER.match(nxt.string, nxt.end()).group(1))


def _stem(m: re.Match) -> str:
    """The word without a possessive ("Elif's")."""
    return re.sub(r"['’]s$", "", m.group())


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined, sorted."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def may_hold_a_name(text: str, names: NameTest) -> bool:
    """Whether NER is worth running: some capitalised word is in the name lists."""
    return any(names.listed(m.group()) for m in _CAPITALISED.finditer(text))
