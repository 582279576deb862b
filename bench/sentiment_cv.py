"""Cross-validate the sentiment branch recipe inside the NHS training rows (hold-out untouched).

    .venv/bin/python bench/sentiment_cv.py --from-layer 2            # ~16 min on 2 cores
    .venv/bin/python bench/sentiment_cv.py --from-layer 3 --no-int8  # the earlier branch

The rows scripts/train_sentiment_branch.py trains on (crc32(id) % 5 != 0) are split into 5
stratified folds (seed 0). For each fold a branch is fine-tuned from MiniLM's layers above
--from-layer on the other four, exactly as the training script does (nlp.sentiment.branch.
train_branch), and scores the held fold. Printed: macro-F1 per fold and epoch, the pooled
out-of-fold macro-F1 and per-class F1 of the last epoch, in fp32 and, as the pipeline runs it,
with int8 MatMul weights under onnxruntime. This is the number the recipe (layers, epochs) was
chosen on; the hold-out rows are scored only by bench/evaluate.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import embedding  # noqa: E402
from nlp.sentiment.branch import (  # noqa: E402
    TrainingSettings,
    branch_log_probabilities,
    train_branch,
)
from nlp.sentiment.head import LABELS  # noqa: E402
from scripts.labelled import add_labelled_arguments, training_rows  # noqa: E402


def layer_states(texts: list[str], layer: int, batch_size: int = 64) -> list[np.ndarray]:
    """Each text's token states after transformer layer `layer` of torch MiniLM (truncated to
    the window, padding dropped)."""
    states: list[np.ndarray] = [np.zeros(0)] * len(texts)

    def keep(rows, batch, mask):
        for row, h, m in zip(rows, batch, mask, strict=True):
            states[row] = h[: int(m.sum())].astype(np.float32)

    embedding.torch_states(embedding.load_encoder("minilm"), texts, batch_size, keep, layer)
    return states


def main() -> None:
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from transformers import AutoModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_labelled_arguments(ap)
    ap.add_argument("--from-layer", type=int, default=embedding.STATE_LAYER)
    ap.add_argument("--epochs", type=int, default=TrainingSettings.epochs)
    ap.add_argument("--lr", type=float, default=TrainingSettings.learning_rate)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 onnxruntime scoring")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    train = training_rows(args)
    gold = train["gold"].to_numpy()
    t0 = time.perf_counter()
    states = layer_states(train[args.text].tolist(), args.from_layer)
    seconds = time.perf_counter() - t0
    print(f"{len(train)} training rows; layer-{args.from_layer} states in {seconds:.0f} s")
    bert = AutoModel.from_pretrained(
        str(embedding.default_model_path()), attn_implementation="eager"
    )
    base = list(bert.encoder.layer)[args.from_layer :]
    settings = TrainingSettings(epochs=args.epochs, learning_rate=args.lr)
    variants = ["fp32"] + ([] if args.no_int8 else ["int8"])
    oof = {v: np.zeros((len(train), len(LABELS))) for v in variants}
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    for k, (fit, held) in enumerate(folds.split(np.zeros(len(train)), gold)):
        t0 = time.perf_counter()
        branch = train_branch(
            [states[i] for i in fit],
            gold[fit].tolist(),
            base_layers=base,
            bert_config=bert.config.to_dict(),
            encoder=embedding.SPACE_IDS["minilm"],
            from_layer=args.from_layer,
            settings=settings,
            validation=([states[i] for i in held], gold[held].tolist()),
            log=lambda _: None,
        )
        held_states = [states[i] for i in held]
        oof["fp32"][held] = branch_log_probabilities(branch, held_states)
        if "int8" in oof:
            with tempfile.TemporaryDirectory() as tmp:
                branch.use_onnx(Path(tmp))
                oof["int8"][held] = branch_log_probabilities(branch, held_states)
        by_epoch = " ".join(f"{f:.3f}" for f in branch.metadata["validation_macro_f1_by_epoch"])
        print(f"fold {k}: macro-F1 by epoch {by_epoch} ({time.perf_counter() - t0:.0f} s)")
    print(
        f"\nlayers {args.from_layer + 1}-6 fine-tuned, {args.epochs} epochs, lr {args.lr}: "
        "pooled out-of-fold scores of the last epoch"
    )
    print(
        "| scoring | macro-F1 | F1 negative | F1 neutral | F1 positive |\n|---|---:|---:|---:|---:|"
    )
    for name, log_p in oof.items():
        pred = np.array(LABELS)[log_p.argmax(1)]
        per = f1_score(gold, pred, labels=list(LABELS), average=None)
        macro = f1_score(gold, pred, average="macro")
        print(f"| {name} | {macro:.4f} | " + " | ".join(f"{f:.3f}" for f in per) + " |")
    if "int8" in oof:
        same = (oof["int8"].argmax(1) == oof["fp32"].argmax(1)).mean()
        print(f"\nint8 and fp32 give the same label for {same:.1%} of the rows")


if __name__ == "__main__":
    main()
