"""Reciprocal-rank fusion of ranked lists (Cormack et al., 2009)."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[tuple[Sequence[int], float]], k: int = 60) -> dict[int, float]:
    """Fuse ranked id lists with weights: score(d) = sum_w w / (k + rank(d)), rank from 1.

    >>> sorted(rrf([([1, 2], 1.0), ([2, 3], 1.0)], k=60).items())[0][0]
    1
    """
    scores: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, doc in enumerate(ids, 1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return scores
