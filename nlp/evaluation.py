"""Helpers shared by model training and evaluation: a stable hold-out split and label maps.

The split depends only on each row's id, so a training script and an evaluation harness run
at different times agree on which rows are test rows, and new rows never move old ones.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def holdout_mask(ids: pd.Series, every: int = 5) -> np.ndarray:
    """True for test rows: crc32(id) % every == 0 (about 1/every of the rows)."""
    return np.array([zlib.crc32(str(i).encode("utf-8")) % every == 0 for i in ids], dtype=bool)


def parse_label_map(spec: str) -> dict[str, str]:
    """'1,2=positive;3=neutral;4,5=negative' -> {'1': 'positive', ..., '5': 'negative'}.

    Keys are compared as strings after dropping a trailing '.0' (CSV floats).
    """
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        if "=" not in part:
            raise ValueError(f"label map part {part!r} has no '=' (expected e.g. '1,2=positive')")
        keys, label = part.split("=", 1)
        for key in keys.split(","):
            mapping[key.strip()] = label.strip()
    return mapping


def map_labels(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Raw gold labels -> our labels; unmapped or empty values become <NA>."""
    keys = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return keys.map(mapping).astype("string")
