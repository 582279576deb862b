"""Two-level themes: planted groups of centroids become parents with deterministic ids and
labels; unrelated themes are not forced together."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.themes.hierarchy import parent_themes, target_parents


def grouped_centroids(groups: int, per: int, dim: int = 32, noise: float = 0.05, seed: int = 0):
    """`groups` directions (orthogonal axes), `per` noisy centroids around each."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        for _ in range(per):
            v = rng.normal(0, noise, size=dim)
            v[g] += 1.0
            rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize(
    ("n", "k"), [(0, 0), (1, 1), (2, 1), (3, 2), (5, 2), (6, 2), (9, 3), (30, 5)]
)
def test_hierarchy_target_is_about_sqrt_and_at_least_two_from_six(n, k):
    assert target_parents(n) == k


def test_hierarchy_planted_groups_become_parents_named_after_largest_child():
    cents = grouped_centroids(3, 3)
    ids = [10, 11, 12, 20, 21, 22, 30, 31, 32]
    sizes = [5, 50, 7, 9, 8, 30, 40, 1, 2]
    labels = [f"theme {t}" for t in ids]
    p = parent_themes(cents, ids, sizes, labels=labels)
    assert p.parent_id == [10, 10, 10, 20, 20, 20, 30, 30, 30]
    assert p.labels == {10: "theme 11", 20: "theme 22", 30: "theme 30"}
    assert p.children[20] == [20, 21, 22]
    assert all(0 < p.merge_distance[pid] < 0.5 for pid in p.children)
    assert len(p.heights) == 8 and p.heights == sorted(p.heights)


def test_hierarchy_is_deterministic_whatever_the_row_order():
    cents = grouped_centroids(3, 3, seed=4)
    ids = list(range(9))
    sizes = list(range(1, 10))
    labels = [f"t{t}" for t in ids]
    first = parent_themes(cents, ids, sizes, labels=labels).parent_of()
    order = np.random.default_rng(1).permutation(9)
    again = parent_themes(
        cents[order],
        [ids[i] for i in order],
        [sizes[i] for i in order],
        labels=[labels[i] for i in order],
    ).parent_of()
    assert first == again


def test_hierarchy_unrelated_themes_stay_their_own_parents():
    cents = np.eye(6, 16, dtype=np.float32)  # six mutually orthogonal themes
    ids = [3, 1, 4, 5, 9, 2]
    p = parent_themes(cents, ids, [1] * 6, labels=list("abcdef"))
    assert p.parent_id == ids and p.merge_distance == dict.fromkeys(ids, 0.0)
    # without the cap the target count (2) would force merges
    forced = parent_themes(cents, ids, [1] * 6, labels=list("abcdef"), max_distance=2.0)
    assert len(forced.children) == 2


def test_hierarchy_shared_words_and_small_inputs():
    cents = grouped_centroids(1, 2)
    p = parent_themes(
        cents,
        [7, 4],
        [3, 3],
        labels=["waiting times", "long waits"],
        top_words=["wait, time, long", "long, wait, queue"],
    )
    assert p.parent_id == [4, 4] and p.labels == {4: "long waits"}  # tie: smaller id
    assert p.shared_words == {4: ["long", "wait"]}
    one = parent_themes(cents[:1], [7], [3], labels=["x"])
    assert one.parent_id == [7] and one.children == {7: [7]} and one.heights == []
    with pytest.raises(ValueError, match="same length"):
        parent_themes(cents, [1], [1, 2], labels=["a", "b"])
