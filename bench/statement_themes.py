"""Statement-level themes against comment-level themes on every shared dataset (issue #15).

Per dataset (NHS comments with their human theme labels and service, government app reviews,
Polis comments, participant turns of the interviews and the hearing, TweetEval tweets; each
triaged as the pipeline does and capped at --n documents by a seeded sample), the themes stage
(`nlp.themes.stage.theme_tables`, a first-run refit) runs twice in the same run, each in a fresh
subprocess (peak RSS = VmHWM of that process):

- before: every document is one unit (its whole text: what the pipeline did until now);
- after: documents split into statements (`nlp.themes.statements.split_statements`), a
  comment's only statement taking the comment's vector, the others encoded.

Reported: themes, parent themes, units (statements), unassigned share of units and of
documents, documents with 2+ themes, NPMI, diversity, the stage's stability gate (its ARI and
method), ARI of the unit assignment between seeds 42 and 43 (stability across seeds), names
that are dot-joined word lists, names containing a service value (NHS), and the topic stage's
seconds and peak RSS; NHS: NMI of the primary theme with the human theme label on comments
that carry exactly one of the 50 labels (before vs after). Embeddings (the pipeline's default
encoder) are cached in --cache.

    .venv/bin/python bench/statement_themes.py [--shared ../shared/data] [--n 2500]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.topics import fmt, load_avg, log, print_table, rss_mb  # noqa: E402

NHS_FIRST_THEME = "Organisation & efficiency"  # the first of the 50 one-hot theme columns


def nhs_frame(shared: Path) -> pd.DataFrame:
    """NHS comments (triaged) with service and the single human theme label (or None)."""
    from nlp.ingest import cleaning

    raw = pd.read_csv(shared / "nhs_patient_feedback_v6.csv", low_memory=False)
    themes = raw.columns[list(raw.columns).index(NHS_FIRST_THEME) :]
    onehot = raw[themes].fillna(0).astype(float).gt(0)
    label = onehot.idxmax(axis=1).where(onehot.sum(axis=1) == 1)
    frame = pd.DataFrame(
        {
            "text": raw["FFT answer"].map(
                lambda t: cleaning.normalise_text(t) if isinstance(t, str) else ""
            ),
            "service": raw["Service type 1"].astype("string").str.strip(),
            "label": label,
        }
    )
    keep = frame["text"].ne("") & ~frame["text"].map(cleaning.is_placeholder)
    return frame[keep].reset_index(drop=True)


def datasets(shared: Path, n: int) -> dict[str, pd.DataFrame]:
    """name -> frame(text[, service, label]) capped at `n` rows by a seeded sample."""
    from bench.topics import load_datasets
    from nlp.ingest import cleaning

    sets = {"NHS comments": nhs_frame(shared)}
    for name, texts in load_datasets(shared).items():
        if name != "NHS comments":
            sets[name] = pd.DataFrame({"text": texts})
    tweets = pd.read_csv(shared / "tweeteval_sentiment.csv")["text"].map(cleaning.normalise_text)
    sets["TweetEval tweets"] = pd.DataFrame({"text": [t for t in tweets if t]})
    for name, frame in sets.items():
        if len(frame) > n:
            pick = np.sort(np.random.default_rng(11).choice(len(frame), size=n, replace=False))
            sets[name] = frame.iloc[pick].reset_index(drop=True)
    return sets


# ---------------------------------------------------------------- worker (one fit)


def cached(encoder, texts: list[str], cache: Path) -> np.ndarray:
    from nlp.embedding import embed_texts

    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = cache / f"statement_themes-{key}.npy"
    if path.exists():
        return np.load(path)
    emb = embed_texts(encoder, texts)
    np.save(path, emb)
    return emb


def units_of(frame: pd.DataFrame, mode: str, nlp) -> pd.DataFrame:
    from nlp.ingest.cleaning import text_hash
    from nlp.themes.statements import split_statements

    docs = pd.DataFrame({"comment_id": [f"d{i}" for i in range(len(frame))], "text": frame["text"]})
    if mode == "clauses":  # statements as they were before fragments were joined (2026-12-01)
        from nlp.sentiment.clauses import split_clauses
        from nlp.themes import statements

        statements.statement_spans = lambda doc: [(c.start, c.end) for c in split_clauses(doc)]
    if mode == "nocontent":  # the fragments of 2026-12-01: at most 4 words, no content word
        from nlp.themes import statements

        statements.FRAGMENT_MAX_CONTENT_WORDS = 0
        no_content = statements.is_fragment
        statements.is_fragment = lambda words: len(words) <= 4 and no_content(words)
    if mode in ("after", "clauses", "nocontent"):
        return split_statements(nlp, docs)
    return docs.assign(
        statement_index=0,
        start=0,
        end=docs["text"].str.len(),
        text_hash=[text_hash(t) for t in docs["text"]],
    )[["comment_id", "statement_index", "start", "end", "text", "text_hash"]]


def fit(units: pd.DataFrame, emb: np.ndarray, nlp, encoder, seed: int, services: list[str]):
    from functools import partial

    from nlp.embedding import embed_texts
    from nlp.themes.params import ThemeSettings
    from nlp.themes.registry import Registry
    from nlp.themes.stage import theme_tables

    return theme_tables(
        statements=units,
        embeddings=emb,
        previous=units.iloc[:0].drop(columns="text"),
        new_ids=set(units["comment_id"]),
        registry=Registry.empty(emb.shape[1]),
        saved_fit={},
        nlp=nlp,
        encode=partial(embed_texts, encoder),
        taxonomy_categories=[],
        settings=ThemeSettings(seed=seed),
        run_id=f"seed{seed}",
    )


def _largest_share(comment_topics: pd.DataFrame, documents: int) -> float | None:
    """Share of the documents that contain the theme found in most documents."""
    counts = comment_topics.dropna(subset=["topic_id"]).groupby("topic_id")["comment_id"].nunique()
    return float(counts.max() / documents) if len(counts) and documents else None


def nmi_with_labels(tables, frame: pd.DataFrame) -> float:
    """NMI of each document's primary theme (-1: none) with its human `label`, over the
    documents that have one."""
    from sklearn.metrics import normalized_mutual_info_score

    ct = tables.comment_topics[tables.comment_topics["is_primary"]]
    primary = ct.set_index("comment_id")["topic_id"].fillna(-1)
    gold = frame["label"].set_axis([f"d{i}" for i in range(len(frame))]).dropna()
    return float(normalized_mutual_info_score(gold.to_numpy(), primary.reindex(gold.index)))


def worker(job_path: Path) -> None:
    from sklearn.metrics import adjusted_rand_score

    from nlp.embedding import load_encoder
    from nlp.language import load_spacy
    from nlp.themes.statements import own_document_rows

    job = json.loads(job_path.read_text())
    frame = pd.read_parquet(job["data"])
    nlp, encoder = load_spacy(), load_encoder()
    units = units_of(frame, job["mode"], nlp)
    doc_emb = cached(encoder, frame["text"].tolist(), Path(job["cache"]))
    docs = pd.DataFrame({"comment_id": [f"d{i}" for i in range(len(frame))]})
    rows = own_document_rows(units, docs)  # as the pipeline: a lone statement is its comment
    own = rows >= 0
    emb = np.empty((len(units), doc_emb.shape[1]), dtype=np.float32)
    emb[own] = doc_emb[rows[own]]
    if (~own).any():
        emb[~own] = cached(encoder, units.loc[~own, "text"].tolist(), Path(job["cache"]))
    rss_before = rss_mb("VmRSS")
    started = time.perf_counter()
    tables = fit(units, emb, nlp, encoder, 42, [])
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    other = fit(units, emb, nlp, encoder, 43, [])
    m = tables.result.metrics
    a = tables.statements["topic_id"].fillna(-1).to_numpy()
    b = other.statements["topic_id"].fillna(-1).to_numpy()
    labels = tables.topics[tables.topics["size"] > 0]["label"].astype(str).tolist()
    out = {
        "themes": m.get("n_topics"),
        "parents": int(tables.topics["parent_id"].dropna().nunique()),
        "units": len(units),
        "unassigned_units": m.get("unassigned_share"),
        "unassigned_docs": m.get("unassigned_comment_share"),
        "multi": m.get("multi_theme_share"),
        "npmi": m.get("npmi"),
        "diversity": m.get("topic_diversity"),
        "gate_ari": m.get("stability_ari"),
        "gate_method": m.get("stability_method"),
        "seed_ari": float(adjusted_rand_score(a, b)),
        "largest_docs": _largest_share(tables.comment_topics, len(frame)),
        "dot_names": float(np.mean(["·" in s for s in labels])) if labels else None,
        "seconds": seconds,
        "rss_before": rss_before,
        "peak_rss": peak,
        "labels": labels,
    }
    if "service" in frame:
        values = {s.lower() for s in frame["service"].dropna().unique() if len(s) > 2}
        hits = [any(v in s.lower() for v in values) for s in labels]
        out["service_names"] = float(np.mean(hits)) if labels else None
    if "label" in frame:
        out["nmi"] = nmi_with_labels(tables, frame)
    Path(job["result"]).write_text(json.dumps(out))


# ---------------------------------------------------------------- main


def run_job(name: str, mode: str, frame: pd.DataFrame, workdir: Path, cache: Path) -> dict:
    slug = f"{name.split()[0].lower()}-{mode}"
    data, result = workdir / f"{slug}.parquet", workdir / f"{slug}.json"
    frame.to_parquet(data)
    job = workdir / f"{slug}.job.json"
    job.write_text(
        json.dumps({"data": str(data), "mode": mode, "cache": str(cache), "result": str(result)})
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, __file__, "--worker", str(job)], check=True, env=env)
    return json.loads(result.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/statement_themes_cache"))
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--only", nargs="*", default=None, help="dataset name prefixes")
    ap.add_argument(
        "--modes",
        nargs="+",
        default=["before", "after"],
        choices=["before", "clauses", "nocontent", "after"],
        help="before: one unit per document; clauses: statements without joining fragments "
        "of speech; nocontent: joining only fragments of at most four words with no content "
        "word (the rule of 2026-12-01); after: statements as the pipeline splits them",
    )
    ap.add_argument("--worker", type=Path, default=None)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"# Statement-level themes: {os.cpu_count()} cores, load average {load_avg()}\n")
    sets = datasets(args.shared, args.n)
    if args.only:
        sets = {k: v for k, v in sets.items() if any(k.startswith(p) for p in args.only)}
    results: dict[tuple[str, str], dict] = {}
    workdir = args.cache / "jobs"
    workdir.mkdir(exist_ok=True)
    for name, frame in sets.items():
        for mode in args.modes:
            log(f"{name}: {mode} ({len(frame)} documents)")
            results[name, mode] = run_job(name, mode, frame, workdir, args.cache)
    print_results(sets, results)
    print(f"\nTotal wall time {(time.perf_counter() - started) / 60:.1f} min")


def print_results(sets: dict, results: dict) -> None:
    header = [
        "dataset", "mode", "docs", "themes", "parents", "units", "unassigned units",
        "docs no theme", "docs 2+ themes", "NPMI", "diversity", "gate ARI (method)",
        "ARI seeds 42/43", "largest theme (docs)", "dot-joined names", "service names",
        "NMI (NHS label)", "topic s", "peak RSS MB",
    ]  # fmt: skip
    rows = []
    for (name, mode), r in results.items():
        rows.append(
            [
                name, mode, f"{len(sets[name]):,}", str(r["themes"]), str(r["parents"]),
                f"{r['units']:,}", fmt(r["unassigned_units"]), fmt(r["unassigned_docs"]),
                fmt(r["multi"]), fmt(r["npmi"]), fmt(r["diversity"]),
                f"{fmt(r['gate_ari'])} ({r['gate_method'] or 'sample refit'})",
                fmt(r["seed_ari"]), fmt(r.get("largest_docs")), fmt(r["dot_names"]),
                fmt(r.get("service_names")),
                fmt(r.get("nmi")), f"{r['seconds']:.0f}", f"{r['peak_rss']:,.0f}",
            ]
        )  # fmt: skip
    print_table(header, rows, "ll" + "r" * (len(header) - 2))
    print("\n## Theme names (after)\n")
    for (name, mode), r in results.items():
        if mode != "before":
            print(f"- **{name}** ({mode}): " + "; ".join(r["labels"]))


if __name__ == "__main__":
    main()
