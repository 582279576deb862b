"""The corpus after a run: earlier runs' rows, with this run's new or edited rows replacing
their earlier versions. Nightly runs process only new rows; summaries cover the whole corpus."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nlp.ingest.corpus import analysed, combine
from nlp.ingest.stage import CleanedRows


@dataclass
class RunCorpus:
    """The whole corpus as of this run, and which of its documents this run processed."""

    comments: pd.DataFrame  # every kept row: earlier runs' and this run's
    documents: pd.DataFrame  # the analysed documents of the corpus
    new_documents: pd.DataFrame  # the analysed documents this run processed
    new_rows: np.ndarray  # positions of `new_documents` in `documents`
    replaced: set[str]  # comment ids this run (re)processed
    ledger: pd.DataFrame  # ingest_ledger after this run
    segments: pd.DataFrame  # comment_segments after this run
    quarantined_ids: pd.Series  # every quarantined input id, seen or not (for the score join)
    previous: dict[str, pd.DataFrame]  # the comment-keyed tables before this run

    def merged(self, table: str, new: pd.DataFrame) -> pd.DataFrame:
        """Comment-keyed `table` after this run: earlier rows not replaced, then `new`."""
        return combine(self.previous[table], new, self.replaced)


def run_corpus(*, previous: dict[str, pd.DataFrame], cleaned: CleanedRows) -> RunCorpus:
    """Merge this run's kept comments, ledger entries and segments (`cleaned`) into the
    `previous` comment-keyed tables (`comments`, `ingest_ledger`, `comment_segments`)."""
    comments, ledger, segments = cleaned.comments, cleaned.ledger, cleaned.segments
    replaced = set(ledger["comment_id"])
    corpus = combine(previous["comments"], comments, replaced)
    documents = analysed(corpus)
    new_documents = analysed(comments)
    new_rows = pd.Index(documents["comment_id"]).get_indexer(new_documents["comment_id"])
    return RunCorpus(
        comments=corpus,
        documents=documents,
        new_documents=new_documents,
        new_rows=new_rows,
        replaced=replaced,
        ledger=combine(previous["ingest_ledger"], ledger, replaced),
        segments=combine(previous["comment_segments"], segments, replaced),
        quarantined_ids=cleaned.quarantined_ids,
        previous=previous,
    )
