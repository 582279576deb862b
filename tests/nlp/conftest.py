"""Shared real models for nlp tests (loaded once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spacy_nlp():
    from nlp.language import load_spacy

    return load_spacy()


@pytest.fixture(scope="session")
def tagging_nlp():
    """A separate pipeline: the tagger component is added to it."""
    from nlp.language import load_spacy
    from nlp.tagging.pipeline import build_tagging_pipeline
    from nlp.tagging.taxonomy import default_taxonomy_text, parse_taxonomy

    return build_tagging_pipeline(load_spacy(), parse_taxonomy(default_taxonomy_text()))
