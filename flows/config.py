"""Typed, frozen pipeline configuration: loaded once (YAML file + CLI flags), passed down.

Only paths and settings live here, never data, so it is safe as a Prefect flow parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nlp.drivers.scores import ScoreScale


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnMap(_Frozen):
    """Input column names for each field we use."""

    id: str | tuple[str, ...] = "id"  # several columns = a composite key, joined with "|"
    text: str = "text"
    date: str | None = "date"
    service: str | None = "service"
    score: str = "score"
    nps: str | None = None  # a 0-10 likelihood-to-recommend column in the scores file
    segments: tuple[str, ...] = ()  # categorical columns to break results down by (age band, ...)


class ScaleConfig(_Frozen):
    """The score scale; NHS FFT is low 1, high 5, higher_is_better false, ignore [6, 7].

    `low` < `high` always: a scale where the low number is the best answer keeps `low` the
    smaller number and sets `higher_is_better: false`. `ignore` codes are not ratings ("don't
    know"); they may lie outside low..high (NHS FFT 6 and 7) or inside it (0 on a 0-10 scale
    used as "no answer"): either way such a score is kept raw and counted `not_a_rating`.
    `box` is the number of best / worst points in the top / bottom box: at least 1 and fewer
    than the scale's points (0-10 scales use the NPS cut-offs instead).
    """

    low: float = 1
    high: float = 5
    higher_is_better: bool = True
    ignore: tuple[float, ...] = ()
    box: int = 2

    @model_validator(mode="after")
    def _check(self) -> ScaleConfig:
        if self.low >= self.high:
            raise ValueError(
                f"low ({self.low:g}) must be below high ({self.high:g}); "
                "for a scale where the low number is best (NHS FFT: 1 = very good) keep low < "
                "high and set `higher_is_better: false`"
            )
        points = int(self.high - self.low) + 1
        if not 1 <= self.box < points:
            raise ValueError(
                f"box ({self.box}) must be at least 1 and below the {points} points "
                f"of {self.low:g}-{self.high:g} (top / bottom box = the best / worst `box` points)"
            )
        return self

    def scale(self) -> ScoreScale:
        return ScoreScale(self.low, self.high, self.higher_is_better, tuple(self.ignore), self.box)


class QualityConfig(_Frozen):
    """Topic-quality thresholds; a run outside them is marked `degraded` (null disables)."""

    max_unassigned_share: float | None = 0.25
    min_stability_ari: float | None = 0.3
    min_topic_diversity: float | None = 0.5
    min_npmi: float | None = -0.6
    stability_sample: int = Field(2000, description="docs refit with another seed; 0 = off")


class DriversConfig(_Frozen):
    """Driver statistics, segment gaps and trends (see nlp/drivers/)."""

    n_boot: int = Field(1000, ge=100, description="bootstrap resamples per interval")
    trend_period: Literal["W", "M"] = "W"
    trend_window: int = Field(4, ge=1, description="trailing periods an emerging test compares")
    emerging_alpha: float = Field(0.01, gt=0, lt=1)
    emerging_min_count: int = Field(5, ge=1)


class GuidedTopicsConfig(_Frozen):
    """Known themes that steer and name the topics (see nlp/themes/guided.py)."""

    taxonomy: bool = Field(
        False, description="taxonomy categories seed the topic model and name topics they match"
    )
    names: tuple[str, ...] = Field((), description="zero-shot themes: close documents form them")
    min_similarity: float = Field(0.5, gt=0, le=1, description="zero-shot document cosine")
    name_threshold: float = Field(0.45, gt=0, le=1, description="centroid cosine to take a name")


class TopicsConfig(_Frozen):
    """Topic-model settings beyond `min_topic_size`."""

    fit_sample: int = Field(
        20_000, ge=1000, description="larger corpora fit on a sample, the rest assigned"
    )
    min_samples: int | None = Field(None, ge=1, description="HDBSCAN min_samples; null = auto")
    mask_services: bool = Field(
        True,
        description="mask the service column's values (and @handles) in the text themes are "
        "found in: themes say why, the service is a facet",
    )
    mask_terms: tuple[str, ...] = Field(
        (), description="more names to mask for themes (organisations, products, brands)"
    )


class TaggingConfig(_Frozen):
    """Pain-point tagging beyond the taxonomy's phrase and pattern rules."""

    similarity: bool = Field(
        True,
        description="also tag each clause by embedding similarity to the taxonomy's "
        "descriptions and examples (per-category thresholds from the taxonomy itself; skipped "
        "when fewer than two categories have examples)",
    )


class PipelineConfig(_Frozen):
    """Everything one run needs. Paths are resolved when the flow starts."""

    comments: Path | None = None
    scores: Path | None = None
    transcripts: Path | None = None
    out: Path = Path("data/processed")
    dataset: str = Field("survey", description="prefix of comment ids from --comments")
    columns: ColumnMap = ColumnMap()
    score_columns: ColumnMap | None = Field(
        None, description="columns of the scores file, if different"
    )
    score_scale: ScaleConfig = ScaleConfig()
    scores_query: str | None = Field(
        None, description="table name or SELECT when `scores` is a DuckDB file"
    )
    casefold_ids: bool = Field(False, description="compare ids case-insensitively")
    taxonomy: Path | None = None
    taxonomy_mode: Literal["extend", "replace"] = "extend"
    moderator_pattern: str | None = None
    seed: int = 42
    min_topic_size: int | None = None
    retrain: bool = Field(
        False,
        description="refit topics and map ids (default: assign new documents to the saved topics)",
    )
    min_n: int = 10
    topics: TopicsConfig = TopicsConfig()
    guided_topics: GuidedTopicsConfig = GuidedTopicsConfig()
    quality: QualityConfig = QualityConfig()
    drivers: DriversConfig = DriversConfig()
    encoder: Literal["minilm", "minilm-onnx", "minilm-onnx-int8", "model2vec"] = Field(
        "minilm-onnx",
        description="sentence encoder option (see nlp/embedding/, bench/README.md); "
        "minilm-onnx gives minilm's vectors 2.4x faster",
    )
    embedding_model_path: Path | None = None
    embedding_batch_size: int = 64
    category_head: Path | None = Field(
        None, description="directory of a supervised pain-point head (off by default)"
    )
    tagging: TaggingConfig = TaggingConfig()
    sentiment_model: Literal["branch", "head"] = Field(
        "branch",
        description="comment sentiment: `branch` (MiniLM layers 3-6 fine-tuned, on the "
        "embedding pass's states; NHS hold-out macro-F1 0.78) or `head` (regression on the "
        "sentence embedding + clause features; 0.67, faster)",
    )
    sentiment_branch: Path | None = Field(
        None, description="directory of a sentiment branch (default models/sentiment_branch)"
    )
    sentiment_head: Path | None = Field(
        None, description="directory of a trained sentiment head (default models/sentiment_head)"
    )
    run_id: str | None = None
    lock_timeout: float = Field(
        3600.0,
        ge=0,
        description="seconds a run waits for another run on the same --out (0 = refuse at once)",
    )


class ConfigError(ValueError):
    """A config file or flag that cannot be used; the message says which and why."""


def load_config(path: Path | None, **overrides: object) -> PipelineConfig:
    """Read a YAML config (optional) and apply non-None overrides (CLI flags)."""
    data: dict = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"config {path}: cannot read: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {path}: expected a mapping at the top level")
        base = Path(path).resolve().parent
        for key in (
            "comments",
            "scores",
            "transcripts",
            "taxonomy",
            "sentiment_head",
            "sentiment_branch",
            "category_head",
        ):
            if data.get(key):
                data[key] = (
                    str((base / data[key]).resolve())
                    if not Path(data[key]).is_absolute()
                    else data[key]
                )
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return PipelineConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"config {path or '(flags)'}: {validation_problems(exc)}") from exc


def validation_problems(exc: ValidationError) -> str:
    """Each problem as `key.sub: what is wrong (got value)`, joined by "; ": the key first."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key; check its spelling (see README, Configuration)")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        got = "" if err["type"] in ("value_error", "missing") else f" (got {err.get('input')!r})"
        problems.append(f"{key}: {msg}{got}")
    return "; ".join(problems)
