"""Fine-tune the sentiment branch (MiniLM layers 3-6 + classifier) and save models/sentiment_branch.

    .venv/bin/python scripts/train_sentiment_branch.py       # NHS patient feedback (default)

Rows whose id falls in the hold-out (crc32(id) % 5 == 0, see nlp/evaluation.py) are never
used: bench/evaluate.py scores the saved branch on exactly those rows. By default the branch is
fine-tuned on all the other rows. With --validation-every K a seeded 1/K of them is kept out
instead, to log macro-F1 per epoch and to fit a second stage (branch log-probabilities +
clause lexicon features), kept only if it beats the branch there. The settings (layers 3-6, 4
epochs, learning rate 1e-4) were chosen by 5-fold cross-validation inside the training rows
(bench/sentiment_cv.py; bench/README.md).

The token states come from the pipeline's own ONNX encoder export (layer 2 output), so the
branch is trained on exactly what the nightly flow hands it. About 6 minutes on 2 cores.
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
from nlp.sentiment.branch import (  # noqa: E402
    TrainingSettings,
    branch_log_probabilities,
    train_branch,
)
from nlp.sentiment.clauses import SentimentScorer, comment_clause_features  # noqa: E402
from nlp.sentiment.head import LABELS, Stack  # noqa: E402
from scripts.labelled import add_labelled_arguments, provenance, training_rows  # noqa: E402


def token_states(encoder, texts: list[str]) -> list[np.ndarray]:
    """Each text's layer-STATE_LAYER token states (the first chunk of a long text)."""
    states: list[np.ndarray | None] = [None] * len(texts)

    def keep(rows, batch, mask):
        for row, s, m in zip(rows, batch, mask, strict=True):
            if states[row] is None:
                states[row] = s[: int(m.sum())].astype(np.float32)

    embedding.embed_texts(encoder, texts, states_hook=keep)
    return states


def validation_stack(branch, args, texts: list[str], states, gold: list[str]) -> dict:
    """Fit the clause-feature stack on the validation rows; keep it only if it beats the
    branch alone in 5-fold CV there. Returns the metadata to record."""
    from sklearn.metrics import f1_score

    log_p = branch_log_probabilities(branch, states)
    features = comment_clause_features(load_spacy(), SentimentScorer(), texts)
    stack = Stack.fit(log_p, features, gold, args.stack_c)
    cv_stack = stack.cross_validated_f1(log_p, features, gold, 5, 1)
    alone = f1_score(gold, [LABELS[i] for i in log_p.argmax(1)], average="macro")
    print(f"validation macro-F1: branch {alone:.3f}, stacked (5-fold CV) {cv_stack:.3f}")
    branch.stack = stack if cv_stack > alone else None
    return {
        "validation": f"seeded 1/{args.validation_every} of the training rows "
        "(numpy default_rng(0) permutation)",
        "n_validation": len(gold),
        "validation_macro_f1_branch": round(float(alone), 4),
        "validation_cv_macro_f1_stacked": round(cv_stack, 4),
        "stacked": branch.stack is not None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_labelled_arguments(ap)
    ap.add_argument(
        "--validation-every",
        type=int,
        default=0,
        help="keep every K-th training row (seeded) out to log validation F1 per epoch and "
        "try the clause-feature stack on; 0 (default) trains on all training rows",
    )
    ap.add_argument("--epochs", type=int, default=TrainingSettings.epochs)
    ap.add_argument("--lr", type=float, default=TrainingSettings.learning_rate)
    ap.add_argument("--stack-c", type=float, default=1.0)
    ap.add_argument("--encoder", default="minilm-onnx", choices=("minilm", "minilm-onnx"))
    ap.add_argument("--out", type=Path, default=shipped_model("sentiment_branch"))
    ap.add_argument(
        "--licence",
        default="CC BY-NC-SA 4.0 derivative (trained on NHS patient feedback, see README)",
        help="the licence the training data puts on the model (recorded in its metadata)",
    )
    args = ap.parse_args()

    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    train = training_rows(args)
    encoder = embedding.load_encoder(args.encoder, cache_dir=ROOT / "data" / "interim" / "encoders")
    t0 = time.perf_counter()
    texts = train[args.text].tolist()
    states = token_states(encoder, texts)
    print(f"token states of {len(train)} training comments in {time.perf_counter() - t0:.0f} s")

    gold = train["gold"].tolist()
    order = np.random.default_rng(0).permutation(len(train))
    n_val = len(train) // args.validation_every if args.validation_every else 0
    val, fit = order[:n_val], order[n_val:]
    source = embedding.default_model_path()
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    layer = embedding.STATE_LAYER
    settings = TrainingSettings(epochs=args.epochs, learning_rate=args.lr)
    t0 = time.perf_counter()
    branch = train_branch(
        [states[i] for i in fit],
        [gold[i] for i in fit],
        base_layers=list(bert.encoder.layer)[layer:],
        bert_config=bert.config.to_dict(),
        encoder=embedding.SPACE_IDS[args.encoder],
        from_layer=layer,
        settings=settings,
        validation=([states[i] for i in val], [gold[i] for i in val]) if n_val else None,
    )
    print(f"fine-tuned on {len(fit)} comments in {time.perf_counter() - t0:.0f} s")
    branch.metadata |= {
        **provenance(args),
        "licence": args.licence,
        "base_model": embedding.MODEL_ID,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if n_val:
        branch.metadata |= validation_stack(
            branch,
            args,
            [texts[i] for i in val],
            [states[i] for i in val],
            [gold[i] for i in val],
        )
    out = branch.save(args.out)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"saved branch ({size:.1f} MB, stacked: {branch.stack is not None}) to {out}")


if __name__ == "__main__":
    main()
