"""Input, setting and output checks before any model loads (flows.preflight), the messages of
flows.io.inputs.read_frame on bad files, and the score-scale rules of flows.config."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from flows import preflight as pf
from flows.config import ConfigError, PipelineConfig, ScaleConfig, load_config
from flows.io import inputs
from flows.io.inputs import InputError, is_transient, read_frame

GOOD_CSV = "id,text,date,service\n1,The staff were kind,2024-01-02,111\n2,Long wait,,111\n"


def _config(tmp_path: Path, **fields) -> PipelineConfig:
    fields.setdefault("out", tmp_path / "out")
    return PipelineConfig(**fields)


def _comments(tmp_path: Path, content: str | bytes, name: str = "comments.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _fails(config: PipelineConfig, error: type = pf.PreflightError) -> str:
    with pytest.raises(error) as err:
        pf.preflight(config)
    return str(err.value)


def test_preflight_accepts_good_inputs_and_writes_nothing(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    (tmp_path / "scores.csv").write_text("id,score\n1,4\n", encoding="utf-8")
    tdir = tmp_path / "transcripts"
    tdir.mkdir()
    (tdir / "a.txt").write_text("Interviewer: Hi?\nP: Fine.\n", encoding="utf-8")
    (tdir / "speakers.json").write_text("[]", encoding="utf-8")
    cfg = _config(tmp_path, comments=comments, scores=tmp_path / "scores.csv", transcripts=tdir)
    before = sorted(tmp_path.rglob("*"))
    checked = pf.preflight(cfg)
    assert checked.comments.columns == ("id", "text", "date", "service")
    assert checked.comments.has_rows and checked.scores.columns == ("id", "score")
    assert [p.name for p in checked.transcripts] == ["a.txt"]
    assert not checked.out_exists and checked.warnings == ()
    assert sorted(tmp_path.rglob("*")) == before  # --out not created


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "missing.csv", "missing.csv: file not found"),
        (b"", "empty.csv", "empty.csv: the file is empty (0 bytes)"),
        ("\n  \n", "blank.csv", "blank.csv: the file is empty (no header row)"),
        ("id,text\n", "header.csv", "header.csv: no rows under the header; nothing to analyse"),
        (os.urandom(4096), "garbage.csv", "garbage.csv: holds binary data, not CSV text"),
        (b"PK\x03\x04" + bytes(200), "book.csv", "book.csv: holds a ZIP or Excel workbook"),
        ("id,text\n1,a\n".encode("utf-16"), "u16.csv", "u16.csv: is UTF-16 text"),
        ("x", "comments.xls", "comments.xls: unsupported file type '.xls'"),
        ("respondent,comment\n1,hi\n", "export.csv", "export.csv: missing id (column 'id')"),
        ("[]", "c.json", "c.json: no records; nothing to analyse"),
        ("{not json", "c.json", "c.json: cannot be read as JSON"),
        ("not a workbook", "c.xlsx", "c.xlsx: cannot be read as XLSX"),
    ],
)
def test_preflight_bad_comments_file_names_it(tmp_path, content, name, expected):
    path = tmp_path / name if content is None else _comments(tmp_path, content, name)
    msg = _fails(_config(tmp_path, comments=path), pf.BadInput)
    assert msg.startswith(str(tmp_path / expected)), msg
    assert not (tmp_path / "out").exists()


def test_preflight_directory_instead_of_file(tmp_path):
    (tmp_path / "c.csv").mkdir()
    msg = _fails(_config(tmp_path, comments=tmp_path / "c.csv"), InputError)
    assert msg == f"{tmp_path / 'c.csv'}: is a directory, not a file; give the file inside it"


def test_preflight_missing_mapped_column_lists_columns_found(tmp_path):
    path = _comments(tmp_path, "ref,comment\n1,hi\n")
    cfg = load_config(None, comments=path, out=tmp_path / "o", columns={"id": "ref"})
    msg = _fails(cfg)
    assert "text (column 'text')" in msg and "['ref', 'comment']" in msg and "columns:" in msg
    composite = load_config(None, comments=path, columns={"id": ["ref", "wave"], "text": "comment"})
    assert "missing id (column 'wave')" in _fails(composite)
    segments = load_config(
        None, comments=path, columns={"id": "ref", "text": "comment", "segments": ["age"]}
    )
    assert "missing segment columns ['age']" in _fails(segments)


def test_preflight_reads_latin1_and_semicolons(tmp_path):
    path = _comments(tmp_path, "id;text\n1;naïve crème, €5\n".encode("cp1252"))
    assert pf.preflight(_config(tmp_path, comments=path)).comments.columns == ("id", "text")


def test_preflight_header_only_comments_with_transcripts_go_on_with_a_warning(tmp_path):
    path = _comments(tmp_path, "id,text\n")
    tdir = tmp_path / "t"
    tdir.mkdir()
    (tdir / "a.vtt").write_text("WEBVTT\n", encoding="utf-8")
    checked = pf.preflight(_config(tmp_path, comments=path, transcripts=tdir))
    assert not checked.comments.has_rows
    assert checked.warnings == (f"{path}: no rows under the header; only transcripts analysed",)


def test_preflight_transcripts_dir_missing_or_without_transcripts(tmp_path):
    msg = _fails(_config(tmp_path, transcripts=tmp_path / "nope"))
    assert msg.startswith(f"{tmp_path / 'nope'}: transcripts directory not found")
    tdir = tmp_path / "t"
    tdir.mkdir()
    (tdir / "speakers.json").write_text("[]", encoding="utf-8")
    (tdir / "notes.pdf").write_bytes(b"%PDF")
    (tdir / "~$draft.docx").write_bytes(b"lock")
    msg = _fails(_config(tmp_path, transcripts=tdir))
    assert msg.startswith(f"{tdir}: no transcripts found") and ".vtt" in msg and ".docx" in msg
    file_instead = _comments(tmp_path, "x", "t.txt")
    assert "is a file, not a directory" in _fails(_config(tmp_path, transcripts=file_instead))


def test_preflight_scores_columns_nps_header_only_and_duckdb(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    scores = tmp_path / "s.csv"
    scores.write_text("id,rating\n1,4\n", encoding="utf-8")
    msg = _fails(_config(tmp_path, comments=comments, scores=scores))
    assert msg.startswith(f"{scores}: missing score (column 'score')") and "score_columns" in msg
    scores.write_text("id,score\n1,4\n", encoding="utf-8")
    nps = load_config(None, comments=comments, scores=scores, columns={"nps": "ltr"})
    assert "missing nps (column 'ltr')" in _fails(nps)
    scores.write_text("id,score\n", encoding="utf-8")
    msg = _fails(_config(tmp_path, comments=comments, scores=scores))
    assert msg.startswith(f"{scores}: no rows under the header; no score can join")
    db = tmp_path / "scores.duckdb"
    msg = _fails(_config(tmp_path, comments=comments, scores=db))
    assert msg.startswith(f"{db}: file not found")
    db.write_bytes(b"not really duckdb")
    msg = _fails(_config(tmp_path, comments=comments, scores=db), pf.BadSetting)
    assert msg.startswith(f"{db}: a DuckDB score source needs `scores_query`")


def test_preflight_bad_taxonomy_names_the_file(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    tax = tmp_path / "tax.yaml"
    tax.write_text("categories: [\n", encoding="utf-8")
    msg = _fails(_config(tmp_path, comments=comments, taxonomy=tax), pf.BadTaxonomy)
    assert msg.startswith(f"{tax}: not valid YAML")
    tax.write_text("categories:\n  - id: x\n", encoding="utf-8")
    assert _fails(_config(tmp_path, comments=comments, taxonomy=tax)).startswith(str(tax))
    missing = tmp_path / "nope.yaml"
    msg = _fails(_config(tmp_path, comments=comments, taxonomy=missing))
    assert msg.startswith(f"{missing}: taxonomy file not found")


def test_preflight_out_is_a_file_or_under_a_file(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    out = tmp_path / "out"
    out.write_text("I am a file", encoding="utf-8")
    msg = _fails(_config(tmp_path, comments=comments, out=out), pf.BadOutput)
    assert msg.startswith(f"{out}: exists and is a file, not a directory")
    msg = _fails(_config(tmp_path, comments=comments, out=out / "run"), pf.BadOutput)
    assert msg.startswith(f"{out / 'run'}: cannot be created: {out} is a file")
    assert out.read_text(encoding="utf-8") == "I am a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0o500; see read-only test")
def test_preflight_out_not_writable_by_permissions(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        msg = _fails(_config(tmp_path, comments=comments, out=locked), pf.BadOutput)
        assert msg.startswith(f"{locked}: output directory is not writable")
        msg = _fails(_config(tmp_path, comments=comments, out=locked / "new"), pf.BadOutput)
        assert msg.startswith(f"{locked / 'new'}: cannot be created: {locked} is not writable")
    finally:
        locked.chmod(0o700)


def test_preflight_out_on_read_only_file_system(tmp_path, monkeypatch):
    """The write probe's failure (as on a read-only mount, which stops root too) is reported;
    the probe leaves nothing behind when it works."""
    comments = _comments(tmp_path, GOOD_CSV)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    assert pf.preflight(_config(tmp_path, comments=comments, out=out)).out_exists
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(pf.tempfile, "mkstemp", read_only)
    msg = _fails(_config(tmp_path, comments=comments, out=out), pf.BadOutput)
    assert msg.startswith(f"{out}: output directory is not writable (Read-only file system)")


def test_preflight_configured_model_dirs_must_exist(tmp_path):
    comments = _comments(tmp_path, GOOD_CSV)
    msg = _fails(_config(tmp_path, comments=comments, sentiment_head=tmp_path / "h"))
    assert msg.startswith(f"{tmp_path / 'h'}: `sentiment_head` directory not found")
    (tmp_path / "h").mkdir()
    msg = _fails(_config(tmp_path, comments=comments, category_head=tmp_path / "h"))
    assert msg.startswith(f"{tmp_path / 'h'}: `category_head` is not a trained model directory")
    assert pf.preflight(_config(tmp_path, comments=comments)).warnings == ()  # shipped ones


def test_preflight_needs_an_input(tmp_path):
    assert "give --comments and/or --transcripts" in _fails(_config(tmp_path))


def test_preflight_read_frame_messages_name_the_file(tmp_path):
    header = _comments(tmp_path, "id,text\n", "h.csv")
    with pytest.raises(InputError, match="h.csv: no rows under the header"):
        read_frame(header)
    assert list(read_frame(header, allow_no_rows=True).columns) == ["id", "text"]
    assert len(inputs.read_comments(header, inputs.ColumnMap())) == 0  # transcripts may go on
    with pytest.raises(InputError, match="bad.csv: cannot be read as CSV: Expected 2 fields"):
        read_frame(_comments(tmp_path, 'id,text\n1,"a"\n2,b,c,d\n' * 3, "bad.csv"))
    nul = _comments(tmp_path, "id,text\n1,kind\x00 staff\n", "nul.csv")
    assert len(read_frame(nul)) == 1  # a stray NUL is a row problem, not a binary file


def test_preflight_only_transient_read_errors_are_retryable():
    assert is_transient(OSError(errno.EIO, "I/O error"))
    assert is_transient(TimeoutError())
    for exc in (
        FileNotFoundError(2, "x"),
        IsADirectoryError(21, "x"),
        PermissionError(13, "x"),
        InputError("x"),
        ValueError("x"),
        ConfigError("x"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"),
    ):
        assert not is_transient(exc), exc


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ({"low": 5, "high": 1}, "score_scale: low (5) must be below high (1)"),
        ({"low": 3, "high": 3}, "score_scale: low (3) must be below high (3)"),
        ({"box": 0}, "score_scale: box (0) must be at least 1 and below the 5 points of 1-5"),
        ({"box": 5}, "score_scale: box (5) must be at least 1 and below the 5 points of 1-5"),
    ],
)
def test_preflight_config_refuses_a_bad_score_scale(tmp_path, scale, expected):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(f"score_scale: {scale}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg_path)
    assert str(err.value).startswith(f"config {cfg_path}: {expected}")
    if "low" in scale and scale["low"] > scale["high"]:
        assert "higher_is_better: false" in str(err.value)


def test_preflight_config_score_scale_ignore_codes_inside_or_outside():
    nhs = ScaleConfig(low=1, high=5, higher_is_better=False, ignore=(6, 7))
    inside = ScaleConfig(low=0, high=10, ignore=(0,), box=2)
    assert nhs.scale().ignore == (6, 7) and inside.scale().is_nps


def test_preflight_config_error_names_an_unknown_key(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text("score_scael: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cfg.yaml: score_scael: unknown key"):
        load_config(cfg_path)
