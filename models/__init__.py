"""Shipped trained models (safetensors + metadata.json), installed as package data."""

from importlib import resources
from pathlib import Path


def shipped_model(name: str) -> Path:
    """The directory of the shipped model `name` (e.g. `sentiment_branch`)."""
    return Path(str(resources.files("models") / name))
