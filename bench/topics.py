"""Encoder options and the topic stage on real feedback, plus a 100k-document corpus.

(a) Encoders. 5,000 real NHS comments (seeded sample of those kept, see (b)) are embedded by
    every option of `nlp.embedding.ENCODERS`; the baseline, measured in the same run, is the
    fp32 sentence-transformers model (`minilm`). Per option: load time (and the one-off
    export/distillation time recorded when its artefact was built), comments/s and the ratio
    to fp32, mean cosine to the fp32 vector of the same text, kNN@10 agreement with fp32
    (share of a text's 10 nearest neighbours, among distinct texts, that fp32 also has), the
    lowest cosine between a text embedded alone and in a batch (batch invariance), and the
    topics that `fit_topics` finds on its embeddings with fixed parameters: count, unassigned
    share, NPMI, diversity and ARI of the assignment against the fp32 assignment. A refit of
    the fp32 embeddings with another UMAP seed gives the noise floor for that ARI.
(b) Topic stage per real dataset with one encoder (`--encoder`): NHS comments, government
    app reviews, Polis comments (not moderated out) and participant turns of the interview
    and public-hearing transcripts (parsed with `flows.io.read_transcripts` and
    `nlp.ingest.transcripts.rows_from_segments`; English or undetermined language only). As in the
    pipeline's triage, texts are normalised and empty or placeholder answers ("Did not
    answer", "Nothing", "N/A") and filler turns ("Yeah. Okay.") are left out. Each fit
    runs in a fresh subprocess, whose peak RSS (VmHWM) is reported with its RSS before the
    fit (interpreter, libraries and data loaded); stability is the ARI between fits with
    seeds 42 and 43 on the full dataset.
(c) A 100,000-document corpus resampled from NHS + app reviews + Polis: 30 % verbatim copies,
    70 % recombinations of two texts of the same source (the first sentences of one and the
    last sentences of the other, in that order), half of those with 5 % of words dropped.
    Its distinct texts are embedded by the same encoder (subprocess; duplicates reuse the
    vector, as the pipeline's text-hash cache does), then `nlp.themes.model.fit_corpus_topics` (what
    the pipeline runs) fits a seeded 20,000-document sample and assigns the rest to the
    nearest topic centroid when their cosine reaches the outlier threshold. Stability: ARI of
    the whole assignment between seeds 42 and 43.

    .venv/bin/python bench/topics.py [--shared ../shared/data] [--quick]
        [--encoder minilm-onnx-int8] [--encoders data/processed/models/encoders]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DEFAULT_ENCODER = "minilm-onnx-int8"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# ---------------------------------------------------------------- helpers


def rss_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_avg() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def fmt(value, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return format(value, spec)


def print_table(header: list[str], rows: list[list[str]], align: str) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data


def load_datasets(shared: Path) -> dict[str, list[str]]:
    """The four real sets as lists of non-empty texts."""
    from flows import io
    from nlp.ingest import cleaning, transcripts

    def clean(series: pd.Series) -> list[str]:
        """What triage keeps for topics: normalised, no empty or placeholder answers."""
        texts = (cleaning.normalise_text(t) for t in series.dropna())
        return [t for t in texts if t and not cleaning.is_placeholder(t)]

    nhs = clean(pd.read_csv(shared / "nhs_patient_feedback_v6.csv")["FFT answer"])
    apps = clean(pd.read_csv(shared / "gov_app_reviews.csv")["review"])
    polis = pd.read_csv(shared / "polis_bowling_green_comments.csv")
    polis = clean(polis.loc[polis["moderated"] != -1, "comment-body"])
    turns: list[str] = []
    for folder in ("interviews", "public_hearing"):
        for tid, _, segments in io.read_transcripts(shared / "transcripts" / folder):
            for row in transcripts.rows_from_segments(segments, tid):
                if row["kind"] == "transcript_turn":
                    turns.append(cleaning.normalise_text(row["text"]))
    turns = [
        t
        for t in turns
        if not cleaning.is_filler_turn(t) and cleaning.detect_language(t) in ("en", "und")
    ]
    return {
        "NHS comments": nhs,
        "app reviews": apps,
        "Polis comments": polis,
        "transcript turns": turns,
    }


def build_corpus(
    pools: dict[str, list[str]], n: int, seed: int = 7, sources: list[str] | None = None
) -> list[str]:
    """`n` documents resampled from `pools` (see the module docstring for the recipe); the pool
    each document came from is appended to `sources` when given."""
    rng = np.random.default_rng(seed)
    names = list(pools)
    sizes = np.array([len(pools[k]) for k in names], dtype=float)
    split = {k: [_SENTENCE.split(t) for t in pools[k]] for k in names}
    docs = []
    for _ in range(n):
        src = names[rng.choice(len(names), p=sizes / sizes.sum())]
        if sources is not None:
            sources.append(src)
        pool = split[src]
        a = pool[rng.integers(len(pool))]
        if rng.random() < 0.3:
            docs.append(" ".join(a))
            continue
        b = pool[rng.integers(len(pool))]
        sentences = a[: rng.integers(1, len(a) + 1)] + b[rng.integers(len(b)) :]
        words = " ".join(sentences).split()
        if rng.random() < 0.5 and len(words) > 4:
            words = [w for w in words if rng.random() >= 0.05]
        docs.append(" ".join(words))
    return docs


# ---------------------------------------------------------------- subprocess workers


def run_worker(job: dict, workdir: Path) -> dict:
    """Run `job` in a fresh interpreter; its result (with peak RSS) comes back as JSON."""
    path = workdir / f"job-{time.time_ns()}.json"
    path.write_text(json.dumps(job))
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {job['kind']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(path.with_suffix(".out.json").read_text())


def worker(path: Path) -> None:
    job = json.loads(path.read_text())
    from sklearn.metrics import adjusted_rand_score

    from nlp import embedding
    from nlp.themes import model as topics

    out: dict = {}
    if job["kind"] == "embed":
        docs = json.loads(Path(job["docs"]).read_text())
        enc = embedding.load_encoder(job["encoder"], cache_dir=job["cache_dir"])
        out["rss_before_mb"] = rss_mb("VmRSS")
        t0 = time.perf_counter()
        # like the pipeline's text-hash cache: each distinct text is embedded once
        distinct, inverse = np.unique(np.asarray(docs, dtype=object), return_inverse=True)
        vectors = embedding.embed_texts(enc, distinct.tolist())[inverse]
        out["seconds"] = time.perf_counter() - t0
        out["n_embedded"] = len(distinct)
        np.save(job["out"], vectors)
    elif job["kind"] == "fit":
        docs = json.loads(Path(job["docs"]).read_text())
        emb = np.load(job["embeddings"])
        out["rss_before_mb"] = rss_mb("VmRSS")
        t0 = time.perf_counter()
        first = topics.fit_topics(docs, emb, topics.TopicParams(seed=42))
        out["seconds"] = time.perf_counter() - t0
        out["peak_fit_mb"] = rss_mb()
        out["metrics"] = first.metrics
        out["skipped"] = first.skipped_reason
        if job.get("second_seed") and not first.skipped_reason:
            second = topics.fit_topics(docs, emb, topics.TopicParams(seed=43))
            out["ari_seeds"] = float(adjusted_rand_score(first.assignments, second.assignments))
    elif job["kind"] == "large":
        docs = json.loads(Path(job["docs"]).read_text())
        emb = np.load(job["embeddings"])
        out["rss_before_mb"] = rss_mb("VmRSS")
        out.update(fit_and_assign(docs, emb, job["fit_sample"]))
        out["peak_fit_mb"] = rss_mb()
    out["peak_mb"] = rss_mb()
    path.with_suffix(".out.json").write_text(json.dumps(out, default=float))


def fit_and_assign(docs: list[str], emb: np.ndarray, fit_sample: int) -> dict:
    """The pipeline's large-corpus path (`fit_corpus_topics`: fit a seeded sample, assign the
    rest to the nearest centroid), with seeds 42 and 43 for stability."""
    from sklearn.metrics import adjusted_rand_score

    from nlp.themes import model as topics
    from nlp.themes import quality as topic_quality

    n = len(docs)
    t0 = time.perf_counter()
    result = topics.fit_corpus_topics(docs, emb, topics.TopicParams(seed=42, fit_sample=fit_sample))
    fit_s = time.perf_counter() - t0
    rng = np.random.default_rng(42)  # the sample fit_corpus_topics drew
    fit_idx = np.sort(rng.choice(n, size=min(fit_sample, n), replace=False))
    rest = np.setdiff1d(np.arange(n), fit_idx)
    labels = result.assignments
    words = [w.split(", ") for w in result.topics["top_words"]]
    t0 = time.perf_counter()
    npmi_all = topic_quality.npmi_coherence(docs, words)
    npmi_s = time.perf_counter() - t0
    other = topics.fit_corpus_topics(docs, emb, topics.TopicParams(seed=43, fit_sample=fit_sample))
    sizes = result.topics["size"].to_numpy()
    return {
        "fit_seconds": fit_s,
        "npmi_seconds": npmi_s,
        "n_fit": len(fit_idx),
        "n_assigned": len(rest),
        "n_topics": int(len(result.topics)),
        "fit_unassigned": float((labels[fit_idx] == -1).mean()),
        "rest_unassigned": float((labels[rest] == -1).mean()),
        "all_unassigned": float((labels == -1).mean()),
        "largest_share": float(sizes.max() / sizes.sum()) if len(sizes) else None,
        "ari_seeds": float(adjusted_rand_score(labels, other.assignments)),
        "npmi_fit": result.metrics.get("npmi"),
        "npmi_all": npmi_all,
        "diversity": result.metrics.get("topic_diversity"),
    }


# ---------------------------------------------------------------- (a) encoders


def knn_agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours under `a` that `b` also has."""

    def knn(v: np.ndarray) -> np.ndarray:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k, axis=1)[:, :k]

    na, nb = knn(a), knn(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb, strict=True)]))


def bench_encoders(texts: list[str], cache_dir: Path, workdir: Path) -> None:
    from sklearn.metrics import adjusted_rand_score

    from nlp import embedding
    from nlp.themes import model as topics

    rows: dict[str, dict] = {}
    encoders = {}
    for name in embedding.ENCODERS:
        log(f"(a) load {name}")
        t0 = time.perf_counter()
        enc = embedding.load_encoder(name, cache_dir=cache_dir)
        load_s = time.perf_counter() - t0
        build_s = None
        if getattr(enc, "directory", None) is not None:
            meta = json.loads((Path(enc.directory) / embedding.BUILD_FILE).read_text())
            build_s = meta["build_seconds"]
        embedding.embed_texts(enc, texts[:64])  # warm-up outside the timing
        encoders[name] = enc
        rows[name] = {"load": load_s, "built": enc.was_built, "build": build_s, "sec": 0.0}
    # Chunk-major, encoder-minor: load from other processes on the machine hits every
    # encoder alike instead of whichever happened to run at the time.
    parts: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    for k, chunk in enumerate(np.array_split(np.arange(len(texts)), 5)):
        log(f"(a) embed chunk {k + 1}/5 with every encoder")
        batch = [texts[i] for i in chunk]
        for name, enc in encoders.items():
            t0 = time.perf_counter()
            parts[name].append(embedding.embed_texts(enc, batch))
            rows[name]["sec"] += time.perf_counter() - t0
    vectors = {name: np.concatenate(p) for name, p in parts.items()}
    probe = list(range(0, len(texts), max(1, len(texts) // 100)))[:100]
    for name, enc in encoders.items():
        alone = np.stack([embedding.embed_texts(enc, [texts[i]])[0] for i in probe])
        rows[name]["invariance"] = float((alone * vectors[name][probe]).sum(axis=1).min())
        rows[name]["dim"] = vectors[name].shape[1]
    del encoders, enc
    gc.collect()

    log("(a) warm-up fit (numba compiles UMAP/HDBSCAN once per process)")
    topics.fit_topics(texts[:500], vectors["minilm"][:500], topics.TopicParams(seed=42))
    ref = vectors["minilm"]
    _, first = np.unique(np.asarray(texts, dtype=object), return_index=True)
    distinct = np.sort(first)
    fits = {}
    for name, v in vectors.items():
        log(f"(a) fit topics on {name} embeddings")
        t0 = time.perf_counter()
        fits[name] = topics.fit_topics(texts, v, topics.TopicParams(seed=42))
        rows[name]["fit"] = time.perf_counter() - t0
        rows[name]["knn"] = knn_agreement(ref[distinct], v[distinct])
        rows[name]["cos"] = float((v * ref).sum(axis=1).mean()) if v.shape == ref.shape else None
    log("(a) fp32 refit with seed 43 (noise floor)")
    refit = topics.fit_topics(texts, ref, topics.TopicParams(seed=43))
    base = fits["minilm"].assignments

    print(
        f"### (a) Encoder options: {len(texts)} NHS comments "
        f"({len(distinct)} distinct, mean {np.mean([len(t) for t in texts]):.0f} chars)\n"
    )
    header = [
        "encoder",
        "dim",
        "build s",
        "load s",
        "comments/s",
        "× fp32",
        "cos to fp32",
        "kNN@10 vs fp32",
        "batch inv. (min cos)",
        "topics",
        "unassigned",
        "NPMI",
        "diversity",
        "ARI vs fp32",
    ]
    out = []
    fp32_rate = len(texts) / rows["minilm"]["sec"]
    for name, r in rows.items():
        m = fits[name].metrics
        rate = len(texts) / r["sec"]
        build = "–" if r["build"] is None else f"{r['build']:.1f}" + ("" if r["built"] else "*")
        out.append(
            [
                f"`{name}`",
                str(r["dim"]),
                build,
                f"{r['load']:.1f}",
                f"{rate:,.0f}",
                f"{rate / fp32_rate:.1f}",
                fmt(r["cos"], ".4f"),
                fmt(r["knn"], ".3f"),
                fmt(r["invariance"], ".4f"),
                str(m.get("n_topics")),
                fmt(m.get("unassigned_share"), ".3f"),
                fmt(m.get("npmi"), ".3f"),
                fmt(m.get("topic_diversity"), ".3f"),
                fmt(adjusted_rand_score(base, fits[name].assignments), ".3f"),
            ]
        )
    m = refit.metrics
    out.append(
        ["`minilm`, UMAP seed 43"]
        + ["–"] * 8
        + [
            str(m.get("n_topics")),
            fmt(m.get("unassigned_share"), ".3f"),
            fmt(m.get("npmi"), ".3f"),
            fmt(m.get("topic_diversity"), ".3f"),
            fmt(adjusted_rand_score(base, refit.assignments), ".3f"),
        ]
    )
    print_table(header, out, "lrrrrrrrrrrrrr")
    fit_times = ", ".join(f"{k} {r['fit']:.0f}" for k, r in rows.items())
    print(
        "\nbuild s: one-off ONNX export / int8 quantisation / distillation from the packaged "
        "MiniLM (* = built in an earlier run, time read from its build.json); load s: this run. "
        f"Topic fits: `fit_topics`, seed 42, default parameters; fit seconds: {fit_times}.\n"
    )


# ---------------------------------------------------------------- (b) datasets


def bench_datasets(
    data: dict[str, list[str]], encoder: str, cache_dir: Path, workdir: Path, limit: int | None
) -> None:
    from nlp import embedding

    enc = embedding.load_encoder(encoder, cache_dir=cache_dir)
    out = []
    for name, docs in data.items():
        if limit:
            docs = docs[:limit]
        log(f"(b) {name}: embed {len(docs)}")
        t0 = time.perf_counter()
        emb = embedding.embed_texts(enc, docs)
        embed_s = time.perf_counter() - t0
        docs_path, emb_path = workdir / "docs.json", workdir / "emb.npy"
        docs_path.write_text(json.dumps(docs))
        np.save(emb_path, emb)
        log(f"(b) {name}: fit topics (2 seeds, subprocess)")
        r = run_worker(
            {
                "kind": "fit",
                "docs": str(docs_path),
                "embeddings": str(emb_path),
                "second_seed": True,
            },
            workdir,
        )
        m = r["metrics"]
        out.append(
            [
                name,
                f"{len(docs):,}",
                f"{np.mean([len(d) for d in docs]):.0f}",
                f"{embed_s:.1f}",
                f"{r['seconds']:.1f}",
                f"{r['rss_before_mb']:.0f}",
                f"{r['peak_fit_mb']:.0f}",
                str(m.get("n_topics")),
                fmt(m.get("unassigned_share"), ".3f"),
                fmt(m.get("npmi"), ".3f"),
                fmt(m.get("topic_diversity"), ".3f"),
                fmt(r.get("ari_seeds"), ".3f"),
            ]
        )
    print(f"### (b) Topic stage per dataset, encoder `{encoder}`\n")
    print_table(
        [
            "dataset",
            "docs",
            "mean chars",
            "embed s",
            "topic fit s",
            "RSS before fit MB",
            "peak RSS MB",
            "topics",
            "unassigned",
            "NPMI",
            "diversity",
            "ARI seed 42 vs 43",
        ],
        out,
        "lrrrrrrrrrrr",
    )
    print(
        "\nOne fit per subprocess; RSS before fit = interpreter + libraries + docs + embeddings; "
        "peak = VmHWM after the seed-42 fit.\n"
    )


# ---------------------------------------------------------------- (c) 100k


def bench_large(
    data: dict[str, list[str]],
    encoder: str,
    cache_dir: Path,
    workdir: Path,
    n: int,
    fit_sample: int,
) -> None:
    pools = {k: data[k] for k in ("NHS comments", "app reviews", "Polis comments")}
    t0 = time.perf_counter()
    docs = build_corpus(pools, n)
    build_s = time.perf_counter() - t0
    docs_path, emb_path = workdir / "large.json", workdir / "large.npy"
    docs_path.write_text(json.dumps(docs))
    log(f"(c) embed {n} with {encoder} (subprocess)")
    e = run_worker(
        {
            "kind": "embed",
            "docs": str(docs_path),
            "encoder": encoder,
            "cache_dir": str(cache_dir),
            "out": str(emb_path),
        },
        workdir,
    )
    log(f"(c) fit {fit_sample} + assign the rest (subprocess)")
    r = run_worker(
        {
            "kind": "large",
            "docs": str(docs_path),
            "embeddings": str(emb_path),
            "fit_sample": fit_sample,
        },
        workdir,
    )
    print(
        f"### (c) {n:,}-document corpus, encoder `{encoder}`\n\n"
        f"{len(set(docs)):,} distinct texts, mean {np.mean([len(d) for d in docs]):.0f} chars "
        f"(built in {build_s:.1f} s from {sum(len(p) for p in pools.values()):,} real texts)\n"
    )
    rows = [
        [
            f"embed {n:,} ({e['n_embedded']:,} distinct)",
            f"{e['seconds']:.1f}",
            f"{e['n_embedded'] / e['seconds']:,.0f} distinct docs/s",
            f"{e['peak_mb']:.0f}",
        ],
        [
            f"topics: fit {r['n_fit']:,} sample + assign {r['n_assigned']:,}",
            f"{r['fit_seconds']:.1f}",
            f"{r['n_topics']} topics, largest {fmt(r['largest_share'], '.1%')}; unassigned "
            f"{r['fit_unassigned']:.1%} of the sample, {r['rest_unassigned']:.1%} of the rest; "
            f"NPMI {fmt(r['npmi_fit'])} (sample), diversity {fmt(r['diversity'])}; "
            f"ARI seed 42 vs 43 over all {n:,}: {r['ari_seeds']:.3f}",
            f"{r['peak_fit_mb']:.0f}",
        ],
        [
            f"all {n:,}",
            f"{e['seconds'] + r['fit_seconds']:.1f}",
            f"{r['all_unassigned']:.1%} unassigned, NPMI over all docs {fmt(r['npmi_all'])}",
            f"{max(e['peak_mb'], r['peak_mb']):.0f}",
        ],
    ]
    print_table(["step", "seconds", "result", "peak RSS MB"], rows, "lrll")
    print(
        f"\nEmbedding and topics run in separate subprocesses; RSS before the embedding "
        f"{e['rss_before_mb']:.0f} MB, before the fit {r['rss_before_mb']:.0f} MB.\n"
    )


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--quick", action="store_true", help="smaller sets: a few minutes")
    ap.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder for (b) and (c)")
    ap.add_argument(
        "--encoders",
        type=Path,
        default=ROOT / "data" / "processed" / "models" / "encoders",
        help="where exported / distilled encoders are built once and reused",
    )
    ap.add_argument("--only", default="abc", help="parts to run, e.g. 'a' or 'bc'")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    n_embed, n_large, fit_sample, limit = (
        (1000, 10_000, 3000, 1500) if args.quick else (5000, 100_000, 20_000, None)
    )
    import onnxruntime
    import torch

    try:
        import model2vec

        m2v = model2vec.__version__
    except Exception:  # noqa: BLE001
        m2v = "?"
    started = time.perf_counter()
    print(
        f"Topics and encoders bench{' (--quick)' if args.quick else ''}: {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime "
        f"{onnxruntime.__version__}, model2vec {m2v}; load average at start {load_avg()}\n"
    )
    data = load_datasets(args.shared)
    rng = np.random.default_rng(11)
    nhs = data["NHS comments"]
    sample = [
        nhs[i] for i in np.sort(rng.choice(len(nhs), size=min(n_embed, len(nhs)), replace=False))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if "a" in args.only:
            bench_encoders(sample, args.encoders, workdir)
        if "b" in args.only:
            bench_datasets(data, args.encoder, args.encoders, workdir, limit)
        if "c" in args.only:
            bench_large(data, args.encoder, args.encoders, workdir, n_large, fit_sample)
    print(
        f"Total wall time {(time.perf_counter() - started) / 60:.1f} min; "
        f"load average at end {load_avg()}"
    )


if __name__ == "__main__":
    main()
