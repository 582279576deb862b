"""Every documented input combination runs end to end through the real CLI, exit 0, sane tables:
comments alone, with and without scores; transcripts alone; both; and each transcript format
without comments: .txt alone, and .vtt, .srt, .docx and diarised .json (with a speakers file)
as four transcripts of one directory, each checked on its own rows.

Slow: one real `feedback run` subprocess (models, the session's Prefect API) per combination,
on 40 sample comments and one tiny transcript; each run is shared by its tests (module-scoped
cache). On
corpora this small the topic stage skips with a reason: the run is `degraded`, still exit 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from feedback_process import run_cli

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"

# (speaker, text) of one short interview; the participant's real name must never be stored.
TURNS = [
    ("Interviewer", "How did you find booking the appointment online?"),
    ("Dana Whitlock", "The online form kept timing out and I had to start again three times."),
    ("Interviewer", "And what happened when you phoned the surgery?"),
    ("Dana Whitlock", "I waited forty minutes on hold before anyone answered the phone."),
    ("Interviewer", "How were the staff once you got through?"),
    ("Dana Whitlock", "The receptionist was kind and sorted out a home visit for my mother."),
]


def _write_txt(path: Path) -> None:
    path.write_text("".join(f"{s}: {t}\n\n" for s, t in TURNS), encoding="utf-8")


def _stamp(seconds: int, sep: str) -> str:
    return f"00:{seconds // 60:02d}:{seconds % 60:02d}{sep}000"


def _write_vtt(path: Path) -> None:
    cues = [
        f"{_stamp(5 * i, '.')} --> {_stamp(5 * i + 4, '.')}\n<v {s}>{t}\n"
        for i, (s, t) in enumerate(TURNS)
    ]
    path.write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")


def _write_srt(path: Path) -> None:
    cues = [
        f"{i + 1}\n{_stamp(5 * i, ',')} --> {_stamp(5 * i + 4, ',')}\n{s}: {t}\n"
        for i, (s, t) in enumerate(TURNS)
    ]
    path.write_text("\n".join(cues), encoding="utf-8")


def _write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Interview 7, recorded on site")  # front matter, no speaker
    for s, t in TURNS:
        document.add_paragraph(f"{s}: {t}")
    document.save(str(path))


def _write_json(path: Path) -> None:
    labels = {"Interviewer": "SPEAKER_00", "Dana Whitlock": "SPEAKER_01"}
    segments = [
        {"speaker": labels[s], "text": t, "start_time": 5.0 * i} for i, (s, t) in enumerate(TURNS)
    ]
    path.write_text(json.dumps({"segments": segments}), encoding="utf-8")
    speakers = [
        {"label": "SPEAKER_00", "role": "interviewer"},
        {"label": "SPEAKER_01", "role": "participant"},
    ]
    path.with_suffix(".speakers.json").write_text(json.dumps(speakers), encoding="utf-8")


WRITERS = {"txt": _write_txt, "vtt": _write_vtt, "srt": _write_srt, "docx": _write_docx}
WRITERS["json"] = _write_json
TIMED = ("vtt", "srt", "json")  # formats that carry a start time per turn
TOGETHER = ("vtt", "srt", "docx", "json")  # one run: four transcripts in one directory

# name -> (comments, scores, transcript format or None)
CASES = {
    "comments": (True, False, None),
    "comments_scores": (True, True, None),
    "transcripts": (False, False, "txt"),
    "both": (True, True, "txt"),
    "formats": (False, False, "formats"),
}


def _transcript_file(fmt: str) -> str:
    """The interview's file name in its format: `Interview 7.txt`, `Interview 7 vtt.vtt`, ...
    (distinct stems: the transcript id is the file's stem)."""
    return f"Interview 7.{fmt}" if fmt not in TOGETHER else f"Interview 7 {fmt}.{fmt}"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """40 sample comments, their scores, and the interview in every transcript format."""
    root = tmp_path_factory.mktemp("inputs")
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments = comments[comments["text"].str.len() > 20].head(40)
    comments.to_csv(root / "comments.csv", index=False)
    scores = pd.read_csv(SAMPLE / "scores.csv", dtype=str, keep_default_na=False)
    scores[scores["id"].isin(comments["id"])].to_csv(root / "scores.csv", index=False)
    (root / "transcripts_txt").mkdir()
    _write_txt(root / "transcripts_txt" / _transcript_file("txt"))
    (root / "transcripts_formats").mkdir()
    for fmt in TOGETHER:
        WRITERS[fmt](root / "transcripts_formats" / _transcript_file(fmt))
    return root


def _config(inputs: Path, name: str) -> Path:
    with_comments, with_scores, fmt = CASES[name]
    lines = ["dataset: nhs_fft", "quality:", "  stability_sample: 0"]
    lines += ["score_scale:", "  low: 1", "  high: 5", "  higher_is_better: false"]
    lines += ["  ignore: [6, 7]"]
    if with_comments:
        lines.append("comments: comments.csv")
    if with_scores:
        lines.append("scores: scores.csv")
    if fmt:
        lines.append(f"transcripts: transcripts_{fmt}")
    config = inputs / f"{name}.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


# No network: the hub is off and every proxy points at a closed local port, so a download
# attempt fails the run; only the session's Prefect API on localhost is reached.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


@pytest.fixture(scope="module")
def runs(inputs, tmp_path_factory, share_encoders, prefect_api_url):
    """Runs each combination once, on first use: name -> (exit code, stderr, out dir)."""
    done: dict[str, tuple[int, str, Path]] = {}
    base = tmp_path_factory.mktemp("runs")

    def run(name: str) -> tuple[int, str, Path]:
        if name not in done:
            out = share_encoders(base / name)
            args = ["--config", _config(inputs, name), "--out", out]
            home = base / "prefect"  # one Prefect home: the runs are one after another
            proc = run_cli(args, prefect_home=home, api_url=prefect_api_url, extra_env=OFFLINE)
            done[name] = (proc.returncode, proc.stdout + proc.stderr, out)
        return done[name]

    return run


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and (p / "run_summary.parquet").exists()]
    return {p.stem: pd.read_parquet(p) for p in run_dir.glob("*.parquet")}


def _check_common(code: int, log: str, out: Path) -> dict[str, pd.DataFrame]:
    assert code == 0, log[-3000:]
    tables = _tables(out)
    summary = tables["run_summary"].iloc[0]
    assert summary["status"] in ("ok", "degraded"), summary["status_reason"]
    assert summary["rows_read"] == summary["rows_kept"] + summary["rows_quarantined"]
    comments = tables["comments"]
    assert len(comments) == summary["rows_kept"] > 0
    assert comments["comment_id"].is_unique and comments["comment_id"].notna().all()
    analysed = comments["kind"].isin(["comment", "transcript_turn"])
    assert summary["documents_analysed"] == len(tables["sentiment"]) == analysed.sum()
    assert set(tables["sentiment"]["comment_id"]) == set(comments.loc[analysed, "comment_id"])
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    try:
        (n,) = con.execute("SELECT count(*) FROM comments").fetchone()
    finally:
        con.close()
    assert n == len(comments)
    assert (out / "report.html").stat().st_size > 0
    return tables


def _check_turns(comments: pd.DataFrame, fmt: str) -> None:
    """The interview's six turns from its file in format `fmt`, as written."""
    turns = comments[comments["source"] == _transcript_file(fmt)].sort_values("turn_index")
    assert turns["kind"].tolist() == ["moderator_turn", "transcript_turn"] * 3
    assert set(turns["speaker"]) == {"MODERATOR", "P01"}  # pseudonyms, never the names
    assert not comments["text"].str.contains("Whitlock").any()
    assert turns["date"].isna().all() and turns["service"].isna().all()
    participant = turns[turns["kind"] == "transcript_turn"]
    assert participant["prompt"].str.endswith("?").all()
    assert participant["text"].iloc[0].startswith("The online form kept timing out")
    if fmt in TIMED:
        assert turns["start_time"].tolist() == [5.0 * i for i in range(6)]


@pytest.mark.parametrize("name", ["comments", "comments_scores"])
def test_input_combinations_comments_alone_with_and_without_scores(runs, name):
    tables = _check_common(*runs(name))
    comments, summary = tables["comments"], tables["run_summary"].iloc[0]
    assert (comments["kind"] == "comment").all()
    assert comments["date"].notna().all() and comments["service"].notna().all()
    assert comments["speaker"].isna().all() and comments["prompt"].isna().all()
    if name == "comments_scores":
        assert len(tables["scores"]) > 0 and summary["score_match_rate"] > 0.9
    else:
        assert tables["scores"].empty and pd.isna(summary["score_match_rate"])


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_input_combinations_transcripts_alone_each_format(runs, fmt):
    formats = ("txt",) if fmt == "txt" else TOGETHER
    tables = _check_common(*runs("transcripts" if fmt == "txt" else "formats"))
    comments = tables["comments"]
    assert (comments["kind"] != "comment").all()
    assert set(comments["source"]) == {_transcript_file(f) for f in formats}
    assert len(comments) == 6 * len(formats)  # no turn lost or added between the files
    _check_turns(comments, fmt)
    assert tables["scores"].empty


def test_input_combinations_comments_scores_and_transcripts_together(runs):
    tables = _check_common(*runs("both"))
    comments = tables["comments"]
    survey = comments[comments["kind"] == "comment"]
    assert len(survey) == len(_tables(runs("comments_scores")[2])["comments"])
    assert set(comments.loc[comments["kind"] != "comment", "source"]) == {"Interview 7.txt"}
    _check_turns(comments, "txt")
    assert len(tables["scores"]) > 0
    # a row's hash does not depend on the other inputs it came with: the comments and the
    # turns are ledgered with the same hashes as when each came alone
    ledger = tables["ingest_ledger"].set_index("comment_id")["row_hash"]
    alone = pd.concat(
        [
            _tables(runs(name)[2])["ingest_ledger"].set_index("comment_id")["row_hash"]
            for name in ("comments_scores", "transcripts")
        ]
    )
    assert ledger.sort_index().equals(alone.sort_index())
