"""Reading inputs and writing outputs and state. Every write is atomic (nlp.storage)."""

from flows.io.inputs import (
    SEGMENT_PREFIX,
    SUPPORTED,
    TRANSCRIPT_TYPES,
    InputError,
    id_series,
    read_comments,
    read_duckdb_query,
    read_frame,
    read_scores,
    read_transcript,
    read_transcripts,
    slug,
)
from flows.io.state import (
    REGISTRY_DIR,
    append_embedding_cache,
    embedding_cache_path,
    load_embedding_cache,
    load_registry,
    load_registry_metadata,
    registry_dir,
    save_registry,
)
from flows.io.tables import (
    DB_NAME,
    read_corpus,
    upsert_duckdb,
    write_arrow_atomic,
    write_parquet_atomic,
    write_run_tables,
    write_text_atomic,
)
from flows.io.theme_edits import load_edits
from nlp.storage import ModelFileError

__all__ = [
    "DB_NAME",
    "REGISTRY_DIR",
    "SEGMENT_PREFIX",
    "SUPPORTED",
    "TRANSCRIPT_TYPES",
    "InputError",
    "ModelFileError",
    "append_embedding_cache",
    "embedding_cache_path",
    "id_series",
    "load_edits",
    "load_embedding_cache",
    "load_registry",
    "load_registry_metadata",
    "read_comments",
    "read_corpus",
    "read_duckdb_query",
    "read_frame",
    "read_scores",
    "read_transcript",
    "read_transcripts",
    "registry_dir",
    "save_registry",
    "slug",
    "upsert_duckdb",
    "write_arrow_atomic",
    "write_parquet_atomic",
    "write_run_tables",
    "write_text_atomic",
]
