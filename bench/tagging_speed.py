"""Tagging + sentiment speed on 10,000 comments, against the earlier pipeline in the same run.

    .venv/bin/python bench/tagging_speed.py [--n 10000]

Texts: the NHS comments, app reviews and Polis comments in ../shared/data, cycled to --n.
Timed (wall seconds on this machine, each after a warm-up):
- baseline: the tagging pass on spaCy's full pipeline (tok2vec, tagger, attribute ruler,
  lemmatizer, senter) with comment sentiment from the regression head, as before;
- the tagging pass on `build_tagging_pipeline` (senter + context-free lemmas + tagger
  component), with the regression head and with the sentiment branch's labeller;
- the sentiment branch's own cost: the embedding pass with the branch's states hook minus
  the same pass without it (the pass itself is shared with topics and not counted), and the
  time spent inside the branch's calls alone.
Also printed: how often the two pipelines tag a comment identically, and the rule tagger's
micro-F1 on every labelled NHS comment with each (bench/nhs_category_map.yaml).
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import precision_recall_fscore_support

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import shipped_model  # noqa: E402
from nlp import embedding  # noqa: E402
from nlp.language import load_spacy  # noqa: E402
from nlp.sentiment.branch import SentimentBranch  # noqa: E402
from nlp.sentiment.clauses import SentimentScorer  # noqa: E402
from nlp.sentiment.head import SentimentHead  # noqa: E402
from nlp.tagging import pipeline as pain_points  # noqa: E402
from nlp.tagging import taxonomy as taxonomies  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def corpus(shared: Path) -> tuple[list[str], pd.DataFrame]:
    nhs = pd.read_csv(shared / "nhs_patient_feedback_v6.csv", dtype=str, keep_default_na=False)
    nhs = nhs[nhs["FFT answer"].str.strip().ne("")].reset_index(drop=True)
    apps = pd.read_csv(shared / "gov_app_reviews.csv", dtype=str, keep_default_na=False)
    polis = pd.read_csv(
        shared / "polis_bowling_green_comments.csv", dtype=str, keep_default_na=False
    )
    texts = [*nhs["FFT answer"], *apps["review"], *polis["comment-body"]]
    return [t for t in texts if t.strip()], nhs


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def tag_sets(tags: pd.DataFrame, ids: list[str]) -> list[frozenset]:
    rules = tags[tags["method"] == "rule"]
    groups = rules.groupby("comment_id")[["category", "start"]]
    found = {cid: frozenset(map(tuple, g.to_numpy())) for cid, g in groups}
    return [found.get(cid, frozenset()) for cid in ids]


def micro_f1(tags: pd.DataFrame, nhs: pd.DataFrame, ids: list[str], cmap: dict) -> str:
    """Over the NHS comments that were labelled (a sentiment label marks a coded row)."""
    labelled = nhs["Comment sentiment"].str.strip().ne("").to_numpy()
    gold = np.column_stack(
        [
            nhs[cols].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1).gt(0)
            for cols in cmap.values()
        ]
    )
    rules = tags[tags["method"] == "rule"]
    hit = set(zip(rules["comment_id"], rules["category"], strict=True))
    pred = np.array([[(cid, cat) in hit for cat in cmap] for cid in ids[: len(nhs)]])
    gold, pred = gold[labelled], pred[labelled]
    p, r, f, _ = precision_recall_fscore_support(gold.ravel(), pred.ravel(), average="binary")
    return f"micro-F1 {f:.3f} (P {p:.3f}, R {r:.3f}) on {int(labelled.sum())} labelled comments"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--shared", type=Path, default=SHARED)
    args = ap.parse_args()
    texts, nhs = corpus(args.shared)
    if args.n < len(nhs):
        raise SystemExit(f"--n must be at least {len(nhs)} (every NHS comment, for the F1)")
    texts = list(islice(cycle(texts), args.n))
    ids = [f"c{i}" for i in range(len(texts))]
    print(f"{len(texts)} comments ({len(nhs)} NHS, then app reviews and Polis, cycled)\n")

    nlp = load_spacy()
    taxonomy = taxonomies.parse_taxonomy(taxonomies.default_taxonomy_text())
    full = load_spacy()  # the baseline: the tagger component on the whole pipeline
    full.add_pipe("pain_point_tagger", config={"taxonomy": taxonomy.to_dict()})
    fast = pain_points.build_tagging_pipeline(nlp, taxonomy)
    encoders = ROOT / "data" / "interim" / "encoders"
    encoder = embedding.load_encoder("minilm-onnx", cache_dir=encoders)
    head = SentimentHead.load(shipped_model("sentiment_head"), embedding.SPACE_IDS["minilm"])
    branch = SentimentBranch.load(
        shipped_model("sentiment_branch"), embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER
    )
    branch.use_onnx(encoders)
    scorer = SentimentScorer()

    warm = texts[:300]
    embedding.embed_texts(encoder, warm, states_hook=branch.collector())
    X, t_embed = timed(embedding.embed_texts, encoder, texts)
    collector = branch.collector()
    _, t_embed_branch = timed(embedding.embed_texts, encoder, texts, states_hook=collector)
    t_branch = max(t_embed_branch - t_embed, 1e-9)  # all it adds to the pass, copies included
    log_p = collector.log_probabilities(range(len(texts)))

    def tag(pipeline, labeller):
        pain_points.tag_comments(pipeline, scorer, ids[:300], warm, comment_sentiment=None)
        return timed(pain_points.tag_comments, pipeline, scorer, ids, texts, **labeller)

    (_, base_tags, _), t_base = tag(full, {"comment_sentiment": head.labeller(X)})
    (_, fast_tags, _), t_fast = tag(fast, {"comment_sentiment": head.labeller(X)})
    (_, branch_tags, _), t_fast_branch = tag(fast, {"comment_sentiment": branch.labeller(log_p)})

    n = len(texts)
    rate = n / t_base
    print("| pass | seconds | comments/s | vs baseline |\n|---|---:|---:|---:|")
    rows = [
        ("baseline: full spaCy pipeline + regression head", t_base),
        ("tagging pipeline + regression head", t_fast),
        ("tagging pipeline + branch labeller (tagging stage)", t_fast_branch),
        ("sentiment branch on the shared pass (embed stage; pass with it − without)", t_branch),
        ("(the branch's own compute inside that pass)", collector.seconds),
        (
            "**tagging + sentiment with the branch, excluding the shared pass** (the larger "
            "of the two branch costs)",
            t_fast_branch + max(t_branch, collector.seconds),
        ),
        ("(shared embedding pass, not counted)", t_embed),
    ]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {n / seconds:.0f} | {n / seconds / rate:.2f}x |")

    same = np.mean(
        [a == b for a, b in zip(tag_sets(base_tags, ids), tag_sets(fast_tags, ids), strict=True)]
    )
    print(f"\ncomments tagged identically by both pipelines: {same:.1%}")
    cmap = yaml.safe_load((ROOT / "bench" / "nhs_category_map.yaml").read_text("utf-8"))
    print("rule tagging on the NHS comments, 7 mapped categories:")
    print(f"  full pipeline lemmas: {micro_f1(base_tags, nhs, ids, cmap)}")
    print(f"  context-free lemmas:  {micro_f1(fast_tags, nhs, ids, cmap)}")


if __name__ == "__main__":
    main()
