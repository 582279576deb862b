"""UMAP's neighbours: NN-descent (umap-learn's own, from 4,096 points) against the exact cosine
neighbours of one blocked matrix product handed to UMAP as `precomputed_knn` (`ExactKnnUMAP`
below: tried for the themes stage, faster, not shipped: it lowered NHS agreement with the human
labels), on the same statements and embeddings, over several seeds in one process.

NHS comments (the seeded 2,500-comment sample of `bench/statement_themes.py`, about 4,200
statements) through the themes stage (`theme_tables`, a first-run refit) per seed and per
neighbour search: themes, unassigned statements, NMI of the primary theme with the single
human theme label, ARI between the two searches' statement assignments at the same seed, and
the stage's seconds. The first NN-descent fit of the process pays numba's compile of
pynndescent, as every nightly run did; its seconds are printed apart.

    .venv/bin/python bench/exact_knn.py [--n 2500] [--seeds 42 43 44]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench import statement_themes as st  # noqa: E402
from nlp.themes.reduction import CachedUMAP  # noqa: E402

APPROXIMATE_FROM = 4096  # UMAP's own switch from exact distances to NN-descent
BLOCK_ROWS = 2048


def exact_cosine_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` nearest rows by cosine distance, itself first, ties by row index."""
    x = np.asarray(x, dtype=np.float32)
    n, k = len(x), min(k, len(x))
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        block = np.clip(1.0 - unit[start : start + BLOCK_ROWS] @ unit.T, 0.0, 2.0)
        own = np.arange(len(block))
        block[own, start + own] = -1.0
        kth = np.partition(block, k - 1, axis=1)[:, k - 1]
        for r in own:
            candidates = np.flatnonzero(block[r] <= kth[r])
            order = candidates[np.lexsort((candidates, block[r, candidates]))[:k]]
            indices[start + r] = order
            distances[start + r] = np.maximum(block[r, order], 0.0)
    return indices, distances


class ExactKnnUMAP(CachedUMAP):
    """UMAP on exact cosine neighbours from 4,096 points (UMAP's own exact path below)."""

    def fit(self, X, y=None, *args, **kwargs):  # noqa: N803
        data = np.asarray(X, dtype=np.float32)
        exact = self.metric == "cosine" and len(data) >= APPROXIMATE_FROM
        knn = exact_cosine_knn(data, self.n_neighbors) if exact else (None, None)
        self.precomputed_knn = (*knn, None)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            return super().fit(X, y, *args, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/statement_themes_cache"))
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    from sklearn.metrics import adjusted_rand_score

    from nlp.embedding import load_encoder
    from nlp.language import load_spacy
    from nlp.themes import model
    from nlp.themes.statements import own_document_rows

    frame = st.datasets(args.shared, args.n)["NHS comments"]
    nlp, encoder = load_spacy(), load_encoder()
    units = st.units_of(frame, "after", nlp)
    doc_emb = st.cached(encoder, frame["text"].tolist(), args.cache)
    rows = own_document_rows(
        units, pd.DataFrame({"comment_id": [f"d{i}" for i in range(len(frame))]})
    )
    own = rows >= 0
    emb = np.empty((len(units), doc_emb.shape[1]), dtype=np.float32)
    emb[own] = doc_emb[rows[own]]
    emb[~own] = st.cached(encoder, units.loc[~own, "text"].tolist(), args.cache)
    print(f"NHS: {len(frame)} comments, {len(units)} statements; 2 cores, load {st.load_avg()}")
    print("| seed | neighbours | themes | unassigned | NMI (label) | ARI exact vs NN-descent | s |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    totals: dict[str, list] = {"nn-descent": [], "exact": []}
    for seed in args.seeds:
        assigned = {}
        for name, cls in (("nn-descent", CachedUMAP), ("exact", ExactKnnUMAP)):
            model.CachedUMAP = cls  # the class `_bertopic` builds
            t0 = time.perf_counter()
            tables = st.fit(units, emb, nlp, encoder, seed, [])
            seconds = time.perf_counter() - t0
            m = tables.result.metrics
            nmi = st.nmi_with_labels(tables, frame)
            assigned[name] = tables.statements["topic_id"].fillna(-1).to_numpy()
            ari = (
                adjusted_rand_score(assigned["nn-descent"], assigned[name])
                if name == "exact"
                else None
            )
            totals[name].append((m["n_topics"], m["unassigned_share"], nmi, seconds))
            print(
                f"| {seed} | {name} | {m['n_topics']} | {m['unassigned_share']:.3f} | {nmi:.3f} | "
                f"{'' if ari is None else f'{ari:.3f}'} | {seconds:.0f} |",
                flush=True,
            )
    model.CachedUMAP = CachedUMAP
    for name, rows_ in totals.items():
        a = np.array(rows_, dtype=float)
        print(
            f"{name}: mean themes {a[:, 0].mean():.1f}, unassigned {a[:, 1].mean():.3f}, "
            f"NMI {a[:, 2].mean():.3f} (sd {a[:, 2].std(ddof=1) if len(a) > 1 else 0:.3f}), "
            f"seconds {a[:, 3].mean():.0f} (first {a[0, 3]:.0f})"
        )


if __name__ == "__main__":
    main()
