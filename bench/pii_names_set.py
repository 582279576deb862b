"""A labelled PII set built from real comments, not from the redaction rules' templates.

Names go into real NHS comments and app reviews where the writer referred to a person: the
publishers' "[name redacted]" placeholders, role or kinship phrases ("the nurse", "my
husband", "a lady"), "spoke to the receptionist", and a sentence-initial "She"/"He" (a name
with no cue at all). Each insertion takes a name from a hand-written, multi-cultural list
(kept apart from the gazetteer's source) in a varied form: full name, first name only, title
and surname, hyphenated or non-English, lower case. Other identifiers (emails, phones, NHS
numbers, NI numbers, SSNs, cards, postcodes, addresses, URLs) go into real comments in varied
formats. Every example records its gold spans (start, end, type) in the built text.

    from bench.pii_names_set import build_set, clean_sets
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

FIRST = """Siobhan Niamh Aoife Ciaran Padraig Eilidh Rhys Bethan Gethin Cerys Angharad Callum
Kirsty Lorna Graham Gareth Margaret Deborah Stephen Colin Trevor Beverley Janice Lesley Maureen
Shaun Wayne Tracey Hayley Kayleigh Stacey Nigel Clive Priya Rajesh Sunita Anjali Harpreet
Gurpreet Mohammed Imran Nusrat Farhana Shabnam Deepak Arjun Kavita Lakshmi Sanjay Pooja Adebayo
Oluwaseun Chiamaka Ngozi Kwame Kofi Abena Tendai Thandiwe Chukwuemeka Folasade Babajide Wanjiru
Wei Xiaoming Mei Hiroshi Yuki Minh Thanh Tomasz Agnieszka Katarzyna Małgorzata Paweł Jakub Andrei
Ioana Bogdan Dmitri Svetlana Oksana Mihai Zsófia Lukáš Jean-Luc Anne-Marie Marguerite Søren Björn
Joaquín Giuseppe Francesca Luca Matthias Renée Zoë José Chloé Yusuf Fatima Aisha Omar Layla Reza
Shirin Mehmet Elif Emre Grace Dawn Joy Rose Mark Jack Sue Amber Holly Bill Ruby Bernadette Dolores
Precious Blessing Tariq Hamza Zainab Ewa Dorota Jolanta Vytautas Rasa Inga Kaveh""".split()
LAST = """Okonkwo-Velasquez Pritchard-Jones Okafor Ramanathan Kowalski Gallagher Nowak Wiśniewska
Zhang Nguyen Hussain Begum Akhtar Patel Chaudhry Mensah Adeyemi Oyelaran Brennan O'Sullivan
McAllister MacLeod Featherstone Higginbottom Llewellyn Whitfield Fernandes Lindqvist Müller
Schäfer Rossi Esposito Tanaka Yamamoto Demir Yılmaz Kaur Singh Sharma Ivanova Popescu Horvath
Ahmed Rahman Osei Boateng Ferreira Gonzalez Baker Cooper Wood Hill Moss Marsh Bishop Parsons
Kaczmarek Szymańska Petrauskas Obi Nwachukwu Achterberg Ó_Briain Evans-Hughes Van_Dijk"""
LAST = [name.replace("_", " ") for name in LAST.split()]
TITLES = ["Dr", "Mrs", "Mr", "Ms", "Miss", "Nurse", "Sister"]

ROLE_PHRASE = re.compile(
    r"\b(?P<det>the|a|my|our|one|this|that)\s+"
    r"(?P<adj>(?:lovely|kind|young|nice|male|female|senior|student|lead|other|first)\s+)?"
    r"(?P<role>nurse|doctor|receptionist|consultant|midwife|physio|physiotherapist|paramedic|"
    r"surgeon|caseworker|carer|pharmacist|lady|gentleman|man|woman|girl|guy|chap|husband|wife|"
    r"son|daughter|mum|dad|mother|father|partner|advisor|adviser|officer|manager|dentist|"
    r"radiographer|hygienist|anaesthetist|registrar|therapist|psychiatrist|health visitor)\b",
    re.IGNORECASE,
)
SPOKE_TO = re.compile(
    r"\b(?P<verb>spoke|speak|talked|talk|speaking)\s+(?P<prep>to|with)\s+"
    r"(?P<obj>(?:the|a|an)\s+(?:receptionist|nurse|doctor|gp|manager|lady|man|woman|person|"
    r"advisor|adviser|operator|pharmacist|consultant|paramedic|call handler)|someone|somebody|"
    r"reception)\b(?!\s+(?:team|service|desk|staff|department|line)\b)",
    re.IGNORECASE,
)
SUBJECT = re.compile(
    r"(?:(?<=^)|(?<=[.!?]\s))(?P<pro>She|He)\s+(?=(?:was|is|has|had|did|made|"
    r"explained|took|gave|listened|helped|went|kept|never|always|seemed)\b)"
)
PLACEHOLDERS = re.compile(r"\[(?:name|nickname)[ _]redacted\]|\bx{3,5}\b|\*{3,}", re.IGNORECASE)


@dataclass
class Example:
    """A built text and its gold PII spans (start, end, type)."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    source: str = ""
    form: str = ""


def _name(rng: random.Random, allow_title: bool = True) -> tuple[str, str]:
    """(name string, form label) in one of the forms real comments use."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    form = rng.choice(
        ["full", "full", "first", "first", "first", "title", "lower_first", "lower_full"]
    )
    if form == "title" and not allow_title:
        form = "full"
    name = {
        "full": f"{first} {last}",
        "first": first,
        "title": f"{rng.choice(TITLES)} {last}",
        "lower_first": first.lower(),
        "lower_full": f"{first} {last}".lower(),
    }[form]
    return name, form


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _person_example(text: str, source: str, rng: random.Random) -> Example | None:
    """One name planted where the writer referred to a person; None if nowhere fits."""
    name, form = _name(rng)
    if text.islower() and form in ("full", "first"):
        name, form = name.lower(), "lower_" + form
    person = name.split(" ", 1)[1] if form == "title" else name  # the title is not PII
    slots = []
    if m := PLACEHOLDERS.search(text):
        slots.append(("placeholder", m.start(), m.end(), "{N}"))
    for m in ROLE_PHRASE.finditer(text):
        role = m.group("role")
        det, adj = m.group("det"), m.group("adj") or ""
        slots.append(("after_role", m.start(), m.end(), f"{det} {adj}{role} {{N}}"))
        slots.append(("role_called", m.start(), m.end(), f"{det} {adj}{role} called {{N}}"))
        slots.append(("instead_of_role", m.start(), m.end(), "{N}"))
    for m in SPOKE_TO.finditer(text):
        slots.append(("spoke_to", m.start("obj"), m.end("obj"), "{N}"))
    for m in SUBJECT.finditer(text):
        slots.append(("no_cue_subject", m.start("pro"), m.end("pro"), "{N}"))
    if not slots:
        return None
    context, start, end, template = rng.choice(slots)
    if form == "title" and context == "after_role":
        context, template = "instead_of_role", "{N}"
    before, after = template.split("{N}")
    new = before + name + after
    at = start + len(before) + (len(name) - len(person))
    built = _replace(text, start, end, new)
    return Example(built, [(at, at + len(person), "PERSON")], source, f"{context}/{form}")


def _nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 11:
            check = 0
        if check != 10:
            s = "".join(map(str, digits + [check]))
            return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s, f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def _card(rng: random.Random) -> str:
    length, prefix = rng.choice([(16, [4]), (16, [5, rng.randrange(1, 6)]), (15, [3, 7])])
    digits = prefix + [rng.randrange(10) for _ in range(length - len(prefix) - 1)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    s = "".join(map(str, digits + [(10 - total % 10) % 10]))
    if length == 15:
        return rng.choice([f"{s[:4]} {s[4:10]} {s[10:]}", s])
    sep = rng.choice([" ", "-", ""])
    return sep.join(s[i : i + 4] for i in range(0, 16, 4))


def _phone(rng: random.Random) -> str:
    r = rng.randrange
    return rng.choice(
        [
            f"07{r(100, 999)} {r(100000, 999999)}",
            f"07{r(100000000, 999999999)}",
            f"+44 7{r(100, 999)} {r(100, 999)} {r(100, 999)}",
            f"+44 (0)7{r(100, 999)} {r(100000, 999999)}",
            f"01{r(100, 999)} {r(100000, 999999)}",
            f"020 {r(3000, 8999)} {r(1000, 9999)}",
            f"(0{r(113, 191)}) {r(200, 999)} {r(1000, 9999)}",
            f"0800 {r(100, 999)} {r(1000, 9999)}",
            f"({r(200, 999)}) {r(200, 999)}-{r(1000, 9999)}",
            f"{r(200, 999)}.{r(200, 999)}.{r(1000, 9999)}",
            f"+1 {r(200, 999)}-{r(200, 999)}-{r(1000, 9999)}",
            f"+33 {r(1, 9)} {r(10, 99)} {r(10, 99)} {r(10, 99)} {r(10, 99)}",
        ]
    )


def _postcode(rng: random.Random) -> str:
    area = rng.choice(["LS", "NE", "SW", "M", "B", "NN", "DH", "EH", "CF", "BT", "G", "E", "N"])
    district = rng.choice(
        [f"{rng.randrange(1, 10)}{rng.choice(['', 'A', 'W'])}", str(rng.randrange(10, 30))]
    )
    inward = (
        f"{rng.randrange(10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFHJLNQRTUZ')}"
    )
    code = f"{area}{district}{rng.choice([' ', ' ', ''])}{inward}"
    return code.lower() if rng.random() < 0.2 else code


STREETS = """Willow Crescent|High Street|Station Road|Park Lane|Church Close|Victoria Avenue|Mill
Way|Queens Drive|Elm Grove|Kings Court|Beech Road|Orchard Gardens|Albert Terrace""".replace(
    "\n", " "
).split("|")


def _identifier(kind: str, rng: random.Random) -> tuple[str, str]:
    """(clause with {}, value) for a non-name identifier in a varied format."""
    r = rng.randrange
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower()
    first = re.sub(r"[^a-z]", "", first) or "jo"
    last = re.sub(r"[^a-z]", "", last) or "smith"
    values = {
        "EMAIL": lambda: rng.choice(
            [
                f"{first}.{last}@gmail.com",
                f"{first[0]}{last}{r(1, 99)}@nhs.net",
                f"{first}_{last}+gp@outlook.co.uk",
                f"{last.upper()}.{first.upper()}@YAHOO.COM",
                f"{first}@mail.example-trust.org.uk",
            ]
        ),
        "PHONE": lambda: _phone(rng),
        "NHS_NUMBER": lambda: _nhs_number(rng),
        "NINO": lambda: (
            f"{rng.choice(['AB', 'JK', 'PN', 'SZ'])}{rng.choice([' ', ''])}"
            f"{r(10, 99)} {r(10, 99)} {r(10, 99)} {rng.choice('ABCD')}"
        ),
        "SSN": lambda: f"{r(100, 899)}-{r(10, 99)}-{r(1000, 9999)}",
        "CARD": lambda: _card(rng),
        "POSTCODE": lambda: _postcode(rng),
        "ADDRESS": lambda: f"{r(1, 250)} {rng.choice(STREETS)}",
        "URL": lambda: rng.choice(
            [
                f"https://portal.example.org/track?id={r(10**6)}",
                f"www.{last}-clinic.co.uk/book",
                f"http://bit.ly/{r(10**5, 10**6)}",
            ]
        ),
    }
    clauses = {
        "EMAIL": ["email me on {}", "my email is {}", "({}) if you want to reply"],
        "PHONE": ["ring me on {}", "my mobile is {}", "they rang from {} twice", "call {} please"],
        "NHS_NUMBER": ["my NHS number is {}", "NHS no {}", "(nhs number {})"],
        "NINO": ["my NI number {} was on the form", "ni no. {}"],
        "SSN": ["my SSN {} was asked for", "social security number {}"],
        "CARD": ["they charged my card {} twice", "card ending... actually the full number {}"],
        "POSTCODE": ["i live in {}", "postcode {}", "sent to {} instead"],
        "ADDRESS": ["i live at {}", "they went to {} by mistake"],
        "URL": ["the link {} did not work", "see {}"],
    }
    return rng.choice(clauses[kind]), values[kind]()


ID_KINDS = [
    "EMAIL",
    "PHONE",
    "PHONE",
    "NHS_NUMBER",
    "NINO",
    "SSN",
    "CARD",
    "POSTCODE",
    "ADDRESS",
    "URL",
]


def _identifier_example(text: str, source: str, rng: random.Random) -> Example:
    kind = rng.choice(ID_KINDS)
    clause, value = _identifier(kind, rng)
    sentences = [m.end() for m in re.finditer(r"[.!?](?=\s)", text)]
    at = rng.choice(sentences) if sentences else len(text.rstrip())
    sep = " " if sentences else ". "
    insert = sep + clause[0].upper() + clause[1:] + "."
    start = at + len(sep) + clause.index("{}")
    built = text[:at] + insert.format(value) + text[at:]
    return Example(built, [(start, start + len(value), kind)], source, kind)


def _real_texts(shared: Path) -> dict[str, list[str]]:
    """Real texts per shared set (no planted PII), words ≥ 3."""
    nhs = pd.read_csv(shared / "nhs_patient_feedback_v6.csv")["FFT answer"]
    apps = pd.read_csv(shared / "gov_app_reviews.csv")["review"]
    polis = pd.read_csv(shared / "polis_bowling_green_comments.csv")["comment-body"]
    tweets = pd.read_csv(shared / "tweeteval_sentiment.csv")["text"]
    lines = []
    for path in sorted((shared / "transcripts" / "interviews").glob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            _, sep, said = line.partition(":")
            if sep and len(said.split()) >= 3:
                lines.append(said.strip())
    out = {}
    for name, col in (("nhs", nhs), ("app_reviews", apps), ("polis", polis), ("tweeteval", tweets)):
        col = col.dropna().astype(str).str.strip()
        out[name] = col[col.str.split().str.len() >= 3].drop_duplicates().tolist()
    out["interviews"] = list(dict.fromkeys(lines))
    return out


def clean_sets(shared: Path, n: int = 400, seed: int = 11) -> dict[str, list[str]]:
    """A seeded sample of `n` real texts per shared set, with nothing planted."""
    rng = random.Random(seed)
    return {k: rng.sample(v, min(n, len(v))) for k, v in _real_texts(shared).items()}


def build_set(
    shared: Path, n_person: int = 400, n_other: int = 300, seed: int = 16
) -> list[Example]:
    """The labelled set: `n_person` name examples and `n_other` other-identifier examples."""
    rng = random.Random(seed)
    texts = _real_texts(shared)
    pool = [(t, "nhs") for t in texts["nhs"]] + [(t, "app_reviews") for t in texts["app_reviews"]]
    placeholder = [p for p in pool if PLACEHOLDERS.search(p[0])]
    fits = [
        p for p in pool if ROLE_PHRASE.search(p[0]) or SPOKE_TO.search(p[0]) or SUBJECT.search(p[0])
    ]
    rng.shuffle(fits)
    people = []
    for text, source in placeholder + fits:
        if len(people) >= n_person:
            break
        if (example := _person_example(text, source, rng)) is not None:
            people.append(example)
    others = [_identifier_example(t, s, rng) for t, s in rng.sample(pool, n_other)]
    return people + others
