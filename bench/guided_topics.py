"""Guided topics on real feedback: what seeding with the taxonomy and zero-shot names change.

For NHS comments and Polis comments (as `bench/topics.py` (b) cleans them), embedded once with
`--encoder`, three fits with seeds 42 and 43: plain; `taxonomy` (the default pain-point
taxonomy's seed words guide BERTopic, its categories name the topics they match); and
`taxonomy + names` (also zero-shot names given on the command line). Per fit: topics, unassigned
share, NPMI, diversity, ARI between the two seeds, and the topics that took a guided name with
their keyword label and size, so a reader can judge whether the names fit.

    .venv/bin/python bench/guided_topics.py [--shared ../shared/data]
        [--names "Parking,Food and drink,Cleanliness"] [--encoder minilm-onnx-int8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from topics import load_datasets  # noqa: E402  (bench/topics.py)


def run(name: str, docs: list[str], emb: np.ndarray, encode, zero_shot: list[str]) -> None:
    from sklearn.metrics import adjusted_rand_score

    from nlp.tagging.taxonomy import default_taxonomy_text, parse_taxonomy
    from nlp.themes import guided as gt
    from nlp.themes.model import TopicParams, fit_topics
    from nlp.themes.registry import centroids_of

    taxonomy = gt.themes_from_taxonomy(parse_taxonomy(default_taxonomy_text()).categories)
    settings = gt.GuidedSettings()
    modes = {"plain": [], "taxonomy": taxonomy}
    if zero_shot:
        modes["taxonomy + names"] = taxonomy + gt.themes_from_names(zero_shot)
    print(f"### {name}: {len(docs):,} documents\n")
    print("| fit | seconds | topics | unassigned | NPMI | diversity | ARI 42 vs 43 | named |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    named_rows = []
    for mode, themes in modes.items():
        args = gt.bertopic_arguments(themes, encode, settings)
        t0 = time.perf_counter()
        a = fit_topics(docs, emb, TopicParams(seed=42), bertopic_args=args)
        seconds = time.perf_counter() - t0
        b = fit_topics(docs, emb, TopicParams(seed=43), bertopic_args=args)
        ids = a.topics["topic_id"].astype(int).tolist()
        names = (
            gt.theme_names(
                centroids_of(emb, a.assignments, ids),
                gt.theme_embeddings(themes, encode),
                themes,
                settings,
            )
            if themes
            else [None] * len(ids)
        )
        m = a.metrics
        print(
            f"| {mode} | {seconds:.0f} | {m['n_topics']} | {m['unassigned_share']:.3f} | "
            f"{m['npmi']:.3f} | {m['topic_diversity']:.3f} | "
            f"{adjusted_rand_score(a.assignments, b.assignments):.3f} | "
            f"{sum(n is not None for n in names)} |"
        )
        for n, row in zip(names, a.topics.itertuples(), strict=True):
            if n is not None:
                named_rows.append(f"| {mode} | {n} | {row.label} | {row.size} |")
    print("\n| fit | guided name | keyword label | size |\n|---|---|---|---:|")
    print("\n".join(named_rows) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--names", default="Parking,Food and drink,Cleanliness")
    ap.add_argument("--encoder", default="minilm-onnx-int8")
    ap.add_argument(
        "--encoders", type=Path, default=ROOT / "data" / "processed" / "models" / "encoders"
    )
    args = ap.parse_args()
    from nlp.embedding import embed_texts, load_encoder

    encoder = load_encoder(args.encoder, cache_dir=args.encoders)

    def encode(texts: list[str]) -> np.ndarray:
        return embed_texts(encoder, texts)

    data = load_datasets(args.shared)
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    print(f"Guided topics bench, encoder `{args.encoder}`, zero-shot names: {names}\n")
    for name in ("NHS comments", "Polis comments"):
        docs = data[name]
        run(name, docs, encode(docs), encode, names if name == "NHS comments" else [])


if __name__ == "__main__":
    main()
