"""The hybrid retriever: resolve terms, search dense and BM25, fuse, group chunks by entry.

Source-summary chunks speak for every entry that links the source; they count at half weight
so a paper linked by ten entries cannot crowd out the entries' own text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from assistant.embedding import Embedder
from assistant.indexing.store import LoadedIndex
from assistant.retrieval.fusion import rrf
from assistant.retrieval.lexicon import Lexicon
from assistant.retrieval.passages import rank_passages
from assistant.retrieval.resolver import TermMatch, TermResolver, in_context_head, lead_subject_clause, subject_of
from assistant.settings import RetrievalSettings
from assistant.textnorm import normalize_query
from assistant.types import Chunk, CoverageSignals, Hit, SourcePassage

Mode = Literal["hybrid", "dense", "bm25"]
SOURCE_WEIGHT = 0.5
PIN_BONUS = 1.0
SUBJECT_VOTE = 2.0  # the term a how/why/list question is framed around votes twice (see resolver)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    matches: list[TermMatch]
    signals: CoverageSignals  # what the coverage decision reads (answer.coverage)
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[SourcePassage] = field(default_factory=list)  # second tier: fetched-source passages ([] if none)


class HybridRetriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        s = self.settings
        self.lexicon = Lexicon(
            index.entries,
            index.sources,
            foreign_zipf=s.foreign_zipf,
            rare_zipf=s.rare_zipf,
            generic_share=s.generic_share,
        )
        self.resolver = TermResolver(index.entries, self.lexicon.entry_words)
        self._urls = {eid: self._first_url(eid) for eid in index.entries}
        self._lead: dict[str, Chunk] = {}
        self._lead_row: dict[str, int] = {}
        for row, chunk in enumerate(index.chunks):
            if chunk.kind == "entry" and chunk.doc_id not in self._lead:
                self._lead[chunk.doc_id] = chunk
                self._lead_row[chunk.doc_id] = row
        # summaries.faiss row i is the i-th entry of entries.jsonl; it votes for that entry's lead chunk
        self._summary_lead = [self._lead_row.get(eid) for eid in index.entries]
        self._entry_row = {eid: i for i, eid in enumerate(index.entries)}  # the adapter's rows, same order

    def _first_url(self, entry_id: str) -> str:
        for sid in self.index.entries[entry_id].sources:
            if sid in self.index.sources:
                return self.index.sources[sid].url
        return ""

    def url(self, entry_id: str) -> str:
        return self._urls.get(entry_id, "")

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        mode: Mode = "hybrid",
        pin_terms: bool = True,
        terms_from: str | None = None,
    ) -> SearchResult:
        """Rank entries for `query`.

        Entries the question names (exact or typo-tolerant match of its subject) are pinned first;
        terms merely contained in a longer question join the fusion as one more ranked list.
        `terms_from` resolves terms from another text (a follow-up's own words, not the rewrite).

        Raises:
            UsageError: the query is empty or too long.
        """
        s = self.settings
        query = normalize_query(query, max_chars=s.max_query_chars)
        t0 = time.perf_counter()
        if pin_terms:
            matches = self.resolver.resolve(
                normalize_query(terms_from, max_chars=s.max_query_chars) if terms_from else query,
                fuzzy_cutoff=s.fuzzy_cutoff,
            )
        else:
            matches = []
        resolve_ms = (time.perf_counter() - t0) * 1e3
        result = self.search_normalized(query, k, mode=mode, matches=matches, followup=terms_from is not None)
        result.timings = {"resolve_ms": resolve_ms, **result.timings}
        return result

    def search_normalized(
        self,
        query: str,
        k: int | None = None,
        *,
        mode: Mode = "hybrid",
        matches: list[TermMatch],
        followup: bool = False,
    ) -> SearchResult:
        """`search` for a query the caller already normalised, with its terms already resolved
        (the answer flow does both once per question)."""
        s = self.settings
        k = k or s.k
        t1 = time.perf_counter()
        # The dense search runs in every mode: its best cosine is the coverage signal.
        vec = self.embedder.embed([query])[0]
        dense_rows, dense_scores = self.index.dense.search(vec, s.candidates)
        cosine = dict(zip(dense_rows, dense_scores, strict=True))
        off_topic, off_score, summary_best = "", 0.0, 0.0
        if self.index.off_topic_dense is not None:
            rows, scores = self.index.off_topic_dense.search(vec, 1)
            if rows:
                off_topic, off_score = self.index.off_topics[rows[0]].topic, scores[0]
        summary_rows: list[int] = []
        if self.index.summary_dense is not None:
            ids, scores = self.index.summary_dense.search(vec, s.candidates)
            summary_best = max(scores, default=0.0)
            summary_rows = [row for i in ids if (row := self._summary_lead[i]) is not None]
        t2 = time.perf_counter()
        sparse_rows = self.index.sparse.search(query, s.candidates)[0] if mode in ("hybrid", "bm25") else []
        t3 = time.perf_counter()
        rankings = []
        if mode in ("hybrid", "dense"):
            rankings.append((dense_rows, s.dense_weight))
        if mode in ("hybrid", "bm25"):
            rankings.append((sparse_rows, s.sparse_weight))
        if mode == "hybrid" and summary_rows:  # entry summaries: short definitions that paraphrases match
            rankings.append((summary_rows, s.summary_weight))
        fused = rrf(rankings, k=s.rrf_k)
        subjects = {m.entry_id for m in matches if m.how == "subject"}
        contained = [m.entry_id for m in matches if m.how in ("contained", "subject") and m.entry_id in self._lead]
        if len(contained) == 1 and not any(m.how in ("exact", "fuzzy", "subject") for m in matches):
            # One term mentioned inside a description ("a LayerNorm variant that skips the mean")
            # is used to describe the concept asked about, not the concept itself: no vote. Two or
            # more ("RMSNorm vs LayerNorm") are what is asked about. Chosen on dev (paraphrase hit@1
            # 33 -> 38 of 55, lookup 116 -> 118 of 118, multi 27 of 28 unchanged); paraphrase hit@1
            # on test / heldout / fresh 0.614 / 0.556 / 0.500 -> 0.663 / 0.644 / 0.560, at the cost
            # of 2 of 40 fresh lookups ("direct path patching meaning?") and 1 fresh refusal.
            contained = []
        if contained:  # terms named inside a longer question: one more vote each, not a pin
            lead_rows = {self._lead_row[e]: e for e in contained}
            for row, value in rrf([(list(lead_rows), s.sparse_weight)], k=s.rrf_k).items():
                fused[row] = fused.get(row, 0.0) + value * (SUBJECT_VOTE if lead_rows[row] in subjects else 1.0)
        hits = self._group(fused, cosine, matches, max(k, s.coverage_depth, s.rerank_depth))
        probs = self.index.adapter.probabilities(vec) if self.index.adapter is not None else None
        if mode == "hybrid" and probs is not None and s.rerank_depth:
            hits = self._rerank(hits, probs)
        tier = self.index.passages
        passages = rank_passages(tier, vec, query, s.passages_k, candidates=s.candidates, rrf_k=s.rrf_k) if tier else []
        t4 = time.perf_counter()
        best = max(dense_scores, default=0.0)
        timings = {
            "dense_ms": (t2 - t1) * 1e3,
            "bm25_ms": (t3 - t2) * 1e3,
            "fuse_ms": (t4 - t3) * 1e3,
        }
        lex = self.lexicon
        named = tuple((m.entry_id, m.how) for m in matches if m.how in ("exact", "fuzzy"))
        signals = CoverageSignals(
            query=query,
            hits=len(hits),
            named=named,
            contained=tuple(m.entry_id for m in matches if m.how not in ("exact", "fuzzy")),
            strong=tuple(m.entry_id for m in matches if m.strong),
            followup=followup,
            best_dense=best,
            summary_best=summary_best,
            off_topic=off_topic,
            off_topic_score=off_score,
            unknown_words=tuple(lex.unknown(query)),
            foreign_words=tuple(lex.foreign(query)),
            missing_rare=tuple(lex.missing_rare(query, [h.entry_id for h in hits[: s.coverage_depth]])),
            adapter_top=float(probs.max()) if probs is not None else 0.0,
            unnamed_lead=self._unnamed_lead(query),
        )
        return SearchResult(query, hits[:k], matches, signals, timings, passages)

    def _unnamed_lead(self, query: str) -> str:
        """The subject of the first of joined questions, or the head of a qualified subject ("KV
        cache" of "what is a KV cache in transformer inference"), when it names no entry."""
        lead = lead_subject_clause(query)
        if lead == query.strip():
            lead = in_context_head(query)
        if not lead or self.resolver.resolve(lead):
            return ""
        return subject_of(lead)

    def _rerank(self, hits: list[Hit], probs) -> list[Hit]:
        """Reorder the first `rerank_depth` unpinned hits by fused score blended with the adapter.

        The entry adapter (indexing/adapter.py) was trained to say which entry a text describes,
        so it lifts RMSNorm over LayerNorm for "a LayerNorm variant that skips the mean". Pinned
        entries stay first; candidates below the depth keep their order. Score = (1 - w) * fused
        score / best fused score in the block + w * adapter probability.
        """
        s = self.settings
        pinned = [h for h in hits if h.matched_term]
        rest = [h for h in hits if not h.matched_term]
        block, tail = rest[: s.rerank_depth], rest[s.rerank_depth :]
        if len(block) < 2:
            return hits
        top = max(h.score for h in block) or 1.0
        blended = {
            h.entry_id: (1 - s.rerank_weight) * h.score / top
            + s.rerank_weight * float(probs[self._entry_row[h.entry_id]])
            for h in block
        }
        block = sorted(block, key=lambda h: -blended[h.entry_id])
        floor = min(blended.values())
        # Scores stay monotonic in rank: the tail sits below the block.
        tail_top = max((h.score for h in tail), default=0.0) or 1.0
        tail_scores = [floor * 0.5 * h.score / tail_top for h in tail]
        out = pinned + [h.model_copy(update={"score": round(blended[h.entry_id], 6)}) for h in block]
        out += [h.model_copy(update={"score": round(v, 6)}) for h, v in zip(tail, tail_scores, strict=True)]
        return [h.model_copy(update={"rank": rank}) for rank, h in enumerate(out, 1)]

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
        pinned = [m.entry_id for m in matches if m.how in ("exact", "fuzzy") and m.entry_id in self.index.entries]
        order = pinned + [e for e in sorted(score, key=lambda e: -score[e]) if e not in pinned]
        hits = []
        for rank, eid in enumerate(order[:k], 1):
            entry = self.index.entries[eid]
            chunk = best_chunk[eid][1] if eid in best_chunk else self._lead[eid]
            bonus = PIN_BONUS if eid in pinned else 0.0
            hits.append(
                Hit(
                    rank=rank,
                    entry_id=eid,
                    term=entry.term,
                    aliases=entry.aliases,
                    section=entry.section,
                    score=round(score.get(eid, 0.0) + bonus, 6),
                    dense_score=round(dense_best.get(eid, 0.0), 6),
                    chunk_id=chunk.chunk_id,
                    text=chunk.text,
                    url=self.url(eid),
                    matched_term=eid in pinned,
                )
            )
        return hits
