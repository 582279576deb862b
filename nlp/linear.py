"""Numeric helpers shared by the linear heads (sentiment, categories) on sentence embeddings."""

from __future__ import annotations

import numpy as np


def standardise(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and scale (std, floored) of training embeddings."""
    return embeddings.mean(axis=0), embeddings.std(axis=0).clip(min=1e-6)


def check_width(embeddings: np.ndarray, weight: np.ndarray, encoder: str) -> None:
    if embeddings.ndim != 2 or embeddings.shape[1] != weight.shape[0]:
        raise ValueError(
            f"head expects {weight.shape[0]}-d embeddings from {encoder}, "
            f"got shape {embeddings.shape}"
        )
