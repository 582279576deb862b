"""Throughput of ingestion + cleaning + PII redaction on 10,000 real comments.

Comments are sampled (seeded, with replacement) from the NHS file and the government app
reviews, written to a CSV, and each stage is timed once. The baseline, measured in the same
run, is plain `normalise_text` over the same texts; the ratio says how much the full ingest
costs relative to it.

    .venv/bin/python bench/ingest_throughput.py [--shared ../shared/data] [--n 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from flows import io  # noqa: E402
from flows.config import ColumnMap  # noqa: E402
from nlp.ingest import cleaning, corpus, pii  # noqa: E402
from nlp.language import load_spacy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    nhs = pd.read_csv(args.shared / "nhs_patient_feedback_v6.csv")["FFT answer"].dropna()
    apps = pd.read_csv(args.shared / "gov_app_reviews.csv")["review"].dropna()
    pool = pd.concat([nhs, apps], ignore_index=True).astype(str)
    texts = pool.sample(args.n, replace=True, random_state=7).reset_index(drop=True)
    frame = pd.DataFrame({"id": [f"r{i:06d}" for i in range(args.n)], "text": texts})
    nlp = load_spacy()
    cleaning.detect_language("warm up the language model")  # load outside the timings

    timings: dict[str, float] = {}

    def timed(name, fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        timings[name] = time.perf_counter() - t0
        return out

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "comments.csv"
        frame.to_csv(path, index=False)
        rows = timed("read CSV", io.read_comments, path, ColumnMap(date=None, service=None))
    rows["kind"] = "comment"
    rows["comment_id"] = corpus.comment_ids(rows, "bench")
    rows["row_hash"] = timed("row hashes", corpus.row_hashes, rows)
    kept, quarantined = timed(
        "triage (normalise, validate, dedupe)", cleaning.triage_comments, rows
    )
    redacted = timed(
        "PII redaction (rules + spaCy NER)", pii.redact_pii, kept["text"].tolist(), nlp
    )
    texts_out = [t for t, _ in redacted]
    timed("language id", lambda: [cleaning.detect_language(t) for t in texts_out])
    timed("text hashes", lambda: [cleaning.text_hash(t) for t in texts_out])
    timed("baseline: normalise_text only", lambda: [cleaning.normalise_text(t) for t in texts])

    baseline = timings.pop("baseline: normalise_text only")
    total = sum(timings.values())
    print(
        f"Ingest throughput: {args.n} comments ({len(kept)} kept, {len(quarantined)} "
        f"quarantined), mean {texts.str.len().mean():.0f} chars\n"
    )
    print("| stage | seconds | comments/s |")
    print("|---|---:|---:|")
    for name, sec in timings.items():
        print(f"| {name} | {sec:.2f} | {args.n / sec:,.0f} |")
    print(f"| **total** | {total:.2f} | {args.n / total:,.0f} |")
    print(f"| baseline: normalise_text only | {baseline:.2f} | {args.n / baseline:,.0f} |")
    print(f"\nfull ingest / baseline = {total / baseline:.1f}x")


if __name__ == "__main__":
    main()
