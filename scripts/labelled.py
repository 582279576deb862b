"""What the sentiment training scripts share: the labelled file's arguments and its training rows.

Rows whose id falls in the hold-out (crc32(id) % K == 0, nlp/evaluation.py) are never returned:
bench/evaluate.py scores the saved models on exactly those rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from nlp.evaluation import holdout_mask, map_labels, parse_label_map

ROOT = Path(__file__).resolve().parent.parent
NHS = ROOT.parent / "shared" / "data" / "nhs_patient_feedback_v6.csv"


def add_labelled_arguments(ap: argparse.ArgumentParser) -> None:
    """--data, --id, --text, --label, --map, --holdout-every (defaults: the NHS file)."""
    ap.add_argument("--data", type=Path, default=NHS)
    ap.add_argument("--id", default="Comment ID")
    ap.add_argument("--text", default="FFT answer")
    ap.add_argument("--label", default="Comment sentiment")
    ap.add_argument("--map", default="1,2=positive;3=neutral;4,5=negative")
    ap.add_argument("--holdout-every", type=int, default=5)


def training_rows(args: argparse.Namespace) -> pd.DataFrame:
    """Labelled, non-empty rows outside the hold-out, with the mapped label in `gold`."""
    df = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    df["gold"] = map_labels(df[args.label].replace("", pd.NA), parse_label_map(args.map))
    df = df[df["gold"].notna() & df[args.text].str.strip().ne("")]
    return df[~holdout_mask(df[args.id], args.holdout_every)].reset_index(drop=True)


def provenance(args: argparse.Namespace) -> dict:
    """Metadata naming the training data, labels and hold-out."""
    return {
        "trained_on": args.data.name,
        "label_column": args.label,
        "label_map": args.map,
        "holdout": f"crc32({args.id}) % {args.holdout_every} == 0 excluded",
    }
