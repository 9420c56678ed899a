"""Reference answers: does each answer state the facts it must, and none it must not?

A reference case (`evals/sets/reference.jsonl`, written by a session that saw only the glossary)
has `must_state` (facts a correct answer contains, as short phrases with ' | ' alternatives) and
`must_not_state` (phrases only a wrong answer contains: the swapped role, the wrong yes/no, the
neighbouring concept). Scored per question kind:
- `must_state`: mean share of its facts an answer states (a refused in-scope question scores 0);
- `must_not`: share of answers containing a must-not phrase;
- `refused`: share of in-scope questions answered "not covered"; `abstained`: share of
  out-of-scope ones; `repeats`: answers that say one sentence twice.

Compromise: string checks see words, not meaning. They catch a wrong name, a wrong yes/no phrased
as the case says, or a missing fact; a false claim in other words needs the audit
(`evals/AUDIT.md`), which a reviewer who never saw the code does by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from assistant.evaluation.answer_metrics import fact_found, normalize
from assistant.evaluation.dataset import EvalCase
from assistant.types import Answer


class ReferenceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: str
    question: str
    answer: str
    covered: bool
    composition: str
    shape: str
    stated: tuple[str, ...]
    missing: tuple[str, ...]
    violations: tuple[str, ...]
    repeats: bool
    seconds: float


class KindScores(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    n: int
    must_state: float | None
    must_not: float | None
    refused: float | None
    abstained: float | None
    repeats: int
    p50_s: float


def stated(fact: str, answer: str) -> bool:
    """A fact is stated when any of its ' | ' alternatives is (normalised or fuzzily) in the answer."""
    return any(fact_found(alt.strip(), answer) for alt in fact.split("|") if alt.strip())


def _says_twice(answer: str) -> bool:
    from assistant.answer.quotes import split_sentences

    seen = set()
    for s in split_sentences(answer):
        key = normalize(s.rsplit("[", 1)[0] if s.rstrip(".").endswith("]") else s)
        if len(key.split()) >= 4 and key in seen:
            return True
        seen.add(key)
    return False


def score(case: EvalCase, answer: Answer, seconds: float) -> ReferenceRecord:
    text = answer.answer if answer.covered else ""
    facts = case.must_state
    return ReferenceRecord(
        id=case.id,
        kind=case.kind,
        question=case.question,
        answer=answer.answer,
        covered=answer.covered,
        composition=answer.composition,
        shape=answer.shape,
        stated=tuple(f for f in facts if stated(f, text)),
        missing=tuple(f for f in facts if not stated(f, text)),
        violations=tuple(p for p in case.must_not_state if text and normalize(p) in normalize(text)),
        repeats=_says_twice(text),
        seconds=round(seconds, 3),
    )


def summarise(records: Sequence[ReferenceRecord]) -> dict[str, KindScores]:
    """Scores per kind, plus `all_in_scope` over every in-scope kind."""
    groups: dict[str, list[ReferenceRecord]] = defaultdict(list)
    for r in records:
        groups[r.kind].append(r)
        if r.kind != "out_of_scope":
            groups["all_in_scope"].append(r)

    def mean(xs: list[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    out = {}
    for kind, rs in sorted(groups.items()):
        oos = kind == "out_of_scope"
        with_facts = [r for r in rs if r.stated or r.missing]
        times = sorted(r.seconds for r in rs)
        out[kind] = KindScores(
            n=len(rs),
            must_state=None if oos else mean([len(r.stated) / (len(r.stated) + len(r.missing)) for r in with_facts]),
            must_not=None if oos else mean([1.0 if r.violations else 0.0 for r in rs]),
            refused=None if oos else mean([0.0 if r.covered else 1.0 for r in rs]),
            abstained=mean([0.0 if r.covered else 1.0 for r in rs]) if oos else None,
            repeats=sum(r.repeats for r in rs),
            p50_s=times[len(times) // 2] if times else 0.0,
        )
    return out


def run_reference(
    ask: Callable[[str], Answer], cases: Sequence[EvalCase], progress: Callable[[int, int], None] | None = None
) -> list[ReferenceRecord]:
    """Answer every case with `ask` and score it."""
    import time

    records = []
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        answer = ask(case.question)
        records.append(score(case, answer, time.perf_counter() - t0))
        if progress:
            progress(i, len(cases))
    return records


class ReferenceRun(BaseModel):
    """The reference set answered end to end: per-kind scores and every record."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    set_name: str
    mode: str
    models: dict[str, str]
    summary: dict[str, KindScores]
    records: list[ReferenceRecord]
