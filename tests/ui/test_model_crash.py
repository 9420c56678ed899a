"""A native crash of the model mid-answer, seen from the chat: the server stays up (issue 12).

Real parts: the app on the fixture index served by uvicorn, the pinned 0.5B in its worker
process, a gradio_client asking through the same `/ask` event the browser uses, and real
SIGSEGV / SIGKILL sent to the worker while it streams.
"""

from __future__ import annotations

import os
import re
import signal
import time

import httpx
import pytest

from tests.ui.conftest import start_server, ui_settings

pytestmark = pytest.mark.slow


def last_turn(html: str) -> str:
    parts = re.split(r'<div id="turn-\d+" class="turn">', html)
    return parts[-1] if len(parts) > 1 else ""


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def crash_app(retriever, fast_gguf, tmp_path_factory):
    pytest.importorskip("llama_cpp")
    from assistant.llm.worker import ProcessChatModel
    from assistant.pipeline import Assistant
    from assistant.settings import LocalLLMSettings
    from assistant.ui.app import build_app

    settings = ui_settings(tmp_path_factory.mktemp("crash"))
    model = ProcessChatModel(fast_gguf, LocalLLMSettings(n_ctx=2048), model_id="fast")
    server = start_server(build_app(Assistant(retriever, model, settings), settings))
    yield server, model
    server.stop()
    model.close()


def ask(url: str, question: str, on_stream=None) -> str:
    from gradio_client import Client

    client = Client(url, verbose=False)
    job = client.submit(question, api_name="/ask")
    fired = False
    for output in job:
        turn = last_turn(output[0] if isinstance(output, list | tuple) else str(output))
        if on_stream and not fired and "answer-text streaming" in turn:
            fired = True
            on_stream()
    final = job.outputs()[-1]
    assert not on_stream or fired, "the model never streamed, so nothing was killed mid-answer"
    return last_turn(final[0] if isinstance(final, list | tuple) else str(final))


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_killing_the_model_mid_answer_keeps_the_server_up(crash_app, sig):
    server, model = crash_app
    pid = model.pid
    assert pid is not None
    turn = ask(server.url, "What is an induction head?", on_stream=lambda: os.kill(pid, sig))
    shown = text_of(turn)
    assert "language model failed" in shown and signal.Signals(sig).name in shown
    assert "earlier occurrence" in shown and "#entry-induction-head" in turn  # the definition, cited
    assert 'class="error"' not in turn
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    t0 = time.monotonic()
    turn = ask(server.url, "What does the OV circuit do?")
    assert 'class="tools"' in turn and 'class="error"' not in turn
    assert "language model failed" not in text_of(turn)
    assert model.pid is not None and model.pid != pid  # a new worker answered
    assert time.monotonic() - t0 < 120
