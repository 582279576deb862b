"""The input row frame: survey comments and transcript turns, with our ids and row hashes.

Pure: the frames and segments are read by flows.io; nothing is dropped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from nlp.ingest import corpus
from nlp.ingest.transcripts import Segment, rows_from_segments


def input_rows(
    *,
    comments: pd.DataFrame | None,
    transcripts: Iterable[tuple[str, str, Sequence[Segment]]] | None,
    dataset: str,
    moderator_pattern: str | None,
) -> pd.DataFrame:
    """Comments (kind `comment`) then each transcript's turns, keyed `comment_id`, `row_hash`.

    Columns one kind lacks (`date`, `service` of turns; `speaker`, `prompt` of comments; see
    `corpus.OPTIONAL_COLUMNS`) are nulls, whichever inputs were given.

    Raises ValueError when there is nothing to analyse.
    """
    frames = []
    if comments is not None:
        c = comments.copy()
        c["kind"] = "comment"
        frames.append(c)
    for tid, name, segments in transcripts or ():
        t = _turn_rows(segments, tid, name, moderator_pattern)
        if not t.empty:
            frames.append(t)
    if not frames:
        raise ValueError("nothing to analyse: give --comments and/or --transcripts")
    rows = corpus.with_optional_columns(pd.concat(frames, ignore_index=True))
    rows["comment_id"] = corpus.comment_ids(rows, dataset)
    rows["row_hash"] = corpus.row_hashes(rows)
    return rows


def _turn_rows(
    segments: Sequence[Segment],
    transcript_id: str,
    source: str,
    moderator_pattern: str | None,
) -> pd.DataFrame:
    """One transcript's turns, with its file name as `source` and 1-based `row_number`."""
    rows = rows_from_segments(segments, transcript_id, moderator_pattern)
    t = pd.DataFrame(rows)
    if t.empty:
        return t
    t["source"] = source
    t["row_number"] = t["turn_index"] + 1
    return t
