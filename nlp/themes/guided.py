"""Guided topics: known themes (taxonomy categories, a zero-shot list of names) steer and name
the topic model, so program teams find their themes under their own names.

Three mechanisms, all optional:
- seed words (BERTopic guided modelling): documents closer to a theme's seed words than to the
  corpus mean are nudged towards them before UMAP, so the theme tends to form one cluster;
- zero-shot names (BERTopic zero-shot): documents whose cosine to a name reaches
  `min_similarity` go to that named topic directly; the rest are clustered as usual;
- naming: each topic whose centroid matches a theme (one-to-one, Hungarian, cosine ≥
  `name_threshold`) is labelled with the theme's name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from nlp.themes.params import GuidedSettings

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class GuidedTheme:
    """A known theme: its name, the text its name-match embedding comes from, seed words."""

    name: str
    text: str
    seed_words: tuple[str, ...] = ()
    zero_shot: bool = False


def themes_from_taxonomy(categories: Sequence) -> list[GuidedTheme]:
    """Seed themes from pain-point categories: name + description to match, phrases as seeds."""
    return [
        GuidedTheme(
            name=c.name,
            text=f"{c.name}. {c.description}",
            seed_words=tuple(dict.fromkeys(w for p in c.phrases for w in p.lower().split())),
        )
        for c in categories
    ]


def themes_from_names(names: Sequence[str]) -> list[GuidedTheme]:
    """Zero-shot themes from a list of names ("Parking", "Food and drink")."""
    return [GuidedTheme(name=n.strip(), text=n.strip(), zero_shot=True) for n in names if n.strip()]


@functools.cache
def _encoder_backend_class() -> type:
    """The BERTopic backend class, defined on first use: BERTopic (and torch) load only when a
    guided fit needs them."""
    from bertopic.backend import BaseEmbedder

    class EncoderBackend(BaseEmbedder):
        """BERTopic embedding backend over the run's already loaded encoder (no second model)."""

        def __init__(self, encode: Encode):
            super().__init__()
            self._encode = encode

        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            return np.asarray(self._encode(list(documents)), dtype=np.float32)

    return EncoderBackend


def encoder_backend(encode: Encode):
    """A BERTopic embedding backend calling `encode`."""
    return _encoder_backend_class()(encode)


def bertopic_arguments(
    themes: Sequence[GuidedTheme], encode: Encode, settings: GuidedSettings
) -> dict:
    """Keyword arguments for `BERTopic(...)` that switch on guided and zero-shot modelling."""
    seeded = [list(t.seed_words) for t in themes if t.seed_words]
    zero = [t.text for t in themes if t.zero_shot]
    if not seeded and not zero:
        return {}
    args: dict = {"embedding_model": encoder_backend(encode)}
    if seeded:
        args["seed_topic_list"] = seeded
    if zero:
        args["zeroshot_topic_list"] = zero
        args["zeroshot_min_similarity"] = settings.min_similarity
    return args


def theme_names(
    centroids: np.ndarray,
    theme_embeddings: np.ndarray,
    themes: Sequence[GuidedTheme],
    settings: GuidedSettings,
) -> list[str | None]:
    """The theme name of each topic (rows of unit-length `centroids`), or None.

    One-to-one (Hungarian on cosine): two topics never share a name. Zero-shot names go first,
    at `min_similarity` (the topic their documents formed matches its own name); the other
    themes then name the remaining topics at `name_threshold`.
    """
    names: list[str | None] = [None] * len(centroids)
    if not len(centroids) or not len(themes):
        return names
    sims = centroids @ theme_embeddings.T
    zero = np.array([t.zero_shot for t in themes])
    for pick, threshold in ((zero, settings.min_similarity), (~zero, settings.name_threshold)):
        free = np.array([n is None for n in names])
        if not pick.any() or not free.any():
            continue
        sub = sims[np.ix_(free, pick)]
        rows, cols = linear_sum_assignment(-sub)
        topic_rows, theme_cols = np.flatnonzero(free), np.flatnonzero(pick)
        for r, c in zip(rows, cols, strict=True):
            if sub[r, c] >= threshold:
                names[topic_rows[r]] = themes[theme_cols[c]].name
    return names


def theme_embeddings(themes: Sequence[GuidedTheme], encode: Encode) -> np.ndarray:
    """Unit-length embeddings of the themes' match texts."""
    if not themes:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(encode([t.text for t in themes]), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
