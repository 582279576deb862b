"""The embedding task: one encoder pass over documents and their statements, cached by text
hash."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from prefect import get_run_logger, task

from flows import io
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp.embedding.stage import Embedded, embedded_documents
from nlp.ingest.merge import RunCorpus
from nlp.sentiment.branch import SentimentBranch
from nlp.sentiment.statements import StatementRule, plan
from nlp.themes.statements import corpus_statements, own_document_rows, with_theme_text


@task(name="embed", **STAGE)
def embed_task(*, run: Run, corpus: RunCorpus) -> Embedded:
    """Embed the corpus's redacted documents and statements, reusing the on-disk cache keyed
    by text hash.

    With the sentiment branch, the same passes hand their layer-2 token states to the branch:
    for the documents this run tags (its new ones) and, for those of them labelled from their
    statements (`nlp.sentiment.statements`), for their statements instead (the comment's own
    output is then not needed); the branch's outputs are cached by text hash too."""
    logger = get_run_logger()
    config, sentiment_model = run.config, run.models.sentiment
    cache_path = io.embedding_cache_path(config.out, encoder_key(config))
    cache = io.load_embedding_cache(cache_path)
    branch = sentiment_model if isinstance(sentiment_model, SentimentBranch) else None
    branch_path = io.embedding_cache_path(config.out, branch.cache_key) if branch else None
    branch_cache = io.load_embedding_cache(branch_path) if branch else {}
    statements = _statements(run, corpus)
    new = corpus.new_documents
    chosen = plan(
        new["comment_id"].tolist(), statements["comment_id"], statements["text"].str.len()
    )
    skip = set() if StatementRule().reads_comment else set(new["text_hash"][chosen.combined])
    embedded = _document_vectors(
        run,
        corpus.documents,
        cache,
        branch=branch,
        branch_cache=branch_cache,
        states_for=set(new["text_hash"]),
        skip=skip,
    )
    stated = _statement_vectors(
        run,
        statements,
        corpus.documents,
        cache={**cache, **embedded.fresh},
        doc_matrix=embedded.matrix,
        branch=(branch, {**branch_cache, **embedded.fresh_branch}) if branch else None,
        score=set(statements["theme_hash"].iloc[chosen.statement_rows]),
    )
    embedded.statements, embedded.statement_matrix = statements, stated.matrix
    embedded.statement_branch_log_p = stated.branch_log_p
    io.append_embedding_cache(cache_path, cache, {**embedded.fresh, **stated.fresh})
    if branch is not None:
        fresh_branch = {**embedded.fresh_branch, **stated.fresh_branch}
        io.append_embedding_cache(branch_path, branch_cache, fresh_branch)
        logger.info(
            "embed: sentiment branch ran on %d texts and %d statements (%.1f s of its own)",
            len(embedded.fresh_branch),
            len(stated.fresh_branch),
            embedded.branch_seconds + stated.branch_seconds,
        )
    logger.info(
        "embed: %d documents, %d newly embedded; %d statements, %d newly embedded",
        len(corpus.documents),
        len(embedded.fresh),
        len(statements),
        len(stated.fresh),
    )
    return embedded


def _statements(run: Run, corpus: RunCorpus) -> pd.DataFrame:
    """The corpus's statements with `theme_text` (services and handles masked)."""
    docs = corpus.documents
    statements = corpus_statements(
        documents=docs,
        previous=corpus.previous["statements"],
        replaced=corpus.replaced,
        nlp=run.models.nlp,
    )
    topics = run.config.topics
    services = docs["service"].dropna().unique().tolist() if topics.mask_services else []
    return with_theme_text(statements, services=services, extra_terms=topics.mask_terms)


def _split_pass(encode, texts: list[str], hashes: list[str], with_states: np.ndarray, **branch):
    """`encode` (embedded_documents bound to the encoder and cache) over the rows without
    `with_states` (no branch) and those with it (with `branch`): one Embedded, rows in order."""
    plain = encode(
        texts=[t for t, s in zip(texts, with_states, strict=True) if not s],
        hashes=[h for h, s in zip(hashes, with_states, strict=True) if not s],
    )
    scored = encode(
        texts=[t for t, s in zip(texts, with_states, strict=True) if s],
        hashes=[h for h, s in zip(hashes, with_states, strict=True) if s],
        **branch,
    )
    matrix = np.empty((len(texts), plain.matrix.shape[1]), dtype=np.float32)
    matrix[~with_states], matrix[with_states] = plain.matrix, scored.matrix
    scored.matrix, scored.fresh = matrix, {**plain.fresh, **scored.fresh}
    return scored


def _document_vectors(run, docs, cache, *, branch, branch_cache, states_for, skip) -> Embedded:
    """The documents' vectors; with the branch, its outputs for `states_for`. Documents hashed
    in `skip` (labelled from their statements alone) are encoded without the branch."""
    encode = partial(
        embedded_documents,
        encoder=run.models.encoder,
        cache=cache,
        batch_size=run.config.embedding_batch_size,
    )
    texts, hashes = docs["text"].tolist(), docs["text_hash"].tolist()
    if branch is None:
        return encode(texts=texts, hashes=hashes)
    with_states = np.array([h not in skip for h in hashes], dtype=bool)
    kwargs = {"branch": branch, "branch_cache": branch_cache, "states_for": states_for - skip}
    return _split_pass(encode, texts, hashes, with_states, **kwargs)


def _statement_vectors(run, statements, docs, *, cache, doc_matrix, branch, score) -> Embedded:
    """An `Embedded` of the statements (matrix: one row per statement). A comment's only,
    unmasked statement has the comment's vector; the others are encoded through the same cache,
    and with `branch` = (the sentiment branch, its cache) the statements hashed in `score` hand
    their states to it in that pass (outputs cached by statement hash, in the branch cache)."""
    own = own_document_rows(statements, docs)
    multi = statements[own < 0]
    encode = partial(
        embedded_documents,
        encoder=run.models.encoder,
        cache=cache,
        batch_size=run.config.embedding_batch_size,
    )
    kwargs = {}
    if branch:
        kwargs = {"branch": branch[0], "branch_cache": branch[1], "states_for": score}
    encoded = _split_pass(
        encode,
        multi["theme_text"].tolist(),
        multi["theme_hash"].tolist(),
        multi["theme_hash"].isin(score).to_numpy() if branch else np.zeros(len(multi), bool),
        **kwargs,
    )
    matrix = np.empty((len(own), doc_matrix.shape[1]), dtype=np.float32)
    matrix[own >= 0] = doc_matrix[own[own >= 0]]
    matrix[own < 0] = encoded.matrix
    encoded.matrix = matrix
    return encoded
