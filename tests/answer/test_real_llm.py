"""The answer pipeline end to end with the real local model (0.5B 'fast' profile, to fit CI)."""

from __future__ import annotations

import re

import pytest

from assistant.pipeline import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_assistant(retriever):
    from assistant.llm import make_chat_model

    settings = Settings()
    settings = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(update={"profile": "fast"}),
            "generation": settings.generation.model_copy(update={"max_new_tokens": 128, "mode": "generated"}),
        }
    )
    return Assistant(retriever, make_chat_model(settings), settings)


@pytest.mark.parametrize(
    "question",
    [
        "What is an induction head?",
        "What does the OV circuit of an attention head do?",
        "How does superposition relate to polysemantic neurons?",
        "What is activation patching used for?",
    ],
)
def test_real_answers_are_grounded_and_cited(real_assistant, question):
    answer = real_assistant.ask(question)
    assert answer.covered
    retrieved = {r.entry_id for r in answer.retrieved}
    cited = {c.entry_id for c in answer.citations}
    assert cited and cited <= retrieved
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    assert answer.models["llm"].startswith("Qwen2.5-Coder-0.5B")
    assert answer.timings["total_s"] > 0


def test_real_model_is_not_called_off_topic(real_assistant):
    answer = real_assistant.ask("What is a good recipe for banana bread?")
    assert not answer.covered and answer.citations == ()
    assert "llm" in answer.models and "generate_s" not in answer.timings


def test_real_stream_yields_instant_then_deltas(real_assistant):
    kinds = [e.kind for e in real_assistant.stream("what is the residual stream?")]
    assert kinds[0] == "instant" and kinds[-1] == "final" and "delta" in kinds
