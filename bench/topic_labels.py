"""Readable topic labels and the spaCy-lemmatised vectoriser on real feedback (issue #5).

Per dataset (5,000 NHS comments, the seeded sample of `bench/topics.py`; the Polis comments not
moderated out; triaged as the pipeline does), `fit_topics` runs twice on the same embeddings
and parameters: as before (word c-TF-IDF, `topic_label`) and with `nlp` (lemmatised
vectoriser) and `encode` (phrase labels). Printed: every topic's old label, the label the
lemma words alone would give, and the new phrase label side by side; NPMI and diversity old vs
new (old NPMI also on the stop-word-free word stream, the same token stream the new one is
computed on, so the vocabulary change is measured apart from the counting change); the
lemmatiser's docs/s against the regex tokeniser, and the extra seconds per fit.

Embeddings (all-MiniLM-L6-v2, torch) are computed once and cached in --cache as .npy.

    .venv/bin/python bench/topic_labels.py [--shared ../shared/data] [--cache /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def load_sets(shared: Path, n_nhs: int) -> dict[str, list[str]]:
    """NHS comments (seeded sample, as bench/topics.py) and Polis comments, triaged."""
    from nlp.ingest import cleaning

    def clean(series: pd.Series) -> list[str]:
        texts = (cleaning.normalise_text(t) for t in series.dropna())
        return [t for t in texts if t and not cleaning.is_placeholder(t)]

    nhs = clean(pd.read_csv(shared / "nhs_patient_feedback_v6.csv")["FFT answer"])
    pick = np.random.default_rng(11).choice(len(nhs), size=min(n_nhs, len(nhs)), replace=False)
    polis = pd.read_csv(shared / "polis_bowling_green_comments.csv")
    return {
        "NHS comments": [nhs[i] for i in np.sort(pick)],
        "Polis comments": clean(polis.loc[polis["moderated"] != -1, "comment-body"]),
    }


def cached_embeddings(encoder, texts: list[str], cache: Path, name: str) -> np.ndarray:
    from nlp.embedding import embed_texts

    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    path = cache / f"topic_labels-{name.split()[0].lower()}-{key}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    emb = embed_texts(encoder, texts)
    np.save(path, emb)
    print(f"(embedded {len(texts)} {name} in {time.perf_counter() - started:.0f} s -> {path})")
    return emb


def fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def compare(name: str, docs: list[str], emb: np.ndarray, nlp, encode) -> None:
    from nlp.themes.labels import BREAK, lemmatise_docs, phrase_labels, word_tokens
    from nlp.themes.model import TopicParams, fit_topics, topic_label
    from nlp.themes.quality import npmi_coherence, topic_diversity

    params = TopicParams()
    started = time.perf_counter()
    old = fit_topics(docs, emb, params)
    t_old = time.perf_counter() - started
    started = time.perf_counter()
    new = fit_topics(docs, emb, params, nlp=nlp, encode=encode)
    t_new = time.perf_counter() - started
    same = np.array_equal(old.assignments, new.assignments)
    old_words = [w.split(", ") for w in old.topics["top_words"]]
    npmi_old_stream = npmi_coherence(word_tokens(docs).terms, old_words)
    # the old words, each lemmatised: how much of a diversity change is inflections merging
    lemma_of = {
        w: lemmatise_docs(nlp, [w]).terms[0].replace(BREAK, "").strip()
        for w in {w for words in old_words for w in words}
    }
    old_lemmas = [[lemma_of[w] or w for w in words] for words in old_words]
    started = time.perf_counter()
    tokens = lemmatise_docs(nlp, docs)
    t_lemma = time.perf_counter() - started
    started = time.perf_counter()
    ids = new.topics["topic_id"].astype(int).tolist()
    phrase_labels(docs, tokens, new.assignments, emb, encode, ids)
    t_labels = time.perf_counter() - started
    print(f"\n## {name}: {len(docs)} documents, {old.metrics['n_topics']} topics\n")
    print(
        f"fit: {t_old:.1f} s before, {t_new:.1f} s with lemmas + phrase labels; of which "
        f"lemmatising {t_lemma:.1f} s, phrase labels {t_labels:.1f} s (timed apart); "
        f"assignments identical: {same}\n"
    )
    rows = [
        ("NPMI (as the run reports it)", old.metrics["npmi"], new.metrics["npmi"]),
        ("NPMI on the stop-word-free token stream", npmi_old_stream, new.metrics["npmi"]),
        ("topic diversity", old.metrics["topic_diversity"], new.metrics["topic_diversity"]),
        ("topic diversity, old words lemmatised", topic_diversity(old_lemmas), None),
        ("unassigned share", old.metrics["unassigned_share"], new.metrics["unassigned_share"]),
    ]
    print("| metric | old (words) | new (lemmas) |\n|---|---:|---:|")
    for label, before, after in rows:
        print(f"| {label} | {fmt(before)} | {fmt(after)} |")
    print()
    print("| topic | size | old label (c-TF-IDF words) | lemma words | new label | new top words |")
    print("|---:|---:|---|---|---|---|")
    merged = old.topics.merge(new.topics, on="topic_id", suffixes=("_old", "_new"))
    for row in merged.itertuples():
        lemma_label = topic_label(row.top_words_new.split(", "))
        top = ", ".join(row.top_words_new.split(", ")[:6])
        print(
            f"| {row.topic_id} | {row.size_new} | {row.label_old} | {lemma_label} | "
            f"**{row.label_new}** | {top} |"
        )
    lengths = new.topics["label"].str.len()
    print(f"\nnew label length: mean {lengths.mean():.0f}, max {lengths.max()} characters")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp"), help="embedding .npy cache")
    ap.add_argument("--n-nhs", type=int, default=5000)
    args = ap.parse_args()
    from nlp.embedding import embed_texts, load_encoder
    from nlp.language import load_spacy
    from nlp.themes.labels import lemmatise_docs, word_tokens

    started = time.perf_counter()
    print(
        f"# Topic labels bench: {os.cpu_count()} cores, load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    )
    sets = load_sets(args.shared, args.n_nhs)
    encoder = load_encoder()
    nlp = load_spacy()
    encode = partial(embed_texts, encoder)
    embeddings = {name: cached_embeddings(encoder, d, args.cache, name) for name, d in sets.items()}

    from nlp.themes.model import fit_topics

    name = next(iter(sets))  # warm-up: numba compiles UMAP (NN-descent above 4,096 docs) once
    fit_topics(sets[name], embeddings[name])
    nhs = sets["NHS comments"]
    n_words = sum(len(t.split()) for t in nhs)
    t0 = time.perf_counter()
    word_tokens(nhs)
    t_regex = time.perf_counter() - t0
    t0 = time.perf_counter()
    lemmatise_docs(nlp, nhs)
    t_lemma = time.perf_counter() - t0
    print(f"## Lemmatiser cost ({nlp.meta['name']} {nlp.meta['version']}, one process)\n")
    print("| tokeniser | seconds | docs/s | words/s | 100k docs |\n|---|---:|---:|---:|---:|")
    for label, secs in (("regex words (before)", t_regex), ("spaCy lemmas", t_lemma)):
        print(
            f"| {label} | {secs:.2f} | {len(nhs) / secs:,.0f} | {n_words / secs:,.0f} | "
            f"{100_000 / (len(nhs) / secs):,.0f} s |"
        )
    for name, docs in sets.items():
        compare(name, docs, embeddings[name], nlp, encode)
    print(f"\nTotal wall time {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
