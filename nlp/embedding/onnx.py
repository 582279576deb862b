"""The ONNX options (`minilm-onnx`, `minilm-onnx-int8`): MiniLM exported to ONNX, run by
onnxruntime behind the `Encoder` protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.embedding.protocol import (
    BUILD_FILE,
    ENCODER_IDS,
    SPACE_IDS,
    STATES_OUTPUT,
    StatesHook,
)


class OnnxEncoder:
    """MiniLM exported to ONNX: tokenizer + onnxruntime + masked mean pooling.

    A dynamically quantised model scales its activations per input tensor, so in a padded
    batch a text's vector would depend on its batch-mates (cosine down to ~0.97); it therefore
    runs one text per call, which keeps every vector a function of its text alone, as the
    text-hash embedding cache assumes.
    """

    def __init__(self, directory: str | Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        directory = Path(directory)
        meta = json.loads((directory / BUILD_FILE).read_text(encoding="utf-8"))
        settings = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        self.name = meta["encoder"]
        self.encoder_id = ENCODER_IDS[self.name]
        self.space_id = SPACE_IDS[self.name]
        self.directory = directory
        self.one_text_per_call = bool(meta.get("quantization"))
        self.max_seq_length = int(settings["max_seq_length"])
        self._dim = int(settings["dimension"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no spin-waiting between runs: the sentiment branch and the encoder take turns
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.was_built = False

    @property
    def has_states(self) -> bool:
        return STATES_OUTPUT in self._outputs

    def dimension(self) -> int:
        return self._dim

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        states_hook: StatesHook | None = None,
        *,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        """Embed texts (n x dim float32); batches are length-sorted to limit padding.

        `states_hook(rows, states, mask)` receives each batch's layer-STATE_LAYER token states
        (the sentiment branch's input) with the batch's text indices and attention mask.
        """
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        batch_size = 1 if self.one_text_per_call else max(1, batch_size)
        block = 8192  # tokenise a block at a time: bounded memory on large corpora
        for first in range(0, len(texts), block):
            chunk = [str(s) for s in texts[first : first + block]]
            encodings = self.tokenizer.encode_batch(chunk)
            order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                rows = [encodings[i].ids for i in idx]
                out[first + idx] = self._pool(rows, first + idx, states_hook)
        if normalize_embeddings and len(out):
            out /= np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
        return out

    def _pool(
        self, rows: list[list[int]], index: np.ndarray, hook: StatesHook | None = None
    ) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = self._outputs if hook is not None else self._outputs[:1]
        result = self.session.run(wanted, {k: v for k, v in feed.items() if k in self._inputs})
        states = result[0]
        if hook is not None:
            if len(result) < 2:
                raise ValueError(f"{self.directory}: this export has no {STATES_OUTPUT} output")
            hook(index, result[1], mask)
        weights = mask[..., None].astype(np.float32)
        return (states * weights).sum(axis=1) / weights.sum(axis=1).clip(min=1e-9)
