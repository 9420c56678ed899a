"""Eval-set validation (named errors with line numbers), stable splits, and the shipped sets."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from assistant.evaluation.dataset import (
    EvalCase,
    EvalSetError,
    load_cases,
    parse_cases,
    sample_cases,
    split_of,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "fixtures" / "evals" / "tiny.jsonl"
FIXTURE_IDS = {p.stem for p in (REPO / "tests" / "fixtures" / "corpus" / "entries").rglob("*.md")}
GOOD = {
    "id": "a-1",
    "question": "what is a circuit",
    "expected_entries": ["circuit"],
    "kind": "lookup",
    "must_abstain": False,
}


def lines(*rows: object) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r) for r in rows]


def test_tiny_fixture_loads():
    cases = load_cases(TINY, known_entries=FIXTURE_IDS)
    assert len(cases) == 11
    assert {c.kind for c in cases} == {
        "lookup",
        "paraphrase",
        "multi",
        "followup",
        "out_of_scope",
        "injection",
    }
    follow = next(c for c in cases if c.kind == "followup")
    assert follow.history[0].role == "user"


def test_every_problem_is_reported_with_its_line_number():
    bad = lines(
        GOOD,
        "{not json",
        {**GOOD, "id": "a-2", "expected_entries": ["no-such-entry"]},
        {**GOOD, "id": "a-3", "colour": "blue"},
        {**GOOD},  # duplicate id
        {**GOOD, "id": "a-4", "kind": "riddle"},
        {**GOOD, "id": "a-5", "must_abstain": True},
    )
    with pytest.raises(EvalSetError) as info:
        parse_cases(bad, source="set.jsonl", known_entries=FIXTURE_IDS)
    problems = info.value.problems
    assert len(problems) == 6
    assert problems[0].startswith("set.jsonl:2: not valid JSON")
    assert problems[1].startswith("set.jsonl:3: unknown entry id(s)") and "no-such-entry" in problems[1]
    assert problems[2].startswith("set.jsonl:4:") and "colour" in problems[2]
    assert problems[3] == "set.jsonl:5: duplicate id 'a-1' (first on line 1)"
    assert problems[4].startswith("set.jsonl:6: kind")
    assert problems[5].startswith("set.jsonl:7:") and "must_abstain" in problems[5]
    assert info.value.exit_code == 3
    assert "fix" in str(info.value)


def test_missing_and_empty_sets_are_named_errors(tmp_path):
    with pytest.raises(EvalSetError, match="no such eval set"):
        load_cases(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n// a comment\n")
    with pytest.raises(EvalSetError, match="no questions"):
        load_cases(empty)


def test_case_rules():
    with pytest.raises(ValueError, match="needs a history"):
        EvalCase(**{**GOOD, "kind": "followup"})
    with pytest.raises(ValueError, match="must_abstain true"):
        EvalCase(**{**GOOD, "kind": "out_of_scope"})


def test_split_and_sample_are_stable():
    cases = load_cases(TINY)
    assert [split_of(c) for c in cases] == [split_of(c) for c in load_cases(TINY)]
    first = sample_cases(cases, 6)
    assert first == sample_cases(cases, 6)
    assert len({c.kind for c in first}) == 6  # stratified: one of each kind first
    assert sample_cases(cases, 99) == cases


def _build_sets_module():
    spec = importlib.util.spec_from_file_location("build_sets", REPO / "evals" / "build_sets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_sets_are_valid_complete_and_up_to_date():
    """dev + test validate against the corpus, meet the issue's counts, match their sources."""
    from assistant.corpus import load_corpus

    corpus = load_corpus(REPO / "corpus")
    cases = []
    for name in ("dev", "test"):
        cases += load_cases(REPO / "evals" / "sets" / f"{name}.jsonl", known_entries=corpus.entries)
    counts = {
        k: sum(c.kind == k for c in cases)
        for k in ("lookup", "paraphrase", "multi", "followup", "out_of_scope", "injection")
    }
    assert len(cases) >= 400
    assert counts["paraphrase"] >= 100 and counts["multi"] >= 50 and counts["followup"] >= 40
    assert counts["out_of_scope"] >= 60 and counts["injection"] >= 20
    assert all(2 <= len(c.expected_entries) <= 3 for c in cases if c.kind == "multi")
    looked_up = {e for c in cases if c.kind == "lookup" for e in c.expected_entries}
    assert set(corpus.entries) <= looked_up, f"no lookup for {sorted(set(corpus.entries) - looked_up)}"
    rendered = _build_sets_module().render(_build_sets_module().build_cases())
    for name, text in rendered.items():
        assert (REPO / "evals" / "sets" / f"{name}.jsonl").read_text() == text, "run evals/build_sets.py"
    dev_share = len(rendered["dev"].splitlines()) / len(cases)
    assert 0.3 < dev_share < 0.5
