"""Rank the passage tier (fetched source texts) for a query: dense + BM25, fused.

The tier has its own indexes, so this never changes which entries come back; the entries stay
the primary result and the passages are evidence shown and cited next to the entries that link
their source. The query vector is the one the entry search already computed.
"""

from __future__ import annotations

import numpy as np

from assistant.indexing.passages import PassageTier, section_of
from assistant.retrieval.fusion import rrf
from assistant.types import SourcePassage


def rank_passages(
    tier: PassageTier, vec: np.ndarray, query: str, k: int, *, candidates: int = 40, rrf_k: int = 60
) -> list[SourcePassage]:
    """The `k` best passages of `tier` for `query` (whose embedding is `vec`).

    >>> [p.source_id for p in rank_passages(tier, vec, "name mover heads", 2)]   # doctest: +SKIP
    ['ioi-paper', 'ioi-paper']
    """
    if k <= 0 or not tier.chunks:
        return []
    dense_rows, dense_scores = tier.dense.search(vec, candidates)
    sparse_rows = tier.sparse.search(query, candidates)[0]
    fused = rrf([(dense_rows, 1.0), (sparse_rows, 1.0)], k=rrf_k)
    cosine = dict(zip(dense_rows, dense_scores, strict=True))
    out = []
    for rank, row in enumerate(sorted(fused, key=lambda r: (-fused[r], r))[:k], 1):
        chunk = tier.chunks[row]
        sid = chunk.doc_id.removeprefix("passage:")
        info = tier.sources.get(sid)
        out.append(
            SourcePassage(
                rank=rank,
                chunk_id=chunk.chunk_id,
                source_id=sid,
                title=chunk.term,
                section=section_of(chunk),
                text=chunk.text,
                url=info.url if info else "",
                entry_ids=chunk.entry_ids,
                score=round(fused[row], 6),
                dense_score=round(float(cosine.get(row, 0.0)), 6),
            )
        )
    return out
