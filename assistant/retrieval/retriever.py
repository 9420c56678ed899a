"""The hybrid retriever: resolve terms, search dense and BM25, fuse, group chunks by entry.

Source-summary chunks speak for every entry that links the source; they count at half weight
so a paper linked by ten entries cannot crowd out the entries' own text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Literal

from assistant.embedding import Embedder
from assistant.indexing.store import LoadedIndex
from assistant.retrieval.fusion import rrf
from assistant.retrieval.resolver import TermMatch, TermResolver
from assistant.settings import RetrievalSettings
from assistant.textnorm import normalize_query
from assistant.types import Chunk, Hit

Mode = Literal["hybrid", "dense", "bm25"]
_WORDS = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["what", "is", "are", "the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "how", "does", "do", "why", "which", "who", "when", "where", "can", "could", "would", "should", "i", "you", "we", "it", "its", "this", "that", "with", "from", "by", "as", "be", "been", "use", "used", "using", "about", "between", "difference", "explain", "define", "tell", "me", "work", "works", "mean", "means"])


def _vocabulary(index: LoadedIndex) -> frozenset[str]:
    """Every word the glossary uses (entries and source summaries), casefolded."""
    words: set[str] = set()
    for e in index.entries.values():
        for text in (e.term, " ".join(e.aliases), e.summary, e.body):
            words.update(_WORDS.findall(text.casefold()))
    for src in index.sources.values():
        words.update(_WORDS.findall(f"{src.title} {src.body}".casefold()))
    return frozenset(words)
SOURCE_WEIGHT = 0.5
PIN_BONUS = 1.0


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    matches: list[TermMatch]
    best_dense: float  # best cosine of any chunk: the coverage signal
    timings: dict[str, float] = field(default_factory=dict)
    unknown_words: list[str] = field(default_factory=list)  # query words the glossary never uses


class HybridRetriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.resolver = TermResolver(index.entries)
        self.vocabulary = _vocabulary(index)
        self._urls = {eid: self._first_url(eid) for eid in index.entries}
        self._lead: dict[str, Chunk] = {}
        self._lead_row: dict[str, int] = {}
        for row, chunk in enumerate(index.chunks):
            if chunk.kind == "entry" and chunk.doc_id not in self._lead:
                self._lead[chunk.doc_id] = chunk
                self._lead_row[chunk.doc_id] = row

    def _first_url(self, entry_id: str) -> str:
        for sid in self.index.entries[entry_id].sources:
            if sid in self.index.sources:
                return self.index.sources[sid].url
        return ""

    def url(self, entry_id: str) -> str:
        return self._urls.get(entry_id, "")

    def search(self, query: str, k: int | None = None, *, mode: Mode = "hybrid", pin_terms: bool = True,
               terms_from: str | None = None) -> SearchResult:
        """Rank entries for `query`.

        Entries the question names (exact or typo-tolerant match of its subject) are pinned first;
        terms merely contained in a longer question join the fusion as one more ranked list.
        `terms_from` resolves terms from another text (a follow-up's own words, not the rewrite).

        Raises:
            UsageError: the query is empty or too long.
        """
        s = self.settings
        k = k or s.k
        query = normalize_query(query, max_chars=s.max_query_chars)
        t0 = time.perf_counter()
        if pin_terms:
            matches = self.resolver.resolve(normalize_query(terms_from, max_chars=s.max_query_chars)
                                            if terms_from else query, fuzzy_cutoff=s.fuzzy_cutoff)
        else:
            matches = []
        t1 = time.perf_counter()
        # The dense search runs in every mode: its best cosine is the coverage signal.
        vec = self.embedder.embed([query])[0]
        dense_rows, dense_scores = self.index.dense.search(vec, s.candidates)
        cosine = dict(zip(dense_rows, dense_scores, strict=True))
        t2 = time.perf_counter()
        sparse_rows = self.index.sparse.search(query, s.candidates)[0] if mode in ("hybrid", "bm25") else []
        t3 = time.perf_counter()
        rankings = []
        if mode in ("hybrid", "dense"):
            rankings.append((dense_rows, s.dense_weight))
        if mode in ("hybrid", "bm25"):
            rankings.append((sparse_rows, s.sparse_weight))
        fused = rrf(rankings, k=s.rrf_k)
        contained = [m.entry_id for m in matches if m.how == "contained" and m.entry_id in self._lead]
        if contained:  # a term named inside a longer question: one more vote, not a pin
            rows = {self._lead_row[e]: e for e in contained}
            for row, value in rrf([(list(rows), s.sparse_weight)], k=s.rrf_k).items():
                fused[row] = fused.get(row, 0.0) + value
        hits = self._group(fused, cosine, matches, k)
        t4 = time.perf_counter()
        best = max(dense_scores, default=0.0)
        timings = {"resolve_ms": (t1 - t0) * 1e3, "dense_ms": (t2 - t1) * 1e3,
                   "bm25_ms": (t3 - t2) * 1e3, "fuse_ms": (t4 - t3) * 1e3}
        unknown = [w for w in _WORDS.findall(query.casefold()) if w not in _STOP and len(w) > 2
                   and w not in self.vocabulary]
        return SearchResult(query, hits, matches, best, timings, unknown)

    def _group(self, fused: dict[int, float], cosine: dict[int, float], matches: list[TermMatch], k: int) -> list[Hit]:
        chunks = self.index.chunks
        score: dict[str, float] = {}
        best_chunk: dict[str, tuple[float, Chunk]] = {}
        dense_best: dict[str, float] = {}
        for row, value in fused.items():
            chunk = chunks[row]
            weight = 1.0 if chunk.kind == "entry" else SOURCE_WEIGHT
            for eid in chunk.entry_ids:
                if eid not in self.index.entries:
                    continue
                v = value * weight
                # max plus a little of the rest: an entry matched by several chunks edges ahead
                prev = score.get(eid)
                score[eid] = v if prev is None else max(prev, v) + 0.1 * min(prev, v)
                if chunk.kind == "entry" and (eid not in best_chunk or v > best_chunk[eid][0]):
                    best_chunk[eid] = (v, chunk)
        for row, cos in cosine.items():
            for eid in chunks[row].entry_ids:
                dense_best[eid] = max(dense_best.get(eid, -1.0), cos)
        pinned = [m.entry_id for m in matches if m.how != "contained" and m.entry_id in self.index.entries]
        order = pinned + [e for e in sorted(score, key=lambda e: -score[e]) if e not in pinned]
        hits = []
        for rank, eid in enumerate(order[:k], 1):
            entry = self.index.entries[eid]
            chunk = best_chunk[eid][1] if eid in best_chunk else self._lead[eid]
            bonus = PIN_BONUS if eid in pinned else 0.0
            hits.append(Hit(
                rank=rank, entry_id=eid, term=entry.term, aliases=entry.aliases, section=entry.section,
                score=round(score.get(eid, 0.0) + bonus, 6), dense_score=round(dense_best.get(eid, 0.0), 6),
                chunk_id=chunk.chunk_id, text=chunk.text, url=self.url(eid), matched_term=eid in pinned,
            ))
        return hits
