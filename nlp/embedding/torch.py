"""The `minilm` option: sentence-transformers' fp32 torch model behind the `Encoder` protocol.

sentence_transformers (and torch) are imported when an encoder is made, not with this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.embedding.protocol import ENCODER_IDS, SPACE_IDS, StatesHook


class TorchEncoder:
    """A `SentenceTransformer` (`.model`, for code that needs its internals) as an `Encoder`."""

    has_states = True  # a second pass reads them (`nlp.embedding.encode.torch_states`)

    def __init__(self, model: Any, name: str = "minilm"):
        self.model = model
        self.name = name
        self.encoder_id = ENCODER_IDS[name]
        self.space_id = SPACE_IDS[name]
        self.was_built = False

    @classmethod
    def load(cls, source: str | Path, device: str = "cpu") -> TorchEncoder:
        """The sentence-transformers model in local directory `source` (never from a hub)."""
        from sentence_transformers import SentenceTransformer

        return cls(SentenceTransformer(str(source), device=device, local_files_only=True))

    @property
    def max_seq_length(self) -> int:
        return self.model.max_seq_length

    def dimension(self) -> int:
        """The output size (the getter was renamed in sentence-transformers 6)."""
        getter = getattr(self.model, "get_embedding_dimension", None)
        return int((getter or self.model.get_sentence_embedding_dimension)())

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, states_hook: StatesHook | None = None
    ) -> np.ndarray:
        """Unit float32 rows from `SentenceTransformer.encode`; with `states_hook`, a second
        pass hands it each batch's layer-STATE_LAYER token states."""
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        if states_hook is not None:
            from nlp.embedding.encode import torch_states

            torch_states(self, texts, batch_size, states_hook)
        return vectors
