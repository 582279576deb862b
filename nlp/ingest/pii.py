"""Redact personal data before anything is embedded or written: typed placeholders replace it.

Rules (regex) catch emails, URLs, phone numbers, national ids, card numbers, street
addresses, UK postcodes and US state + ZIP;
spaCy NER catches person names. Texts are changed only where something was found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

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
    out = []
    for (text, n), doc in zip(first, docs, strict=True):
        persons = [e for e in doc.ents if e.label_ == "PERSON" and "[" not in e.text]
        for ent in reversed(persons):
            text = text[: ent.start_char] + PLACEHOLDER["PERSON"] + text[ent.end_char :]
        text, k = redact_names_in_context(text)
        out.append((text, n + len(persons) + k))
    return out


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


def redact_names_in_context(text: str) -> tuple[str, int]:
    """Names after titles and cue phrases, and names coordinated with a redacted one."""
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

    for pattern in (_TITLE_NAME, _SHORT_TITLE_LOWER, _CUE_NAME, _AND_NAME, _AND_NAME):
        text = pattern.sub(name_only, text)
    return text, n
