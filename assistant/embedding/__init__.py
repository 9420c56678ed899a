"""Embedding back ends behind a one-method protocol.

`Embedder.embed` turns texts into L2-normalised float32 rows; `model_id` and `dim` are recorded
in the index manifest so a query is never compared against vectors from another model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from assistant.settings import LocalEmbedderSettings


@runtime_checkable
class Embedder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), float32, each row of unit norm."""
        ...


def make_embedder(settings: LocalEmbedderSettings) -> Embedder:
    """Composition root for embedders (only the local kind exists: it is the tested one)."""
    from assistant.embedding.local import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model_path, query_threads=settings.query_threads)
