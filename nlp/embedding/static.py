"""The `model2vec` option: a static model distilled from MiniLM behind the `Encoder` protocol."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.embedding.protocol import BUILD_FILE, ENCODER_IDS, SPACE_IDS, StatesHook


class StaticEncoder:
    """A model2vec StaticModel (`.model`): a token-vector lookup and a mean, no transformer.

    A text with no known token would be a zero vector; it gets the vocabulary's mean
    direction instead, so every row is unit length like the transformer options'.
    """

    has_states = False

    def __init__(self, directory: str | Path):
        from model2vec import StaticModel

        directory = Path(directory)
        meta = json.loads((directory / BUILD_FILE).read_text(encoding="utf-8"))
        self.name = meta["encoder"]
        self.encoder_id = ENCODER_IDS[self.name]
        self.space_id = SPACE_IDS[self.name]
        self.directory = directory
        self.model = StaticModel.from_pretrained(directory, normalize=True)
        self.max_seq_length = int(self.model.max_length or 512)
        self._dim = int(self.model.dim)
        self.was_built = False

    def dimension(self) -> int:
        return self._dim

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 1024,
        states_hook: StatesHook | None = None,
        *,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        """Embed texts (n x dim float32, unit rows); a static model has no token states."""
        if states_hook is not None:
            raise ValueError(f"encoder {self.encoder_id} exposes no token states")
        if not len(texts):
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self.model.encode(
            [str(s) for s in texts],
            batch_size=max(batch_size, 1024),
            use_multiprocessing=False,
        ).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1)
        empty = norms < 1e-9
        if empty.any():  # no known token ("", emoji only): the vocabulary's mean direction
            vectors[empty] = self._fallback
            norms[empty] = 1.0
        if normalize_embeddings:  # renormalise in float32 (the model may store float16)
            vectors /= norms[:, None]
        return vectors

    @functools.cached_property
    def _fallback(self) -> np.ndarray:
        mean = np.asarray(self.model.embedding, dtype=np.float32).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
