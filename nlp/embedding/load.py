"""Loading an encoder option by name, building its artefact first when it needs one."""

from __future__ import annotations

import os
from pathlib import Path

from nlp.embedding.build import build_encoder
from nlp.embedding.onnx import OnnxEncoder
from nlp.embedding.protocol import DEFAULT_ENCODER, ENCODER_IDS, ENCODERS, Encoder, source_dir
from nlp.embedding.static import StaticEncoder
from nlp.embedding.torch import TorchEncoder


def load_encoder(
    name: str | Path | None = DEFAULT_ENCODER,
    cache_dir: str | Path | None = None,
    path: str | Path | None = None,
    device: str = "cpu",
) -> Encoder:
    """Load encoder option `name` (see `ENCODERS`); `path` is the source MiniLM directory.

    ONNX and model2vec options are built into `cache_dir/<name>/` on first use (so they need
    `cache_dir`) and reused afterwards. For backward compatibility `load_encoder(path)` (a Path,
    a string that is not an option name, or None) loads `minilm` from that directory.
    """
    if name is None:
        name = DEFAULT_ENCODER
    elif isinstance(name, Path) or name not in ENCODER_IDS:
        if isinstance(name, str) and os.sep not in name and not Path(name).exists():
            raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
        name, path = DEFAULT_ENCODER, name
    source = source_dir(path)
    if name == "minilm":
        return TorchEncoder.load(source, device=device)
    artefact, built = build_encoder(name, cache_dir, path=source)
    encoder = StaticEncoder(artefact) if name == "model2vec" else OnnxEncoder(artefact)
    encoder.was_built = built
    return encoder
