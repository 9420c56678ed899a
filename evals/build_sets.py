"""Build evals/sets/{dev,test}.jsonl from the hand-written questions in evals/questions/*.yaml.

    .venv/bin/python evals/build_sets.py            # write the sets
    .venv/bin/python evals/build_sets.py --check    # exit 1 if the sets are out of date

Ids are derived from the question text (and history), and the dev/test split from the id, so
adding or editing one question never moves another between splits. Every gold entry id is
checked against the corpus; lookups must cover every entry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from assistant.corpus import load_corpus
from assistant.durable import atomic_write
from assistant.evaluation.dataset import EvalCase, Turn, case_id, parse_cases, split_of

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions"
SETS = HERE / "sets"
KIND_ORDER = ("lookup", "paraphrase", "multi", "followup", "out_of_scope", "injection")


def _case(
    kind: str,
    question: str,
    expected: list[str],
    *,
    abstain: bool = False,
    facts: list[str] | None = None,
    history: list[Turn] | None = None,
    bad: list[str] | None = None,
) -> EvalCase:
    hist = tuple(history or ())
    return EvalCase(
        id=case_id(kind, question, hist),
        question=question,
        expected_entries=tuple(expected),
        kind=kind,
        must_abstain=abstain,
        key_facts=tuple(facts or ()),
        history=hist,
        must_not_contain=tuple(bad or ()),
    )


def _load(name: str):
    return yaml.safe_load((QUESTIONS / name).read_text(encoding="utf-8"))


def build_cases() -> list[EvalCase]:
    cases: list[EvalCase] = []
    for entry_id, questions in _load("lookup.yaml").items():
        for q in [questions] if isinstance(questions, str) else questions:
            cases.append(_case("lookup", q, [entry_id]))
    for item in _load("paraphrase.yaml"):
        cases.append(_case("paraphrase", item["q"], item["e"], facts=item.get("facts")))
    for item in _load("multi.yaml"):
        cases.append(_case("multi", item["q"], item["e"], facts=item.get("facts")))
    for item in _load("followup.yaml"):
        user, assistant = item["h"]
        history = [Turn(role="user", content=user), Turn(role="assistant", content=assistant)]
        cases.append(_case("followup", item["q"], item["e"], history=history, facts=item.get("facts")))
    oos = _load("out_of_scope.yaml")
    for q in oos["near"] + oos["far"]:
        cases.append(_case("out_of_scope", q, [], abstain=True))
    for item in _load("injection.yaml"):
        cases.append(_case("injection", item["q"], item["e"], abstain=not item["e"], bad=item.get("bad")))
    return cases


def render(cases: list[EvalCase]) -> dict[str, str]:
    ordered = sorted(cases, key=lambda c: (KIND_ORDER.index(c.kind), c.id))
    out: dict[str, list[str]] = {"dev": [], "test": []}
    for case in ordered:
        out[split_of(case)].append(case.model_dump_json(exclude_defaults=True))
    return {name: "\n".join(lines) + "\n" for name, lines in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Fail if the written sets differ.")
    parser.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus)
    cases = build_cases()
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        print(f"duplicate questions: {dupes}", file=sys.stderr)
        return 3
    texts = render(cases)
    for name, text in texts.items():  # validates ids against the corpus, with line numbers
        parse_cases(text.splitlines(), source=f"{name}.jsonl", known_entries=corpus.entries)
    looked_up = {e for c in cases if c.kind == "lookup" for e in c.expected_entries}
    missing = sorted(set(corpus.entries) - looked_up)
    if missing:
        print(f"{len(missing)} entries have no lookup question: {', '.join(missing)}", file=sys.stderr)
    counts = {k: sum(c.kind == k for c in cases) for k in KIND_ORDER}
    if args.check:
        stale = [
            n
            for n, t in texts.items()
            if not (SETS / f"{n}.jsonl").is_file() or (SETS / f"{n}.jsonl").read_text(encoding="utf-8") != t
        ]
        if stale:
            print(f"out of date: {stale}; run `python evals/build_sets.py`", file=sys.stderr)
            return 1
        print(f"ok: {len(cases)} questions {counts}")
        return 1 if missing else 0
    SETS.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        atomic_write(SETS / f"{name}.jsonl", text)
    sizes = {n: t.count("\n") for n, t in texts.items()}
    print(f"wrote {sizes} ({len(cases)} questions) {counts}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
