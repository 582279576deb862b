"""Theme names in words (issue #15): the phrase namer against the labeller it replaces.

Per shared dataset (NHS comments, government app reviews, Polis comments, participant turns of
the interview and hearing transcripts, TweetEval tweets; a seeded sample of `--n` texts each,
triaged as `bench/topics.py` loads them), `fit_topics` (the real one, lemma vectoriser, real
encoder) fits topics once; then, on the same documents, token stream, assignments and
embeddings, the labeller of commit `--before` (read from git: dot-joined c-TF-IDF terms) and
the current `nlp.themes.labels.phrase_labels` name every topic, with and without the encoder.
Printed: every name side by side with the topic's top words, and per dataset the share of
names that are dot-joined word lists, that repeat another theme's name and that are one word,
the mean word count and the seconds each labeller took (phrase embedding included).

Embeddings and fits are cached in --cache (keyed by the texts), so a rerun only relabels.
First run ~45 min on 2 busy cores (the transcript turns are long: 200k words to embed).

    .venv/bin/python bench/theme_names.py [--shared ../shared/data] [--n 1500] [--before a60a2a2]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import pickle
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BEFORE = "a60a2a2"  # the last commit with the dot-joined labeller
WORD_LIST_MARKS = (" · ", " / ")


def load_sets(shared: Path, n: int, seed: int = 15) -> dict[str, list[str]]:
    """The four sets of `bench/topics.py` plus TweetEval, each a seeded sample of `n` texts."""
    from bench.topics import load_datasets
    from nlp.ingest import cleaning

    sets = load_datasets(shared)
    tweets = pd.read_csv(shared / "tweeteval_sentiment.csv")["text"].dropna()
    texts = (cleaning.normalise_text(t) for t in tweets)
    sets["TweetEval tweets"] = [t for t in texts if t and not cleaning.is_placeholder(t)]
    rng = np.random.default_rng(seed)
    out = {}
    for name, docs in sets.items():
        pick = np.sort(rng.choice(len(docs), size=min(n, len(docs)), replace=False))
        out[name] = [docs[i] for i in pick]
    return out


def labeller_at(commit: str):
    """`nlp/themes/labels.py` as it was at `commit`, imported as its own module."""
    source = subprocess.run(
        ["git", "show", f"{commit}:nlp/themes/labels.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path("/tmp") / f"theme_names_labels_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"labels_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cached(cache: Path, kind: str, texts: list[str], make):
    """`make()` once per (kind, texts); later runs read the pickle."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    path = cache / f"theme_names-{kind}-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = make()
    path.write_bytes(pickle.dumps(value))
    return value


def fit(docs: list[str], emb: np.ndarray, nlp) -> dict:
    """The real topic fit (lemma vectoriser); names come later, so no encoder here."""
    from nlp.themes.model import TopicParams, fit_topics

    result = fit_topics(docs, emb, TopicParams(), nlp=nlp)
    return {
        "assignments": result.assignments,
        "topics": result.topics[["topic_id", "size", "top_words"]],
        "metrics": result.metrics,
    }


def word_list(name: str) -> bool:
    return any(mark in name for mark in WORD_LIST_MARKS)


def summary(names: list[str]) -> tuple[float, float, float, float]:
    """Shares of dot-joined word lists, of names repeating another theme's and of one-word
    names, and the mean words per name."""
    lower = [n.lower() for n in names]
    dup = sum(lower.count(n) > 1 for n in lower)
    n = max(len(names), 1)
    words = [len(x.replace("·", " ").replace("/", " ").split()) for x in names]
    single = sum(w == 1 for w in words) / n
    return sum(map(word_list, names)) / n, dup / n, single, float(np.mean(words))


def compare(name: str, docs: list[str], state: dict, emb: np.ndarray, ctx: dict) -> list:
    from nlp.themes import labels

    tokens = labels.lemmatise_docs(ctx["nlp"], docs)
    table = state["topics"]
    ids = table["topic_id"].astype(int).tolist()
    runs, seconds = {}, {}
    for key, module, encode in (
        ("before", ctx["before"], ctx["encode"]),
        ("after", labels, ctx["encode"]),
        ("after, no encoder", labels, None),
    ):
        started = time.perf_counter()
        runs[key] = module.phrase_labels(docs, tokens, state["assignments"], emb, encode, ids)
        seconds[key] = time.perf_counter() - started
    unassigned = state["metrics"].get("unassigned_share") or 0.0
    print(f"\n## {name}: {len(docs)} documents, {len(ids)} topics, {unassigned:.0%} unassigned\n")
    print("| topic | size | top words | before | after | after, no encoder |")
    print("|---:|---:|---|---|---|---|")
    for row in table.itertuples():
        t = int(row.topic_id)
        top = ", ".join(row.top_words.split(", ")[:5])
        print(
            f"| {t} | {row.size} | {top} | {runs['before'][t]} | **{runs['after'][t]}** | "
            f"{runs['after, no encoder'][t]} |"
        )
    out = []
    for key, names in runs.items():
        out.append([name, key, len(ids), *summary([names[t] for t in ids]), seconds[key]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/theme_names"))
    ap.add_argument("--n", type=int, default=1500, help="texts per dataset (seeded sample)")
    ap.add_argument("--before", default=BEFORE, help="git revision of the old labeller")
    ap.add_argument("--sets", nargs="*", help="dataset names to run (default: all)")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    from nlp.embedding import embed_texts, load_encoder
    from nlp.language import load_spacy

    started = time.perf_counter()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# Theme names bench: {os.cpu_count()} cores, load average {load}")
    print(f"\nbefore = `nlp/themes/labels.py` at {args.before}; after = this tree.")
    sets = load_sets(args.shared, args.n)
    encoder = load_encoder()
    encode = partial(embed_texts, encoder)
    ctx = {"nlp": load_spacy(), "encode": encode, "before": labeller_at(args.before)}
    rows = []
    for name, docs in sets.items():
        if args.sets and name not in args.sets:
            continue
        emb = cached(args.cache, "emb", docs, lambda d=docs: embed_texts(encoder, d))
        state = cached(args.cache, "fit", docs, lambda d=docs, e=emb: fit(d, e, ctx["nlp"]))
        rows.append(compare(name, docs, state, emb, ctx))
    print("\n## Summary\n")
    print(
        "| dataset | labeller | topics | word lists | duplicates | one word | mean words "
        "| seconds |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for block in rows:
        for name, key, n, listed, dup, single, words, secs in block:
            print(
                f"| {name} | {key} | {n} | {listed:.0%} | {dup:.0%} | {single:.0%} | "
                f"{words:.1f} | {secs:.1f} |"
            )
    print(f"\nTotal wall time {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
