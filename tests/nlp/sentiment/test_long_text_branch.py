"""A long mixed review gets its label from its statements: the shipped branch on real
statements (spaCy) through the embed stage's states hook, as a run computes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

# Opens with effusive praise, then lists complaints: a reader calls it negative. The shipped
# all-domain branch (fingerprint 689dc19a0bb1414d) reads the whole comment as positive (p 0.77,
# negative 0.05; the NHS-only branch before it, neutral 0.61); its statements are mostly
# negative.
REVIEW = (
    "Absolutely wonderful, amazing, fantastic staff, I cannot praise the lovely nurses and the "
    "brilliant, kind, caring doctors enough, thank you all so much. "
    "The appointment letter arrived late. Parking was expensive and hard to find. "
    "We waited two hours past our slot. "
    "The cafe was closed and there was nowhere to get a drink. "
    "Nobody explained the delay to us. The discharge letter had the wrong date on it. "
    "The ward phone rang out every time we called."
)
SHORT = "The nurses were kind, caring and so helpful."


def test_long_mixed_review_is_labelled_from_its_statements():
    from models import shipped_model
    from nlp import embedding
    from nlp.ingest.cleaning import text_hash
    from nlp.language import load_spacy
    from nlp.sentiment.branch import SentimentBranch
    from nlp.sentiment.stage import StatementOutputs, comment_sentiment
    from nlp.sentiment.statements import StatementRule, plan
    from nlp.themes.statements import split_statements, with_theme_text

    encoder = embedding.load_encoder()  # torch MiniLM: token states from its own pass
    branch = SentimentBranch.load(
        shipped_model("sentiment_branch"), embedding.encoder_id(encoder), embedding.STATE_LAYER
    )
    docs = pd.DataFrame({"comment_id": ["long", "short"], "text": [REVIEW, SHORT]})
    hashes = [text_hash(t) for t in docs["text"]]
    statements = with_theme_text(split_statements(load_spacy(), docs), services=[])
    assert (statements["comment_id"] == "long").sum() >= StatementRule().min_statements
    chosen = plan(docs["comment_id"], statements["comment_id"], statements["text"].str.len())
    assert chosen.combined.tolist() == [True, False]  # the short comment keeps its own label
    wanted = set(statements["theme_hash"].iloc[chosen.statement_rows])
    assert wanted == set(statements.loc[statements["comment_id"] == "long", "theme_hash"])

    def stage(texts, keys, states_for):
        return embedding.embedded_documents(
            texts=texts,
            hashes=keys,
            encoder=encoder,
            cache={},
            batch_size=8,
            branch=branch,
            branch_cache={},
            states_for=states_for,
        )

    comments = stage(docs["text"].tolist(), hashes, set(hashes))
    scored = statements[statements["theme_hash"].isin(wanted)]
    stated = stage(scored["theme_text"].tolist(), scored["theme_hash"].tolist(), wanted)
    outputs = StatementOutputs(
        comment_ids=scored["comment_id"].tolist(),
        hashes=scored["theme_hash"].tolist(),
        lengths=scored["text"].str.len().tolist(),
        log_p=stated.branch_log_p,
    )
    sentiment = comment_sentiment(
        model=branch,
        text_hashes=hashes,
        embeddings=comments.matrix,
        branch_log_p=comments.branch_log_p,
        comment_ids=docs["comment_id"].tolist(),
        statements=outputs,
    )
    assert sentiment.from_statements == 1
    statement_labels = [int(stated.branch_log_p[h].argmax()) for h in scored["theme_hash"]]
    assert statement_labels.count(0) > len(statement_labels) / 2  # mostly negative statements
    assert sentiment.labeller(0, REVIEW, [], [])[0] == "negative"
    # the short comment keeps the comment-level output exactly
    short = comments.branch_log_p[hashes[1]]
    assert (
        sentiment.labeller(1, SHORT, [], [])[0]
        == "positive"
        == ("negative", "neutral", "positive")[int(np.argmax(short))]
    )
