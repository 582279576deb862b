"""Task policy shared by every stage task, and the run's encoder directories and space id."""

from __future__ import annotations

from pathlib import Path

from prefect.cache_policies import NO_CACHE

from flows.config import PipelineConfig
from nlp import embedding

STAGE = {"persist_result": False, "cache_policy": NO_CACHE}


def encoders_dir(config: PipelineConfig) -> Path:
    return Path(config.out) / "models" / "encoders"


def encoder_key(config: PipelineConfig) -> str:
    """The embedding space of the configured encoder, versioned by the weights package: keys
    the embedding cache, registry and heads (`minilm` and `minilm-onnx` share one, see
    nlp.embedding.SPACE_IDS)."""
    return embedding.SPACE_IDS[config.encoder]
