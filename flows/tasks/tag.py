"""Pain-point tagging and sentiment task."""

from __future__ import annotations

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from spacy.language import Language

from flows.config import PipelineConfig
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp import embedding
from nlp.embedding.stage import Embedded
from nlp.ingest.merge import RunCorpus
from nlp.sentiment.stage import CommentSentiment, StatementOutputs, comment_sentiment
from nlp.tagging.head import CategoryHead
from nlp.tagging.stage import TaggedComments, tagged_comments
from nlp.tagging.taxonomy import Taxonomy


@task(name="pain-points-and-sentiment", **STAGE)
def tag_task(
    *,
    run: Run,
    corpus: RunCorpus,
    embedded: Embedded,
) -> TaggedComments:
    """Clauses, pain-point tags and comment sentiment of this run's new documents, merged into
    the corpus's earlier ones (an edited comment's rows replace its old ones)."""
    docs, embeddings = corpus.new_documents, embedded.matrix[corpus.new_rows]
    sentiment = comment_sentiment(
        model=run.models.sentiment,
        text_hashes=docs["text_hash"].tolist(),
        embeddings=embeddings,
        branch_log_p=embedded.branch_log_p,
        comment_ids=docs["comment_id"].tolist(),
        statements=_statement_outputs(embedded),
    )
    tagged = _tag_new_documents(
        docs=docs,
        embeddings=embeddings,
        nlp=run.models.nlp,
        taxonomy=run.taxonomy,
        config=run.config,
        encoder=run.models.encoder,
        sentiment=sentiment,
    )
    return TaggedComments(
        clauses=corpus.merged("clauses", tagged.clauses),
        pain_points=corpus.merged("pain_points", tagged.pain_points),
        sentiment=corpus.merged("sentiment", tagged.sentiment),
    )


def _tag_new_documents(
    *,
    docs: pd.DataFrame,
    embeddings: np.ndarray,
    nlp: Language,
    taxonomy: Taxonomy,
    config: PipelineConfig,
    encoder: object | None,
    sentiment: CommentSentiment,
) -> TaggedComments:
    logger = get_run_logger()
    encode = None
    if config.tagging.similarity:
        if encoder is None:
            raise ValueError("tagging.similarity needs the run's encoder passed to tag_task")

        def encode(texts: list[str]) -> np.ndarray:
            return embedding.embed_texts(encoder, texts, config.embedding_batch_size)

    head = (
        CategoryHead.load(config.category_head, encoder_key(config))
        if config.category_head
        else None
    )
    tagged = tagged_comments(
        documents=docs,
        embeddings=embeddings,
        nlp=nlp,
        taxonomy=taxonomy,
        comment_labeller=sentiment.labeller,
        category_head=head,
        encode=encode,
    )
    if tagged.prototypes is not None:
        logger.info(
            "tag: similarity threshold %.2f from the taxonomy's examples (%s)",
            tagged.prototypes.threshold,
            tagged.prototypes.calibration,
        )
    tags = tagged.pain_points
    logger.info(
        "tag: %d clauses, %d tags (%d pain points; by method %s); comment sentiment by %s "
        "(%d comments from their statements)",
        len(tagged.clauses),
        len(tags),
        int(tags["is_pain_point"].sum()),
        tags["method"].value_counts().to_dict(),
        sentiment.method,
        sentiment.from_statements,
    )
    return tagged


def _statement_outputs(embedded: Embedded) -> StatementOutputs | None:
    """The branch's statement outputs from the embed stage (None when it gave none)."""
    st = embedded.statements
    if st is None or not embedded.statement_branch_log_p:
        return None
    return StatementOutputs(
        comment_ids=st["comment_id"].tolist(),
        hashes=st["theme_hash"].tolist(),
        lengths=st["text"].str.len().tolist(),
        log_p=embedded.statement_branch_log_p,
    )
