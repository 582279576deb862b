"""Sentence embeddings: encoder options (torch, ONNX fp32/int8, static) behind one `Encoder`
protocol, built once into a cache directory, and the embedding stage.

Imports no torch or sentence_transformers: the adapters load them when an encoder is made.
"""

from nlp.embedding.build import (
    _BUILD_VERSION,
    BUILT,
    _fingerprint,
    _is_current,
    build_encoder,
    quantize_matmuls,
)
from nlp.embedding.encode import (
    chunk_words,
    embed_texts,
    embed_with_cache,
    embedding_dimension,
    encoder_id,
    has_states,
    torch_states,
)
from nlp.embedding.load import load_encoder
from nlp.embedding.onnx import OnnxEncoder
from nlp.embedding.protocol import (
    BUILD_FILE,
    DEFAULT_ENCODER,
    ENCODER_IDS,
    ENCODERS,
    LEGACY_SPACE_IDS,
    MODEL2VEC_PCA_DIMS,
    MODEL_ID,
    MODEL_PACKAGE,
    MODEL_VERSION,
    SPACE_IDS,
    STATE_LAYER,
    STATES_OUTPUT,
    Encoder,
    StatesHook,
    default_model_path,
)
from nlp.embedding.protocol import source_dir as _source_dir
from nlp.embedding.stage import Embedded, embedded_documents
from nlp.embedding.static import StaticEncoder
from nlp.embedding.torch import TorchEncoder

__all__ = [
    "BUILD_FILE",
    "BUILT",
    "DEFAULT_ENCODER",
    "ENCODERS",
    "ENCODER_IDS",
    "LEGACY_SPACE_IDS",
    "MODEL2VEC_PCA_DIMS",
    "MODEL_ID",
    "MODEL_PACKAGE",
    "MODEL_VERSION",
    "SPACE_IDS",
    "STATES_OUTPUT",
    "STATE_LAYER",
    "Embedded",
    "Encoder",
    "OnnxEncoder",
    "StatesHook",
    "StaticEncoder",
    "TorchEncoder",
    "_BUILD_VERSION",
    "_fingerprint",
    "_is_current",
    "_source_dir",
    "build_encoder",
    "chunk_words",
    "default_model_path",
    "embed_texts",
    "embed_with_cache",
    "embedded_documents",
    "embedding_dimension",
    "encoder_id",
    "has_states",
    "load_encoder",
    "quantize_matmuls",
    "torch_states",
]
