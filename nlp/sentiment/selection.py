"""Which comment-sentiment model a run uses: the branch, the regression head, or VADER."""

from __future__ import annotations

from nlp.sentiment.branch import SentimentBranch
from nlp.sentiment.head import SentimentHead

SentimentModel = SentimentBranch | SentimentHead | None


def branch_problem(meta: dict | None, has_states: bool, space: str, layer: int) -> str | None:
    """Why a branch with metadata `meta` (None: no branch there) cannot run on this encoder's
    layer-`layer` states in embedding space `space`, or None when it can."""
    if meta is None:
        return "not found"
    if not has_states:
        return "the encoder has no token states (choose minilm-onnx or minilm)"
    if meta.get("encoder") != space or meta.get("from_layer") != layer:
        return (
            f"trained on layer {meta.get('from_layer')} states of {meta.get('encoder')}, this "
            f"run has layer {layer} of {space} (retrain it with "
            "scripts/train_sentiment_branch.py)"
        )
    return None


def head_problem(meta: dict | None, space: str) -> str | None:
    """Why a sentiment head with metadata `meta` cannot label this space's embeddings, or None."""
    if meta is None:
        return "not found"
    if meta.get("encoder") != space:
        return f"trained on {meta.get('encoder')} embeddings, not {space}"
    return None


def sentiment_method(model: SentimentModel) -> str:
    """How comments got their sentiment label, as logged and written to run_summary."""
    if isinstance(model, SentimentBranch):
        return "branch"
    return "head" if model is not None else "VADER"
