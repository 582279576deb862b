"""PII redaction recall and over-redaction on real NHS comments with planted synthetic PII.

Builds a labelled set (seeded): real comments from the NHS file, ~60 % of them with one or two
planted entities from realistic templates (names, emails, phones, SSN, NI number, cards,
addresses, postcodes, URLs). An entity is recalled when its original string no longer appears
after redaction. Over-redaction is the share of word tokens of the *unplanted* real comments
that redaction replaced (an upper bound: real comments contain some real names).

    .venv/bin/python bench/pii_eval.py [--shared ../shared/data] [--n 500]
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from nlp.ingest.pii import redact_pii  # noqa: E402
from nlp.language import load_spacy  # noqa: E402

FIRST = [
    "Margaret",
    "Priya",
    "Tom",
    "Siobhan",
    "Adebayo",
    "Wei",
    "Fatima",
    "Gareth",
    "Olga",
    "Jean-Luc",
    "Aisha",
    "Dmitri",
    "Bethan",
    "Carlos",
    "Mei",
    "Kwame",
    "Hannah",
    "Raj",
    "Zofia",
    "Liam",
    "Nkechi",
    "Sven",
    "Yusuf",
    "Grace",
]
LAST = [
    "Okafor",
    "Ramanathan",
    "Kowalski",
    "Gallagher",
    "Okonkwo",
    "Zhang",
    "Hussain",
    "Lindqvist",
    "Moreau",
    "Patel",
    "Nowak",
    "Oyelaran",
    "Whitfield",
    "Fernandes",
    "Chen",
    "Mensah",
    "Brennan",
    "Sharma",
    "Ivanova",
    "Murphy",
    "Adeyemi",
    "Larsen",
    "Demir",
    "Scott",
]
STREETS = [
    "Willow Crescent",
    "High Street",
    "Station Road",
    "Park Lane",
    "Church Close",
    "Victoria Avenue",
    "Mill Way",
    "Queens Drive",
    "Elm Grove",
    "Kings Court",
]
POSTCODES = ["LS6 2QT", "NE1 4LP", "SW1A 1AA", "M14 5RH", "B15 2TT", "NN1 3BE", "DH1 3LE"]
TITLES = ["Dr", "Nurse", "Mrs", "Mr", "Sister"]


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    sep = rng.choice([" ", "-", ""])
    return sep.join(s[i : i + 4] for i in range(0, 16, 4))


def _entity(kind: str, rng: random.Random) -> tuple[str, str]:
    """(template sentence with {}, entity string) for one entity type."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if kind == "PERSON":
        return rng.choice(
            [
                ("The nurse, {}, was lovely.", f"{first} {last}"),
                ("{} on the phone was unhelpful.", f"{first} {last}"),
                ("Please thank {} for everything.", f"{first} {last}"),
                ("My name is {} and I waited hours.", f"{first} {last}"),
                ("I was seen by {} who explained it well.", f"{rng.choice(TITLES)} {last}"),
                ("Ask for {} at the desk.", first),
                ("Thanks to {} and the team.", first),
            ]
        )
    if kind == "EMAIL":
        user = rng.choice(
            [first.lower(), f"{first[0].lower()}.{last.lower()}", f"{last.lower()}77"]
        )
        dom = rng.choice(["gmail.com", "nhs.net", "example.co.uk", "outlook.com"])
        return rng.choice(["Email me at {} please.", "My email is {}."]), f"{user}@{dom}"
    if kind == "PHONE":
        number = rng.choice(
            [
                f"07{rng.randrange(100, 999)} {rng.randrange(100000, 999999)}",
                f"0{rng.randrange(11, 99)}{rng.randrange(1, 9)} {rng.randrange(100, 999)} "
                f"{rng.randrange(1000, 9999)}",
                f"({rng.randrange(200, 999)}) {rng.randrange(200, 999)}-"
                f"{rng.randrange(1000, 9999)}",
                f"+44 {rng.randrange(7000, 7999)} {rng.randrange(100000, 999999)}",
                f"+1 {rng.randrange(200, 999)}-{rng.randrange(200, 999)}-"
                f"{rng.randrange(1000, 9999)}",
                f"+33 {rng.randrange(1, 9)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
                f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
            ]
        )
        return rng.choice(["Call me on {}.", "My number is {} if you need it."]), number
    if kind == "SSN":
        ssn = f"{rng.randrange(100, 899)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}"
        return "My SSN is {}.", ssn
    if kind == "NINO":
        letters = "".join(rng.choice("ABCEGHJKLMNPRSTWXYZ") for _ in range(2))
        nums = f"{rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
        return "NI number {} on the form.", f"{letters} {nums} {rng.choice('ABCD')}"
    if kind == "CARD":
        return "They charged my card {} twice.", _luhn_card(rng)
    if kind == "ADDRESS":
        return "I live at {}.", f"{rng.randrange(1, 250)} {rng.choice(STREETS)}"
    if kind == "POSTCODE":
        return "Send it to my postcode {}.", rng.choice(POSTCODES)
    if kind == "URL":
        return (
            "The link {} did not work.",
            f"https://portal.example.org/track?id={rng.randrange(10**6)}",
        )
    raise ValueError(kind)


KINDS = ["PERSON"] * 4 + [
    "EMAIL",
    "PHONE",
    "PHONE",
    "SSN",
    "NINO",
    "CARD",
    "ADDRESS",
    "POSTCODE",
    "URL",
]
GOALS = {"PERSON": 0.85, "EMAIL": 0.95, "PHONE": 0.95, "SSN": 0.95, "NINO": 0.95, "CARD": 0.95}


def build(comments: list[str], rng: random.Random) -> tuple[list[str], list[tuple[int, str, str]]]:
    planted, entities = [], []
    for i, text in enumerate(comments):
        if rng.random() < 0.6:
            for _ in range(rng.choice([1, 1, 2])):
                kind = rng.choice(KINDS)
                template, value = _entity(kind, rng)
                text = f"{text.rstrip()} {template.format(value)}"
                entities.append((i, kind, value))
        planted.append(text)
    return planted, entities


def redacted_token_share(original: list[str], redacted: list[str]) -> tuple[float, int]:
    tok = re.compile(r"\S+")
    total = changed = 0
    for a, b in zip(original, redacted, strict=True):
        ta, tb = tok.findall(a), tok.findall(b)
        total += len(ta)
        for op, i1, i2, _, _ in difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes():
            if op in ("replace", "delete"):
                changed += i2 - i1
    return changed / max(total, 1), total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    df = pd.read_csv(args.shared / "nhs_patient_feedback_v6.csv")
    texts = df["FFT answer"].dropna().astype(str)
    texts = texts[texts.str.split().str.len() >= 5].sample(args.n, random_state=7).tolist()
    rng = random.Random(7)
    planted, entities = build(texts, rng)
    nlp = load_spacy()
    t0 = time.perf_counter()
    out = [t for t, _ in redact_pii(planted, nlp)]
    seconds = time.perf_counter() - t0
    clean_out = [t for t, _ in redact_pii(texts, nlp)]

    found, total, missed = Counter(), Counter(), defaultdict(list)
    for i, kind, value in entities:
        total[kind] += 1
        if value not in out[i]:
            found[kind] += 1
        elif len(missed[kind]) < 5:
            missed[kind].append(value)
    share, n_tokens = redacted_token_share(texts, clean_out)
    placeholders = Counter(m for t in clean_out for m in re.findall(r"\[[A-Z_]+\]", t))

    print(
        f"PII evaluation: {len(planted)} real NHS comments, {len(entities)} planted entities, "
        f"{seconds:.1f} s ({len(planted) / seconds:.0f} comments/s)\n"
    )
    print("| type | n | recall | goal |")
    print("|---|---:|---:|---|")
    for kind in sorted(total):
        recall = found[kind] / total[kind]
        goal = GOALS.get(kind)
        verdict = "" if goal is None else f"≥ {goal:.2f} {'PASS' if recall >= goal else 'FAIL'}"
        print(f"| {kind} | {total[kind]} | {recall:.3f} | {verdict} |")
    overall = sum(found.values()) / sum(total.values())
    print(f"| all | {sum(total.values())} | {overall:.3f} | |")
    verdict = "PASS" if share < 0.02 else "FAIL"
    print(
        f"\nUnplanted real comments: {share:.2%} of {n_tokens} word tokens redacted "
        f"(goal < 2 %: {verdict}); placeholders: {dict(placeholders)}"
    )
    print("(an upper bound on false redactions: real comments name some staff)")
    for kind, values in missed.items():
        print(f"missed {kind}: {values}")


if __name__ == "__main__":
    main()
