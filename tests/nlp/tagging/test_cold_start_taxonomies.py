"""The cold-start benchmark's taxonomies (bench/taxonomies/*.yaml) are valid and as small as a
new user would write them: >= 12 themes, a one-line description, <= 6 phrases, 2 examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.tagging.taxonomy import parse_taxonomy

TAXONOMIES = sorted((Path(__file__).parents[3] / "bench" / "taxonomies").glob("*.yaml"))


def test_cold_start_taxonomies_exist():
    assert TAXONOMIES, "bench/taxonomies/ holds the cold-start taxonomies"


@pytest.mark.parametrize("path", TAXONOMIES, ids=lambda p: p.stem)
def test_cold_start_taxonomy_is_small_and_valid(path):
    tax = parse_taxonomy(path.read_text("utf-8"), str(path))
    assert len(tax.categories) >= 12
    names = [c.name for c in tax.categories]
    assert len(set(names)) == len(names)  # the name is the gold theme column
    for cat in tax.categories:
        assert "\n" not in cat.description.strip() and len(cat.description) <= 100, cat.id
        assert 1 <= len(cat.phrases) <= 6, cat.id
        assert len(cat.examples) == 2, cat.id
        assert not cat.patterns, cat.id  # phrases only, as a new user writes them
