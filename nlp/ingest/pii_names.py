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

from nlp.ingest.pii_words import FOLLOWS as _FOLLOWS
from nlp.ingest.pii_words import PARTICLES, WORD_NAMES
from nlp.ingest.pii_words import VERBS as _VERBS

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
# A surname ranked this high continues a name just found though it is an English word
# ("harpreet baker made", "kofi begum"): WordNet also lists "yamamoto", "smith", "wood".
SURNAME_RANK = 50
_POSSESSIVE = re.compile(r"['’]s$")
_SURNAME_PREFIX = re.compile(r"^[od]['’](?=\w{3})")

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

    @functools.lru_cache(maxsize=65536)  # noqa: B019
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
        """A word that continues a name: a surname, or a capitalised word that is no word.
        Possessives, "O'"/"D'" prefixes and hyphenated names count by their parts
        ("macleod's", "o'sullivan", "evans-hughes")."""
        w = _SURNAME_PREFIX.sub("", _POSSESSIVE.sub("", word.lower()))
        if w in self.not_names or w in STOP_WORDS:
            return False
        if word[:1].isupper():
            return w in self.gaz.last or w in self.gaz.first or not self._ordinary(w)
        parts = w.split("-")
        if len(parts) > 1:  # "evans-hughes", not "well-being"
            surnames = all(p in self.gaz.last for p in parts)
            return surnames or (
                all(map(self.listed, parts)) and not any(map(self._ordinary, parts))
            )
        return (w in self.gaz.last or w in self.gaz.first) and not self._ordinary(w)

    def cued_name(self, word: str) -> bool:
        """A capitalised word after a cue or role: any known name, or a first name ranked
        `NER_RANK` or better though it is an English word or an inflected form ("a health
        visitor called Blessing", "the carer called Marguerite")."""
        w = word.lower()
        rank = self.gaz.first.get(w, 10**9)
        ranked = rank <= (TOP_RANK if self.is_form(w) else NER_RANK)  # not "Given"
        ok = word[:1].isupper() and w not in self.not_names and w not in STOP_WORDS
        return self.any_name(word) or (ok and ranked)

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
        w = _SURNAME_PREFIX.sub("", _POSSESSIVE.sub("", word.lower()))
        ok = w not in self.not_names and w not in STOP_WORDS
        known = w in self.gaz.last or not self.is_ordinary(w)  # "macleod", "higginbottom"
        f = follows.lower()  # "clive macleod I was", "joaquín moss took over"
        after = f == "" or f in STOP_WORDS or f in _FOLLOWS or f in _VERBS or not f[0].isalnum()
        return ok and known and (after or bool(_POSSESSIVE.search(word)))  # "macleod's dnar"

    def after_name(self, word: str, follows: str) -> bool:
        """A lower-case word that continues a name just found: a surname (`lower_surname`),
        or a common surname that is an English word but no inflected form, verb or function
        word ("maureen yamamoto", "harpreet baker made", not "deepak said")."""
        if self.lower_surname(word, follows):
            return True
        w = word.lower()
        common = self.gaz.last.get(w, 10**9) <= SURNAME_RANK
        usual = w in self.not_names or w in STOP_WORDS or w in _FOLLOWS or w in _VERBS
        usual = usual or w in PARTICLES  # French "que le", not a surname
        return common and not usual and not self.is_form(w)

    @functools.lru_cache(maxsize=65536)  # noqa: B019
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
    sentence ("tests on Joy.") or before a known surname ("Holly Ramanathan"); a word no list
    knows before a surname ("Babajide Van Dijk"); a common lower-case first name before a
    function word or a surname ("thought kofi had died", "bill akhtar"). Not inside
    `blocked` (NER's place, organisation and product spans)."""
    spans = []
    tests = (
        (_CAPITALISED, lambda m: names.first_name(_stem(m)) or _capitalised_name(m, names)),
        (_LOWER, lambda m: _lower_name(m, names)),
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


def _capitalised_name(m: re.Match, names: NameTest) -> bool:
    """A common first name in mid sentence after a lower-case word, or before a surname; a
    word no list knows before a surname that is no English word."""
    word, text = m.group(), m.string
    nxt = _NEXT.match(text, m.end())
    w = word.lower()
    last = _past_particles(text, m.end())
    if last and last[1][:1].isupper() and names.unknown(word) and names.strict_surname(last[1]):
        if _verb_after(last):
            return True  # "Babajide Van Dijk was", "Wanjiru Lindqvist helped"
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


def _lower_name(m: re.Match, names: NameTest) -> bool:
    """A lower-case word with no cue that is a name: a common first name that is no English
    word before a verb, function word or surname ("kofi had", "deepak oyelaran has"); a
    common first name that is also a word ("bill", "amber") or a word no list knows
    ("wanjiru") before a surname that is no English word ("bill akhtar", "wanjiru
    lindqvist")."""
    word = m.group()
    if names.lower_name(word) and _subject_like(m, names):
        return True
    unknown = names.unknown(word)
    if not (unknown or names.common_first_name(word)):
        return False
    last = _past_particles(m.string, m.end())
    if not (last and last[1].islower() and names.strict_surname(last[1])):
        return False
    if unknown:  # not a product ("login to aarogya setu,") or French ("tu")
        return _verb_after(last)
    follows = _FOLLOWER.match(m.string, last.end()).group(1)  # a common first name here
    return follows in STOP_WORDS or follows in _FOLLOWS or not follows[:1].isalnum()


def _verb_after(word: re.Match) -> bool:
    """The word after `word` is a verb a person's name stands before."""
    return _FOLLOWER.match(word.string, word.end()).group(1).lower() in _VERBS


def _past_particles(text: str, end: int) -> re.Match | None:
    """The next word after `end`, past name particles ("van", "de la")."""
    nxt = _NEXT.match(text, end)
    for _ in range(2):
        if not (nxt and nxt[1].lower() in PARTICLES):
            break
        nxt = _NEXT.match(text, nxt.end())
    return nxt


def _subject_like(m: re.Match, names: NameTest) -> bool:
    """A lower-case name with no cue stands before a verb, function word or surname, not
    after a digit."""
    nxt = re.compile(r"\s*([,.!?;]|[\w'’]+)").match(m.string, m.end())
    prev = re.search(r"(\S+)\s+$", m.string[max(0, m.start() - 20) : m.start()])
    if prev and prev.group(1)[-1:].isdigit():
        return False
    if not nxt:  # the end of the text or a sign ("kofi: he"), not a placeholder ("reg [ID]")
        return not m.string[m.end() :].lstrip().startswith("[")
    word = nxt.group(1)
    w = word.lower()  # "oksana I spoke to", "hayley listened"
    follows = w in _FOLLOWS or w in _VERBS or w in STOP_WORDS
    if follows or not word[0].isalnum() or names.surname(word):
        return True
    # "maureen yamamoto", "deepak oyelaran has"; not French "que ça a"
    after = _FOLLOWER.match(m.string, nxt.end()).group(1)
    verb = after.lower() in _FOLLOWS or after.lower() in _VERBS
    return word.islower() and names.after_name(word, after) and (names.listed(word) or verb)


_FOLLOWER = re.compile(r"\s*([\w'’]+|[^\w\s]|$)")


def _continues(nxt: re.Match, names: NameTest) -> bool:
    """The next word is the surname of the name before it, or a particle before one."""
    word = nxt.group(1)
    if word.lower() in PARTICLES:
        last = _past_particles(nxt.string, nxt.start())
        return bool(last and last.start() > nxt.start() and _continues(last, names))
    return surname_after(nxt, names)


def surname_after(nxt: re.Match, names: NameTest) -> bool:
    """The word `nxt` matched (group 1) is the surname of the name before it: a capitalised
    `surname`, or a lower-case word that continues a name (`after_name`, given the word after
    it): "[PERSON] okafor", "called babajide wood called"."""
    word = nxt.group(1)
    if word[:1].isupper():
        return names.surname(word)
    return names.after_name(word, _FOLLOWER.match(nxt.string, nxt.end()).group(1))


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
