"""Benchmark answers on the real index: time to first token and service time per model profile.

Prints, side by side in one run, for each profile: median and p95 of time to first token (TTFT),
total service time S, citations per answer and the share of unsupported sentences. Not a test.

    python scripts/bench_answer.py --profiles fast default --n 6
"""

from __future__ import annotations

import argparse
import statistics
import time

from assistant.factory import open_retriever
from assistant.llm import make_chat_model
from assistant.pipeline import Assistant
from assistant.settings import Settings
from assistant.types import DeltaEvent, FinalEvent, InstantEvent

QUESTIONS = [
    "What is an induction head?",
    "How does superposition let a model store more features than dimensions?",
    "What is the difference between zero ablation and mean ablation?",
    "What does the OV circuit of an attention head compute?",
    "Why do sparse autoencoder features split as the dictionary grows?",
    "What is the residual stream?",
    "How does activation patching use clean and corrupted runs?",
    "What is the logit lens and why does it fail in early layers?",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", nargs="+", default=["fast", "default"])
    parser.add_argument("--n", type=int, default=len(QUESTIONS))
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()
    base = Settings()
    retriever = open_retriever(base)
    rows = []
    for profile in args.profiles:
        settings = base.model_copy(
            update={
                "llm": base.llm.model_copy(update={"profile": profile}),
                "generation": base.generation.model_copy(update={"max_new_tokens": args.max_new_tokens}),
            }
        )
        assistant = Assistant(retriever, make_chat_model(settings), settings)
        assistant.ask("warm up: what is a token?")
        ttft, instant, total, cites, unsupported, sentences = [], [], [], [], 0, 0
        for question in QUESTIONS[: args.n]:
            start = time.perf_counter()
            first = first_instant = None
            for event in assistant.stream(question):
                now = time.perf_counter() - start
                if isinstance(event, InstantEvent) and first_instant is None:
                    first_instant = now
                if isinstance(event, DeltaEvent) and first is None:
                    first = now
                if isinstance(event, FinalEvent):
                    answer = event.answer
            total.append(time.perf_counter() - start)
            ttft.append(first or total[-1])
            instant.append(first_instant if first_instant is not None else float("nan"))
            cites.append(len(answer.citations))
            unsupported += answer.unsupported
            sentences += max(1, len(answer.sentences))
        rows.append((profile, assistant.chat_model.model_id, ttft, total, cites, unsupported / sentences, instant))
    print(
        f"{'profile':8} {'model':36} {'TTFT p50':>9} {'TTFT p95':>9} {'S p50':>7} {'S p95':>7} "
        f"{'cites':>6} {'unsupp.':>8}"
    )
    for profile, model, ttft, total, cites, unsup, _ in rows:
        print(
            f"{profile:8} {model:36} {statistics.median(ttft):9.2f} {pct(ttft, 0.95):9.2f} "
            f"{statistics.median(total):7.2f} {pct(total, 0.95):7.2f} {statistics.mean(cites):6.2f} {unsup:8.2%}"
        )
    print("(seconds; TTFT = first model token; the cited definition is shown before it when the question names a term)")


if __name__ == "__main__":
    main()
