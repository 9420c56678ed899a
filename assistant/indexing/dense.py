"""FAISS inner-product indexes over unit vectors (the only module that imports faiss).

Exact (flat) by default; HNSW or IVF for a large passage tier (chosen from scripts/bench_scale.py).

FAISS checks the query dimension with a bare assert (gone under `python -O`) and returns -1 ids
when k exceeds the index size; both are handled here before and after the call. Writing goes
through `serialize_index` and a Python file, so a full disk or an I/O error is an OSError naming
the file (faiss's own `write_index` raises RuntimeError, and misses errors reported at close).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.durable import names_file
from assistant.errors import IndexCorrupt, IndexIncompatible


def _faiss():
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss


HNSW_M = 32  # graph degree; the recall these settings give is measured by scripts/bench_scale.py
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_NPROBE = 32


def write_dense(vectors: np.ndarray, path: Path, kind: str = "flat") -> None:
    """Write `vectors` as a FAISS inner-product index: "flat" (exact), "hnsw" or "ivf" (approximate)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH  # stored in the file
    elif kind == "ivf":
        nlist = max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39 or 1))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = IVF_NPROBE  # stored in the file
    elif kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        raise ValueError(f"unknown dense index kind {kind!r}")
    index.add(vectors)
    data = faiss.serialize_index(index)  # same bytes as write_index; an index here is a few MB
    with names_file(path), path.open("wb") as fh:
        fh.write(data)


class DenseIndex:
    """Loaded FAISS index; `search` returns (rows, scores) with -1 rows dropped."""

    def __init__(self, path: Path, dim: int) -> None:
        faiss = _faiss()
        try:
            self._index = faiss.read_index(str(path))
        except RuntimeError as exc:  # checksums passed, so the file was written wrong
            reason = str(exc).strip().splitlines()[-1][:200]
            raise IndexCorrupt(
                f"{path} cannot be read by faiss ({reason})", "rebuild: `mi-glossary index build`"
            ) from None
        if self._index.d != dim:
            raise IndexIncompatible(
                f"dense index has dimension {self._index.d}, manifest says {dim}",
                "rebuild: `mi-glossary index build`",
            )
        self.dim = dim
        self.ntotal = int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        q = np.ascontiguousarray(query, dtype=np.float32)
        if q.shape not in ((self.dim,), (1, self.dim)):
            raise IndexIncompatible(
                f"query vector has shape {q.shape}, index has dimension {self.dim}",
                "use the embedder the index was built with, or rebuild the index",
            )
        scores, ids = self._index.search(q.reshape(1, -1), min(k, self.ntotal))
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and np.isfinite(s)]
        return [i for i, _ in pairs], [s for _, s in pairs]
