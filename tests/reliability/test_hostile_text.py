"""Hostile comment text goes through a real `feedback run` without harm: bidi overrides
("Trojan Source"), HTML/script, spreadsheet formulas, a 50,000-character line, emoji and
zero-width characters. The run exits 0; stored text has no bidi controls; the report carries
no raw `<script>` from input; formula-leading text is stored as written (Parquet and DuckDB do
not evaluate it; neutralising CSV exports is the exporter's job).

Slow: one CLI subprocess (models, the session's Prefect API) on 30 sample comments plus the
hostile ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from feedback_process import run_cli

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LONG = "The waiting room was cold and nobody told us how long the wait would be. " * 680

HOSTILE = {
    "H-RLO": "\u202eThe wait was awful\u202c and nobody called us back for three days.",
    "H-ISOLATE": "\u2066Parking\u2069 was \u2067impossible\u2069 to find and far too expensive.",
    "H-SCRIPT": "<script>alert(1)</script> The receptionist was rude and we waited hours.",
    "H-UNCLOSED": "We waited five hours in the corridor and nobody came <script src=x",
    "H-HYPERLINK": '=HYPERLINK("http://x","y") the appointment letter never arrived at all',
    "H-CMD": "+cmd|' /C calc'!A0 the phone line kept cutting off when I rang",
    "H-SUM": "@SUM(1+1) staff were kind but the wait for the doctor was long",
    "H-LONG": LONG,
    "H-EMOJI": "Great staff 👍🏽 thank\u200b you\u200d 👨\u200d👩\u200d👧 but parking was dear",
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, prefect_api_url, share_encoders) -> tuple[int, str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments = comments[comments["text"].str.len() > 20].head(30)
    planted = pd.DataFrame(
        [
            {"id": cid, "date": "2022-01-05", "service": "111", "text": text}
            for cid, text in HOSTILE.items()
        ]
    )
    pd.concat([comments, planted], ignore_index=True).to_csv(root / "comments.csv", index=False)
    config = root / "hostile.yaml"
    config.write_text(
        "comments: comments.csv\ndataset: nhs_fft\nquality:\n  stability_sample: 0\n",
        encoding="utf-8",
    )
    out = share_encoders(root / "out")
    args = ["--config", config, "--out", out]
    proc = run_cli(args, prefect_home=root / "prefect-home", api_url=prefect_api_url)
    return proc.returncode, proc.stdout + proc.stderr, out


def _stored(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comments table from the run's Parquet file and from DuckDB."""
    (parquet,) = out.glob("*/comments.parquet")
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    try:
        db = con.execute("SELECT * FROM comments").df()
    finally:
        con.close()
    return pd.read_parquet(parquet), db


def test_hostile_text_run_exits_0_and_keeps_every_hostile_row(hostile_run):
    code, log, out = hostile_run
    assert code == 0, log[-3000:]
    parquet, db = _stored(out)
    for table in (parquet, db):
        ids = set(table["source_id"])
        assert set(HOSTILE) <= ids, set(HOSTILE) - ids
    long_text = parquet.set_index("source_id").loc["H-LONG", "text"]
    assert len(long_text) == len(LONG.strip())


def test_hostile_text_stored_text_has_no_bidi_controls(hostile_run):
    code, log, out = hostile_run
    assert code == 0, log[-3000:]
    for table in _stored(out):
        for column in ("text", "prompt"):
            values = table[column].dropna()
            assert not values.str.contains(BIDI).any(), column
        texts = table.set_index("source_id")["text"]
        assert texts["H-RLO"] == "The wait was awful and nobody called us back for three days."
        assert texts["H-ISOLATE"].startswith("Parking was impossible to find")
        assert "\u200b" not in texts["H-EMOJI"]
        assert "👍🏽" in texts["H-EMOJI"] and "👨\u200d👩\u200d👧" in texts["H-EMOJI"]


def test_hostile_text_report_has_no_raw_script_from_input(hostile_run):
    code, log, out = hostile_run
    assert code == 0, log[-3000:]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the report has no scripts of its own either
    parquet, _ = _stored(out)
    texts = parquet.set_index("source_id")["text"]
    assert "<script" not in texts["H-SCRIPT"]  # tags are dropped at ingest
    assert texts["H-UNCLOSED"].endswith("<script src=x")  # no ">": kept, so escaped in HTML
    if "H-UNCLOSED" in html:
        assert "&lt;script src=x" in html


def test_hostile_text_formulas_stored_verbatim(hostile_run):
    code, log, out = hostile_run
    assert code == 0, log[-3000:]
    for table in _stored(out):
        texts = table.set_index("source_id")["text"]
        assert texts["H-CMD"] == HOSTILE["H-CMD"]
        assert texts["H-SUM"] == HOSTILE["H-SUM"]
        # the URL inside is redacted like any URL; the formula text around it is untouched
        assert texts["H-HYPERLINK"].startswith('=HYPERLINK("[URL]')
