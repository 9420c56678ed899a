"""End-to-end abstention on the out-of-scope questions of an eval set, with the real model.

Prints how many were answered "not covered" with no citations, and what the others said.
Most never reach the model (the retrieval gate stops them), so this takes a few minutes.

    python scripts/abstention_end_to_end.py --set test [--profile fast]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.factory import open_assistant
from assistant.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", default="test")
    parser.add_argument("--profile", choices=["default", "fast"], default="default")
    args = parser.parse_args()
    base = Settings()
    settings = base.model_copy(update={"llm": base.llm.model_copy(update={"profile": args.profile})})
    assistant = open_assistant(settings)
    path = Path("evals/sets") / f"{args.set}.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    misses, n = [], 0
    for case in cases:
        if case["kind"] != "out_of_scope":
            continue
        n += 1
        answer = assistant.ask(case["question"])
        if answer.covered or answer.citations:
            misses.append((case["question"], answer.answer[:120]))
    print(f"out-of-scope answered 'not covered' with no citations: {n - len(misses)}/{n} = {(n - len(misses)) / n:.3f}")
    for question, text in misses:
        print(f"  - {question!r}: {text!r}")


if __name__ == "__main__":
    main()
