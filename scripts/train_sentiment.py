"""Train the comment sentiment head on labelled feedback and save it to models/sentiment_head.

    .venv/bin/python scripts/train_sentiment.py            # NHS patient feedback (default)

Rows whose id falls in the hold-out (crc32(id) % 5 == 0, see nlp/evaluation.py) are never
used for training or tuning; bench/evaluate.py scores the saved head on exactly those rows.
The head (embedding regression + a second regression stacked on its out-of-fold probabilities
and the clause lexicon features, which need spaCy) is a few kilobytes of safetensors; the
sentence encoder is the pipeline's own. --no-stack trains the embedding regression alone.
C = 0.01 and stack C = 1.0 were chosen by 5-fold cross-validation inside the training rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import shipped_model  # noqa: E402
from nlp import embedding  # noqa: E402
from nlp.language import load_spacy  # noqa: E402
from nlp.sentiment.clauses import SentimentScorer, comment_clause_features  # noqa: E402
from nlp.sentiment.head import train_head  # noqa: E402
from scripts.labelled import add_labelled_arguments, provenance, training_rows  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_labelled_arguments(ap)
    ap.add_argument("--c", type=float, default=0.01)
    ap.add_argument("--stack-c", type=float, default=1.0)
    ap.add_argument("--no-stack", action="store_true", help="embedding regression only")
    ap.add_argument("--encoder", default="minilm", choices=embedding.ENCODERS)
    ap.add_argument("--out", type=Path, default=shipped_model("sentiment_head"))
    args = ap.parse_args()

    train = training_rows(args)
    encoder = embedding.load_encoder(args.encoder, cache_dir=ROOT / "data" / "interim" / "encoders")
    t0 = time.perf_counter()
    X = embedding.embed_texts(encoder, train[args.text].tolist())
    print(f"embedded {len(train)} training comments in {time.perf_counter() - t0:.0f} s")
    features = None
    if not args.no_stack:
        t0 = time.perf_counter()
        texts = train[args.text].tolist()
        features = comment_clause_features(load_spacy(), SentimentScorer(), texts)
        print(f"clause features of {len(train)} comments in {time.perf_counter() - t0:.0f} s")
    head = train_head(
        X,
        train["gold"].tolist(),
        embedding.SPACE_IDS[args.encoder],
        c=args.c,
        features=features,
        stack_c=args.stack_c,
        **provenance(args),
        class_counts=train["gold"].value_counts().to_dict(),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out = head.save(args.out)
    print(f"saved head ({head.weight.shape[0]}x{head.weight.shape[1]}) to {out}")
    labels, _ = head.predict(X, features)
    print(f"training accuracy {np.mean(np.array(labels) == train['gold'].to_numpy()):.3f}")
    for key in ("cv_macro_f1_embedding", "cv_macro_f1_stacked"):
        if key in head.metadata:
            print(f"{key} (5-fold, training rows only): {head.metadata[key]}")


if __name__ == "__main__":
    main()
