"""The embedding task: one encoder pass, cached by text hash."""

from __future__ import annotations

from prefect import get_run_logger, task

from flows import io
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp.embedding.stage import Embedded, embedded_documents
from nlp.ingest.merge import RunCorpus
from nlp.sentiment.branch import SentimentBranch


@task(name="embed", **STAGE)
def embed_task(*, run: Run, corpus: RunCorpus) -> Embedded:
    """Embed the corpus's redacted documents, reusing the on-disk cache keyed by text hash.

    With the sentiment branch, the same pass hands its layer-2 token states to the branch for
    the documents this run tags (its new ones); their log-probabilities are cached by text
    hash too."""
    logger = get_run_logger()
    docs, config, sentiment_model = corpus.documents, run.config, run.models.sentiment
    sentiment_hashes = frozenset(corpus.new_documents["text_hash"])
    cache_path = io.embedding_cache_path(config.out, encoder_key(config))
    cache = io.load_embedding_cache(cache_path)
    branch = sentiment_model if isinstance(sentiment_model, SentimentBranch) else None
    branch_path = io.embedding_cache_path(config.out, branch.cache_key) if branch else None
    branch_cache = io.load_embedding_cache(branch_path) if branch else {}
    embedded = embedded_documents(
        texts=docs["text"].tolist(),
        hashes=docs["text_hash"].tolist(),
        encoder=run.models.encoder,
        cache=cache,
        batch_size=config.embedding_batch_size,
        branch=branch,
        branch_cache=branch_cache,
        states_for=sentiment_hashes,
    )
    io.append_embedding_cache(cache_path, cache, embedded.fresh)
    if branch is not None:
        io.append_embedding_cache(branch_path, branch_cache, embedded.fresh_branch)
        logger.info(
            "embed: sentiment branch ran on %d texts (%.1f s of its own)",
            len(embedded.fresh_branch),
            embedded.branch_seconds,
        )
    logger.info("embed: %d documents, %d newly embedded", len(docs), len(embedded.fresh))
    return embedded
