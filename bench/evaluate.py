"""Evaluate comment sentiment and pain-point tagging against any labelled CSV.

    .venv/bin/python bench/evaluate.py                      # NHS hold-out + app reviews
    .venv/bin/python bench/evaluate.py --data my.csv --text comment --sentiment label \\
        --sentiment-map "neg=negative;neu=neutral;pos=positive" --holdout-every 0

Sentiment: macro-F1, per-class F1 and a confusion matrix for a majority baseline, raw VADER,
the pipeline's clause lexicon (VADER + service lexicon, mixed clauses -> neutral) and the
pipeline's default (the sentiment head: shared sentence embedding + clause features) and the
head's embedding regression alone, all in one run.
Tagging: per category precision/recall/F1 and micro/macro F1 of the rule tagger, similarity
tagging alone (taxonomy prototypes vs comment embeddings, threshold calibrated on the
taxonomy's own examples), rules + similarity, and the optional supervised head, with a YAML
map from the data's label columns to our categories (a comment is gold when any mapped
column is 1). With --holdout-every K only rows with crc32(id) % K == 0 are scored: the rows
scripts/train_sentiment.py never saw.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import shipped_model  # noqa: E402
from nlp import embedding  # noqa: E402
from nlp.evaluation import holdout_mask, map_labels, parse_label_map  # noqa: E402
from nlp.language import load_spacy  # noqa: E402
from nlp.sentiment.branch import SentimentBranch  # noqa: E402
from nlp.sentiment.clauses import SentimentScorer, sentiment_label  # noqa: E402
from nlp.sentiment.head import LABELS, SentimentHead  # noqa: E402
from nlp.tagging import pipeline as pain_points  # noqa: E402
from nlp.tagging import similarity as category_similarity  # noqa: E402
from nlp.tagging import taxonomy as taxonomies  # noqa: E402
from nlp.tagging.head import CategoryHead  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def sentiment_report(name: str, gold: np.ndarray, pred: np.ndarray) -> dict:
    labels = list(LABELS)
    per = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    cm = confusion_matrix(gold, pred, labels=labels)
    return {
        "method": name,
        "macro_f1": f1_score(gold, pred, labels=labels, average="macro", zero_division=0),
        **{f"f1_{lab}": f for lab, f in zip(labels, per, strict=True)},
        "confusion": cm,
    }


def tagging_report(gold: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for cat in gold.columns:
        p, r, f, _ = precision_recall_fscore_support(
            gold[cat], pred[cat], average="binary", zero_division=0
        )
        rows.append(
            {"category": cat, "gold": int(gold[cat].sum()), "precision": p, "recall": r, "f1": f}
        )
    out = pd.DataFrame(rows)
    g, q = gold.to_numpy().ravel(), pred.to_numpy().ravel()
    p, r, f, _ = precision_recall_fscore_support(g, q, average="binary", zero_division=0)
    micro = {"category": "micro", "gold": int(g.sum()), "precision": p, "recall": r, "f1": f}
    macro = {"category": "macro", "gold": int(g.sum()), "f1": out["f1"].mean()}
    return pd.concat([out, pd.DataFrame([micro, macro])], ignore_index=True)


def evaluate(
    df: pd.DataFrame, args, nlp, encoder, head, branch, train_labels: pd.Series | None
) -> None:
    texts = df[args.text].tolist()
    print(f"\n## {args.title}: {len(df)} comments scored\n")
    embedding.embed_texts(encoder, texts[:64], states_hook=branch.collector())  # warm-up
    t0 = time.perf_counter()
    X = embedding.embed_texts(encoder, texts)
    t_embed = time.perf_counter() - t0
    t0 = time.perf_counter()
    collector = branch.collector()
    embedding.embed_texts(encoder, texts, states_hook=collector)
    t_branch = time.perf_counter() - t0
    branch_log_p = collector.log_probabilities(range(len(texts)))
    print(
        f"speed: embedding alone {len(df) / t_embed:.0f} comments/s; embedding + sentiment "
        f"branch (layers 3-6 on the pass's layer-2 states) {len(df) / t_branch:.0f} comments/s"
    )
    scorer = SentimentScorer()
    raw_vader = SentimentScorer()
    raw_vader._vader.lexicon = type(raw_vader._vader)().lexicon  # VADER without our lexicon
    taxonomy = taxonomies.parse_taxonomy(taxonomies.default_taxonomy_text())
    tagging_nlp = pain_points.build_tagging_pipeline(nlp, taxonomy)

    def timed_tagging(
        pipeline=tagging_nlp, labeller=None
    ) -> tuple[pd.DataFrame, pd.DataFrame, float, float]:
        """Tags and comment sentiment (the branch by default), and the wall and CPU seconds."""
        t0, c0 = time.perf_counter(), time.process_time()
        _, tagged, sentiment = pain_points.tag_comments(
            pipeline,
            scorer,
            df["_id"].tolist(),
            texts,
            comment_sentiment=labeller or branch.labeller(branch_log_p),
            embeddings=X,
        )
        return tagged, sentiment, time.perf_counter() - t0, time.process_time() - c0

    category_head = getattr(args, "category_head_model", None)
    tags, by_head, t_tag, c_tag = timed_tagging(
        pain_points.build_tagging_pipeline(nlp, taxonomy, category_head)
    )
    _, _, lexicon = pain_points.tag_comments(tagging_nlp, scorer, df["_id"].tolist(), texts)
    _, by_regression, t_regression, _ = timed_tagging(labeller=head.labeller(X))
    encoded = []

    def encode(batch: list[str]) -> np.ndarray:
        encoded.append(len(batch))
        return embedding.embed_texts(encoder, batch)

    t0 = time.perf_counter()
    prototypes = category_similarity.build_prototypes(taxonomy.categories, encode)
    t_proto = time.perf_counter() - t0
    encoded.clear()
    hybrid, _, t_hybrid, c_hybrid = timed_tagging(
        pain_points.build_tagging_pipeline(nlp, taxonomy, similarity=(prototypes, encode))
    )
    with_head = " + category head" if category_head is not None else ""
    extra = max(t_branch - t_embed, 1e-9)  # the branch's own cost on top of the shared pass
    print(
        f"tagging + sentiment with the branch's own cost (layers 3-6) counted: "
        f"{len(df) / (t_tag + extra):.0f} comments/s (branch alone {len(df) / extra:.0f}/s as "
        f"the difference of two passes, {len(df) / collector.seconds:.0f}/s inside its calls; "
        "bench/tagging_speed.py measures 10,000 comments)"
    )
    print(
        f"excluding the shared comment embedding (and the branch): rule tagging + clause and "
        f"comment sentiment{with_head} {len(df) / t_tag:.0f} comments/s ({len(df) / c_tag:.0f} "
        f"per CPU-second; with the regression head {len(df) / t_regression:.0f}/s); rules + "
        f"similarity tags + sentiment {len(df) / t_hybrid:.0f} comments/s "
        f"({len(df) / c_hybrid:.0f} per CPU-second; {sum(encoded)} clauses embedded for "
        f"evidence)\n"
    )
    print(
        f"similarity prototypes: threshold {prototypes.threshold:.2f} from the taxonomy's "
        f"examples, built in {t_proto:.1f} s; {prototypes.calibration}"
    )
    print(
        "tags per method: "
        + ", ".join(f"{m} {n}" for m, n in hybrid["method"].value_counts().items())
        + f"; similarity tags that are pain points: {_pain_share(hybrid, 'similarity')}\n"
    )
    if args.sentiment:
        gold = df["_gold"].to_numpy()
        majority = (train_labels if train_labels is not None else df["_gold"]).mode()[0]
        vader = np.array([sentiment_label(raw_vader.score(t)) for t in texts])
        results = [
            sentiment_report(f"majority ({majority})", gold, np.array([majority] * len(gold))),
            sentiment_report("VADER (compound ±0.05)", gold, vader),
            sentiment_report(
                "pipeline lexicon (clauses, mixed→neutral)", gold, lexicon["label"].to_numpy()
            ),
            sentiment_report(
                "head's embedding regression alone",
                gold,
                np.array(LABELS)[head.embedding_probabilities(X).argmax(axis=1)],
            ),
            sentiment_report(
                "regression head (stacked, models/sentiment_head)",
                gold,
                by_regression["label"].to_numpy(),
            ),
            sentiment_report(
                "sentiment branch alone (argmax)",
                gold,
                np.array(LABELS)[branch_log_p.argmax(axis=1)],
            ),
            sentiment_report("pipeline (default: the branch)", gold, by_head["label"].to_numpy()),
        ]
        print("| method | macro-F1 | F1 negative | F1 neutral | F1 positive |")
        print("|---|---:|---:|---:|---:|")
        for r in results:
            print(
                f"| {r['method']} | {r['macro_f1']:.3f} | {r['f1_negative']:.3f} | "
                f"{r['f1_neutral']:.3f} | {r['f1_positive']:.3f} |"
            )
        print("\nconfusion of the pipeline (rows gold, columns predicted; neg/neu/pos):")
        print(results[-1]["confusion"])
    if args.category_map:
        cmap = yaml.safe_load(Path(args.category_map).read_text("utf-8"))
        missing = sorted({c for cols in cmap.values() for c in cols} - set(df.columns))
        if missing:
            raise SystemExit(f"{args.category_map}: columns not in the data: {missing}")
        gold = pd.DataFrame(
            {
                cat: df[cols].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1).gt(0)
                for cat, cols in cmap.items()
            }
        )
        similar = [
            (cid, cat)
            for cid, found in zip(df["_id"], prototypes.tags(X), strict=True)
            for cat, _ in found
        ]
        variants = {
            "rules (default)": tags[tags["method"] == "rule"],
            "similarity alone": pd.DataFrame(similar, columns=["comment_id", "category"]),
            "rules + similarity (tagging.similarity: true)": hybrid,
        }
        if category_head is not None:
            direct = [
                (cid, cat)
                for cid, found in zip(df["_id"], category_head.tags(X), strict=True)
                for cat, _ in found
            ]
            variants["supervised head alone"] = pd.DataFrame(
                direct, columns=["comment_id", "category"]
            )
            variants["rules + head (pipeline with category_head)"] = tags
        for name, found in variants.items():
            hit = found.groupby(["comment_id", "category"]).size().unstack(fill_value=0) > 0
            pred = pd.DataFrame(
                {cat: df["_id"].isin(hit.index[hit[cat]] if cat in hit else []) for cat in cmap}
            )
            report = tagging_report(gold.reset_index(drop=True), pred.reset_index(drop=True))
            print(f"\ntagging, {name} (a comment is tagged when any clause has the tag):\n")
            print("| category | gold | precision | recall | F1 |\n|---|---:|---:|---:|---:|")
            for r in report.itertuples():
                print(
                    f"| {r.category} | {r.gold} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} |"
                )


def _pain_share(tags: pd.DataFrame, method: str) -> str:
    rows = tags[tags["method"] == method]
    return f"{rows['is_pain_point'].mean():.0%}" if len(rows) else "none"


def load(path: Path, args) -> tuple[pd.DataFrame, pd.Series | None]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[df[args.text].str.strip().ne("")].copy()
    df["_id"] = df[args.id] if args.id else df.index.astype(str)
    train_labels = None
    if args.sentiment:
        df["_gold"] = map_labels(
            df[args.sentiment].replace("", pd.NA), parse_label_map(args.sentiment_map)
        )
        df = df[df["_gold"].notna()]
    if args.holdout_every:
        test = holdout_mask(df["_id"], args.holdout_every)
        if args.sentiment:
            train_labels = df.loc[~test, "_gold"]
        df = df[test]
    return df.reset_index(drop=True), train_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="CSV to evaluate (default: NHS and app reviews)")
    ap.add_argument("--title", default="custom data")
    ap.add_argument("--id", default=None)
    ap.add_argument("--text", default="text")
    ap.add_argument("--sentiment", default=None, help="gold sentiment column")
    ap.add_argument(
        "--sentiment-map", default="negative=negative;neutral=neutral;positive=positive"
    )
    ap.add_argument("--category-map", default=None, help="YAML: our category -> label columns")
    ap.add_argument("--holdout-every", type=int, default=0)
    ap.add_argument("--head", type=Path, default=shipped_model("sentiment_head"))
    ap.add_argument("--branch", type=Path, default=shipped_model("sentiment_branch"))
    ap.add_argument(
        "--category-head",
        type=Path,
        default=None,
        help="supervised pain-point head to evaluate (NHS default: models/category_head_nhs)",
    )
    ap.add_argument("--shared", type=Path, default=SHARED)
    args = ap.parse_args()
    nlp = load_spacy()
    encoders = ROOT / "data" / "interim" / "encoders"
    encoder = embedding.load_encoder("minilm-onnx", cache_dir=encoders)
    head = SentimentHead.load(args.head, embedding.SPACE_IDS["minilm"])
    branch = SentimentBranch.load(args.branch, embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER)
    branch.use_onnx(encoders)  # as the pipeline runs it with an ONNX encoder
    if args.category_head:
        args.category_head_model = CategoryHead.load(
            args.category_head, embedding.SPACE_IDS["minilm"]
        )
    runs = []
    if args.data:
        runs.append((args.data, args))
    else:
        nhs = argparse.Namespace(**vars(args))
        nhs.title = "NHS patient feedback, hold-out rows (crc32(Comment ID) % 5 == 0)"
        nhs.id, nhs.text, nhs.sentiment = "Comment ID", "FFT answer", "Comment sentiment"
        nhs.sentiment_map, nhs.holdout_every = "1,2=positive;3=neutral;4,5=negative", 5
        nhs.category_map = str(ROOT / "bench" / "nhs_category_map.yaml")
        nhs.category_head_model = CategoryHead.load(
            args.category_head or ROOT / "models" / "category_head_nhs",
            embedding.SPACE_IDS["minilm"],
        )
        apps = argparse.Namespace(**vars(args))
        apps.title = (
            "Government app reviews (out of domain; stars as proxy: 1-2 neg, 3 neu, 4-5 pos)"
        )
        apps.id, apps.text, apps.sentiment = None, "review", "review_star_count"
        apps.sentiment_map, apps.holdout_every = "1,2=negative;3=neutral;4,5=positive", 0
        apps.category_map = None
        apps.category_head_model = None
        runs += [
            (args.shared / "nhs_patient_feedback_v6.csv", nhs),
            (args.shared / "gov_app_reviews.csv", apps),
        ]
    for path, a in runs:
        df, train_labels = load(path, a)
        evaluate(df, a, nlp, encoder, head, branch, train_labels)


if __name__ == "__main__":
    main()
