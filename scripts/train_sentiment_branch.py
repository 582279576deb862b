"""Fine-tune the sentiment branch (MiniLM layers 4-6 + classifier) and save models/sentiment_branch.

    .venv/bin/python scripts/train_sentiment_branch.py       # NHS patient feedback (default)

Rows whose id falls in the hold-out (crc32(id) % 5 == 0, see nlp/evaluation.py) are never
used: bench/evaluate.py scores the saved branch on exactly those rows. The remaining rows are
split once more (seeded, 1/8) into the rows the branch is fine-tuned on and a validation part,
which logs macro-F1 per epoch and fits the second stage (branch log-probabilities + clause
lexicon features) where the branch has not seen the comments. The settings (layers 4-6, 4
epochs, learning rate 1e-4) were chosen on that validation part; see bench/README.md.

The token states come from the pipeline's own ONNX encoder export (layer 3 output), so the
branch is trained on exactly what the nightly flow hands it. About 4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.tasks import load_spacy  # noqa: E402
from nlp import embedding  # noqa: E402
from nlp.evaluation import holdout_mask, map_labels, parse_label_map  # noqa: E402
from nlp.sentiment import SentimentScorer, comment_clause_features  # noqa: E402
from nlp.sentiment_branch import (  # noqa: E402
    BRANCH_DIR,
    TrainingSettings,
    branch_log_probabilities,
    train_branch,
)
from nlp.sentiment_head import LABELS, Stack  # noqa: E402

NHS = "nhs_patient_feedback_v6.csv"


def token_states(encoder, texts: list[str]) -> list[np.ndarray]:
    """Each text's layer-STATE_LAYER token states (the first chunk of a long text)."""
    states: list[np.ndarray | None] = [None] * len(texts)

    def keep(rows, batch, mask):
        for row, s, m in zip(rows, batch, mask, strict=True):
            if states[row] is None:
                states[row] = s[: int(m.sum())].astype(np.float32)

    embedding.embed_texts(encoder, texts, states_hook=keep)
    return states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / NHS)
    ap.add_argument("--id", default="Comment ID")
    ap.add_argument("--text", default="FFT answer")
    ap.add_argument("--label", default="Comment sentiment")
    ap.add_argument("--map", default="1,2=positive;3=neutral;4,5=negative")
    ap.add_argument("--holdout-every", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=TrainingSettings.epochs)
    ap.add_argument("--lr", type=float, default=TrainingSettings.learning_rate)
    ap.add_argument("--stack-c", type=float, default=1.0)
    ap.add_argument("--encoder", default="minilm-onnx", choices=("minilm", "minilm-onnx"))
    ap.add_argument("--out", type=Path, default=BRANCH_DIR)
    args = ap.parse_args()

    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    df = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    df["gold"] = map_labels(df[args.label].replace("", pd.NA), parse_label_map(args.map))
    df = df[df["gold"].notna() & df[args.text].str.strip().ne("")]
    train = df[~holdout_mask(df[args.id], args.holdout_every)].reset_index(drop=True)
    encoder = embedding.load_encoder(args.encoder, cache_dir=ROOT / "data" / "interim" / "encoders")
    t0 = time.perf_counter()
    texts = train[args.text].tolist()
    states = token_states(encoder, texts)
    print(f"token states of {len(train)} training comments in {time.perf_counter() - t0:.0f} s")

    rng = np.random.default_rng(0)
    order = rng.permutation(len(train))
    val, fit = order[: len(train) // 8], order[len(train) // 8 :]
    gold = train["gold"].tolist()
    source = embedding.default_model_path()
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    layer = embedding.STATE_LAYER
    settings = TrainingSettings(epochs=args.epochs, learning_rate=args.lr)
    t0 = time.perf_counter()
    branch = train_branch(
        [states[i] for i in fit],
        [gold[i] for i in fit],
        list(bert.encoder.layer)[layer:],
        bert.config.to_dict(),
        embedding.SPACE_IDS[args.encoder],
        layer,
        settings,
        validation=([states[i] for i in val], [gold[i] for i in val]),
    )
    print(f"fine-tuned on {len(fit)} comments in {time.perf_counter() - t0:.0f} s")

    log_p = branch_log_probabilities(branch, [states[i] for i in val])
    features = comment_clause_features(load_spacy(), SentimentScorer(), [texts[i] for i in val])
    val_gold = [gold[i] for i in val]
    stack = Stack.fit(log_p, features, val_gold, args.stack_c)
    cv_stack = stack.cross_validated_f1(log_p, features, val_gold, 5, 1)
    from sklearn.metrics import f1_score

    alone = f1_score(val_gold, [LABELS[i] for i in log_p.argmax(1)], average="macro")
    print(f"validation macro-F1: branch {alone:.3f}, stacked (5-fold CV) {cv_stack:.3f}")
    branch.stack = stack if cv_stack > alone else None
    branch.metadata |= {
        "trained_on": args.data.name,
        "licence": "CC BY-NC-SA 4.0 derivative (trained on NHS patient feedback, see README)",
        "base_model": embedding.MODEL_ID,
        "label_column": args.label,
        "label_map": args.map,
        "holdout": f"crc32({args.id}) % {args.holdout_every} == 0 excluded",
        "validation": "seeded 1/8 of the training rows (numpy default_rng(0) permutation)",
        "n_validation": len(val),
        "validation_macro_f1_branch": round(float(alone), 4),
        "validation_cv_macro_f1_stacked": round(cv_stack, 4),
        "stacked": branch.stack is not None,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = branch.save(args.out)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"saved branch ({size:.1f} MB, stacked: {branch.stack is not None}) to {out}")


if __name__ == "__main__":
    main()
