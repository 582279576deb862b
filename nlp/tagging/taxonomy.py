"""The pain-point taxonomy: categories (aspects of a service) read from YAML, validated, merged.

A category is an aspect of a service (waiting, staff manner, ...), matched whether it is
praised or criticised; a tag is a pain point when its clause is negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

JOURNEY_STAGES = ("learn", "apply", "use")
# The tagging pass runs no tagger, parser or NER (build_tagging_pipeline), so token patterns
# cannot ask for what those set.
NEEDS_MODEL = frozenset({"POS", "TAG", "MORPH", "DEP", "HEAD", "ENT_TYPE", "ENT_IOB", "ENT_ID"})


class TaxonomyError(ValueError):
    """A taxonomy YAML that cannot be used; the message says where and what to fix."""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str
    journey_stage: str
    phrases: tuple[str, ...]
    patterns: tuple[tuple[dict[str, Any], ...], ...]
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: tuple[Category, ...]

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.categories}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "categories": [
                {
                    "id": c.id,
                    "name": c.name,
                    "description": c.description,
                    "journey_stage": c.journey_stage,
                    "phrases": list(c.phrases),
                    "patterns": [list(p) for p in c.patterns],
                    "examples": list(c.examples),
                }
                for c in self.categories
            ],
        }


def default_taxonomy_text() -> str:
    """The packaged default taxonomy YAML."""
    return resources.files("nlp.tagging").joinpath("taxonomy.yaml").read_text(encoding="utf-8")


def parse_taxonomy(text: str, origin: str = "taxonomy") -> Taxonomy:
    """Parse and validate a taxonomy YAML; errors name the origin and the category."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise TaxonomyError(f"{origin}: expected a mapping with a 'categories' list")
    cats = [_category(c, i, origin) for i, c in enumerate(data["categories"])]
    ids = [c.id for c in cats]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise TaxonomyError(f"{origin}: duplicate category ids {dupes}")
    return Taxonomy(version=str(data.get("version", "1")), categories=tuple(cats))


def _category(raw: Any, index: int, origin: str) -> Category:
    where = f"{origin}: categories[{index}]"
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: expected a mapping, got {type(raw).__name__}")
    missing = [k for k in ("id", "name", "description", "phrases") if k not in raw]
    if missing:
        raise TaxonomyError(f"{where}: missing keys {missing}")
    cid = str(raw["id"])
    where = f"{origin}: category {cid!r}"
    if not cid.replace("_", "").isalnum() or not cid.islower():
        raise TaxonomyError(f"{where}: id must be snake_case (a-z, 0-9, _)")
    stage = str(raw.get("journey_stage", "use"))
    if stage not in JOURNEY_STAGES:
        raise TaxonomyError(
            f"{where}: journey_stage must be one of {JOURNEY_STAGES}, got {stage!r}"
        )
    phrases = raw["phrases"] or []
    bad = [p for p in phrases if not isinstance(p, str) or not p.strip()]
    if not isinstance(phrases, list) or bad:
        raise TaxonomyError(
            f"{where}: phrases must be a list of non-empty strings (quote yes/no/on/off): {bad}"
        )
    patterns = raw.get("patterns") or []
    if not isinstance(patterns, list) or not all(
        isinstance(p, list) and p and all(isinstance(t, dict) for t in p) for p in patterns
    ):
        raise TaxonomyError(f"{where}: patterns must be a list of token-pattern lists")
    model_attrs = sorted({str(k).upper() for p in patterns for t in p for k in t} & NEEDS_MODEL)
    if model_attrs:
        raise TaxonomyError(
            f"{where}: patterns use {model_attrs}, which the tagging pass does not compute "
            "(it runs no tagger, parser or NER); use LEMMA, LOWER, TEXT, NORM, IS_* or LIKE_*"
        )
    examples = raw.get("examples") or []
    if not isinstance(examples, list) or any(
        not isinstance(e, str) or not e.strip() for e in examples
    ):
        raise TaxonomyError(
            f"{where}: examples must be a list of non-empty strings (one example clause each)"
        )
    return Category(
        id=cid,
        name=str(raw["name"]),
        description=str(raw["description"]),
        journey_stage=stage,
        phrases=tuple(p.strip() for p in phrases),
        patterns=tuple(tuple(p) for p in patterns),
        examples=tuple(e.strip() for e in examples),
    )


def merge_taxonomies(base: Taxonomy, extra: Taxonomy, mode: str = "extend") -> Taxonomy:
    """`replace`: use `extra` only. `extend`: add its categories, overriding ids it redefines."""
    if mode == "replace":
        return extra
    if mode != "extend":
        raise TaxonomyError(f"taxonomy mode must be 'extend' or 'replace', got {mode!r}")
    override = {c.id: c for c in extra.categories}
    merged = [override.pop(c.id, c) for c in base.categories] + list(override.values())
    return Taxonomy(version=f"{base.version}+{extra.version}", categories=tuple(merged))
