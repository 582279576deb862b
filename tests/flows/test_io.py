"""Reading inputs and atomic, idempotent writing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from flows import io
from flows.config import ColumnMap
from nlp.schemas import conform


def test_io_reads_utf8_bom_and_latin1_csv(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes("id,text\n1,café\n".encode("utf-8-sig"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id;text\n2;naïve crème\n".encode("latin-1"))
    a = io.read_comments(bom, ColumnMap())
    b = io.read_comments(latin, ColumnMap())
    assert list(a["source_id"]) == ["1"] and list(a["text"]) == ["café"]
    assert list(b["text"]) == ["naïve crème"]


def test_io_keeps_leading_zeros_and_row_numbers(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,text\n007,first\n008,second\n", encoding="utf-8")
    df = io.read_comments(path, ColumnMap())
    assert list(df["source_id"]) == ["007", "008"]
    assert list(df["row_number"]) == [1, 2]


def test_io_missing_column_error_names_file_and_columns(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("respondent,comment\n1,hello\n", encoding="utf-8")
    with pytest.raises(io.InputError) as err:
        io.read_comments(path, ColumnMap())
    msg = str(err.value)
    assert "export.csv" in msg and "'id'" in msg and "'respondent'" in msg and "'comment'" in msg


def test_io_column_mapping_and_formats(tmp_path):
    df = pd.DataFrame({"rid": ["a", "b"], "comment": ["x y", "z"]})
    mapping = ColumnMap(id="rid", text="comment", date=None, service=None)
    df.to_parquet(tmp_path / "c.parquet")
    df.to_json(tmp_path / "c.jsonl", orient="records", lines=True)
    for name in ("c.parquet", "c.jsonl"):
        got = io.read_comments(tmp_path / name, mapping)
        assert list(got["source_id"]) == ["a", "b"] and list(got["text"]) == ["x y", "z"]


def test_io_unsupported_file_type(tmp_path):
    path = tmp_path / "c.xls"
    path.write_text("x")
    with pytest.raises(io.InputError, match="unsupported file type"):
        io.read_frame(path)


def test_io_atomic_writes_leave_no_temp_files(tmp_path):
    io.write_text_atomic(tmp_path / "r.html", "<p>hi</p>")
    io.write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "t.parquet"]


def _tables(ids: list[str], run_id: str) -> dict[str, pd.DataFrame]:
    comments = conform(
        pd.DataFrame({"comment_id": ids, "text": [f"t{i}" for i in ids], "run_id": run_id}),
        "comments",
    )
    summary = conform(pd.DataFrame({"run_id": [run_id], "rows_read": [len(ids)]}), "run_summary")
    topics = conform(pd.DataFrame({"topic_id": [0], "label": ["x"], "size": [len(ids)]}), "topics")
    return {"comments": comments, "run_summary": summary, "topics": topics}


def test_io_upsert_duckdb_is_idempotent_and_accumulates(tmp_path):
    io.upsert_duckdb(_tables(["a", "b"], "r1"), tmp_path, "r1", ["a", "b"])
    io.upsert_duckdb(_tables(["a", "b"], "r1"), tmp_path, "r1", ["a", "b"])
    con = duckdb.connect(str(tmp_path / io.DB_NAME), read_only=True)
    assert con.execute("SELECT count(*) FROM comments").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM run_summary").fetchone()[0] == 1
    con.close()
    io.upsert_duckdb(_tables(["b", "c"], "r2"), tmp_path, "r2", ["b", "c"])
    con = duckdb.connect(str(tmp_path / io.DB_NAME), read_only=True)
    ids = [r[0] for r in con.execute("SELECT comment_id FROM comments ORDER BY 1").fetchall()]
    runs = [r[0] for r in con.execute("SELECT run_id FROM comments ORDER BY comment_id").fetchall()]
    assert ids == ["a", "b", "c"] and runs == ["r1", "r2", "r2"]
    assert con.execute("SELECT count(*) FROM run_summary").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM topics").fetchone()[0] == 1
    con.close()
    assert [p.name for p in tmp_path.iterdir()] == [io.DB_NAME]


def test_io_embedding_cache_round_trip(tmp_path):
    path = io.embedding_cache_path(tmp_path, "sentence-transformers/all-MiniLM-L6-v2")
    assert io.load_embedding_cache(path) == {}
    vec = np.arange(4, dtype=np.float32)
    io.append_embedding_cache(path, {}, {"h1": vec})
    io.append_embedding_cache(path, io.load_embedding_cache(path), {"h2": vec + 1})
    cache = io.load_embedding_cache(path)
    assert sorted(cache) == ["h1", "h2"]
    np.testing.assert_array_equal(cache["h2"], vec + 1)


VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Moderator>How did you find the form?

00:00:04.500 --> 00:00:09.000
<v Alice Jones>It was long and I had to repeat my address.

00:00:09.000 --> 00:00:12.000
<v Alice Jones>Twice, actually.
"""

SRT = """1
00:00:01,000 --> 00:00:04,000
Interviewer: Why did you call?

2
00:00:04,500 --> 00:00:09,000
Bob Smith: The website kept crashing.

3
00:00:09,100 --> 00:00:11,000
so I rang them instead.
"""


def _rows(segments):
    from nlp.ingest.transcripts import rows_from_segments

    return rows_from_segments(segments, "t")


def test_io_reads_vtt_and_srt_transcripts(tmp_path):
    (tmp_path / "a.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "b.srt").write_text(SRT, encoding="utf-8")
    got = {tid: _rows(segs) for tid, _, segs in io.read_transcripts(tmp_path)}
    vtt, srt = got["a"], got["b"]
    assert [r["kind"] for r in vtt] == ["moderator_turn", "transcript_turn"]
    assert vtt[1]["text"] == "It was long and I had to repeat my address. Twice, actually."
    assert vtt[1]["start_time"] == 4.5 and vtt[1]["speaker"] == "P01"
    assert [r["speaker"] for r in srt] == ["MODERATOR", "P01"]
    assert srt[1]["text"] == "The website kept crashing. so I rang them instead."


def test_io_reads_docx_transcript(tmp_path):
    import docx

    document = docx.Document()
    for line in [
        "Focus group 3 notes",
        "Facilitator: What was hardest?",
        "P2: Finding the form.",
        "It took me an hour.",
        "Facilitator: Thanks.",
    ]:
        document.add_paragraph(line)
    document.save(str(tmp_path / "fg.docx"))
    (tmp_path / "~$fg.docx").write_bytes(b"lock")  # Word's lock file is skipped
    [(tid, name, segs)] = io.read_transcripts(tmp_path)
    rows = _rows(segs)
    assert (tid, name) == ("fg", "fg.docx")
    assert [(r["speaker"], r["kind"]) for r in rows] == [
        ("MODERATOR", "moderator_turn"),
        ("P01", "transcript_turn"),
        ("MODERATOR", "moderator_turn"),
    ]
    assert rows[1]["text"] == "Finding the form. It took me an hour."


def test_io_reads_diarised_json_with_speaker_roles(tmp_path):
    import json

    segments = [
        {"speaker": "0", "start_time": 1.0, "end_time": 2.0, "text": "Good morning."},
        {"speaker": "0", "start_time": 2.0, "end_time": 3.0, "text": "Next speaker please."},
        {"speaker": "3", "start_time": 4.0, "end_time": 9.0, "text": "Parking rules cost us."},
        {"speaker": "3", "start_time": 9.0, "end_time": 12.0, "text": "Please change them."},
    ]
    speakers = [
        {"label": "0", "name": "Real Name", "role": "Chair of the Commission"},
        {"label": "3", "name": "Other Name", "role": "Member of the Public"},
    ]
    (tmp_path / "hearing.json").write_text(json.dumps(segments), encoding="utf-8")
    (tmp_path / "speakers.json").write_text(json.dumps(speakers), encoding="utf-8")
    [(tid, _, segs)] = io.read_transcripts(tmp_path)
    rows = _rows(segs)
    assert tid == "hearing"
    assert [(r["speaker"], r["kind"], r["start_time"]) for r in rows] == [
        ("MODERATOR", "moderator_turn", 1.0),
        ("P01", "transcript_turn", 4.0),
    ]
    assert rows[1]["text"] == "Parking rules cost us. Please change them."
    assert "Real Name" not in str(rows) and "Other Name" not in str(rows)


def test_io_bad_transcript_names_the_file(tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(io.InputError, match="broken.json"):
        io.read_transcripts(tmp_path)


def test_io_reads_xlsx(tmp_path):
    df = pd.DataFrame({"id": ["001", "002"], "text": ["good", "slow"]})
    df.to_excel(tmp_path / "c.xlsx", index=False)
    got = io.read_comments(tmp_path / "c.xlsx", ColumnMap(date=None, service=None))
    assert list(got["source_id"]) == ["001", "002"] and list(got["text"]) == ["good", "slow"]


def test_io_edge_case_rows_are_kept_or_quarantined_with_reason(tmp_path):
    from nlp.ingest.cleaning import triage_comments

    rows = [
        ("1", "Staff were kind\x00 and quick"),  # NUL byte
        ("2", "الموظفون كانوا لطفاء جدا"),  # RTL
        ("3", "Loved it 😀👍 thank you"),  # emoji
        ("4", '=HYPERLINK("http://evil.example","click")'),  # spreadsheet formula text
        ("5", "word " * 210_000),  # a 1 MB comment
        ("6", "first version of my comment"),
        ("6", "second, different comment with the same id"),  # duplicate id
        ("", "no id at all"),
    ]
    path = tmp_path / "edge.csv"
    pd.DataFrame(rows, columns=["id", "text"]).to_csv(path, index=False)
    df = io.read_comments(path, ColumnMap(date=None, service=None))
    kept, quarantined = triage_comments(df)
    assert len(kept) + len(quarantined) == len(rows)
    text = dict(zip(kept["source_id"], kept["text"], strict=True))
    assert text["1"] == "Staff were kind and quick"
    assert text["2"] == "الموظفون كانوا لطفاء جدا"
    assert "😀👍" in text["3"]
    assert text["4"] == '=HYPERLINK("http://evil.example","click")'  # kept verbatim, as written
    assert text["6"] == "first version of my comment"
    reasons = {(r.row_number, r.reason) for r in quarantined.itertuples()}
    assert reasons == {(5, "text_too_long"), (7, "duplicate_id"), (8, "missing_id")}


def test_io_reads_segment_columns_and_names_missing_ones(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,text,region\n1,slow,North\n2,ok, South \n", encoding="utf-8")
    got = io.read_comments(path, ColumnMap(date=None, service=None, segments=("region",)))
    assert list(got["segment:region"]) == ["North", "South"]
    with pytest.raises(io.InputError, match="age_band"):
        io.read_comments(path, ColumnMap(segments=("age_band",)))


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "transcripts"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the checkout")
def test_io_real_interviews_split_into_one_moderator_and_one_participant():
    from nlp.ingest.transcripts import rows_from_segments

    found = io.read_transcripts(SHARED / "interviews")
    assert len(found) == 24
    for tid, _, segments in found:
        rows = rows_from_segments(segments, tid)
        speakers = {r["speaker"] for r in rows}
        kinds = [r["kind"] for r in rows]
        assert speakers == {"MODERATOR", "P01"}, tid
        assert kinds.count("transcript_turn") >= 15, tid


def test_io_composite_ids_and_duckdb_score_source(tmp_path):
    pd.DataFrame(
        {"wave": ["2024", "2024", "2025"], "resp": ["001", "002", ""], "text": ["a", "b", "c"]}
    ).to_csv(tmp_path / "c.csv", index=False)
    cols = ColumnMap(id=("wave", "resp"))
    comments = io.read_comments(tmp_path / "c.csv", cols)
    assert comments["source_id"].tolist()[:2] == ["2024|001", "2024|002"]
    assert pd.isna(comments["source_id"].iloc[2])  # a part missing: no id (quarantined later)
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE survey AS SELECT * FROM (VALUES ('2024','001',4),('2024','002',2))")
    con.execute("ALTER TABLE survey RENAME COLUMN col0 TO wave")
    con.execute("ALTER TABLE survey RENAME COLUMN col1 TO resp")
    con.execute("ALTER TABLE survey RENAME COLUMN col2 TO score")
    con.close()
    by_table = io.read_scores(db, cols, "survey")
    assert by_table["source_id"].tolist() == ["2024|001", "2024|002"]
    by_sql = io.read_scores(db, cols, "SELECT wave, resp, score FROM survey WHERE score > 3")
    assert by_sql["score"].tolist() == ["4"]
    with pytest.raises(io.InputError, match="needs `scores_query`"):
        io.read_scores(db, cols)
    with pytest.raises(io.InputError, match="failed"):
        io.read_scores(db, cols, "no_such_table")
    with pytest.raises(io.InputError, match=r"missing id \(column \('wave', 'nope'\)\)"):
        io.read_scores(db, ColumnMap(id=("wave", "nope")), "survey")
