"""The sentiment branch: MiniLM's top layers fine-tuned for comment sentiment, sharing the
embedding pass's lower layers.

The sentence encoder runs six transformer layers per comment for the topic stage. The branch
takes the token states after layer `STATE_LAYER` (2) from that same pass (the ONNX export
returns them beside the last layer's; see `nlp.embedding.embed_texts(states_hook=...)`) and runs
its own copies of layers 3-6, fine-tuned on labelled comments, a masked mean and a linear
classifier. The embedding and the topics are untouched; the branch costs two thirds of an
encoder pass (a third of one with its int8 weights under onnxruntime) instead of a second
model. An optional second-stage regression (`nlp.sentiment.head.Stack`) reads the branch's
log-probabilities and the comment's clause lexicon features, as for the regression head.

Saved as safetensors (layer weights float16, classifier and stack float32) + metadata.json.
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp import storage
from nlp.sentiment.head import LABELS, CommentLabeller, Stack
from nlp.storage import METADATA, load_head, save_head

_CONFIG_KEYS = (
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "layer_norm_eps",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
)


def _torch():
    import torch

    return torch


def _module(config: dict, n_layers: int):
    torch = _torch()
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    bert_config = BertConfig(**config)
    bert_config._attn_implementation = "eager"

    class Branch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(BertLayer(bert_config) for _ in range(n_layers))
            self.dropout = torch.nn.Dropout(config.get("hidden_dropout_prob", 0.1))
            self.classifier = torch.nn.Linear(config["hidden_size"], len(LABELS))

        def forward(self, states, mask):
            additive = (1.0 - mask[:, None, None, :].to(states.dtype)) * -1e9
            h = states
            for layer in self.layers:
                out = layer(h, attention_mask=additive)
                h = out[0] if isinstance(out, tuple) else out
            weights = mask[..., None].to(h.dtype)
            pooled = (h * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return self.classifier(self.dropout(pooled))

    return Branch()


@dataclass(frozen=True)
class _Deferred:
    """A saved branch's torch module, built when first needed: a run whose ONNX export is
    already cached never imports transformers' BERT layers (several seconds a run)."""

    tensors: dict
    meta: dict

    def build(self):
        torch = _torch()
        module = _module(self.meta["bert_config"], self.meta["n_layers"])
        names = set(module.state_dict())
        weights = {k: torch.from_numpy(v.astype(np.float32)) for k, v in self.tensors.items()}
        module.load_state_dict({k: v for k, v in weights.items() if k in names})
        module.eval()
        return module


@dataclass
class SentimentBranch:
    """Fine-tuned top layers + classifier over the encoder's layer-`from_layer` token states."""

    module: object  # torch.nn.Module, or a _Deferred one (`load`): built on first use
    encoder: str  # embedding space id the states come from (nlp.embedding.SPACE_IDS)
    from_layer: int
    metadata: dict = field(default_factory=dict)
    stack: Stack | None = None

    session: object | None = None  # onnxruntime session after `use_onnx`

    def log_probabilities(self, states: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(batch, 3) log-probabilities in LABELS order for one batch of token states."""
        if self.session is not None:
            logits = self.session.run(None, {"states": states, "mask": mask})[0]
            logits = logits.astype(np.float64)
            return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        torch = _torch()
        module = self.torch_module()
        module.eval()
        with torch.no_grad():
            logits = module(torch.from_numpy(states), torch.from_numpy(mask))
            return torch.log_softmax(logits, dim=-1).numpy().astype(np.float64)

    def use_onnx(self, cache_dir: Path, int8: bool = True) -> Path:
        """Export the branch to ONNX once (into `cache_dir/<cache_key>/`, atomically)
        and run it with onnxruntime from now on: about twice torch's speed on CPU; with `int8`
        (the pipeline's default) its MatMul weights quantised dynamically, 2.4x faster again
        (agreement with fp32 and hold-out F1 in bench/README.md)."""
        import onnxruntime as ort

        from nlp.embedding import quantize_matmuls

        target = Path(cache_dir) / self.cache_key
        model = target / "branch.onnx"
        if not model.exists():
            torch, module = _torch(), self.torch_module()
            with storage.atomic_directory(target) as tmp:
                hidden = module.classifier.in_features
                example = (torch.zeros(2, 5, hidden), torch.ones(2, 5, dtype=torch.long))
                module.eval()
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    storage.export_onnx(
                        module,
                        example,
                        tmp / "branch.onnx",
                        input_names=["states", "mask"],
                        output_names=["logits"],
                        dynamic_axes={
                            "states": {0: "batch", 1: "sequence"},
                            "mask": {0: "batch", 1: "sequence"},
                            "logits": {0: "batch"},
                        },
                        opset_version=17,
                        dynamo=False,
                    )
        if int8:
            quantized = target / "branch.int8.onnx"
            if not quantized.exists():
                quantize_matmuls(model, quantized)  # written beside it, renamed into place
            model = quantized
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no spin-waiting between runs: the sentiment branch and the encoder take turns
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        return model

    def torch_module(self):
        """The branch as a torch module, built now if `load` deferred it."""
        if isinstance(self.module, _Deferred):
            self.module = self.module.build()
        return self.module

    def collector(self) -> BranchCollector:
        return BranchCollector(self)

    @property
    def cache_key(self) -> str:
        """Keys the per-text cache of this branch's outputs (changes when it is retrained)."""
        return f"sentiment-branch-{self.metadata.get('fingerprint', 'unsaved')}"

    def labeller(self, log_p: np.ndarray) -> CommentLabeller:
        """Per-comment labelling for `tag_comments` from the run's branch log-probabilities."""
        return CommentLabeller(log_p) if self.stack is None else self.stack.labeller(log_p)

    def predict(
        self, log_p: np.ndarray, features: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        p = np.exp(log_p) if self.stack is None else self.stack.probabilities(log_p, features)
        return [LABELS[i] for i in p.argmax(axis=1)], (p[:, 2] - p[:, 0]).astype("float64")

    def save(self, directory: Path) -> Path:
        """model.safetensors + metadata.json (with the tensors' fingerprint) into `directory`,
        atomically (`nlp.storage.save_head`)."""
        tensors = {}
        for name, value in self.torch_module().state_dict().items():
            array = value.detach().numpy()
            tensors[name] = array.astype(np.float16 if name.startswith("layers.") else np.float32)
        meta = {**self.metadata, "encoder": self.encoder, "from_layer": self.from_layer}
        meta["labels"] = list(LABELS)
        if self.stack is not None:
            tensors |= self.stack.tensors()
            meta |= self.stack.metadata()
        directory = save_head(directory, tensors, meta, fingerprint=True)
        saved = json.loads((directory / METADATA).read_text("utf-8"))
        self.metadata["fingerprint"] = saved["fingerprint"]
        return directory

    @classmethod
    def load(cls, directory: Path, encoder: str, state_layer: int) -> SentimentBranch:
        """Load a saved branch; refuses pickle, another encoder's branch, another state layer."""
        tensors, meta = load_head(directory, encoder)
        if meta.get("from_layer") != state_layer:
            raise ValueError(
                f"{directory}: branch reads layer {meta.get('from_layer')} states, the encoder "
                f"exports layer {state_layer}; retrain it with scripts/train_sentiment_branch.py"
            )
        return cls(
            _Deferred(tensors, meta),
            meta["encoder"],
            meta["from_layer"],
            meta,
            Stack.load(tensors, meta),
        )


class BranchCollector:
    """A `states_hook` for `embed_texts` / `embed_with_cache`: runs the branch on each batch
    and keeps, per key (row index or text hash), the mean of its chunks' log-probabilities."""

    def __init__(self, branch: SentimentBranch):
        self.branch = branch
        self.sums: dict = {}
        self.counts: dict = {}
        self.seconds = 0.0  # spent running the branch (its own cost beside the shared pass)

    def __call__(self, keys: Sequence, states: np.ndarray, mask: np.ndarray) -> None:
        t0 = time.perf_counter()
        log_p = self.branch.log_probabilities(states.astype(np.float32), mask.astype(np.int64))
        self.seconds += time.perf_counter() - t0
        for key, row in zip(keys, log_p, strict=True):
            key = key.item() if isinstance(key, np.generic) else key
            self.sums[key] = self.sums.get(key, 0.0) + row
            self.counts[key] = self.counts.get(key, 0) + 1

    def results(self) -> dict:
        """key -> log-probabilities (a long text's chunks averaged, renormalised)."""
        out = {}
        for key, total in self.sums.items():
            mean = total / self.counts[key]
            out[key] = mean - np.logaddexp.reduce(mean)
        return out

    def log_probabilities(self, keys: Sequence) -> np.ndarray:
        """Rows in the order of `keys`; every key must have had states."""
        found = self.results()
        missing = [k for k in keys if k not in found]
        if missing:
            raise ValueError(f"{len(missing)} texts got no token states")
        return np.stack([found[k] for k in keys]) if len(keys) else np.zeros((0, len(LABELS)))


@dataclass
class TrainingSettings:
    """Chosen by 5-fold cross-validation inside the NHS training rows (bench/sentiment_cv.py)."""

    epochs: int = 4
    learning_rate: float = 1e-4
    batch_size: int = 32
    weight_decay: float = 0.01
    seed: int = 0


def train_branch(
    states: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    base_layers: Sequence[object],
    bert_config: dict,
    encoder: str,
    from_layer: int,
    settings: TrainingSettings | None = None,
    validation: tuple[Sequence[np.ndarray], Sequence[str]] | None = None,
    log=print,
    **metadata,
) -> SentimentBranch:
    """Fine-tune copies of `base_layers` (the encoder's layers above `from_layer`) and a
    classifier on per-comment token states (each (tokens, hidden) float32): class-weighted
    cross-entropy, AdamW with a one-cycle schedule, length-bucketed batches. `validation`
    macro-F1 is logged per epoch and kept in metadata (it chooses nothing)."""
    torch = _torch()
    settings = settings or TrainingSettings()
    unknown = set(labels) - set(LABELS)
    if unknown:
        raise ValueError(f"sentiment labels must be in {LABELS}, got {sorted(unknown)}")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    config = {k: bert_config[k] for k in _CONFIG_KEYS if k in bert_config}
    module = _module(config, len(base_layers))
    for mine, base in zip(module.layers, base_layers, strict=True):
        mine.load_state_dict(copy.deepcopy(base.state_dict()))
    y = torch.tensor([LABELS.index(label) for label in labels])
    counts, loss_fn = _weighted_loss(torch, y)
    optimiser, schedule = _optimiser(
        torch, module, settings, -(-len(states) // settings.batch_size)
    )
    branch = SentimentBranch(module, encoder, from_layer)
    history = []
    for epoch in range(settings.epochs):
        module.train()
        for rows in _buckets(states, settings.batch_size, rng):
            x, mask = _pad([states[i] for i in rows])
            loss = loss_fn(module(torch.from_numpy(x), torch.from_numpy(mask)), y[rows])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimiser.step()
            schedule.step()
        if validation is not None:
            history.append(_validation_f1(branch, validation))
            log(f"epoch {epoch + 1}: validation macro-F1 {history[-1]:.3f}")
    module.eval()
    branch.metadata = {
        "bert_config": config,
        "n_layers": len(base_layers),
        "n_train": len(states),
        "class_counts": dict(zip(LABELS, counts.tolist(), strict=True)),
        "training": settings.__dict__,
        "validation_macro_f1_by_epoch": history,
        **metadata,
    }
    return branch


def _weighted_loss(torch, y):
    """Class counts and a cross-entropy weighted by the square root of inverse frequency."""
    counts = np.bincount(y.numpy(), minlength=len(LABELS)).clip(min=1)
    weight = torch.tensor(np.sqrt(counts.sum() / (len(LABELS) * counts)), dtype=torch.float32)
    return counts, torch.nn.CrossEntropyLoss(weight=weight)


def _optimiser(torch, module, settings: TrainingSettings, per_epoch: int):
    """AdamW with a one-cycle linear schedule over all epochs."""
    optimiser = torch.optim.AdamW(
        module.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=settings.learning_rate,
        total_steps=settings.epochs * per_epoch + 1,
        pct_start=0.1,
        anneal_strategy="linear",
    )
    return optimiser, schedule


def _validation_f1(branch: SentimentBranch, validation) -> float:
    from sklearn.metrics import f1_score

    log_p = branch_log_probabilities(branch, validation[0])
    predicted = [LABELS[i] for i in log_p.argmax(1)]
    return round(float(f1_score(list(validation[1]), predicted, average="macro")), 4)


def branch_log_probabilities(
    branch: SentimentBranch, states: Sequence[np.ndarray], batch_size: int = 128
) -> np.ndarray:
    """Log-probabilities for per-comment token states (training and evaluation helper)."""
    order = np.argsort([len(s) for s in states], kind="stable")
    out = np.zeros((len(states), len(LABELS)))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        x, mask = _pad([states[i] for i in rows])
        out[rows] = branch.log_probabilities(x, mask)
    return out


def _pad(states: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(s) for s in states)
    x = np.zeros((len(states), width, states[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(states), width), dtype=np.int64)
    for row, s in enumerate(states):
        x[row, : len(s)] = s
        mask[row, : len(s)] = 1
    return x, mask


def _buckets(states: Sequence[np.ndarray], size: int, rng: np.random.Generator) -> list:
    """Shuffled batches of similar length (sorted inside blocks of 16 batches)."""
    order = rng.permutation(len(states))
    batches = []
    for start in range(0, len(order), size * 16):
        block = sorted(order[start : start + size * 16], key=lambda i: len(states[i]))
        batches += [block[i : i + size] for i in range(0, len(block), size)]
    rng.shuffle(batches)
    return batches
