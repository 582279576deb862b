"""Train the optional supervised pain-point head from labelled comments.

    .venv/bin/python scripts/train_categories.py     # NHS theme columns -> models/category_head_nhs

`--map` is a YAML of our category id -> the data's 0/1 label columns (a comment is positive for
a category when any mapped column is 1), e.g. bench/nhs_category_map.yaml. Rows in the hold-out
(crc32(id) % 5 == 0, nlp/evaluation.py) are never used; bench/evaluate.py scores them. Use it in
a run with `category_head: models/category_head_nhs` in the config.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import embedding  # noqa: E402
from nlp.evaluation import holdout_mask  # noqa: E402
from nlp.tagging.head import train_category_head  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/data/nhs_patient_feedback_v6.csv"
    )
    ap.add_argument("--id", default="Comment ID")
    ap.add_argument("--text", default="FFT answer")
    ap.add_argument("--map", type=Path, default=ROOT / "bench" / "nhs_category_map.yaml")
    ap.add_argument("--holdout-every", type=int, default=5)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--encoder", default="minilm", choices=embedding.ENCODERS)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "category_head_nhs")
    args = ap.parse_args()
    cmap = yaml.safe_load(args.map.read_text("utf-8"))
    df = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    df = df[df[args.text].str.strip().ne("")]
    missing = sorted({c for cols in cmap.values() for c in cols} - set(df.columns))
    if missing:
        raise SystemExit(f"{args.map}: columns not in {args.data}: {missing}")
    train = df[~holdout_mask(df[args.id], args.holdout_every)]
    labels = pd.DataFrame(
        {
            cat: train[cols].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1).gt(0)
            for cat, cols in cmap.items()
        }
    )
    t0 = time.perf_counter()
    X = embedding.embed_texts(
        embedding.load_encoder(args.encoder, cache_dir=ROOT / "data" / "interim" / "encoders"),
        train[args.text].tolist(),
    )
    print(f"embedded {len(train)} training comments in {time.perf_counter() - t0:.0f} s")
    head = train_category_head(
        X,
        labels.to_numpy(),
        list(cmap),
        embedding.SPACE_IDS[args.encoder],
        c=args.c,
        trained_on=args.data.name,
        label_map={k: list(v) for k, v in cmap.items()},
        holdout=f"crc32({args.id}) % {args.holdout_every} == 0 excluded",
        positives={k: int(v) for k, v in labels.sum().items()},
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    print(f"saved {len(cmap)} categories to {head.save(args.out)}")
    print("cross-validated F1 on the training rows:", head.metadata["cv_f1"])


if __name__ == "__main__":
    main()
