"""Prefect tasks: one per stage, each reads state, calls one stage function and logs counts.

Results are not persisted by Prefect (they hold comment text); our own outputs are the record.
Logs carry counts and timings only, never text.
"""

from flows.tasks.common import STAGE, encoder_key, encoders_dir
from flows.tasks.drivers import CsatTables, Themes, csat_task
from flows.tasks.embed import embed_task
from flows.tasks.ingest import (
    ANALYSED_KINDS,
    ANALYSED_LANGUAGES,
    Cleaned,
    Ingested,
    analysed,
    clean_task,
    ingest_task,
    load_corpus_task,
)
from flows.tasks.models import (
    Run,
    RunModels,
    SentimentModel,
    branch_problem,
    load_models_task,
    load_sentiment_head,
    load_sentiment_model,
    load_spacy,
    sentiment_method,
)
from flows.tasks.report import output_tables, report_task, write_task
from flows.tasks.tag import tag_task
from flows.tasks.themes import topics_task

__all__ = [
    "ANALYSED_KINDS",
    "ANALYSED_LANGUAGES",
    "STAGE",
    "Cleaned",
    "CsatTables",
    "Ingested",
    "Run",
    "RunModels",
    "SentimentModel",
    "Themes",
    "analysed",
    "branch_problem",
    "clean_task",
    "csat_task",
    "embed_task",
    "encoder_key",
    "encoders_dir",
    "ingest_task",
    "load_corpus_task",
    "load_models_task",
    "load_sentiment_head",
    "load_sentiment_model",
    "load_spacy",
    "output_tables",
    "report_task",
    "sentiment_method",
    "tag_task",
    "topics_task",
    "write_task",
]
