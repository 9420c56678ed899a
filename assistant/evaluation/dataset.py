"""Eval question sets: the `EvalCase` schema, loading with line-numbered errors, stable splits.

A set is JSON Lines, one `EvalCase` per line. Loading checks every line and reports ALL
problems at once as `path:line: problem`, including gold labels that name no glossary entry, so
a renamed entry cannot silently turn a question into an unanswerable one. The compromise: the
known ids come from the loaded index (what retrieval can return), not the corpus files, so a
set is checked against the index it is scored on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import ProblemListError

Kind = Literal["lookup", "paraphrase", "multi", "followup", "out_of_scope", "injection", "howwhy", "compare", "list"]
KINDS: tuple[str, ...] = (
    "lookup",
    "paraphrase",
    "multi",
    "followup",
    "out_of_scope",
    "injection",
    "howwhy",
    "compare",
    "list",
)
DEV_SHARE = 40  # percent of cases in the dev split (by stable hash); the rest is test


class EvalSetError(ProblemListError):
    """An eval set is missing or has invalid lines; `problems` lists each as `path:line: ...`."""

    what = "eval-set"
    fix_all = "fix the lines above (see evals/README.md for the format)"


class Turn(BaseModel):
    """One previous chat turn of a follow-up question."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class EvalCase(BaseModel):
    """One eval question with its gold labels.

    Example line:
        {"id": "lookup-3f2a9c1b", "question": "what is an induction head", "kind": "lookup",
         "expected_entries": ["induction-head"], "must_abstain": false}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    question: str = Field(min_length=1, max_length=2000)
    expected_entries: tuple[str, ...] = Field(description="Entries a good answer cites; [] if none.")
    kind: Kind
    must_abstain: bool = Field(description="True when the glossary does not cover the question.")
    key_facts: tuple[str, ...] = Field((), description="Short phrases a good answer contains.")
    history: tuple[Turn, ...] = Field((), description="Previous turns (follow-ups only).")
    must_not_contain: tuple[str, ...] = Field(
        (), description="Strings an answer must never contain (injection payloads, canaries)."
    )

    must_state: tuple[str, ...] = Field(
        (), description="Facts a correct answer states; each a short phrase, alternatives joined by ' | '."
    )
    must_not_state: tuple[str, ...] = Field(
        (), description="Short phrases only a wrong answer contains (swapped role, wrong yes/no, neighbour)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        if self.must_abstain and self.expected_entries:
            raise ValueError("must_abstain is true but expected_entries is not empty")
        if not self.must_abstain and not self.expected_entries:
            raise ValueError("expected_entries is empty but must_abstain is false")
        if self.kind == "out_of_scope" and not self.must_abstain:
            raise ValueError("an out_of_scope case must have must_abstain true")
        if self.kind == "followup" and not self.history:
            raise ValueError("a followup case needs a history")
        if len(set(self.expected_entries)) != len(self.expected_entries):
            raise ValueError("expected_entries has duplicates")
        return self

    @property
    def in_scope(self) -> bool:
        return not self.must_abstain


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def parse_cases(lines: Iterable[str], *, source: str, known_entries: Iterable[str] | None = None) -> list[EvalCase]:
    """Validate JSON lines into cases; raise EvalSetError listing every bad line.

    Blank lines and lines starting with `//` are skipped. Ids must be unique across the set.
    """
    known = set(known_entries) if known_entries is not None else None
    cases: list[EvalCase] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            case = EvalCase.model_validate(data)
        except ValidationError as exc:
            problems.append(f"{source}:{lineno}: {_describe(exc)}")
            continue
        if case.id in seen:
            problems.append(f"{source}:{lineno}: duplicate id '{case.id}' (first on line {seen[case.id]})")
            continue
        seen[case.id] = lineno
        if known is not None:
            unknown = [e for e in case.expected_entries if e not in known]
            if unknown:
                problems.append(f"{source}:{lineno}: unknown entry id(s) in expected_entries: {', '.join(unknown)}")
                continue
        cases.append(case)
    if problems:
        raise EvalSetError(problems)
    if not cases:
        raise EvalSetError([f"{source}: the set holds no questions"])
    return cases


def load_cases(path: Path, *, known_entries: Iterable[str] | None = None) -> list[EvalCase]:
    """Load and validate one JSONL set. Raises EvalSetError (exit code 3) on any problem."""
    if not path.is_file():
        raise EvalSetError([f"{path}: no such eval set (expected a .jsonl file)"])
    with path.open(encoding="utf-8") as fh:
        return parse_cases(fh, source=str(path), known_entries=known_entries)


def resolve_set(name_or_path: str, sets_dir: Path) -> Path:
    """`test` -> sets_dir/test.jsonl; an existing path is used as given."""
    given = Path(name_or_path)
    if given.suffix == ".jsonl" or given.is_file():
        return given
    return sets_dir / f"{name_or_path}.jsonl"


def stable_hash(text: str) -> int:
    """A process-independent hash (Python's `hash` is salted per run)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def case_id(kind: str, question: str, history: Sequence[Turn] = ()) -> str:
    """Deterministic id from the content: `followup-1a2b3c4d`."""
    key = question + "".join(f"\n{t.role}:{t.content}" for t in history)
    return f"{kind}-{stable_hash(key) % 16**8:08x}"


def split_of(case: EvalCase) -> Literal["dev", "test"]:
    """~40% dev / 60% test, decided by the case id alone, so adding questions moves none."""
    return "dev" if stable_hash("split:" + case.id) % 100 < DEV_SHARE else "test"


def sample_cases(cases: Sequence[EvalCase], n: int) -> list[EvalCase]:
    """A deterministic sample of n cases, spread over kinds round-robin (stable-hash order)."""
    if n >= len(cases):
        return list(cases)
    by_kind: dict[str, list[EvalCase]] = {}
    for case in sorted(cases, key=lambda c: stable_hash("sample:" + c.id)):
        by_kind.setdefault(case.kind, []).append(case)
    picked: list[EvalCase] = []
    queues = [by_kind[k] for k in KINDS if k in by_kind]
    while len(picked) < n:
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    order = {c.id: i for i, c in enumerate(cases)}
    return sorted(picked, key=lambda c: order[c.id])
