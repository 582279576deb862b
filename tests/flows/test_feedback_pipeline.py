"""End-to-end: the real Prefect flow on a tiny real sample, with real models, in a temp dir."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flows.config import ColumnMap, PipelineConfig, ScaleConfig
from nlp.schemas import TABLES

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

NHS_FFT = ScaleConfig(low=1, high=5, higher_is_better=False, ignore=(6, 7))


@pytest.fixture(scope="module")
def runs(prefect_backend, tiny_inputs, tmp_path_factory):
    """Run the flow twice on the same inputs (second run: rerun idempotency)."""
    from flows.feedback_pipeline import feedback_pipeline_flow

    out = tmp_path_factory.mktemp("out")
    root = tiny_inputs["root"]
    config = PipelineConfig(
        comments=root / "comments.csv",
        scores=root / "scores.csv",
        transcripts=root / "transcripts",
        out=out,
        dataset="nhs",
        columns=ColumnMap(segments=("age_band",), nps="ltr"),
        score_scale=NHS_FFT,
        category_head=Path(__file__).resolve().parents[2] / "models" / "category_head_nhs",
        run_id="run1",
    )
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in watched:
        logger.addHandler(handler)
    first = feedback_pipeline_flow(config)
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    snapshot = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
    con.close()
    second = feedback_pipeline_flow(config.model_copy(update={"run_id": "run2"}))
    # Night 3: ten late-arriving comments and one edited comment.
    later = root / "later"
    later.mkdir()
    comments = tiny_inputs["comments"].copy()
    comments.loc[1, "text"] = (
        "Edited: the phone line was engaged for two days and nobody called back."
    )
    sample = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    fresh = sample[~sample["id"].isin(comments["id"]) & (sample["text"].str.len() > 30)].head(10)
    pd.concat([comments, fresh], ignore_index=True).to_csv(later / "comments.csv", index=False)
    third = feedback_pipeline_flow(
        config.model_copy(update={"run_id": "run3", "comments": later / "comments.csv"})
    )
    registry_meta = out / "models" / "topic_registry" / "metadata.json"
    meta_after_transform = json.loads(registry_meta.read_text())
    edits = _analyst_edits(out)  # applied by night 4, a refit
    # Night 4: the same input with --retrain: topics are refit, ids mapped through the registry.
    config4 = config.model_copy(
        update={"run_id": "run4", "comments": later / "comments.csv", "retrain": True}
    )
    fourth = feedback_pipeline_flow(config4)
    for logger in watched:
        logger.removeHandler(handler)
    return {
        "log_records": records,
        "out": out,
        "first": first,
        "second": second,
        "third": third,
        "fourth": fourth,
        "config4": config4,
        "meta_after_transform": meta_after_transform,
        "edits": edits,
        "counts_after_first": snapshot,
        "edited_id": comments.loc[1, "id"],
        "fresh_ids": list(fresh["id"]),
    }


def _analyst_edits(out: Path) -> dict[str, int]:
    """Rename the largest theme and hide the smallest, as `feedback themes` records them."""
    from flows.io.theme_edits import save_edits
    from nlp.themes.edits import new_record

    topics = _table(out, "topics", "run3")
    live = topics[topics["size"] > 0].sort_values(["size", "topic_id"], ascending=[False, True])
    big, small = int(live["topic_id"].iloc[0]), int(live["topic_id"].iloc[-1])
    records = [new_record([], "rename", {"topic_id": big, "name": "Named by an analyst"}, by="t")]
    records.append(new_record(records, "hide", {"topic_id": small}, by="t"))
    save_edits(out, records)
    return {"renamed": big, "hidden": small}


def _table(out, name: str, run_id: str = "run1") -> pd.DataFrame:
    return pd.read_parquet(out / run_id / f"{name}.parquet")


def test_feedback_pipeline_accounts_for_every_input_row(runs, tiny_inputs):
    out = runs["out"]
    comments, quarantine = _table(out, "comments"), _table(out, "quarantine")
    summary = runs["first"].summary
    assert summary["rows_read"] == len(comments) + len(quarantine)
    survey_in = tiny_inputs["comments"]
    survey_kept = comments[comments["kind"] == "comment"]
    survey_quarantined = quarantine[quarantine["source"] == "comments.csv"]
    assert len(survey_kept) + len(survey_quarantined) == len(survey_in)
    reasons = dict(zip(survey_quarantined["source_id"], survey_quarantined["reason"], strict=True))
    assert reasons["X-EMPTY"] == "empty_text"
    assert reasons["X-NA"] == "placeholder_text"
    assert reasons[survey_in["id"].iloc[0]] == "duplicate_row"
    assert quarantine["reason"].notna().all() and quarantine["row_number"].notna().all()


def test_feedback_pipeline_tables_are_filled_and_match_schema(runs):
    out = runs["out"]
    for name, columns in TABLES.items():
        df = _table(out, name)
        assert list(df.columns) == list(columns), name
        assert len(df) > 0, f"table {name} is empty"
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    db_tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    con.close()
    assert set(TABLES) <= db_tables
    html = (out / "run1" / "report.html").read_text(encoding="utf-8")
    assert "Pain points" in html and "Drivers of the score" in html and "<mark>" in html


def test_feedback_pipeline_keeps_segment_values_per_comment(runs, tiny_inputs):
    out = runs["out"]
    segments = _table(out, "comment_segments")
    comments = _table(out, "comments")
    assert set(segments["segment"]) == {"age_band"}
    assert set(segments["value"]) == {"16-24", "25-44", "45-64", "65+"}  # blanks are dropped
    assert segments["comment_id"].is_unique
    assert set(segments["comment_id"]) <= set(comments["comment_id"])
    given = tiny_inputs["comments"].drop_duplicates("id").set_index("id")["age_band"]
    by_id = comments.set_index("comment_id")["source_id"]
    for row in segments.head(20).itertuples():
        assert given[by_id[row.comment_id]] == row.value


def test_feedback_pipeline_breaks_drivers_down_by_segment_with_suppression(runs):
    out = runs["out"]
    for name, key in (("topic_csat", ["topic_id", "level"]), ("pain_point_csat", ["category"])):
        df = _table(out, name)
        assert "all" in set(df["segment"])
        assert {s.split("=")[0] for s in df["segment"] if s != "all"} <= {"service", "age_band"}
        assert not df.duplicated([*key, "segment"]).any(), name
        small = df[df["n"] < 10]
        assert small["suppressed"].all() and small["impact"].isna().all()
    topic = _table(out, "topic_csat")
    assert any(s.startswith("age_band=") for s in topic["segment"])
    gaps = _table(out, "driver_gaps")
    assert {s.split("=")[0] for s in gaps["segment"]} <= {"service", "age_band"}
    assert not gaps.loc[gaps["suppressed"], "significant_gap"].any()


def test_feedback_pipeline_reports_nps_from_the_recommend_column(runs, tiny_inputs):
    scores = pd.read_csv(tiny_inputs["root"] / "scores.csv", dtype=str)
    ltr = scores.drop_duplicates("id")["ltr"].astype(int)
    expected = 100 * ((ltr >= 9).mean() - (ltr <= 6).mean())
    assert runs["first"].summary["nps"] == pytest.approx(expected)
    assert _table(runs["out"], "run_summary", "run1").iloc[0]["nps"] == pytest.approx(expected)


def test_feedback_pipeline_tags_by_rules_and_the_configured_category_head(runs):
    tags = _table(runs["out"], "pain_points")
    assert set(tags["method"]) == {"rule", "head"}
    assert not tags.duplicated(["comment_id", "category", "method", "start"]).any()
    head = tags[tags["method"] == "head"]
    assert head["score"].between(0, 1).all()
    comments = _table(runs["out"], "comments").set_index("comment_id")["text"]
    for row in head.head(30).itertuples():
        assert comments[row.comment_id][row.start : row.end] == row.evidence


def test_feedback_pipeline_trends_cover_dated_comments_per_service(runs):
    out = runs["out"]
    trends = _table(out, "trends")
    assert set(trends["theme_type"]) == {"topic", "pain_point"}
    n = trends.groupby(["theme_type", "theme", "period", trends["service"] == "all"])["n"].sum()
    overall, by_service = n.xs(True, level=3), n.xs(False, level=3)
    pd.testing.assert_series_equal(
        overall, by_service.reindex(overall.index, fill_value=0), check_names=False
    )
    summary = _table(out, "run_summary", "run1").iloc[0]
    assert summary["emerging_themes"] >= 0
    assert summary["cluster_selection"] in ("eom", "leaf")  # run1 fits the themes


def test_feedback_pipeline_joins_do_not_multiply_rows(runs):
    out = runs["out"]
    comments = _table(out, "comments")
    analysed = comments[comments["kind"].isin(["comment", "transcript_turn"])]
    analysed = analysed[analysed["language"].isin(["en", "und"])]
    for name in ("sentiment", "scores"):
        df = _table(out, name)
        assert df["comment_id"].is_unique, name
    themes = _table(out, "comment_topics")
    assert not themes.duplicated(["comment_id", "topic_id"]).any()
    primary = themes[themes["is_primary"]]
    assert primary["comment_id"].is_unique and len(primary) == len(analysed)
    assert set(themes["comment_id"]) == set(analysed["comment_id"])
    # statements: offsets exact into comments.text, each comment's themes are its statements'
    statements = _table(out, "statements")
    text = comments.set_index("comment_id")["text"]
    for row in statements.sample(min(200, len(statements)), random_state=0).itertuples():
        piece = text[row.comment_id][row.start : row.end]
        assert piece.strip() == piece and any(ch.isalnum() for ch in piece)
    counted = statements.dropna(subset=["topic_id"]).groupby(["comment_id", "topic_id"]).size()
    stated = themes.dropna(subset=["topic_id"]).set_index(["comment_id", "topic_id"])
    pd.testing.assert_series_equal(
        counted.sort_index(),
        stated["statements"].sort_index(),
        check_names=False,
        check_dtype=False,
    )
    assert len(_table(out, "sentiment")) == len(analysed)
    scores = _table(out, "scores")
    assert set(scores["comment_id"]) <= set(
        comments.loc[comments["kind"] == "comment", "comment_id"]
    )
    # the duplicated score id keeps its first row
    assert scores.set_index("source_id").loc["X-PII0", "score_raw"] == 5


def test_feedback_pipeline_reports_the_true_match_rate(runs, tiny_inputs):
    out = runs["out"]
    comments = _table(out, "comments")
    survey_ids = comments.loc[comments["kind"] == "comment", "source_id"]
    first = tiny_inputs["scores"].drop_duplicates("id")  # the first row of an id is used
    raw = pd.to_numeric(first["score"], errors="coerce")
    usable = set(first.loc[raw.between(1, 5) & ~raw.isin([6, 7]), "id"])
    summary = runs["first"].summary
    assert summary["score_match_rate"] == pytest.approx(survey_ids.isin(usable).mean())
    by_id = survey_ids.isin(set(first["id"])).mean()
    assert summary["score_id_match_rate"] == pytest.approx(by_id)
    unmatched = _table(out, "unmatched_scores")
    got = set(zip(unmatched["source_id"], unmatched["reason"], strict=True))
    assert ("NOT-A-COMMENT", "no_comment_for_id") in got
    assert ("X-PII0", "duplicate_score_id") in got
    assert ("X-NOSCORE", "no_score_for_id") in got
    assert (tiny_inputs["comments"]["id"].iloc[0], "no_comment_for_id") not in got


def test_feedback_pipeline_excludes_moderator_turns_and_pseudonymises(runs):
    out = runs["out"]
    comments = _table(out, "comments")
    turns = comments[comments["kind"] != "comment"]
    assert (turns["kind"] == "moderator_turn").sum() > 0
    assert (turns["kind"] == "transcript_turn").sum() > 0
    assert all(re.fullmatch(r"MODERATOR|P\d{2}", s) for s in turns["speaker"])
    moderator_ids = set(turns.loc[turns["kind"] == "moderator_turn", "comment_id"])
    for name in ("comment_topics", "sentiment", "clauses", "pain_points"):
        assert not moderator_ids & set(_table(out, name)["comment_id"]), name


def _decoded(path: Path) -> str:
    """A file's content as text: Parquet and DuckDB are compressed, so read them as tables."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv()
    if path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
            return "\n".join(con.table(n).df().to_csv() for n in names)
        finally:
            con.close()
    return path.read_bytes().decode("utf-8", errors="replace")


def test_feedback_pipeline_writes_no_pii_canary(runs, tiny_inputs):
    out = runs["out"]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 10
    leaks = []
    for path in files:  # decode each file once, then look for every canary in it
        content = _decoded(path)
        leaks += [(canary, path.name) for canary in tiny_inputs["canaries"] if canary in content]
    assert not leaks
    text = _table(out, "comments").set_index("source_id").loc["X-PII0", "text"]
    assert "[EMAIL]" in text and "[PHONE]" in text


def test_feedback_pipeline_logs_and_prefect_records_hold_no_pii(runs, tiny_inputs):
    from prefect.client.orchestration import get_client

    records = "\n".join(runs["log_records"])
    assert "clean:" in records  # the handler did capture the run's log lines

    def everything(client, path: str, sort: str) -> str:
        """All records behind a filter endpoint, as raw JSON text (paged by 200)."""
        pages, offset = [], 0
        while True:
            body = {"limit": 200, "offset": offset, "sort": sort}
            batch = client.request("POST", path, json=body).json()
            if not batch:
                return "".join(pages)
            pages.append(json.dumps(batch))
            offset += len(batch)

    # The REST API directly: Prefect 3.8.8's typed sync client sends invalid empty filters.
    with get_client(sync_client=True) as client:
        stored = "".join(
            everything(client, path, sort)
            for path, sort in [
                ("/logs/filter", "TIMESTAMP_ASC"),
                ("/artifacts/filter", "ID_DESC"),
                ("/flow_runs/filter", "ID_DESC"),
                ("/task_runs/filter", "ID_DESC"),
            ]
        )
    assert "feedback-run-summary" in stored  # the run's artifact is there
    for canary in tiny_inputs["canaries"]:
        assert canary not in records, canary
        assert canary not in stored, canary


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns[:2])).reset_index(drop=True)


def _primary_topics(comment_topics: pd.DataFrame) -> pd.Series:
    """comment_id -> the theme holding most of the comment (the old one-row reading)."""
    return comment_topics[comment_topics["is_primary"]].set_index("comment_id")["topic_id"]


def test_feedback_pipeline_rerun_processes_nothing_and_changes_no_data(runs):
    out = runs["out"]
    second = runs["second"].summary
    assert second["rows_new"] == 0 and second["rows_unchanged"] == second["rows_read"]
    assert second["status"] == "ok"
    assert len(_table(out, "quarantine", "run2")) == 0  # already reported by run1
    for name in (
        "comments",
        "sentiment",
        "clauses",
        "pain_points",
        "scores",
        "topics",
        "comment_topics",
        "statements",
        "topic_csat",
        "topic_services",
        "pain_point_csat",
        "driver_gaps",
        "trends",
    ):
        a, b = _table(out, name, "run1"), _table(out, name, "run2")
        a = a.drop(columns=[c for c in ("last_seen_run", "first_seen_run") if c in a])
        b = b.drop(columns=[c for c in ("last_seen_run", "first_seen_run") if c in b])
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_dtype=False, obj=name)
    assert runs["second"].summary["score_match_rate"] == runs["first"].summary["score_match_rate"]


def test_feedback_pipeline_incremental_run_processes_only_new_and_changed_rows(runs):
    out = runs["out"]
    third = runs["third"].summary
    assert third["rows_new"] == 11  # ten late arrivals and one edit
    assert third["rows_unchanged"] == third["rows_read"] - 11
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    comments = con.table("comments").df()
    sentiment = con.table("sentiment").df()
    ledger = con.table("ingest_ledger").df()
    run_ids = con.execute("SELECT run_id FROM run_summary ORDER BY run_id").fetchall()
    con.close()
    assert [r[0] for r in run_ids] == ["run1", "run2", "run3", "run4"]
    before = runs["counts_after_first"]["comments"]
    assert len(comments) == before + 10
    assert comments["comment_id"].is_unique and sentiment["comment_id"].is_unique
    edited = comments.set_index("source_id").loc[runs["edited_id"]]
    assert edited["text"].startswith("Edited:") and edited["run_id"] == "run3"
    assert set(runs["fresh_ids"]) <= set(comments["source_id"])
    assert (ledger.groupby("comment_id")["row_hash"].nunique() == 1).all()
    # night 3 transforms: earlier documents keep their topic, new ones join saved topics
    before_t = _primary_topics(_table(out, "comment_topics", "run2"))
    after_t = _primary_topics(_table(out, "comment_topics", "run3"))
    edited_cid = comments.set_index("source_id").loc[runs["edited_id"], "comment_id"]
    kept = before_t.index.drop(edited_cid)
    pd.testing.assert_series_equal(before_t[kept], after_t[kept], check_names=False)
    registry = set(_table(out, "topics", "run2")["topic_id"])
    new = comments.loc[comments["source_id"].isin(runs["fresh_ids"]), "comment_id"]
    assert set(after_t[new].dropna()) <= registry and after_t[new].notna().sum() >= 5
    assert third["stability_ari"] is None and third["n_topics"] > 0
    # night 4 refits (--retrain): the registry keeps topic ids for most documents
    refit_t = _primary_topics(_table(out, "comment_topics", "run4"))
    both = after_t.dropna().index.intersection(refit_t.dropna().index)
    assert len(both) > 100
    assert (after_t[both] == refit_t[both]).mean() >= 0.6
    assert runs["fourth"].summary["stability_ari"] is not None
    topics = _table(out, "topics", "run4")
    assert set(topics["status"]) <= {"active", "emerging", "dormant", "hidden"}
    assert topics["first_seen_run"].isin(["run1", "run4"]).all()


def test_feedback_pipeline_analyst_edits_survive_a_retrain(runs):
    """Edits made after night 3 apply on night 4's refit: the renamed theme keeps its id and
    the analyst's name everywhere, the hidden one has no statement; the registry stays the
    model's (edits replay on every run)."""
    out, edits = runs["out"], runs["edits"]
    topics = _table(out, "topics", "run4").set_index("topic_id")
    renamed = topics.loc[edits["renamed"]]
    assert renamed["label"] == "Named by an analyst" and renamed["name_source"] == "analyst"
    assert renamed["size"] > 0
    assert topics.loc[edits["hidden"], "status"] == "hidden"
    statements = _table(out, "statements", "run4")
    assert not statements["topic_id"].eq(edits["hidden"]).any()
    assert statements["model_topic_id"].eq(edits["renamed"]).any()
    report = (out / "run4" / "report.html").read_text(encoding="utf-8")
    assert "Named by an analyst" in report
    registry = pd.read_json(out / "models" / "topic_registry" / "topics.json")
    assert "Named by an analyst" not in set(registry["label"])


def test_feedback_pipeline_saves_the_fitted_bertopic_model_with_metadata(runs):
    from bertopic import BERTopic

    from nlp.embedding import load_encoder

    registry = runs["out"] / "models" / "topic_registry"
    # a transform run keeps the last fit's model and metadata; a refit replaces them
    assert runs["meta_after_transform"]["fit"]["fitted_run"] == "run1"
    meta = json.loads((registry / "metadata.json").read_text())
    fit = meta["fit"]
    assert fit["fitted_run"] == "run4" and fit["seed"] == 42
    assert len(fit["data_fingerprint"]) == 16 and fit["versions"]["bertopic"]
    assert fit["metrics"]["n_topics"] == runs["fourth"].summary["n_topics"]
    files = {p.name for p in (registry / "bertopic").iterdir()}
    assert {"topic_embeddings.safetensors", "ctfidf.safetensors", "config.json"} <= files
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in registry.rglob("*"))
    model = BERTopic.load(str(registry / "bertopic"), embedding_model=load_encoder().model)
    assigned, _ = model.transform(["The phone line was engaged for two days."])
    assert len(assigned) == 1 and assigned[0] in set(model.topic_sizes_)


def test_feedback_pipeline_runs_with_another_encoder_and_keys_state_by_it(tiny_inputs, tmp_path):
    from flows.feedback_pipeline import feedback_pipeline_flow
    from nlp.embedding import SPACE_IDS

    root = tiny_inputs["root"]
    config = PipelineConfig(
        comments=root / "comments.csv",
        scores=root / "scores.csv",
        out=tmp_path,
        dataset="nhs",
        score_scale=NHS_FFT,
        encoder="minilm-onnx-int8",
        run_id="int8",
    )
    result = feedback_pipeline_flow(config)
    assert result.summary["status"] in ("ok", "degraded") and result.summary["n_topics"] > 0
    meta = json.loads((tmp_path / "models" / "topic_registry" / "metadata.json").read_text())
    assert meta["encoder"] == SPACE_IDS["minilm-onnx-int8"]  # refused by other spaces' runs
    assert (tmp_path / "models" / "encoders" / "minilm-onnx-int8").is_dir()  # built locally
    sentiment = _table(tmp_path, "sentiment", "int8")
    assert sentiment["label"].notna().all()  # VADER fallback: the head is MiniLM's space only


def test_feedback_pipeline_default_onnx_and_torch_share_state_and_heads(runs, tmp_path):
    import shutil

    from flows.feedback_pipeline import feedback_pipeline_flow
    from nlp.embedding import SPACE_IDS

    # the default encoder is ONNX fp32: comment sentiment came from the shipped branch, run on
    # the embedding pass's layer-2 states, its outputs cached by text hash beside the vectors
    assert PipelineConfig().encoder == "minilm-onnx"
    assert any("comment sentiment by branch" in r for r in runs["log_records"])
    assert list((runs["out"] / "cache").glob("embeddings-sentiment_branch_*.parquet"))
    out = tmp_path / "out"
    shutil.copytree(runs["out"], out)
    meta = json.loads((out / "models" / "topic_registry" / "metadata.json").read_text())
    assert meta["encoder"] == SPACE_IDS["minilm"]
    # torch MiniLM continues from the ONNX run's registry and cache: nothing new, nothing refit
    config = runs["config4"].model_copy(
        update={"out": out, "encoder": "minilm", "run_id": "torch", "retrain": False}
    )
    torch_run = feedback_pipeline_flow(config).summary
    assert torch_run["rows_new"] == 0 and torch_run["stability_ari"] is None
    assert torch_run["n_topics"] == runs["fourth"].summary["n_topics"]
