"""Driver table on the NHS patient feedback, next to the same statistics for the human labels.

    .venv/bin/python bench/nhs_drivers.py        # ~5 min: a full pipeline run on 7.4k comments

Splits ../shared/data/nhs_patient_feedback_v6.csv the way users have it (comments.csv with id,
date, service, text; scores.csv with id, score = FFT 1 very good ... 5 very poor, 6/7 not
ratings), runs the real flow into a temporary directory, and prints the pain-point and topic
driver tables from its DuckDB file. For comparison, `nlp.drivers.tables.driver_table` is run on the
same scores with the 50 hand-labelled theme columns as membership: where our themes match the
human ones, the rankings should agree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.config import load_config  # noqa: E402
from flows.feedback_pipeline import feedback_pipeline_flow  # noqa: E402
from nlp.drivers.scores import NHS_FFT, score_columns  # noqa: E402
from nlp.drivers.tables import driver_table  # noqa: E402

FIRST_THEME = "Organisation & efficiency"


def show(df: pd.DataFrame, name_col: str, top: int) -> None:
    print(f"| {name_col} | n | share | mean | impact (95 % CI) | key driver (95 % CI) | total |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in df[~df["suppressed"].astype(bool)].head(top).itertuples():
        print(
            f"| {getattr(r, name_col)} | {r.n} | {r.share:.1%} | {r.mean_score:.1f} | "
            f"{r.impact:.1f} ({r.impact_ci_low:.1f} to {r.impact_ci_high:.1f}) | "
            f"{r.kd_coef:.1f} ({r.kd_ci_low:.1f} to {r.kd_ci_high:.1f}) | {r.total_impact:.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    raw = pd.read_csv(args.shared / "nhs_patient_feedback_v6.csv", dtype=str, keep_default_na=False)
    raw["id"] = raw["Comment ID"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        comments = raw.rename(
            columns={"Date": "date", "Service type 1": "service", "FFT answer": "text"}
        )[["id", "date", "service", "text"]]
        comments.to_csv(tmp / "comments.csv", index=False)
        raw.rename(columns={"FFT categorical answer": "score"})[["id", "score"]].to_csv(
            tmp / "scores.csv", index=False
        )
        cfg = load_config(
            None,
            comments=tmp / "comments.csv",
            scores=tmp / "scores.csv",
            out=tmp / "out",
            dataset="nhs",
            score_scale={"low": 1, "high": 5, "higher_is_better": False, "ignore": [6, 7]},
        )
        t0 = time.perf_counter()
        result = feedback_pipeline_flow(cfg)
        wall = time.perf_counter() - t0
        con = duckdb.connect(str(result.db_path), read_only=True)
        pain = con.execute("SELECT * FROM pain_point_csat WHERE segment = 'all'").df()
        topic = con.execute(
            "SELECT * FROM topic_csat WHERE segment = 'all' AND level = 'theme'"
        ).df()
        con.close()
    s = result.summary
    print(
        f"pipeline on {s['rows_read']} NHS rows: {wall:.0f} s wall, {s['documents_analysed']} "
        f"analysed, {s['n_topics']} topics, unassigned {s['unassigned_share']:.1%}, "
        f"match rate {s['score_match_rate']:.1%}, status {s['status']}\n"
    )
    print("### Pain points (our taxonomy, negative clauses), ranked by total impact\n")
    show(pain.sort_values("total_impact"), "category", args.top)
    print("\n### Topics, ranked by total impact\n")
    show(topic.sort_values("total_impact"), "label", args.top)
    # Human labels on the same scored comments (score_0_100 recomputed from the raw file).
    themes = raw.columns[raw.columns.get_loc(FIRST_THEME) :]
    scored = raw[["id"]].assign(**score_columns(raw["FFT categorical answer"], NHS_FFT))
    scored = scored.rename(columns={"id": "comment_id"}).dropna(subset=["score_0_100"])
    long = raw.melt(id_vars="id", value_vars=list(themes), var_name="theme")
    members = long[long["value"] == "1"].rename(columns={"id": "comment_id"})[
        ["comment_id", "theme"]
    ]
    human = driver_table(members, scored, "theme", min_n=10, n_boot=1000, seed=42)
    print(
        f"\n### Human theme labels ({len(themes)} columns), same scores, ranked by total impact\n"
    )
    show(human, "theme", args.top)


if __name__ == "__main__":
    main()
