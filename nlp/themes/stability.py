"""How stable a topic fit is: refit a sample with another seed, compare like with like.

The sample's refit gets parameters scaled to the sample (a 2,000-document refit with a
14,000-document fit's `min_topic_size` finds almost nothing, so even a deterministic fit read as
noise), and the two partitions are compared on the documents both assign, discounted by how
many documents only one assigns, so agreeing on who is unassigned does not inflate the score.
A corpus no larger than the sample is refit whole. BERTopic is imported only when no `fit` is
passed (fast tests pass their own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from nlp.themes.params import TopicParams, TopicResult

MIN_TOPIC_FLOOR = 10  # as `model.default_min_topic_size`: below this HDBSCAN finds noise
AUTO_MIN_SAMPLES_CAP = 25  # as `model.AUTO_MIN_SAMPLES_CAP` (None = min(min_topic_size, 25))
# On real feedback the gate scores 0.49-0.94 (NHS 0.49, tweets 0.58, Polis 0.73, app reviews
# 0.94; a full refit with another seed scores 0.73-0.94 on the same fits), shuffled assignments
# and random embeddings at most 0.01 (bench/results/stability.md): a run under this is
# `degraded`. The old 0.5 would have marked the NHS fit degraded.
RECOMMENDED_MIN_ARI = 0.3

FitFunction = Callable[..., TopicResult]


@dataclass(frozen=True)
class StabilityResult:
    """ARI between the fit and a reseeded refit (None when it could not be measured), how it
    was measured (`sample` / `full` / `off` / `skipped`), the documents refit and the rest."""

    ari: float | None
    method: str
    sample_size: int
    details: dict[str, float | int | str | None] = field(default_factory=dict)


def scaled_size(value: int, fraction: float, floor: int = MIN_TOPIC_FLOOR) -> int:
    """`value` scaled by `fraction` (sample / fitted documents), never below the floor rule of
    `default_min_topic_size` (10), nor above `value`; a value set under the floor stays."""
    return max(min(floor, value), min(value, round(value * fraction)))


def fitted_sizes(params: TopicParams, n_fitted: int) -> tuple[int, int]:
    """(min_topic_size, min_samples) the fit of `n_fitted` documents used (`model._bertopic`)."""
    min_size = params.min_topic_size or max(MIN_TOPIC_FLOOR, round(n_fitted * 0.005))
    return min_size, params.min_samples or min(min_size, AUTO_MIN_SAMPLES_CAP)


def sample_params(params: TopicParams, n_docs: int, n_sample: int) -> TopicParams:
    """The refit's parameters: another seed, and HDBSCAN sizes scaled from the documents the
    full fit saw (at most `fit_sample`) to the sample, so clusters of the same share survive."""
    n_fitted = min(n_docs, params.fit_sample)
    min_size, min_samples = fitted_sizes(params, n_fitted)
    fraction = n_sample / n_fitted if n_fitted else 1.0
    return replace(
        params,
        seed=params.seed + 1,
        min_topic_size=scaled_size(min_size, fraction),
        min_samples=scaled_size(min_samples, fraction),
    )


def stability(
    docs: Sequence[str],
    embeddings: np.ndarray,
    assignments: np.ndarray,
    params: TopicParams,
    *,
    sample_size: int,
    fit: FitFunction | None = None,
    groups: np.ndarray | None = None,
    **fit_kwargs,
) -> StabilityResult:
    """Refit `sample_size` documents (all of them when the corpus is no larger) with another seed
    and parameters scaled to the sample; compare with this fit's `assignments` on those documents.

    `ari` is `partition_agreement`'s (ARI on documents both assign × coverage); `details` hold
    the refit's sizes and seed and the other agreement measures. `fit` defaults to
    `model.fit_topics`; `fit_kwargs` go to it (guided arguments, no words), and so do the
    sampled documents' `groups` (the comment of each statement unit), so the refit chooses its
    cluster selection by the same measure as the fit it is compared with."""
    n = len(docs)
    if sample_size <= 0:
        return StabilityResult(None, "off", 0)
    if fit is None:
        from nlp.themes.model import fit_topics as fit
    whole = n <= sample_size
    if whole:
        idx = np.arange(n)
        refit_params = sample_params(params, n, n)
    else:
        idx = np.sort(np.random.default_rng(params.seed).choice(n, size=sample_size, replace=False))
        refit_params = sample_params(params, n, sample_size)
    if groups is not None:
        fit_kwargs = {**fit_kwargs, "groups": np.asarray(groups)[idx]}
    refit = fit([docs[i] for i in idx], embeddings[idx], refit_params, **fit_kwargs)
    method = "full" if whole else "sample"
    details: dict[str, float | int | str | None] = {
        "min_topic_size": refit_params.min_topic_size,
        "min_samples": refit_params.min_samples,
        "seed": refit_params.seed,
    }
    if refit.skipped_reason:
        details["reason"] = refit.skipped_reason
        return StabilityResult(None, "skipped", len(idx), details)
    details.update(partition_agreement(np.asarray(assignments)[idx], refit.assignments))
    return StabilityResult(details["ari"], method, len(idx), details)


def partition_agreement(first: np.ndarray, second: np.ndarray) -> dict[str, float | int | None]:
    """How two assignments of the same documents (-1 = unassigned) agree.

    `ari` (the gate): ARI over the documents both assign, times `coverage`, the share of the
    documents assigned by either that both assign — so agreeing on who is unassigned earns
    nothing and assigning different documents costs. Two tempting measures are biased and kept
    only as details: `ari_either` (documents assigned by either, -1 a label: the selection
    makes -1 look informative; random embeddings scored 0.44) and `ari_singletons` (-1s as
    clusters of one: credits agreeing on which documents are assigned, 0.46 for random labels
    on the same 20 % of documents). `agreement`: share of the documents both assign that keep
    their topic under the best one-to-one relabelling; `ari_all`: the old gate, every
    document, -1 a label."""
    first, second = np.asarray(first), np.asarray(second)
    either = (first >= 0) | (second >= 0)
    both = (first >= 0) & (second >= 0)
    coverage = float(both.sum() / either.sum()) if either.any() else None
    ari_both = _ari(first[both], second[both])
    return {
        "ari": ari_both * coverage if ari_both is not None and coverage is not None else None,
        "ari_both": ari_both,
        "coverage": coverage,
        "agreement": matched_share(first[both], second[both]),
        "ari_either": _ari(first[either], second[either]),
        "ari_singletons": _ari(_singletons(first), _singletons(second)),
        "ari_all": _ari(first, second),
        "assigned_either": int(either.sum()),
        "assigned_both": int(both.sum()),
        "topics_fit": int(len(set(first[first >= 0].tolist()))),
        "topics_refit": int(len(set(second[second >= 0].tolist()))),
        "unassigned_fit": float((first < 0).mean()) if len(first) else None,
        "unassigned_refit": float((second < 0).mean()) if len(second) else None,
    }


def _singletons(labels: np.ndarray) -> np.ndarray:
    """Labels with each unassigned (-1) document given a label of its own."""
    out = labels.astype(np.int64).copy()
    noise = out < 0
    out[noise] = out.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return out


def _ari(a: np.ndarray, b: np.ndarray) -> float | None:
    return float(adjusted_rand_score(a, b)) if len(a) else None


def matched_share(first: np.ndarray, second: np.ndarray) -> float | None:
    """Share of documents on the diagonal of the best one-to-one topic matching (Hungarian)."""
    if len(first) == 0:
        return None
    rows, row_of = np.unique(first, return_inverse=True)
    cols, col_of = np.unique(second, return_inverse=True)
    table = np.zeros((len(rows), len(cols)), dtype=np.int64)
    np.add.at(table, (row_of, col_of), 1)
    r, c = linear_sum_assignment(-table)
    return float(table[r, c].sum() / len(first))
