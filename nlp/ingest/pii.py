"""Redact personal data before anything is embedded or written: typed placeholders replace it.

Rules (regex) catch emails, URLs, phone numbers, national ids, card numbers, street
addresses, UK postcodes and US state + ZIP;
spaCy NER catches person names. Texts are changed only where something was found.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# Any two letters: redaction matches the format, not HMRC's list of issued prefixes.
_NINO = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(
    r"(?<![\w/])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?(?![\w/])"
)
# International numbers in small groups ("+33 7 61 60 23 71") and European national ones
# ("06 12 34 56 78"); the digit count (9-15) is checked in `_phone`.
_INTL_PHONE = re.compile(r"(?<![\w/])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){3,7}(?![\w/])")
_GROUPED_PHONE = re.compile(r"(?<![\w/.])0\d(?:[\s.-]\d{2}){4}(?![\w/])")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_US_ZIP = re.compile(
    r"\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|"
    r"O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+\d{5}(?:-\d{4})?\b"
)
_STREET = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Crescent|Place|Pl|"
    r"Terrace|Gardens|Grove|Boulevard|Blvd|Square|Sq|Row|Mews|Parade|Walk|Hill"
)
_ADDRESS = re.compile(r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][a-z'-]+\s+){1,3}(?:" + _STREET + r")\b\.?")

# Names in context, which a small NER model misses: after a title ("nurse Siobhan",
# "Mr Adebayo Okonkwo", "mrs jones"), after a cue ("ask for Priya", "thanks Dave"), and
# coordinated with a name already found ("[PERSON] and Bethan").
_NAME = r"[A-Z][a-z][\w'’-]*(?:\s+[A-Z][a-z][\w'’-]*){0,2}"
_TITLE_NAME = re.compile(
    r"\b(?i:mr|mrs|ms|miss|mx|dr|doctor|nurse|sister|matron|prof|professor|paramedic)\.?\s+("
    + _NAME
    + r")"
)
_SHORT_TITLE_LOWER = re.compile(r"\b(?i:mr|mrs|ms|miss|dr)\.?\s+([a-z][a-z'-]{2,})\b")
_CUE_NAME = re.compile(
    r"\b(?i:my name is|my name's|i am called|ask for|asked for|spoke to|speak to|spoke with|"
    r"talked to|thanks to|thank you to|thanks|thank you|called|named|special mention to)\s+("
    + _NAME
    + r")"
)
_AND_NAME = re.compile(r"(?<=\[PERSON\])(?:,\s*|\s+and\s+|\s*&\s*)(" + _NAME + r")")
# After a role or kinship word: "my caseworker Marguerite Okonkwo-Velasquez", "my husband
# Gareth", and in lower case "nurse tomasz", "i spoke to siobhan" when the word is not an
# ordinary English word ("my husband and i", "spoke to reception", "the nurse was kind").
_ROLE_WORDS = (
    r"(?:case|social|support|key|care|youth)\s?worker|keyworker|worker|advis[eo]r|officer|nurse|"
    r"doctor|receptionist|manager|supervisor|agent|consultant|midwife|teacher|counsell?or|"
    r"therapist|physio(?:therapist)?|surgeon|paramedic|pharmacist|health\s+visitor|carer|"
    r"coordinator|practitioner|assessor|matron|sister|work\s+coach|navigator|specialist"
)
_ROLES = f"(?:{_ROLE_WORDS})s?|midwives"
_KIN = (
    r"husband|wife|partner|son|daughter|mother|mum|mom|mam|father|dad|brother|sister|"
    r"friend|grandson|granddaughter|grandmother|grandfather|gran|granny|nan|nana|grandma|"
    r"grandad|grandpa|uncle|aunt|auntie|aunty|niece|nephew|cousin|neighbou?r|boyfriend|"
    r"girlfriend|fianc[eé]e?|colleague|step(?:son|daughter|mum|dad)|baby|grandchild"
)
_ROLE_NAME = re.compile(r"\b(?i:" + _ROLES + "|" + _KIN + r")\s+(" + _NAME + r")")
_LOWER_WORD = r"([a-z][a-z'’-]{2,})\b"
# lower case: singular roles only ("doctors appt", "paramedics knowledgable" are not names)
_ROLE_LOWER = re.compile(r"\b(?i:" + _ROLE_WORDS + "|" + _KIN + r")\s+" + _LOWER_WORD)
_CUE_LOWER = re.compile(
    r"\b(?i:spoke|speak|speaking|talked|talk|talking)\s+(?i:to|with)\s+"
    r"|\b(?i:ask|asked|asking)\s+(?i:for)\s+|\b(?i:called|named|my name is|my name's)\s+"
)
_CUE_LOWER = re.compile(f"(?:{_CUE_LOWER.pattern}){_LOWER_WORD}")
_IS_ROLE = re.compile(r"(?i:" + _ROLES + "|" + _KIN + r")")
# Chat spellings a lower-case cue may be followed by that no word list has.
_CHAT = frozenset(
    """ive im id ill dont didnt cant couldnt wont wouldnt shouldnt isnt wasnt werent arent
    hasnt havent hadnt thats theres whats theyre youre hes shes lol pls plz thx alot abit
    aswell ok okay etc""".split()
)
# Capitalised words after a cue that are not names in service feedback.
NOT_NAMES = frozenset(
    """ambulance service services hospital team teams staff reception receptionist everyone
    everybody all the a and for you your god nurse nurses doctor doctors ward wards care
    paramedics paramedic crew crews nhs gp surgery department unit clinic centre center
    council office desk line phone team's monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december a&e it this that them him her he she they we our my his me us mr mrs ms miss mx
    dr doctor sister matron prof professor said says told was is gave came did has had were
    will would could should asked called at in on from to explained saw seen prescribed
    checked who what when and or but not also just then there here very so
    """.split()
)

PLACEHOLDER = {
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "ID": "[ID_NUMBER]",
    "CARD": "[CARD]",
    "PHONE": "[PHONE]",
    "POSTCODE": "[POSTCODE]",
    "ADDRESS": "[ADDRESS]",
    "PERSON": "[PERSON]",
}


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return PLACEHOLDER["CARD"] if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def _phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return PLACEHOLDER["PHONE"] if 9 <= len(digits) <= 15 else match.group(0)


def redact_patterns(text: str) -> tuple[str, int]:
    """Replace rule-detectable PII; returns (text, number of replacements)."""
    n = 0

    def counted(repl):
        def sub(match: re.Match) -> str:
            nonlocal n
            new = repl(match) if callable(repl) else repl
            n += new != match.group(0)
            return new

        return sub

    for pattern, repl in (
        (_EMAIL, PLACEHOLDER["EMAIL"]),
        (_URL, PLACEHOLDER["URL"]),
        (_SSN, PLACEHOLDER["ID"]),
        (_NINO, PLACEHOLDER["ID"]),
        (_CARD, _card),
        (_INTL_PHONE, _phone),
        (_GROUPED_PHONE, _phone),
        (_PHONE, _phone),
        (_ADDRESS, PLACEHOLDER["ADDRESS"]),
        (_POSTCODE, PLACEHOLDER["POSTCODE"]),
        (_US_ZIP, PLACEHOLDER["POSTCODE"]),
    ):
        text = pattern.sub(counted(repl), text)
    return text, n


def redact_pii(
    texts: Sequence[str], nlp: Language, batch_size: int = 256, n_process: int = 1
) -> list[tuple[str, int]]:
    """Redact every text: rules first, then PERSON entities from spaCy NER.

    Returns (redacted text, number of redactions) per input, in order.
    """
    first = [redact_patterns(t) for t in texts]
    disable = [p for p in nlp.pipe_names if p not in ("tok2vec", "ner")]
    docs: Iterable = nlp.pipe(
        (t for t, _ in first), batch_size=batch_size, n_process=n_process, disable=disable
    )
    is_ordinary = ordinary_words(nlp)
    out = []
    for (text, n), doc in zip(first, docs, strict=True):
        persons = [e for e in doc.ents if e.label_ == "PERSON" and "[" not in e.text]
        for ent in reversed(persons):
            start, end = _whole_name(text, ent.start_char, ent.end_char)
            text = text[:start] + PLACEHOLDER["PERSON"] + text[end:]
        text, k = redact_names_in_context(text, is_ordinary)
        out.append((text, n + len(persons) + k))
    return out


_HYPHEN_BEFORE = re.compile(r"[A-Z][\w'’]*-$")
_HYPHEN_AFTER = re.compile(r"(?:-[A-Z][\w'’]*)+")


def _whole_name(text: str, start: int, end: int) -> tuple[int, int]:
    """An entity's span widened to the rest of a hyphenated name the model split
    ("[Gareth Pritchard]-Jones")."""
    before = _HYPHEN_BEFORE.search(text, 0, start)
    after = _HYPHEN_AFTER.match(text, end)
    return (before.start() if before else start), (after.end() if after else end)


def redact_texts_and_prompts(
    texts: Sequence[str], prompts: Sequence[str], nlp: Language
) -> tuple[list[str], list[int], list[str | None]]:
    """Redact texts and their prompts in one `redact_pii` pass (one spaCy pipe over both).

    `prompts[i]` is text i's prompt, "" for none. Returns (texts, redactions per text, prompts
    with None where there was none); redactions in prompts are not counted.
    """
    asked = [i for i, p in enumerate(prompts) if p != ""]
    redacted = redact_pii([*texts, *(prompts[i] for i in asked)], nlp)
    n = len(texts)
    out_prompts: list[str | None] = [None] * len(prompts)
    for i, (text, _) in zip(asked, redacted[n:], strict=True):
        out_prompts[i] = text
    return [t for t, _ in redacted[:n]], [k for _, k in redacted[:n]], out_prompts


def redact_names_in_context(
    text: str, is_ordinary: Callable[[str], bool] | None = None
) -> tuple[str, int]:
    """Names after titles, roles, kinship words and cue phrases, and names coordinated with a
    redacted one. With `is_ordinary` (see `ordinary_words`), also lower-case names after a
    role or cue ("nurse tomasz", "spoke to siobhan"): a word it calls ordinary is kept."""
    n = 0

    def name_only(match: re.Match) -> str:
        nonlocal n
        name = match.group(1)
        words = name.split()
        if words[0].lower() in NOT_NAMES:
            return match.group(0)
        # keep trailing words that are not names ("Dave Reception" -> "[PERSON] Reception")
        while len(words) > 1 and words[-1].lower() in NOT_NAMES:
            words.pop()
        n += 1
        start = match.start(1) - match.start(0)
        kept = " ".join(words)
        return match.group(0)[:start] + PLACEHOLDER["PERSON"] + name[len(kept) :]

    def after_role(match: re.Match) -> str:
        words = match.group(1).split()
        if _not_a_name(words[0]):
            return match.group(0)
        # "paramedics Explanation of ...": capitalised ordinary words in sentence-case text
        if is_ordinary is not None and all(_all_ordinary(w.lower(), is_ordinary) for w in words):
            return match.group(0)
        return name_only(match)

    def lower_name(match: re.Match) -> str:
        word = match.group(1)
        if _not_a_name(word) or is_ordinary is None or _all_ordinary(word, is_ordinary):
            return match.group(0)
        # a name is followed by a function word or punctuation ("tomasz was", "siobhan at"),
        # a misspelt word often by a content word ("dad deteriated rapidly")
        after = _NEXT_WORD.match(match.string, match.end())
        if after and not _not_a_name(after.group(1)):
            return match.group(0)
        return name_only(match)

    rules: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
        (_TITLE_NAME, name_only),
        (_SHORT_TITLE_LOWER, name_only),
        (_CUE_NAME, name_only),
        (_ROLE_NAME, after_role),
    ]
    if is_ordinary is not None:
        rules += [(_ROLE_LOWER, lower_name), (_CUE_LOWER, lower_name)]
    for pattern, repl in [*rules, (_AND_NAME, name_only), (_AND_NAME, name_only)]:
        text = pattern.sub(repl, text)
    return text, n


_CONTRACTION = re.compile(r"(?:n['’]t|['’](?:s|re|ve|ll|d|m))$")


def _not_a_name(word: str) -> bool:
    """Stop words ("couldn't" and "we're" as "could", "we"), the NOT_NAMES list, role and
    kinship words, chat spellings."""
    w = word.lower().strip("'’-")
    w = _CONTRACTION.sub("", w)
    w = {"ca": "can", "wo": "will", "sha": "shall"}.get(w, w)  # can't, won't, shan't
    return w in NOT_NAMES or w in STOP_WORDS or w in _CHAT or bool(_IS_ROLE.fullmatch(w))


_NEXT_WORD = re.compile(r"[ \t]+([\w'’]+)")
_DERIVED = ("r", "er", "or", "ist", "ly", "able", "ible", "ness", "ment")


def _all_ordinary(word: str, is_ordinary: Callable[[str], bool]) -> bool:
    """Every hyphen part is a word, a derivation of one ("prescriber"), or two ("inlaw")."""
    return all(_ordinary_part(p, is_ordinary) for p in re.split(r"[-'’]", word) if p)


def _ordinary_part(w: str, is_ordinary: Callable[[str], bool]) -> bool:
    if is_ordinary(w):
        return True
    for suffix in _DERIVED:
        stem = w[: -len(suffix)]
        if w.endswith(suffix) and len(stem) >= 3 and (is_ordinary(stem) or is_ordinary(stem + "e")):
            return True
    return any(is_ordinary(w[:i]) and is_ordinary(w[i:]) for i in range(2, len(w) - 1))


@functools.lru_cache(maxsize=4)
def ordinary_words(nlp: Language) -> Callable[[str], bool] | None:
    """A test for ordinary English words: the model lemmatizer's word lists (its lemma index,
    its irregular forms, and its suffix rules: "waited" -> "wait"). None when the model has
    no lemma tables: lower-case name rules are then off (they would redact ordinary words)."""
    name = "lemmatizer"
    if name not in nlp.component_names:
        return None
    lookups = getattr(nlp.get_pipe(name), "lookups", None)
    tables = ("lemma_index", "lemma_exc", "lemma_rules")
    if lookups is None or not all(lookups.has_table(t) for t in tables):
        return None
    index = {pos: set(words) for pos, words in lookups.get_table("lemma_index").items()}
    forms = {w for table in lookups.get_table("lemma_exc").values() for w in table}
    words = set().union(*index.values()) | forms
    rules = [
        (old, new, index.get(pos, set()))
        for pos, pairs in lookups.get_table("lemma_rules").items()
        for old, new in pairs
    ]

    @functools.lru_cache(maxsize=65536)
    def is_ordinary(word: str) -> bool:
        if word in words:
            return True
        return any(
            word.endswith(old) and len(word) > len(old) and word[: -len(old)] + new in known
            for old, new, known in rules
            if old
        )

    return is_ordinary
