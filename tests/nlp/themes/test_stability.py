"""The stability gate: parameters scaled to the sample, like-with-like comparison, and a fit
that is stable scoring high while a shuffled one scores low. Fast tests use a stand-in fit;
the slow one refits real BERTopic on a small planted corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlp.themes.params import TopicParams, TopicResult
from nlp.themes.stability import (
    fitted_sizes,
    matched_share,
    partition_agreement,
    sample_params,
    scaled_size,
    stability,
)


def planted(n_per: int, k: int, dim: int = 16, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`k` tight clusters of `n_per` unit vectors, one per axis."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n_per)
    emb = rng.normal(0, 0.05, size=(len(labels), dim))
    emb[np.arange(len(labels)), labels] += 1.0
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    docs = [f"doc {i} about theme {t}" for i, t in enumerate(labels)]
    return docs, emb.astype(np.float32)


class AxisFit:
    """A deterministic stand-in for `fit_topics`: topic = strongest axis, clusters smaller
    than `min_topic_size` unassigned; records the parameters it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, TopicParams]] = []
        self.kwargs: list[dict] = []

    def __call__(self, docs, embeddings, params, **kwargs) -> TopicResult:
        self.calls.append((len(docs), params))
        self.kwargs.append(kwargs)
        labels = np.argmax(embeddings, axis=1).astype(np.int64)
        min_size = params.min_topic_size or 10
        for t in np.unique(labels):
            if (labels == t).sum() < min_size:
                labels[labels == t] = -1
        skipped = None if (labels >= 0).any() else "no cluster found"
        return TopicResult(labels, np.zeros(len(docs)), pd.DataFrame(), {}, skipped)


def test_stability_scaled_size_keeps_floor_and_never_grows():
    assert scaled_size(72, 2000 / 14_400) == 10  # the floor of default_min_topic_size
    assert scaled_size(200, 0.5) == 100
    assert scaled_size(5, 0.1) == 5  # set under the floor: stays
    assert scaled_size(30, 2.0) == 30  # a sample never needs larger clusters


def test_stability_sample_params_scale_from_the_documents_fitted():
    params = TopicParams(seed=7, min_topic_size=100)
    scaled = sample_params(params, n_docs=10_000, n_sample=2000)
    assert (scaled.seed, scaled.min_topic_size, scaled.min_samples) == (8, 20, 10)
    # beyond fit_sample the full fit saw fit_sample documents, not the corpus
    auto = TopicParams(min_topic_size=None, fit_sample=20_000)
    assert fitted_sizes(auto, 20_000) == (100, 25)
    big = sample_params(auto, n_docs=100_000, n_sample=10_000)
    assert (big.min_topic_size, big.min_samples) == (50, 12)


def test_stability_deterministic_fit_scores_one_on_a_sample_with_scaled_sizes():
    docs, emb = planted(200, 5)
    fit = AxisFit()
    params = TopicParams(min_topic_size=100)
    full = fit(docs, emb, params)
    result = stability(docs, emb, full.assignments, params, sample_size=200, fit=fit)
    assert result.method == "sample" and result.sample_size == 200
    assert result.ari == pytest.approx(1.0) and result.details["agreement"] == pytest.approx(1.0)
    n_refit, refit_params = fit.calls[-1]
    assert n_refit == 200 and refit_params.min_topic_size == 20 and refit_params.seed == 43
    # the unscaled size (100) on 200 documents finds nothing: what the old gate measured
    assert fit(docs[::5], emb[::5], params).skipped_reason


def test_stability_refit_gets_the_sampled_units_documents():
    docs, emb = planted(200, 5)  # 1,000 units, three statements a comment
    groups = np.arange(len(docs)) // 3
    fit = AxisFit()
    params = TopicParams(min_topic_size=100)
    full = fit(docs, emb, params, groups=groups)
    stability(docs, emb, full.assignments, params, sample_size=200, fit=fit, groups=groups)
    idx = np.sort(np.random.default_rng(params.seed).choice(len(docs), size=200, replace=False))
    np.testing.assert_array_equal(fit.kwargs[-1]["groups"], groups[idx])
    stability(docs, emb, full.assignments, params, sample_size=200, fit=fit)
    assert "groups" not in fit.kwargs[-1]  # none given, none passed


def test_stability_shuffled_assignments_score_like_noise():
    docs, emb = planted(200, 5)
    fit = AxisFit()
    params = TopicParams(min_topic_size=100)
    shuffled = np.random.default_rng(1).permutation(fit(docs, emb, params).assignments)
    result = stability(docs, emb, shuffled, params, sample_size=300, fit=fit)
    assert result.ari is not None and result.ari < 0.1
    assert result.details["agreement"] < 0.5


def test_stability_small_corpus_is_refit_whole_with_the_same_sizes():
    docs, emb = planted(30, 4)
    fit = AxisFit()
    params = TopicParams(min_topic_size=12)
    result = stability(
        docs, emb, fit(docs, emb, params).assignments, params, sample_size=2000, fit=fit
    )
    assert result.method == "full" and result.sample_size == 120
    assert fit.calls[-1][1].min_topic_size == 12 and fit.calls[-1][1].seed == params.seed + 1
    assert result.ari == pytest.approx(1.0)


def test_stability_off_and_skipped_refits_give_no_score():
    docs, emb = planted(30, 4)
    assert stability(docs, emb, np.zeros(120), TopicParams(), sample_size=0).method == "off"
    nothing = AxisFit()
    params = TopicParams(min_topic_size=500)  # every cluster is too small
    result = stability(docs, emb, np.zeros(120), params, sample_size=60, fit=nothing)
    assert result.ari is None and result.method == "skipped" and "reason" in result.details


def test_stability_agreement_ignores_documents_both_leave_unassigned():
    rng = np.random.default_rng(3)
    first = np.r_[np.full(80, -1), np.repeat([0, 1], 10)]
    second = np.r_[np.full(80, -1), rng.permutation(np.repeat([0, 1], 10))]
    out = partition_agreement(first, second)
    # counted with the shared -1s the old measure (and -1s as singletons) look fine; on the
    # assigned documents it is noise
    assert out["ari_all"] > 0.5 and out["ari_singletons"] > 0.3 and out["ari"] < 0.2
    assert out["assigned_either"] == 20 and out["topics_fit"] == 2 and out["coverage"] == 1.0


def test_stability_documents_only_one_side_assigns_lower_the_score():
    labels = np.repeat([0, 1, 2, 3], 25)
    half = labels.copy()
    half[::2] = -1  # the refit agrees on the documents it assigns but leaves half out
    out = partition_agreement(labels, half)
    assert out["ari_both"] == pytest.approx(1.0) and out["coverage"] == pytest.approx(0.5)
    assert out["ari"] == pytest.approx(0.5)


def test_stability_unrelated_partitions_with_many_unassigned_score_zero():
    rng = np.random.default_rng(0)
    first = np.where(rng.random(2000) < 0.8, -1, rng.integers(0, 18, 2000))
    second = np.where(rng.random(2000) < 0.5, -1, rng.integers(0, 3, 2000))
    out = partition_agreement(first, second)
    assert abs(out["ari"]) < 0.02
    # restricting to documents assigned in either side makes -1 look informative
    assert out["ari_either"] > 0.1


def test_stability_matched_share_is_label_free():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert matched_share(a, np.array([5, 5, 3, 3, 9, 9])) == pytest.approx(1.0)
    assert matched_share(a, np.array([5, 5, 5, 3, 3, 3])) == pytest.approx(4 / 6)
    assert matched_share(np.array([]), np.array([])) is None


@pytest.mark.slow
def test_stability_real_bertopic_stable_fit_high_shuffled_low():
    from nlp.themes.model import fit_topics

    rng = np.random.default_rng(0)
    themes = ["parking", "waiting", "nurses", "food", "noise"]
    docs, rows = [], []
    for t, word in enumerate(themes):
        for i in range(80):
            docs.append(f"{word} comment {i} {rng.choice(['good', 'bad', 'ok'])} {word}")
            v = rng.normal(0, 0.08, size=24)
            v[t] += 1.0
            rows.append(v)
    emb = np.asarray(rows, dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    params = TopicParams(seed=42)
    full = fit_topics(docs, emb, params)
    stable = stability(docs, emb, full.assignments, params, sample_size=200)
    assert stable.method == "sample" and stable.ari is not None and stable.ari > 0.8
    shuffled = rng.permutation(full.assignments)
    noisy = stability(docs, emb, shuffled, params, sample_size=200)
    assert noisy.ari is not None and noisy.ari < 0.2
