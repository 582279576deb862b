"""The embedding stage and the chunking/cache helpers, on a tiny fake encoder (no model)."""

from __future__ import annotations

import numpy as np

from nlp.embedding import Encoder, embed_texts, embed_with_cache, embedded_documents


class FakeEncoder:
    """Bag-of-words vectors: deterministic, unit length, with fake token states."""

    name = "fake"
    encoder_id = space_id = "fake@0"
    has_states = True
    max_seq_length = 32  # -> 20-word chunks

    def __init__(self):
        self.calls: list[list[str]] = []

    def dimension(self) -> int:
        return 8

    def encode(self, texts, batch_size=64, states_hook=None):
        self.calls.append(list(texts))
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split() or [""]:
                out[i, sum(map(ord, word)) % 8] += 1.0
        if states_hook is not None:
            states_hook(np.arange(len(texts)), out[:, None, :], np.ones((len(texts), 1)))
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class FakeBranch:
    """A sentiment branch stand-in: its collector records which keys got states."""

    def collector(self):
        return FakeCollector()


class FakeCollector:
    seconds = 0.5

    def __init__(self):
        self.keys: list[str] = []

    def __call__(self, keys, states, mask):
        self.keys += list(keys)

    def results(self):
        return {k: np.full(3, -1.0) for k in self.keys}


def test_embedding_stage_fake_encoder_satisfies_the_protocol():
    assert isinstance(FakeEncoder(), Encoder)


def test_embedding_stage_long_texts_are_chunked_and_pooled_to_unit_rows():
    encoder = FakeEncoder()
    long_text = " ".join(f"w{i}" for i in range(50))
    vectors = embed_texts(encoder, ["short text", long_text])
    assert vectors.shape == (2, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert [len(c.split()) for c in encoder.calls[0]] == [2, 20, 20, 10]


def test_embedding_stage_embeds_only_cache_misses():
    encoder = FakeEncoder()
    _, fresh = embed_with_cache(encoder, ["a b", "c d"], ["h1", "h2"], {})
    matrix, new = embed_with_cache(encoder, ["a b", "c d", "e f"], ["h1", "h2", "h3"], fresh)
    assert encoder.calls[-1] == ["e f"] and sorted(new) == ["h3"]
    np.testing.assert_array_equal(matrix[:2], np.stack([fresh["h1"], fresh["h2"]]))


def test_embedding_stage_without_branch_returns_vectors_and_fresh_entries():
    encoder = FakeEncoder()
    cache = embedded_documents(
        texts=["a b"], hashes=["h1"], encoder=encoder, cache={}, batch_size=4
    ).fresh
    embedded = embedded_documents(
        texts=["a b", "c d"], hashes=["h1", "h2"], encoder=encoder, cache=cache, batch_size=4
    )
    assert embedded.matrix.shape == (2, 8) and sorted(embedded.fresh) == ["h2"]
    assert embedded.branch_log_p == {} and embedded.fresh_branch == {}


def test_embedding_stage_branch_scores_asked_texts_from_its_cache_or_this_pass():
    encoder = FakeEncoder()
    texts, hashes = ["a b", "c d", "e f"], ["h1", "h2", "h3"]
    cache = embed_with_cache(encoder, texts[:2], hashes[:2], {})[1]
    cached_log_p = {"h1": np.zeros(3)}
    embedded = embedded_documents(
        texts=texts,
        hashes=hashes,
        encoder=encoder,
        cache=cache,
        batch_size=4,
        branch=FakeBranch(),
        branch_cache=cached_log_p,
        states_for=frozenset({"h1", "h2"}),
    )
    # h1: branch-cached, not re-encoded; h2: cached vector, re-encoded for states; h3: new
    assert encoder.calls[-1] == ["c d", "e f"]
    assert sorted(embedded.fresh) == ["h3"] and sorted(embedded.fresh_branch) == ["h2", "h3"]
    assert sorted(embedded.branch_log_p) == ["h1", "h2"]  # only the asked-for texts
    np.testing.assert_array_equal(embedded.branch_log_p["h1"], np.zeros(3))
    assert embedded.branch_seconds == 0.5
