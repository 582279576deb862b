"""Train the comment sentiment head on labelled feedback and save it to models/sentiment_head.

    .venv/bin/python scripts/train_sentiment.py            # NHS patient feedback (default)

Rows whose id falls in the hold-out (crc32(id) % 5 == 0, see nlp/evaluation.py) are never
used for training or tuning; bench/evaluate.py scores the saved head on exactly those rows.
The head is a few kilobytes of safetensors; the sentence encoder is the pipeline's own.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import embedding  # noqa: E402
from nlp.evaluation import holdout_mask, map_labels, parse_label_map  # noqa: E402
from nlp.sentiment import HEAD_DIR, train_head  # noqa: E402

NHS = "nhs_patient_feedback_v6.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / NHS)
    ap.add_argument("--id", default="Comment ID")
    ap.add_argument("--text", default="FFT answer")
    ap.add_argument("--label", default="Comment sentiment")
    ap.add_argument("--map", default="1,2=positive;3=neutral;4,5=negative")
    ap.add_argument("--holdout-every", type=int, default=5)
    ap.add_argument("--c", type=float, default=0.05)
    ap.add_argument("--encoder", default="minilm", choices=embedding.ENCODERS)
    ap.add_argument("--out", type=Path, default=HEAD_DIR)
    args = ap.parse_args()

    df = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    df["gold"] = map_labels(df[args.label].replace("", pd.NA), parse_label_map(args.map))
    df = df[df["gold"].notna() & df[args.text].str.strip().ne("")]
    train = df[~holdout_mask(df[args.id], args.holdout_every)]
    encoder = embedding.load_encoder(args.encoder, cache_dir=ROOT / "data" / "interim" / "encoders")
    t0 = time.perf_counter()
    X = embedding.embed_texts(encoder, train[args.text].tolist())
    print(f"embedded {len(train)} training comments in {time.perf_counter() - t0:.0f} s")
    head = train_head(
        X,
        train["gold"].tolist(),
        embedding.SPACE_IDS[args.encoder],
        c=args.c,
        trained_on=args.data.name,
        label_column=args.label,
        label_map=args.map,
        holdout=f"crc32({args.id}) % {args.holdout_every} == 0 excluded",
        class_counts=train["gold"].value_counts().to_dict(),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out = head.save(args.out)
    print(f"saved head ({head.weight.shape[0]}x{head.weight.shape[1]}) to {out}")
    labels, _ = head.predict(X)
    print(f"training accuracy {np.mean(np.array(labels) == train['gold'].to_numpy()):.3f}")


if __name__ == "__main__":
    main()
