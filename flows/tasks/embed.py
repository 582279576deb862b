"""The embedding task: one encoder pass over documents and their statements, cached by text
hash."""

from __future__ import annotations

import numpy as np
from prefect import get_run_logger, task

from flows import io
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp.embedding.stage import Embedded, embedded_documents
from nlp.ingest.merge import RunCorpus
from nlp.sentiment.branch import SentimentBranch
from nlp.themes.statements import corpus_statements, own_document_rows, with_theme_text


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
    embedded.statements, embedded.statement_matrix, fresh = _statement_vectors(
        run, corpus, {**cache, **embedded.fresh}, embedded.matrix
    )
    io.append_embedding_cache(cache_path, cache, {**embedded.fresh, **fresh})
    if branch is not None:
        io.append_embedding_cache(branch_path, branch_cache, embedded.fresh_branch)
        logger.info(
            "embed: sentiment branch ran on %d texts (%.1f s of its own)",
            len(embedded.fresh_branch),
            embedded.branch_seconds,
        )
    logger.info(
        "embed: %d documents, %d newly embedded; %d statements, %d newly embedded",
        len(docs),
        len(embedded.fresh),
        len(embedded.statements),
        len(fresh),
    )
    return embedded


def _statement_vectors(run: Run, corpus: RunCorpus, cache: dict, doc_matrix: np.ndarray):
    """The corpus's statements (with `theme_text`: services and handles masked), their vectors
    and the newly encoded ones (hash -> vector). A comment's only, unmasked statement has the
    comment's vector; the others are encoded through the same cache."""
    docs = corpus.documents
    statements = corpus_statements(
        documents=docs,
        previous=corpus.previous["statements"],
        replaced=corpus.replaced,
        nlp=run.models.nlp,
    )
    topics = run.config.topics
    services = docs["service"].dropna().unique().tolist() if topics.mask_services else []
    statements = with_theme_text(statements, services=services, extra_terms=topics.mask_terms)
    own = own_document_rows(statements, docs)
    multi = statements[own < 0]
    encoded = embedded_documents(
        texts=multi["theme_text"].tolist(),
        hashes=multi["theme_hash"].tolist(),
        encoder=run.models.encoder,
        cache=cache,
        batch_size=run.config.embedding_batch_size,
    )
    matrix = np.empty((len(own), doc_matrix.shape[1]), dtype=np.float32)
    matrix[own >= 0] = doc_matrix[own[own >= 0]]
    matrix[own < 0] = encoded.matrix
    return statements, matrix, encoded.fresh
