"""Models loaded once per run: spaCy, the encoder, the sentiment model; and the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from spacy.language import Language

from flows.config import PipelineConfig
from flows.tasks.common import STAGE, encoder_key, encoders_dir
from models import shipped_model
from nlp import embedding
from nlp.language import SPACY_MODELS, load_spacy
from nlp.sentiment import selection
from nlp.sentiment.branch import SentimentBranch
from nlp.sentiment.head import SentimentHead
from nlp.sentiment.selection import SentimentModel, sentiment_method
from nlp.storage import METADATA, read_metadata
from nlp.tagging import taxonomy as taxonomies

__all__ = ["SPACY_MODELS", "SentimentModel", "load_spacy", "sentiment_method"]


@dataclass
class RunModels:
    """The models a run loads once: spaCy, the sentence encoder, the comment sentiment model."""

    nlp: Language
    encoder: object
    sentiment: SentimentModel


@dataclass(frozen=True)
class Run:
    """One run: its config, id, taxonomy and models, handed to every stage task."""

    config: PipelineConfig
    id: str
    taxonomy: taxonomies.Taxonomy
    models: RunModels


@task(name="load-models", **STAGE)
def load_models_task(*, config: PipelineConfig) -> RunModels:
    """Load spaCy, the sentence encoder and the comment sentiment model once for the run."""
    encoder = embedding.load_encoder(
        config.encoder,
        cache_dir=encoders_dir(config),
        path=config.embedding_model_path,
    )
    return RunModels(load_spacy(), encoder, load_sentiment_model(config, encoder))


def load_sentiment_model(config: PipelineConfig, encoder: object) -> SentimentModel:
    """The sentiment branch (default), else the regression head, else None (VADER)."""
    if config.sentiment_model == "branch":
        path = config.sentiment_branch or shipped_model("sentiment_branch")
        problem = branch_problem(path, encoder, encoder_key(config))
        if problem is None:
            branch = SentimentBranch.load(path, encoder_key(config), embedding.STATE_LAYER)
            if isinstance(encoder, embedding.OnnxEncoder):
                branch.use_onnx(encoders_dir(config))
            return branch
        get_run_logger().warning(
            "sentiment branch in %s: %s; using the regression head", path, problem
        )
    return load_sentiment_head(config)


def _metadata(path: Path) -> dict | None:
    return read_metadata(path) if (Path(path) / METADATA).exists() else None


def branch_problem(path: Path, encoder: object, space: str) -> str | None:
    """Why the branch in `path` cannot run on this encoder's states, or None."""
    meta = _metadata(path)
    has_states = meta is not None and embedding.has_states(encoder)
    return selection.branch_problem(meta, has_states, space, embedding.STATE_LAYER)


def load_sentiment_head(config: PipelineConfig) -> SentimentHead | None:
    """The comment sentiment head for this encoder, or None (VADER fallback) with a warning."""
    path = config.sentiment_head or shipped_model("sentiment_head")
    meta = _metadata(path)
    problem = selection.head_problem(meta, encoder_key(config))
    if meta is None:
        get_run_logger().warning("no sentiment head in %s: comments labelled by VADER", path)
        return None
    if problem is not None:
        get_run_logger().warning(
            "sentiment head in %s was trained on %s embeddings, not %s: comments labelled by "
            "VADER (retrain it with scripts/train_sentiment.py --encoder %s)",
            path,
            meta.get("encoder"),
            encoder_key(config),
            config.encoder,
        )
        return None
    return SentimentHead.load(path, encoder_key(config))
