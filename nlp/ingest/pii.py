"""Redact personal data before anything is embedded or written: typed placeholders replace it.

Rules (regex) catch emails, URLs, phone numbers, national ids (SSN, NI and NHS numbers), card
numbers, street addresses, UK postcodes (any case), US state + ZIP, IBANs, IP addresses, UK
number plates, and after their name: bank details, dates of birth, case / claim / patient /
passport numbers and user names. Person names: spaCy NER
spans checked against a name gazetteer, names the gazetteer finds alone (pii_names.py), and
names after titles, roles, kinship words and cues. Texts are changed only where something was
found.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from spacy.language import Language

from nlp.ingest.pii_context import (
    NOT_A_NAME,
    PERSON,
    ordinary_words,
    public_post,
    redact_names_in_context,
)
from nlp.ingest.pii_names import (
    NameTest,
    gazetteer_spans,
    load_gazetteer,
    may_hold_a_name,
    merge_spans,
    ner_span_is_name,
)

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# Any two letters: redaction matches the format, not HMRC's list of issued prefixes.
_NINO = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(
    r"(?<![\w/])(?:\+\d{1,3}[\s.-]?|1-)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?(?![\w/])"
)
# International numbers in small groups ("+33 7 61 60 23 71") and European national ones
# ("06 12 34 56 78"); the digit count (9-15) is checked in `_phone`.
_INTL_PHONE = re.compile(r"(?<![\w/])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){3,7}(?![\w/])")
_GROUPED_PHONE = re.compile(r"(?<![\w/.])0\d(?:[\s.-]\d{2}){4}(?![\w/])")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
# Lower or mixed case ("ls6 2qt", "n12be"): the inward letters exclude C I K M O V, as Royal
# Mail's do, and ordinals ("m6 2nd") are not postcodes.
_POSTCODE_ANY_CASE = re.compile(
    r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?\s?\d(?!(?:st|nd|rd|th)\b)[ABD-HJLNP-UW-Z]{2}\b"
)
# NHS numbers: ten digits (3-3-4) whose last is the modulus-11 check digit.
_NHS_NUMBER = re.compile(
    r"(?<![\w/.+-])(?<!\+\d )(?<!\+\d\d )(?<!\+\d\d\d )\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w/])"
)
_US_ZIP = re.compile(
    r"\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|"
    r"O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+\d{5}(?:-\d{4})?\b"
)
_STREET = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Crescent|Place|Pl|"
    r"Terrace|Gardens|Grove|Boulevard|Blvd|Square|Sq|Row|Mews|Parade|Walk|Hill"
)
_ADDRESS = re.compile(r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][a-z'-]+\s+){1,3}(?:" + _STREET + r")\b\.?")

# Identifiers after a cue. Bank details: an IBAN (mod-97 checked), a sort code or account
# number after its name.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_BANK = re.compile(
    r"(?i)\b(?:sort\s*code|(?:bank\s+)?account\s*(?:number|no\.?|num|#)?|acc(?:t|ount)?\s*no\.?|a/c"
    r"(?:\s*no\.?)?)\s*(?:is|was|:|#)?\s*(\d{2}[- ]\d{2}[- ]\d{2}|\d{6,12})\b"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
)
_DOB = re.compile(
    r"(?i)\b(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|born)"
    r"(?:\s+(?:is|was|on|:|-))*\s*:?\s*(" + _DATE + r")"
)
_IP = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
)
# Numbers and codes after the name of what they identify: "passport number 123456789",
# "patient ID 00123456", "my case reference is 2023/12345" (4+ digits); a user name with a
# digit, dot or underscore after "username"; UK number plates ("AB12 CDE").
_CUE_ID = re.compile(
    r"(?i)\b(?:passport|driving\s+licen[cs]e|licen[cs]e|patient|hospital|customer|client|"
    r"member(?:ship)?|policy|claim|case|reference|ref|application|booking|tracking|order|"
    r"ticket|tax|benefits?|pension|student|employee|staff|unique\s+taxpayer|utr|crn)"
    r"\s*(?:id|number|no\.?|num|#|ref(?:erence)?|code)?\s*(?:is|was|:|#)?\s*"
    r"((?=[A-Z0-9/-]*(?:\d[^\d\s]*){4})[A-Z0-9][A-Z0-9/-]*[A-Z0-9])\b"
)
_USERNAME = re.compile(
    r"(?i)\b(?:user\s*name|user\s*id|login(?:\s*id)?|log-in|screen\s*name)\s*(?:is|was|:)?\s*"
    r"((?=[a-z][\w-]*(?:[\d_]|\.\w))[a-z][\w.-]*\w)"
)
_PLATE = re.compile(r"(?<![#@\w])[A-Z]{2}\d{2}\s?[A-Z]{3}\b")

PLACEHOLDER = {
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "ID": "[ID_NUMBER]",
    "CARD": "[CARD]",
    "PHONE": "[PHONE]",
    "POSTCODE": "[POSTCODE]",
    "ADDRESS": "[ADDRESS]",
    "PERSON": PERSON,
    "BANK": "[BANK_ACCOUNT]",
    "DOB": "[DATE_OF_BIRTH]",
    "IP": "[IP_ADDRESS]",
    "USERNAME": "[USERNAME]",
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


def _nhs_number(match: re.Match) -> str:
    digits = [int(c) for c in re.sub(r"\D", "", match.group(0))]
    check = 11 - sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
    ok = digits[0] != 0 and (check % 11) == digits[9]
    return PLACEHOLDER["ID"] if ok else match.group(0)


def _iban(match: re.Match) -> str:
    code = re.sub(r"\s", "", match.group(0)).upper()
    digits = "".join(str(int(c, 36)) for c in code[4:] + code[:4])
    ok = 15 <= len(code) <= 34 and int(digits) % 97 == 1
    return PLACEHOLDER["BANK"] if ok else match.group(0)


_YEARS = re.compile(r"(?:19|20)\d\d(?:[/-](?:19|20)?\d\d)?")
_VERSION_BEFORE = re.compile(r"(?i)\b(?:version|ver|v|build|release)\.?\s*$")


def _ip(match: re.Match) -> str:
    before = match.string[max(0, match.start() - 12) : match.start()]
    return match.group(0) if _VERSION_BEFORE.search(before) else PLACEHOLDER["IP"]


def _cued(kind: str):
    """Replace a cued match's group 1 (the identifier), keep the cue; a year or a range of
    years ("tax 2019/2020") is no identifier."""

    def sub(match: re.Match) -> str:
        if _YEARS.fullmatch(match.group(1)):
            return match.group(0)
        start, end = match.span(1)
        text = match.group(0)
        at = start - match.start()
        return text[:at] + PLACEHOLDER[kind] + text[at + end - start :]

    return sub


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
        (_IBAN, _iban),
        (_BANK, _cued("BANK")),
        (_DOB, _cued("DOB")),
        (_IP, _ip),
        (_USERNAME, _cued("USERNAME")),
        (_CUE_ID, _cued("ID")),
        (_SSN, PLACEHOLDER["ID"]),
        (_NINO, PLACEHOLDER["ID"]),
        (_CARD, _card),
        (_NHS_NUMBER, _nhs_number),
        (_INTL_PHONE, _phone),
        (_GROUPED_PHONE, _phone),
        (_PHONE, _phone),
        (_ADDRESS, PLACEHOLDER["ADDRESS"]),
        (_POSTCODE, PLACEHOLDER["POSTCODE"]),
        (_POSTCODE_ANY_CASE, PLACEHOLDER["POSTCODE"]),
        (_US_ZIP, PLACEHOLDER["POSTCODE"]),
        (_PLATE, PLACEHOLDER["ID"]),
    ):
        text = pattern.sub(counted(repl), text)
    return text, n


def redact_pii(
    texts: Sequence[str],
    nlp: Language,
    batch_size: int = 256,
    n_process: int = 1,
    keep_public_names: bool = True,
) -> list[tuple[str, int]]:
    """Redact every text: rules first, then person names (NER checked by the gazetteer, the
    gazetteer alone, context rules). NER runs only on texts with a capitalised known name.
    With `keep_public_names`, a social-media post or headline (see `public_post`) that names no
    service encounter keeps names found without a cue: they are public figures ("Ben Carson
    hasn't mastered..."); names after a title, role or cue are still redacted.

    Returns (redacted text, number of redactions) per input, in order. Each distinct text is
    redacted once (redaction depends on the text alone; nightly corpora repeat short answers).
    """
    distinct = list(dict.fromkeys(texts))
    redacted = _redact_distinct(distinct, nlp, batch_size, n_process, keep_public_names)
    done = dict(zip(distinct, redacted, strict=True))
    return [done[t] for t in texts]


def _redact_distinct(
    texts: Sequence[str], nlp: Language, batch_size: int, n_process: int, keep_public_names: bool
) -> list[tuple[str, int]]:
    first = [redact_patterns(t) for t in texts]
    is_ordinary = ordinary_words(nlp)
    names = name_test(nlp)
    todo = [
        i
        for i, (t, _) in enumerate(first)
        if may_hold_a_name(t, names) and not (keep_public_names and public_post(t))
    ]
    disable = [p for p in nlp.pipe_names if p not in ("tok2vec", "ner")]
    docs: Iterable = nlp.pipe(
        (first[i][0] for i in todo), batch_size=batch_size, n_process=n_process, disable=disable
    )
    doc_of = dict(zip(todo, docs, strict=True))
    out = []
    for i, (text, n) in enumerate(first):
        k = 0
        if not (keep_public_names and public_post(text)):
            text, k = redact_person_spans(text, doc_of.get(i), names)
        text, m = redact_names_in_context(text, is_ordinary, names)
        out.append((text, n + k + m))
    return out


# NER labels whose spans are not people and block the gazetteer there ("Rose Hill" the place).
_BLOCKING = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "NORP", "WORK_OF_ART", "EVENT"})


def redact_person_spans(text: str, doc, names: NameTest) -> tuple[str, int]:
    """Replace NER PERSON spans that hold a known name, and the gazetteer's own finds."""
    persons, blocked = [], []
    for ent in doc.ents if doc is not None else ():
        if ent.label_ == "PERSON":
            start, end = _whole_name(text, ent.start_char, ent.end_char)
            if ner_span_is_name(text, start, end, names):
                persons.append((start, end))
        elif ent.label_ in _BLOCKING and not _names_in(ent, names):
            blocked.append((ent.start_char, ent.end_char))
    spans = merge_spans([*persons, *gazetteer_spans(text, names, blocked)])
    for start, end in reversed(spans):
        text = text[:start] + PLACEHOLDER["PERSON"] + text[end:]
    return text, len(spans)


def _names_in(ent, names: NameTest) -> bool:
    """An NER non-person span that is a name all the same: "Björn" taken for an ORG."""
    test = names.ner_name if ent.label_ == "ORG" else names.first_name
    return any(map(test, ent.text.split()))


@functools.lru_cache(maxsize=4)
def name_test(nlp: Language) -> NameTest:
    """The gazetteer's name test with this pipeline's ordinary-word lists."""
    return NameTest(load_gazetteer(), ordinary_words(nlp), NOT_A_NAME)


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
