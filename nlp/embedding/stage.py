"""The embedding stage: embed a run's documents through the text-hash cache and, with the
sentiment branch, score the asked-for texts on the same pass's token states."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nlp.embedding.encode import embed_with_cache
from nlp.embedding.protocol import Encoder


@dataclass
class Embedded:
    """A run's embeddings and what the caches gain; the branch's outputs when it ran."""

    matrix: np.ndarray  # one unit float32 row per text, in input order
    fresh: dict[str, np.ndarray]  # text hash -> vector embedded now (append to the cache)
    branch_log_p: dict[str, np.ndarray] = field(default_factory=dict)  # hash -> log p, asked
    fresh_branch: dict[str, np.ndarray] = field(default_factory=dict)  # computed now (append)
    branch_seconds: float = 0.0  # the branch's own time beside the shared pass
    # the documents' statements (nlp.themes.statements) and their rows, when embedded too
    statements: pd.DataFrame | None = None
    statement_matrix: np.ndarray | None = None
    # the branch on statements (statement hash -> log p), for comments labelled from them
    statement_branch_log_p: dict[str, np.ndarray] = field(default_factory=dict)


def embedded_documents(
    *,
    texts: Sequence[str],
    hashes: Sequence[str],
    encoder: Encoder,
    cache: dict[str, np.ndarray],
    batch_size: int,
    branch=None,
    branch_cache: dict[str, np.ndarray] | None = None,
    states_for: Collection[str] = (),
) -> Embedded:
    """Embed the texts not in `cache`; with `branch` (a `SentimentBranch`), the texts hashed in
    `states_for` get its log-probabilities, from `branch_cache` or from this pass's states."""
    branch_cache = branch_cache if branch_cache is not None else {}
    collector = branch.collector() if branch is not None else None
    matrix, fresh = embed_with_cache(
        encoder,
        texts,
        hashes,
        cache,
        batch_size,
        states_hook=collector,
        states_for=set(states_for) - set(branch_cache),
    )
    if collector is None:
        return Embedded(matrix, fresh)
    new_log_p = collector.results()
    log_p = {h: v for h, v in {**branch_cache, **new_log_p}.items() if h in states_for}
    return Embedded(matrix, fresh, log_p, new_log_p, collector.seconds)
