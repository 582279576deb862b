"""The on-disk embedding cache: a rerun embeds only texts it has not seen."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.embedding import SPACE_IDS, embed_texts, embed_with_cache, load_encoder

pytestmark = pytest.mark.slow


def test_embedding_cache_hits_skip_the_encoder_and_misses_fill_it(tmp_path):
    from flows import io  # the cache files are the flow's (imported here: prefect-free collection)

    encoder = load_encoder()
    texts = ["The staff were lovely.", "I waited four hours.", "Parking was expensive."]
    hashes = ["h1", "h2", "h3"]
    path = io.embedding_cache_path(tmp_path, SPACE_IDS["minilm"])

    first, fresh = embed_with_cache(encoder, texts[:2], hashes[:2], io.load_embedding_cache(path))
    assert sorted(fresh) == ["h1", "h2"]  # two misses
    io.append_embedding_cache(path, {}, fresh)

    cache = io.load_embedding_cache(path)
    again, fresh = embed_with_cache(encoder, texts, hashes, cache)
    assert sorted(fresh) == ["h3"]  # two hits, one miss
    np.testing.assert_allclose(again[:2], first, atol=1e-6)
    np.testing.assert_allclose(again[2], embed_texts(encoder, texts[2:])[0], atol=1e-5)
    io.append_embedding_cache(path, cache, fresh)
    assert sorted(io.load_embedding_cache(path)) == ["h1", "h2", "h3"]


def test_states_hook_sees_new_texts_and_asked_for_cached_ones_keyed_by_hash(tmp_path):
    encoder = load_encoder()
    texts = ["The staff were lovely.", "I waited four hours.", "Parking was expensive."]
    hashes = ["h1", "h2", "h3"]
    _, fresh = embed_with_cache(encoder, texts[:2], hashes[:2], {})
    seen: list[str] = []

    def hook(keys, states, mask):
        assert states.shape[:2] == mask.shape and states.shape[2] == 384
        seen.extend(keys)

    # h1 cached and not asked for: not encoded; h2 cached but asked for; h3 new
    again, new = embed_with_cache(
        encoder, texts, hashes, fresh, states_hook=hook, states_for={"h2"}
    )
    assert sorted(seen) == ["h2", "h3"] and sorted(new) == ["h3"]
    np.testing.assert_allclose(again[1], fresh["h2"])  # a cached vector is kept, not replaced
