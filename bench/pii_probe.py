"""Identifiers in other phrasings: 30 hand-written sentences with PII a public-sector comment
may hold (dates of birth, bank details, case references, IPs, user names, number plates, phones,
e-mails, national ids, addresses, names), each printed with its redaction count and output.

    .venv/bin/python bench/pii_probe.py                  # this checkout
    .venv/bin/python bench/pii_probe.py --root ../old    # another checkout, for before/after
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SENTENCES = """my number is 07700 900123 please call
call me on +44 7700 900 123 anytime
ring (555) 123-4567 or 555.123.4567 or 1-800-555-0199
text me on 07700900123
email jane.doe@nhs.net or JANE_DOE99@Gmail.COM
DOB 12/03/1985 and born on 3 March 1985
NHS number 943 476 5919
NI number QQ 12 34 56 C
my address is 14 Elm Grove, Leeds LS6 2QT
I live at Flat 2b, 33 Kings Road, London
I live at 221B Baker Street
sort code 12-34-56 account number 12345678
passport number 123456789
my IP was 192.168.1.10
car reg AB12 CDE was towed
card 4111 1111 1111 1111 was charged
SSN 123-45-6789
he lives at 1600 Pennsylvania Avenue NW, Washington, DC 20500
my IBAN GB82 WEST 1234 5698 7654 32
my case reference is 2023/12345
visit www.example.com/my-case?id=123
my username is jdoe1985 on the portal
my son Oliver James Smith, aged 7,
dear Dr. Anne-Marie O'Neill-Brown
Mr. and Mrs. Patel came
i was seen by dr okafor
contact sarah.jones at home
my daughter's name is Chloé
patient ID 00123456
phone: 020 7946 0958""".splitlines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from nlp.ingest import pii
    from nlp.language import load_spacy

    for _, (text, n) in zip(SENTENCES, pii.redact_pii(SENTENCES, load_spacy()), strict=True):
        print(f"{n} {text}")


if __name__ == "__main__":
    main()
