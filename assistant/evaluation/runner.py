"""Run an eval set through retrieval (and optionally the full answer flow) and score it.

Retrieval is asked exactly as `answer.flow` asks it: normalise the question, cap the history,
rewrite a follow-up into a standalone query, search with the configured k (top 10 kept for
MRR/nDCG, whose top 5 equal a k=5 search), then decide coverage with the pipeline's own
`answer.coverage.decide`. The compromise: those three steps are re-called here rather than
through one public pipeline function, so a change to the flow's order must be mirrored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from assistant.answer.coverage import decide
from assistant.answer.flow import retrieve
from assistant.errors import BackendUnavailable, GlossaryError, UsageError
from assistant.evaluation.answer_metrics import AnswerRecord, score_answer
from assistant.evaluation.dataset import EvalCase
from assistant.evaluation.metrics import (
    AbstentionScores,
    LatencyScores,
    RankingScores,
    abstention_scores,
    hit_at_k,
    latency_scores,
    ranking_scores,
    recall_at_k,
)
from assistant.types import Answer, ChatMessage, DeltaEvent, FinalEvent

if TYPE_CHECKING:
    from assistant.pipeline import Assistant
    from assistant.retrieval.retriever import HybridRetriever, SearchResult
    from assistant.settings import Settings

RANK_DEPTH = 10
MODEL_TEXT_CHARS = 4000
Tick = Callable[[], None]


class RetrievalRecord(BaseModel):
    """One question's retrieval outcome (top 10 entry ids, coverage signal and decision)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: str
    section: str
    question: str
    query: str
    expected: tuple[str, ...]
    must_abstain: bool
    ranked: tuple[str, ...]
    best_dense: float
    matches: tuple[str, ...]  # "how:entry_id"
    covered: bool
    latency_ms: float
    error: str = ""
    coverage_rule: str = ""  # the coverage rule that decided (answer.coverage.RULES)
    coverage_detail: str = ""  # what it saw


class Failure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: str
    question: str
    query: str
    expected: tuple[str, ...]
    top5: tuple[str, ...]
    reason: str


class RetrievalSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    coverage_threshold: float
    overall: RankingScores
    by_kind: dict[str, RankingScores]
    by_section: dict[str, RankingScores]
    abstention: AbstentionScores
    covered_by_kind: dict[str, float]
    latency_ms: LatencyScores
    failures: list[Failure]


@dataclass
class RetrievalRun:
    """Records plus the raw SearchResults (kept in memory so calibration can re-decide coverage)."""

    records: list[RetrievalRecord]
    results: list[SearchResult | None]


def _history(case: EvalCase) -> list[ChatMessage]:
    return [ChatMessage(role=t.role, content=t.content) for t in case.history]


def _section(retriever: HybridRetriever, case: EvalCase) -> str:
    entries = retriever.index.entries
    for eid in case.expected_entries:
        if eid in entries:
            return entries[eid].section.split("/")[0]
    return "(out of scope)"


def query_for(retriever: HybridRetriever, case: EvalCase, settings: Settings) -> str:
    """The query the answer flow would search for: normalised, follow-ups made standalone.

    Raises:
        UsageError: the question is empty or too long.
    """
    return retrieve(retriever, case.question, _history(case), settings)[1]


def retrieve_case(
    retriever: HybridRetriever, case: EvalCase, settings: Settings
) -> tuple[RetrievalRecord, SearchResult | None]:
    """Retrieve for one case exactly as the answer flow does, and time it."""
    rs = settings.retrieval
    t0 = time.perf_counter()
    common = {
        "id": case.id,
        "kind": case.kind,
        "section": _section(retriever, case),
        "question": case.question,
        "expected": case.expected_entries,
        "must_abstain": case.must_abstain,
    }
    try:
        _, query, result = retrieve(retriever, case.question, _history(case), settings, k=max(RANK_DEPTH, rs.k))
    except UsageError as exc:  # an over-long or empty question is refused: counts as abstaining
        latency = round((time.perf_counter() - t0) * 1e3, 3)
        return RetrievalRecord(
            **common, query="", ranked=(), best_dense=0.0, matches=(), covered=False, latency_ms=latency, error=str(exc)
        ), None
    latency = round((time.perf_counter() - t0) * 1e3, 3)
    coverage = decide(result.signals, rs)
    record = RetrievalRecord(
        **common,
        query=query,
        ranked=tuple(h.entry_id for h in result.hits[:RANK_DEPTH]),
        best_dense=round(float(result.signals.best_dense), 6),
        matches=tuple(f"{m.how}:{m.entry_id}" for m in result.matches),
        covered=coverage.covered,
        latency_ms=latency,
        coverage_rule=coverage.rule,
        coverage_detail=coverage.detail,
    )
    return record, result


def run_retrieval(
    retriever: HybridRetriever,
    cases: Sequence[EvalCase],
    settings: Settings,
    tick: Tick | None = None,
) -> RetrievalRun:
    records, results = [], []
    for case in cases:
        record, result = retrieve_case(retriever, case, settings)
        records.append(record)
        results.append(result)
        if tick:
            tick()
    return RetrievalRun(records, results)


def _explain(rec: RetrievalRecord) -> str:
    parts = []
    if rec.error:
        return f"refused by the retriever: {rec.error}"
    if not rec.must_abstain:
        top5 = rec.ranked[:5]
        missing = [e for e in rec.expected if e not in top5]
        for e in missing:
            rank = rec.ranked.index(e) + 1 if e in rec.ranked else None
            parts.append(f"{e} at rank {rank}" if rank else f"{e} not in top {RANK_DEPTH}")
        if not rec.covered:
            parts.append(f"false refusal by rule {rec.coverage_rule}: {rec.coverage_detail}")
    elif rec.covered:
        parts.append(
            f"answered out-of-scope question (rule {rec.coverage_rule}: {rec.coverage_detail}); "
            f"top hit {rec.ranked[0] if rec.ranked else '-'}"
        )
    return "; ".join(parts)


def _is_failure(rec: RetrievalRecord) -> bool:
    if rec.must_abstain:
        return rec.covered
    needs_all = rec.kind == "multi"
    ok = recall_at_k(rec.ranked, rec.expected, 5) == 1.0 if needs_all else hit_at_k(rec.ranked, rec.expected, 5) == 1.0
    return not ok or not rec.covered


def summarize_retrieval(records: Sequence[RetrievalRecord], threshold: float) -> RetrievalSummary:
    """Ranking metrics over in-scope questions, abstention over all, failures explained."""
    in_scope = [r for r in records if not r.must_abstain]

    def scores(rows: Sequence[RetrievalRecord]) -> RankingScores:
        return ranking_scores([(r.ranked, r.expected) for r in rows])

    kinds = sorted({r.kind for r in in_scope})
    sections = sorted({r.section for r in in_scope})
    covered_by_kind = {}
    for kind in sorted({r.kind for r in records}):
        rows = [r for r in records if r.kind == kind]
        covered_by_kind[kind] = round(sum(r.covered for r in rows) / len(rows), 6)
    failures = [
        Failure(
            id=r.id,
            kind=r.kind,
            question=r.question,
            query=r.query,
            expected=r.expected,
            top5=r.ranked[:5],
            reason=_explain(r),
        )
        for r in records
        if _is_failure(r)
    ]
    return RetrievalSummary(
        coverage_threshold=threshold,
        overall=scores(in_scope),
        by_kind={k: scores([r for r in in_scope if r.kind == k]) for k in kinds},
        by_section={s: scores([r for r in in_scope if r.section == s]) for s in sections},
        abstention=abstention_scores([(r.must_abstain, not r.covered) for r in records]),
        covered_by_kind=covered_by_kind,
        latency_ms=latency_scores([r.latency_ms for r in records]),
        failures=failures,
    )


def _ask(assistant: Assistant, case: EvalCase) -> tuple[Answer, str]:
    """Stream one answer; return the final Answer and the raw model text that preceded it."""
    final, raw = None, []
    for event in assistant.stream(case.question, _history(case)):
        if isinstance(event, DeltaEvent):
            raw.append(event.text)
        elif isinstance(event, FinalEvent):
            final = event.answer
    if final is None:  # answer_stream always ends with a FinalEvent; guard the contract anyway
        raise BackendUnavailable("the answer stream ended without a final answer", "report this as a bug")
    return final, "".join(raw)[:MODEL_TEXT_CHARS]


def run_answers(assistant: Assistant, cases: Sequence[EvalCase], tick: Tick | None = None) -> list[AnswerRecord]:
    """Ask every case through `Assistant.stream`; a back-end error is recorded per question."""
    records = []
    for case in cases:
        try:
            answer, raw = _ask(assistant, case)
        except GlossaryError as exc:
            empty = Answer(question=case.question, standalone_query=case.question, answer="", covered=False)
            records.append(score_answer(case, empty).model_copy(update={"error": str(exc)}))
        else:
            records.append(score_answer(case, answer).model_copy(update={"model_text": raw}))
        if tick:
            tick()
    return records
