"""The passage tier's FAISS index types: each round-trips through the file and finds what exact search finds."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.indexing.dense import DenseIndex, write_dense


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("n", [5, 3000])
def test_each_index_type_round_trips_and_agrees_with_exact_search(tmp_path, kind, n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    write_dense(x, tmp_path / "x.faiss", kind)
    index = DenseIndex(tmp_path / "x.faiss", 32)
    assert index.ntotal == n
    hits = 0
    for i in range(0, n, max(1, n // 50)):
        rows, scores = index.search(x[i], 5)
        assert rows and scores == sorted(scores, reverse=True)
        hits += rows[0] == i  # a stored vector is its own nearest neighbour
    assert hits >= 0.9 * len(range(0, n, max(1, n // 50)))


def test_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown dense index kind"):
        write_dense(np.eye(4, dtype=np.float32), tmp_path / "x.faiss", "lsh")
