"""Issue #15: an honest stability gate, service-neutral masking, two-level themes.

(a) Stability per real dataset (NHS comments, government app reviews, Polis comments, TweetEval
    tweets), each fit as the pipeline does (`fit_corpus_topics`, seed 42): the old gate
    (`model.stability_ari`: 2,000-document refit, every document, -1 a label) against the new
    one (`nlp.themes.stability.stability`: sizes scaled to the sample, ARI over documents
    assigned in either) in the same run, with the reference of a full refit with seed 43; and
    two cases that must read as unstable: the fit's assignments shuffled, and random
    embeddings (fit and gate on Gaussian vectors).
(b) Masking placeholder: a planted corpus of airline complaints where every comment names its
    airline (plain, possessive, @handle, #hashtag, no-space form) and one of six reasons; per
    placeholder ("" = delete, "the company", "[ORG]", "it"), the share of a comment's 10
    nearest neighbours with the same airline / the same reason (chance = 1/4 and 1/6) and the
    ARI of k-means (k = 4 and 6) with airline and reason. `masking-nhs`: real NHS comments with
    one of six human categories, each naming one of four planted trusts; kNN agreement with
    trust and category and the cosine to the comment without the name, per placeholder.
(c) Parents of the topics (a) fitted (its cache): how many parents each `max_distance` gives,
    the merge heights and the default cut's parents with their children's labels.

    .venv/bin/python bench/stability.py stability [--sets polis apps nhs tweets random]
        [--max-docs N] [--cache /tmp/h4]
    .venv/bin/python bench/stability.py masking | masking-nhs
    .venv/bin/python bench/stability.py parents --sets nhs polis   # after `stability`
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nlp.themes.params import TopicResult  # noqa: E402

ENCODER = "minilm-onnx"  # minilm's vectors (bench/README.md), faster


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_sets(shared: Path) -> dict[str, list[str]]:
    from nlp.ingest import cleaning

    def clean(series: pd.Series) -> list[str]:
        texts = (cleaning.normalise_text(t) for t in series.dropna())
        return [t for t in texts if t and not cleaning.is_placeholder(t)]

    polis = pd.read_csv(shared / "polis_bowling_green_comments.csv")
    return {
        "nhs": clean(pd.read_csv(shared / "nhs_patient_feedback_v6.csv")["FFT answer"]),
        "apps": clean(pd.read_csv(shared / "gov_app_reviews.csv")["review"]),
        "polis": clean(polis.loc[polis["moderated"] != -1, "comment-body"]),
        "tweets": clean(pd.read_csv(shared / "tweeteval_sentiment.csv")["text"]),
    }


def cached_embeddings(texts: list[str], cache: Path, name: str, encoder=None) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    path = cache / f"stability-{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    from nlp import embedding

    encoder = encoder or embedding.load_encoder(ENCODER, cache_dir=cache / "encoders")
    emb = embedding.embed_texts(encoder, texts)
    np.save(path, emb)
    return emb


def fmt(v, spec: str = ".3f") -> str:
    return "–" if v is None else format(v, spec)


# ---------------------------------------------------------------- (a)


class MemoFit:
    """`fit_topics` that refits a (documents, parameters) pair once: the old and new gates and
    the shuffled case share the refit when their parameters are the same. Assignments are kept
    in `cache` on disk, so a changed measure is recomputed without refitting."""

    def __init__(self, cache: Path) -> None:
        self.dir = cache
        self.cache: dict = {}
        self.fits = 0

    def __call__(self, docs, embeddings, params, **kwargs):
        from nlp.themes.model import fit_topics
        from nlp.themes.stability import fitted_sizes

        mts, ms = fitted_sizes(params, len(docs))  # None and its value are the same fit
        effective = replace(params, min_topic_size=mts, min_samples=ms)
        key = (hashlib.sha256("\n".join(docs).encode()).hexdigest(), effective)
        path = self.dir / f"refit-{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}.npy"
        if key not in self.cache and path.exists():
            labels = np.load(path)
            skipped = None if (labels >= 0).any() else "no cluster found (cached)"
            self.cache[key] = TopicResult(
                labels, np.zeros(len(labels)), pd.DataFrame(), {}, skipped
            )
        if key not in self.cache:
            self.fits += 1
            self.cache[key] = fit_topics(docs, embeddings, params, **kwargs)
            np.save(path, self.cache[key].assignments)
        return self.cache[key]


def cached_corpus_fit(name: str, docs, emb, seed: int, cache: Path):
    """`fit_corpus_topics` with seed `seed`, its assignments, table and metrics kept on disk."""
    import json

    from nlp.themes import model
    from nlp.themes.params import TopicParams

    key = hashlib.sha256(("\n".join(docs) + str(emb[:5].sum())).encode()).hexdigest()[:12]
    base = cache / f"corpusfit-{name}-{seed}-{key}"
    if base.with_suffix(".npy").exists():
        table = pd.read_parquet(base.with_suffix(".parquet"))
        metrics = json.loads(base.with_suffix(".json").read_text())
        labels = np.load(base.with_suffix(".npy"))
        return TopicResult(labels, np.zeros(len(labels)), table, metrics, None)
    fit = model.fit_corpus_topics(docs, emb, TopicParams(seed=seed))
    if not fit.skipped_reason:
        np.save(base.with_suffix(".npy"), fit.assignments)
        fit.topics.drop(columns="representative_idx").to_parquet(base.with_suffix(".parquet"))
        base.with_suffix(".json").write_text(json.dumps(fit.metrics, default=float))
    return fit


def old_gate(docs, emb, assignments, params, sample, fit) -> float | None:
    """`model.stability_ari` as it was (same sample, params unscaled, every document)."""
    n = len(docs)
    idx = np.sort(np.random.default_rng(params.seed).choice(n, size=min(n, sample), replace=False))
    refit = fit([docs[i] for i in idx], emb[idx], replace(params, seed=params.seed + 1))
    if refit.skipped_reason:
        return None
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(assignments[idx], refit.assignments))


def gate_row(name, docs, emb, sample, cache: Path, seed43: bool = True) -> list[str]:
    """One table row: the fit, both gates (auto and set min_topic_size), seed 43, shuffled."""
    from sklearn.metrics import adjusted_rand_score

    from nlp.themes import model
    from nlp.themes.params import TopicParams
    from nlp.themes.registry import centroids_of
    from nlp.themes.stability import partition_agreement, stability

    fit = MemoFit(cache)
    params = TopicParams(seed=42)
    t0 = time.perf_counter()
    full = cached_corpus_fit(name, docs, emb, 42, cache)
    log(f"{name}: {len(docs)} docs, fit {time.perf_counter() - t0:.0f}s")
    if full.skipped_reason:
        return [name, f"{len(docs):,}", "skipped: " + full.skipped_reason] + ["–"] * 9
    ids = full.topics["topic_id"].astype(int).tolist()
    full.topics.drop(columns="representative_idx", errors="ignore").to_parquet(
        cache / f"fit-{name}.parquet"
    )
    np.save(cache / f"fit-{name}-centroids.npy", centroids_of(emb, full.assignments, ids))
    resolved = replace(params, min_topic_size=model.default_min_topic_size(len(docs)))
    old = old_gate(docs, emb, full.assignments, params, sample, fit)
    old_set = old_gate(docs, emb, full.assignments, resolved, sample, fit)
    new = stability(docs, emb, full.assignments, params, sample_size=sample, fit=fit)
    new_set = stability(docs, emb, full.assignments, resolved, sample_size=sample, fit=fit)
    shuffled = np.random.default_rng(0).permutation(full.assignments)
    shuf = stability(docs, emb, shuffled, params, sample_size=sample, fit=fit)
    ref_cells = ["–", "–"]
    if seed43:
        other = cached_corpus_fit(name, docs, emb, 43, cache)
        ref = partition_agreement(full.assignments, other.assignments)
        ari_all = float(adjusted_rand_score(full.assignments, other.assignments))
        ref_cells = [f"{fmt(ref['ari'])} / {fmt(ari_all)}", fmt(ref["agreement"])]
    log(f"{name}: gates done {time.perf_counter() - t0:.0f}s ({fit.fits} refits)")
    d = new.details
    return [
        name,
        f"{len(docs):,}",
        str(full.metrics.get("n_topics")),
        fmt(full.metrics.get("unassigned_share"), ".2f"),
        f"{fmt(old)} / {fmt(old_set)}",
        f"{fmt(new.ari)} / {fmt(new_set.ari)} ({new.method}, "
        f"mts {d.get('min_topic_size')}, ms {d.get('min_samples')}; set: "
        f"mts {new_set.details.get('min_topic_size')})",
        fmt(d.get("agreement")),
        f"{d.get('topics_fit')} / {d.get('topics_refit')}",
        *ref_cells,
        fmt(shuf.ari),
        fmt(shuf.details.get("agreement")),
        f"{fmt(d.get('ari_either'))} / {fmt(shuf.details.get('ari_either'))}",
    ]


def bench_stability(
    shared: Path, cache: Path, sample: int, sets: list[str], max_docs: int, seed43: bool = True
) -> None:
    rows = []
    data = load_sets(shared)
    for name in sets:
        if name == "random":  # Gaussian vectors with NHS texts: nothing real to find
            docs = data["nhs"][:max_docs]
            emb = np.random.default_rng(1).normal(size=(len(docs), 384)).astype(np.float32)
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        else:
            docs = data[name]
            emb = cached_embeddings(docs, cache, name)
            if len(docs) > max_docs:  # a seeded subsample keeps the run short on 2 cores
                keep = np.sort(np.random.default_rng(0).choice(len(docs), max_docs, replace=False))
                docs, emb = [docs[i] for i in keep], emb[keep]
        rows.append(gate_row(name, docs, emb, sample, cache, seed43=seed43 and name != "random"))
        print_rows(rows[-1:], header=len(rows) == 1)


def print_rows(rows: list[list[str]], header: bool) -> None:
    names = [
        "dataset",
        "docs",
        "topics",
        "unassigned",
        "old gate ARI: auto / set mts",
        "new gate ARI: auto / set mts",
        "new agreement",
        "topics fit / refit (sample)",
        "full seed 43: ARI assigned / ARI all",
        "seed 43 agreement",
        "shuffled: new ARI",
        "shuffled: agreement",
        "new gate: ARI either-assigned (biased) / shuffled",
    ]
    if header:
        print("| " + " | ".join(names) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(names) - 1)) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |", flush=True)


# ---------------------------------------------------------------- (b)

AIRLINES = ("United", "Southwest", "Delta", "Virgin America")
REASONS = {
    "luggage": [
        "{a} lost my luggage and nobody could tell me where it was",
        "my bag never arrived, {a} says it is still being traced",
        "checked suitcase came back broken after flying {a}",
        "three days without my luggage thanks to {a}",
    ],
    "delay": [
        "{a} flight delayed four hours with no explanation",
        "we sat on the tarmac for two hours, {a} kept pushing the departure back",
        "another late departure from {a}, missed my connection",
        "delayed again, {a} cannot keep to a schedule",
    ],
    "staff": [
        "the gate agent at {a} was rude and dismissive",
        "{a} cabin crew were unfriendly and ignored us",
        "staff at the {a} counter shouted at my elderly mother",
        "the attendant on {a} was condescending when I asked for water",
    ],
    "refund": [
        "still waiting for {a} to refund my cancelled ticket",
        "{a} refused to give my money back after cancelling the flight",
        "asked {a} for a refund six weeks ago and heard nothing",
        "the refund {a} promised never reached my card",
    ],
    "seats": [
        "the seats on {a} are so cramped my knees hurt",
        "no legroom at all on {a}, worst seat of my life",
        "{a} seat would not recline and the cushion was torn",
        "tiny narrow seats, {a} packs people in",
    ],
    "booking": [
        "the {a} website crashed while I was booking",
        "could not check in online, the {a} app kept failing",
        "{a} booking page charged me twice",
        "changing my booking on the {a} site was impossible",
    ],
}


def airline_form(name: str, rng: np.random.Generator) -> str:
    """One way a comment names the airline: plain, possessive, @handle, #hashtag, no-space."""
    joined = name.replace(" ", "")
    forms = [name, name, f"{name}'s", f"@{joined}", f"#{joined}", f"{joined}Air", name.lower()]
    return forms[rng.integers(len(forms))]


def planted_airline_corpus(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reasons = list(REASONS)
    texts, airline, reason = [], [], []
    for _ in range(n):
        a, r = rng.integers(len(AIRLINES)), rng.integers(len(reasons))
        template = REASONS[reasons[r]][rng.integers(4)]
        prefix = ["", "Honestly, ", "Once again ", "Ugh. "][rng.integers(4)]
        texts.append(prefix + template.format(a=airline_form(AIRLINES[a], rng)))
        airline.append(a)
        reason.append(r)
    return texts, np.asarray(airline), np.asarray(reason)


def knn_same(emb: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argsort(-sims, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


def bench_masking(cache: Path) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from nlp import embedding
    from nlp.themes.masking import mask_terms

    texts, airline, reason = planted_airline_corpus(600)
    enc = embedding.load_encoder(ENCODER, cache_dir=cache / "encoders")
    variants = {"unmasked": texts}
    for ph in ("", "the company", "[ORG]", "it", "the airline"):
        variants[repr(ph)] = mask_terms(texts, services=AIRLINES, placeholder=ph).texts
    masked = mask_terms(texts, services=AIRLINES)
    left = sum(a.lower().split()[0] in t.lower() for t in masked.texts for a in AIRLINES)
    print(f"planted: {len(texts)} comments, masked terms {masked.counts}, names left: {left}\n")
    print(f"example: {texts[3]!r} -> {masked.texts[3]!r}\n")
    print(
        "| text | kNN@10 same airline (chance 0.25) | kNN@10 same reason (chance 0.17) "
        "| k-means ARI airline | k-means ARI reason |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, vt in variants.items():
        emb = cached_embeddings(vt, cache, "masking", enc)
        km_a = KMeans(4, n_init=10, random_state=0).fit_predict(emb)
        km_r = KMeans(6, n_init=10, random_state=0).fit_predict(emb)
        print(
            f"| {name} | {knn_same(emb, airline):.3f} | {knn_same(emb, reason):.3f} "
            f"| {adjusted_rand_score(airline, km_a):.3f} "
            f"| {adjusted_rand_score(reason, km_r):.3f} |"
        )


TRUSTS = ("Leeds General", "Royal Albert", "Northgate", "Castle Hill")
CATEGORIES = (
    "Staff manner & personal attributes",
    "Timeliness of care",
    "Food & drink provision & facilities",
    "Parking",
    "Cleanliness, tidiness & infection control",
    "Appointment arrangements",
)


def planted_nhs_corpus(shared: Path, n: int) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Real NHS comments with exactly one of six human categories; each gets a random trust
    named in one of several forms. (original texts, planted texts, trust, category)."""
    from nlp.ingest import cleaning

    frame = pd.read_csv(shared / "nhs_patient_feedback_v6.csv")
    cats = frame[list(CATEGORIES)].fillna(0).to_numpy()
    one = cats.sum(axis=1) == 1
    frame = frame[one & frame["FFT answer"].notna()]
    category = cats[frame.index.to_numpy()].argmax(axis=1)
    texts = [cleaning.normalise_text(t) for t in frame["FFT answer"]]
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(texts), size=min(n, len(texts)), replace=False))
    original, planted, trust = [], [], []
    frames = ["{f}: {t}", "{t} - {f}", "At {f}, {t}", "Visited {f}. {t}", "{t} #{j}", "@{j} {t}"]
    for i in pick:
        tr = int(rng.integers(len(TRUSTS)))
        name = TRUSTS[tr]
        form = [name, name.lower(), f"{name}'s team"][rng.integers(3)]
        tpl = frames[rng.integers(len(frames))]
        planted.append(tpl.format(f=form, t=texts[i], j=name.replace(" ", "")))
        original.append(texts[i])
        trust.append(tr)
    return original, planted, np.asarray(trust), category[pick]


def bench_masking_nhs(shared: Path, cache: Path, n: int = 600) -> None:
    from nlp import embedding
    from nlp.themes.masking import mask_terms

    original, planted, trust, category = planted_nhs_corpus(shared, n)
    enc = embedding.load_encoder(ENCODER, cache_dir=cache / "encoders")
    variants = {"original (no name)": original, "planted, unmasked": planted}
    for ph in ("", "the company", "[ORG]", "it"):
        variants[repr(ph)] = mask_terms(planted, services=TRUSTS, placeholder=ph).texts
    shares = np.bincount(category) / len(category)
    print(
        f"\nNHS planted: {len(planted)} comments, 4 trusts, 6 categories (kNN chance for the "
        f"category: {float((shares**2).sum()):.3f})\n"
    )
    print(
        "| text | kNN@10 same trust (chance 0.25) | kNN@10 same category "
        "| mean cosine to the original |"
    )
    print("|---|---:|---:|---:|")
    base = cached_embeddings(original, cache, "masking-nhs", enc)
    for name, vt in variants.items():
        emb = cached_embeddings(vt, cache, "masking-nhs", enc)
        cos = float((emb * base).sum(axis=1).mean())
        print(
            f"| {name} | {knn_same(emb, trust):.3f} | {knn_same(emb, category):.3f} | {cos:.3f} |"
        )


# ---------------------------------------------------------------- (c)


def bench_parents(cache: Path, names: list[str]) -> None:
    """Parents of the topics `stability` fitted (read from its cache: fit-<name>.parquet)."""
    from nlp.themes.hierarchy import parent_themes, target_parents

    for name in names:
        table = pd.read_parquet(cache / f"fit-{name}.parquet")
        cents = np.load(cache / f"fit-{name}-centroids.npy")
        ids, sizes, labels = (
            table["topic_id"].astype(int).tolist(),
            table["size"].tolist(),
            table["label"].tolist(),
        )
        print(f"\n#### {name}: {len(ids)} topics, target {target_parents(len(ids))} parents\n")
        for cap in (0.3, 0.4, 0.5, 0.6, 1.0):
            p = parent_themes(cents, ids, sizes, labels=labels, max_distance=cap)
            print(f"- max_distance {cap}: {len(p.children)} parents")
        p = parent_themes(cents, ids, sizes, labels=labels, top_words=table["top_words"].tolist())
        print("\nmerge heights:", ", ".join(f"{h:.2f}" for h in p.heights))
        label = dict(zip(ids, labels, strict=True))
        print(f"\nwith the default cut: {len(p.children)} parents\n")
        for pid, kids in p.children.items():
            print(
                f"- **{p.labels[pid]}** ({len(kids)}, mean distance {p.merge_distance[pid]:.2f}): "
                + "; ".join(label[k] for k in kids)
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["stability", "masking", "masking-nhs", "parents"])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/h4"))
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--sets", nargs="+", default=["polis", "apps", "nhs", "tweets", "random"])
    ap.add_argument("--max-docs", type=int, default=20_000)
    ap.add_argument("--no-seed43", action="store_true", help="skip the full refit reference")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.part == "stability":
        bench_stability(
            args.shared, args.cache, args.sample, args.sets, args.max_docs, not args.no_seed43
        )
    elif args.part == "masking":
        bench_masking(args.cache)
    elif args.part == "masking-nhs":
        bench_masking_nhs(args.shared, args.cache)
    else:
        bench_parents(args.cache, args.sets)


if __name__ == "__main__":
    main()
