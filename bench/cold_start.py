"""Cold start: a user's own taxonomy, written from label names alone, tagging a new domain.

    .venv/bin/python bench/cold_start.py                   # NHS themes, before and after
    .venv/bin/python bench/cold_start.py --taxonomy bench/taxonomies/nhs_cold_start.yaml

Taxonomies: `bench/taxonomies/*.yaml` (replace mode; each category's `name` is the NHS theme
label, which is the gold column) and the default taxonomy through `bench/nhs_category_map.yaml`
(its 7 mapped categories), so the default's NHS numbers are checked in the same run. Rows: the
6,170 labelled NHS comments, reported as the development rows (crc32(Comment ID) % 5 != 0,
where choices were made) and the hold-out rows (% 5 == 0, never used to choose). A comment is
tagged with a category when any of its clauses is.

Taggers, in one run (gapped phrases, clause-level similarity throughout): the rules (the
default before: similarity off), similarity alone and rules + similarity (hybrid) with one
leave-one-out cosine threshold (before) and with per-category background thresholds (after,
`nlp.tagging.similarity`, the default now); and, measured but not in the pipeline, a category
head trained on the development rows' own rule or hybrid tags (no gold label; a ridge
regression with thresholds from out-of-fold F1 against those tags) added to the hybrid.
`--speed N` also times the default taxonomy's tagging pass on N comments with similarity off
and on (the clause encoding included).
Embeddings (MiniLM ONNX, the pipeline's default encoder) are cached by text hash under
--cache, so a rerun embeds nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import embedding  # noqa: E402
from nlp.evaluation import holdout_mask  # noqa: E402
from nlp.language import load_spacy  # noqa: E402
from nlp.tagging import pipeline as tagging  # noqa: E402
from nlp.tagging import similarity  # noqa: E402
from nlp.tagging import taxonomy as taxonomies  # noqa: E402
from nlp.tagging.components import SPAN_KEY  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TEXT, ID = "FFT answer", "Comment ID"


class CachedEncode:
    """The encoder behind a text-hash cache (an .npz file), so reruns embed nothing."""

    def __init__(self, encoder, path: Path):
        self.encoder, self.path = encoder, path
        self.vectors: dict[str, np.ndarray] = {}
        self.calls = 0  # texts actually embedded in this run
        if path.exists():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest()[:16] for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors})
        if todo:
            lookup = dict(zip(keys, texts, strict=True))
            new = embedding.embed_texts(self.encoder, [lookup[k] for k in todo])
            self.vectors.update(zip(todo, new, strict=True))
            self.calls += len(todo)
        if not len(texts):
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def labelled_comments(shared: Path) -> pd.DataFrame:
    df = pd.read_csv(shared / "nhs_patient_feedback_v6.csv", dtype=str, keep_default_na=False)
    df = df[df[TEXT].str.strip().ne("") & df["Comment sentiment"].str.strip().ne("")]
    df = df.reset_index(drop=True)
    df["_holdout"] = holdout_mask(df[ID], 5)
    return df


def gold_matrix(df: pd.DataFrame, taxonomy, cmap: dict | None) -> pd.DataFrame:
    """Bool (comments x categories): by category name = theme column, or through `cmap`."""
    cols = cmap or {c.id: [c.name] for c in taxonomy.categories}
    missing = sorted({c for v in cols.values() for c in v} - set(df.columns))
    if missing:
        raise SystemExit(f"theme columns not in the data: {missing}")
    return pd.DataFrame(
        {
            cat: df[v].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1).gt(0)
            for cat, v in cols.items()
        }
    )


def tag_sets(pipeline, texts, vectors, methods=None) -> list[set[str]]:
    """Categories per comment (any clause), keeping only spans of the given `methods`."""
    docs = [pipeline.make_doc(t) for t in texts]
    for doc, vec in zip(docs, vectors, strict=True):
        doc._.comment_vector = vec
    out = []
    for doc in pipeline.pipe(docs, batch_size=256):
        spans = doc.spans.get(SPAN_KEY, [])
        out.append({s.label_ for s in spans if methods is None or s._.tag_method in methods})
    return out


def f1_scores(gold: pd.DataFrame, pred: list[set[str]]) -> dict[str, float]:
    """Per-category F1 plus micro and macro."""
    p = np.array([[c in s for c in gold.columns] for s in pred], dtype=bool)
    g = gold.to_numpy()
    tp, fp, fn = (p & g).sum(0), (p & ~g).sum(0), (~p & g).sum(0)
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    out = dict(zip(gold.columns, f1.round(3), strict=True))
    out["micro"] = round(float(2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)), 3)
    out["macro"] = round(float(f1.mean()), 3)
    out["precision"] = round(float(tp.sum() / max(tp.sum() + fp.sum(), 1)), 3)
    out["recall"] = round(float(tp.sum() / max(tp.sum() + fn.sum(), 1)), 3)
    return out


def without_rules(taxonomy):
    """The taxonomy with no phrases or patterns: only similarity can tag."""
    cats = tuple(replace(c, phrases=(), patterns=()) for c in taxonomy.categories)
    return taxonomies.Taxonomy(taxonomy.version, cats)


def variants(nlp, taxonomy, encode) -> dict[str, tuple]:
    """name -> (pipeline, span methods counted): before (similarity off by default; when on, one
    leave-one-out cosine threshold) and after (per-category background thresholds, on by
    default): rules / similarity alone / hybrid. Gapped phrases and clause level in both."""
    t0 = time.perf_counter()
    old = similarity.build_prototypes(taxonomy.categories, encode, calibration="loo")
    new = similarity.build_prototypes(taxonomy.categories, encode)
    print(
        f"prototypes built in {time.perf_counter() - t0:.1f} s; before: threshold "
        f"{old.threshold:.2f} {old.calibration}; after: per-category thresholds "
        f"{new.calibration}"
    )
    build = tagging.build_tagging_pipeline
    before_sim = build(nlp, taxonomy, similarity=(old, encode))
    after_sim = build(nlp, taxonomy, similarity=(new, encode))
    bare = without_rules(taxonomy)
    return {
        "rules (similarity off: the default before)": (before_sim, {"rule"}),
        "before: similarity alone (one LOO threshold)": (
            build(nlp, bare, similarity=(old, encode)),
            {"similarity"},
        ),
        "before: hybrid (one LOO threshold)": (before_sim, None),
        "after: similarity alone (background thresholds)": (
            build(nlp, bare, similarity=(new, encode)),
            {"similarity"},
        ),
        "after: hybrid, every clause embedded (no clause filter)": (
            build(nlp, taxonomy, similarity=(replace(new, clause_filter=None), encode)),
            None,
        ),
        "after: hybrid (background thresholds; the default now)": (after_sim, None),
    }


def self_trained(taxonomy, rule_sets, X, train, lam: float = 1000.0) -> list[set[str]]:
    """Ridge regression (one closed-form solve, all categories) fitted on the development
    rows' *rule tags* (no gold label), thresholds per category maximising the out-of-fold F1
    against those rule tags; applied to every row: how far the rules' own labels generalise."""
    ids = [c.id for c in taxonomy.categories]
    Y = np.array([[c in s for c in ids] for s in rule_sets], dtype=float)
    mean, scale = X[train].mean(axis=0), X[train].std(axis=0) + 1e-6
    Z = np.hstack([(X - mean) / scale, np.ones((len(X), 1))])

    def fit(rows: np.ndarray) -> np.ndarray:
        A = Z[rows].T @ Z[rows] + lam * np.eye(Z.shape[1])
        A[-1, -1] -= lam  # no penalty on the intercept
        return np.linalg.solve(A, Z[rows].T @ Y[rows])

    rows = np.flatnonzero(train)
    folds = np.random.default_rng(0).permutation(len(rows)) % 5
    oof = np.zeros((len(rows), len(ids)))
    for k in range(5):
        oof[folds == k] = Z[rows[folds == k]] @ fit(rows[folds != k])
    scores, y = Z @ fit(rows), Y[rows] > 0
    cuts = []
    for j in range(len(ids)):
        grid = np.quantile(oof[:, j], np.linspace(0.5, 0.999, 200))
        f1 = [
            2 * (y[:, j] & (oof[:, j] >= t)).sum() / ((oof[:, j] >= t).sum() + y[:, j].sum() + 1e-9)
            for t in grid
        ]
        cuts.append(grid[int(np.argmax(f1))])
    hits = scores >= np.array(cuts)
    return [{ids[j] for j in np.flatnonzero(row)} for row in hits]


def markdown(table: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which the project does not install)."""
    head = "| " + " | ".join(map(str, table.columns)) + " |"
    numeric = [pd.api.types.is_numeric_dtype(t) for t in table.dtypes]
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def evaluate(name, taxonomy, cmap, df, nlp, encode, X) -> list[dict]:
    gold = gold_matrix(df, taxonomy, cmap)
    print(f"\n## {name}: {len(gold.columns)} categories, {len(df)} labelled comments\n")
    rows, preds = [], {}
    for variant, (pipeline, methods) in variants(nlp, taxonomy, encode).items():
        t0 = time.perf_counter()
        preds[variant] = tag_sets(pipeline, df[TEXT].tolist(), X, methods)
        seconds = time.perf_counter() - t0
        print(f"{variant}: {len(df) / seconds:.0f} comments/s (cached embeddings)")
    rules, hybrid = list(preds)[0], list(preds)[-1]
    dev = ~df["_holdout"].to_numpy()
    for labels in (rules, hybrid):  # measured, not shipped: a head fitted to the batch's own tags
        head = self_trained(taxonomy, preds[labels], X, dev)
        name = "rules" if labels == rules else "hybrid"
        preds[f"not shipped: after hybrid + head self-trained on {name} tags"] = [
            r | h for r, h in zip(preds[hybrid], head, strict=True)
        ]
    for variant, pred in preds.items():
        for split, mask in (("dev", ~df["_holdout"]), ("hold-out", df["_holdout"])):
            idx = np.flatnonzero(mask.to_numpy())
            scores = f1_scores(gold.iloc[idx], [pred[i] for i in idx])
            rows.append({"taxonomy": name, "variant": variant, "rows": split, **scores})
    table = pd.DataFrame(rows)
    summary = table[["variant", "rows", "micro", "macro", "precision", "recall"]]
    print("\n" + markdown(summary))
    per_cat = table[table["rows"] == "hold-out"].set_index("variant")[list(gold.columns)].T
    per_cat.insert(0, "gold (hold-out)", gold[df["_holdout"].to_numpy()].sum().astype(int))
    print("\nper category F1, hold-out rows:\n\n" + markdown(per_cat.reset_index(names="category")))
    return rows


def speed(
    nlp, shared: Path, n: int, encoder, encode, *, rounds=1, filters=(), everything=True
) -> None:
    """The default taxonomy's tagging pass on `n` comments (bench/tagging_speed.py's corpus,
    comment sentiment given in advance): similarity off (before), on with every multi-clause
    comment's clauses embedded (unless not `everything`), and on with the clause filter (the
    default and each of `filters`), alternated `rounds` times; the best of each is printed.
    The comments' own embeddings are the shared pass's (from the cache, not timed); the
    clauses of multi-clause comments, which similarity tagging embeds itself, are encoded by
    the real encoder inside the timed pass."""
    from itertools import cycle, islice

    from tagging_speed import corpus

    from nlp.sentiment.clauses import SentimentScorer

    texts = list(islice(cycle(corpus(shared)[0]), n))
    ids = [f"c{i}" for i in range(n)]
    vectors = encode(texts)
    encode.save()
    given = (["neutral"] * n, [0.0] * n)
    taxonomy = taxonomies.parse_taxonomy(taxonomies.default_taxonomy_text())
    raw = lambda batch: embedding.embed_texts(encoder, batch)  # noqa: E731
    protos = similarity.build_prototypes(taxonomy.categories, raw)
    settings = {"off (before)": None}
    if everything:
        settings["on, every clause embedded"] = (replace(protos, clause_filter=None), raw)
    for gap in sorted({*filters, similarity.CLAUSE_FILTER}, reverse=True):
        label = f"on, clause filter {gap:g}"
        if gap == similarity.CLAUSE_FILTER:
            label += " (the default now)"
        settings[label] = (replace(protos, clause_filter=gap), raw)
    scorer, best = SentimentScorer(), {}
    for label in list(settings) * rounds:
        pipe = tagging.build_tagging_pipeline(nlp, taxonomy, similarity=settings[label])
        tagging.tag_comments(pipe, scorer, ids[:200], texts[:200], embeddings=vectors[:200])
        t0, c0 = time.perf_counter(), time.process_time()
        _, tags, _ = tagging.tag_comments(
            pipe, scorer, ids, texts, comment_sentiment=given, embeddings=vectors
        )
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        old = best.get(label, (seconds, cpu, 0))
        best[label] = min(old[0], seconds), min(old[1], cpu), len(tags)
        print(f"{label}: {seconds:.1f} s, {cpu:.1f} CPU s, {len(tags)} tags", flush=True)
    print(f"\n## tagging pass speed, default taxonomy, {n} comments\n")
    print("| similarity | seconds | comments/s | CPU seconds | per CPU-second | tags |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (seconds, cpu, n_tags) in best.items():
        rates = f"{seconds:.1f} | {n / seconds:.0f} | {cpu:.1f} | {n / cpu:.0f}"
        print(f"| {label} | {rates} | {n_tags} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--taxonomy", type=Path, nargs="*", default=None)
    ap.add_argument("--no-default", action="store_true", help="skip the default taxonomy")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cold_start_cache"))
    ap.add_argument("--speed", type=int, default=0, help="also time N comments' tagging")
    ap.add_argument("--only-speed", action="store_true", help="run --speed alone")
    ap.add_argument("--rounds", type=int, default=1, help="--speed: times to alternate")
    ap.add_argument("--filters", type=float, nargs="*", default=(), help="--speed: clause filters")
    ap.add_argument("--skip-all", action="store_true", help="--speed: not every clause embedded")
    args = ap.parse_args()
    nlp = load_spacy()
    encoder = embedding.load_encoder(
        "minilm-onnx", cache_dir=ROOT / "data" / "interim" / "encoders"
    )
    encode = CachedEncode(encoder, args.cache / "minilm-onnx.npz")
    if args.only_speed:
        n = args.speed or 10_000
        speed(
            nlp,
            args.shared,
            n,
            encoder,
            encode,
            rounds=args.rounds,
            filters=args.filters,
            everything=not args.skip_all,
        )
        return
    paths = args.taxonomy or sorted((ROOT / "bench" / "taxonomies").glob("*.yaml"))
    df = labelled_comments(args.shared)
    X = encode(df[TEXT].tolist())
    encode.save()
    runs = [(p.stem, taxonomies.parse_taxonomy(p.read_text("utf-8"), str(p)), None) for p in paths]
    if not args.no_default:
        cmap = yaml.safe_load((ROOT / "bench" / "nhs_category_map.yaml").read_text("utf-8"))
        runs.append(
            (
                "default taxonomy (7 mapped)",
                taxonomies.parse_taxonomy(taxonomies.default_taxonomy_text()),
                cmap,
            )
        )
    for name, taxonomy, cmap in runs:
        evaluate(name, taxonomy, cmap, df, nlp, encode, X)
        encode.save()
    if args.speed:
        speed(
            nlp, args.shared, args.speed, encoder, encode, rounds=args.rounds, filters=args.filters
        )
    print(f"\ntexts embedded this run: {encode.calls} (the rest from {args.cache})")


if __name__ == "__main__":
    main()
