"""Benchmark answers on the real index: quoted vs generated, per question kind, in one run.

For each question kind it prints the median time to the instant definition and to the finished
answer for the quoted path (the default: glossary sentences, no model text) and the generated
path (the chat model writes the answer), then the yardstick of the acceptance: the same model
reading a ~480-token prompt and writing 32 tokens, measured here, and each median as a ratio of
it. Not a test.

    python scripts/bench_answer.py --profile default
"""

from __future__ import annotations

import argparse
import statistics
import time

from assistant.factory import open_retriever
from assistant.llm import make_chat_model
from assistant.pipeline import Assistant
from assistant.settings import Settings
from assistant.types import ChatMessage, FinalEvent, InstantEvent

QUESTIONS = {
    "lookup": ["What is an induction head?", "What is the residual stream?", "what is a transcoder"],
    "paraphrase": [
        "what do you call a neuron that fires for many unrelated things?",
        "the trick of reading intermediate layers through the unembedding",
        "replacing an activation with its value from another prompt to see what it does",
    ],
    "howwhy": [
        "How does activation patching use clean and corrupted runs?",
        "Why do sparse autoencoder features split as the dictionary grows?",
        "How does superposition let a model store more features than dimensions?",
    ],
    "compare": [
        "What is the difference between zero ablation and mean ablation?",
        "How do the QK and OV circuits of a head differ?",
        "How does superposition relate to polysemanticity?",
    ],
    "list": [
        "What kinds of ablation are there?",
        "what types of SAE architectures exist?",
        "name the parts of the IOI circuit",
    ],
}


def yardstick(model) -> float:
    """Seconds to read a ~480-token prompt and write 32 tokens with this model."""
    filler = " ".join(["The residual stream carries information between layers of a transformer."] * 44)
    times = []
    for run in range(3):  # a different first word each time: llama.cpp must not reuse a cached prefix
        msg = [ChatMessage(role="user", content=f"Text {run}: {filler}\n\nSummarise the text above in one sentence.")]
        t0 = time.perf_counter()
        for _ in model.stream(msg, max_tokens=32):
            pass
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(assistant: Assistant, questions: list[str]) -> tuple[list[float], list[float]]:
    instant, total = [], []
    for q in questions:
        t0 = time.perf_counter()
        first = None
        for event in assistant.stream(q):
            if isinstance(event, InstantEvent | FinalEvent) and first is None:
                first = time.perf_counter() - t0
        total.append(time.perf_counter() - t0)
        instant.append(first if first is not None else total[-1])
    return instant, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="default", choices=["default", "fast"])
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()
    base = Settings()
    retriever = open_retriever(base)
    llm = base.llm.model_copy(update={"profile": args.profile})
    generated = base.model_copy(
        update={
            "llm": llm,
            "generation": base.generation.model_copy(
                update={"mode": "generated", "max_new_tokens": args.max_new_tokens}
            ),
        }
    )
    model = make_chat_model(generated)
    ruler = yardstick(model)
    paths = {"quoted": Assistant(retriever, None, base), "generated": Assistant(retriever, model, generated)}
    for a in paths.values():
        a.ask("warm up: what is a token?")
    print(f"model {model.model_id}; yardstick (read ~480 tokens + write 32): {ruler:.2f} s\n")
    print(f"{'kind':11} {'path':10} {'first p50':>10} {'final p50':>10} {'final max':>10} {'final/yardstick':>16}")
    for kind, questions in QUESTIONS.items():
        for name, assistant in paths.items():
            instant, total = run(assistant, questions)
            med = statistics.median(total)
            print(
                f"{kind:11} {name:10} {statistics.median(instant):10.2f} {med:10.2f} {max(total):10.2f} "
                f"{med / ruler:16.2f}"
            )
    print("\n(seconds; first = instant definition or, without one, the finished answer)")
    model.close()


if __name__ == "__main__":
    main()
