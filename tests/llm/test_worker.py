"""The model in a supervised child process: crashes end only the child, the next answer works.

Real parts: the pinned 0.5B GGUF in a real worker process, killed with real signals mid-answer.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from assistant.errors import BackendUnavailable, UsageError
from assistant.settings import LocalLLMSettings
from assistant.types import ChatMessage

pytestmark = pytest.mark.slow

COUNT = [ChatMessage(role="user", content="Count from 1 to 300, separated by commas.")]
CAPITAL = [
    ChatMessage(
        role="user",
        content="Context: The capital of Frobnia is Quux.\n\nQuestion: What is the capital of Frobnia? Answer in one word.",
    )
]


@pytest.fixture(scope="module")
def worker(fast_gguf: Path):
    pytest.importorskip("llama_cpp")
    from assistant.llm.worker import ProcessChatModel

    model = ProcessChatModel(fast_gguf, LocalLLMSettings(n_ctx=2048, n_threads=2), model_id="fast")
    yield model
    model.close()


def test_answers_in_a_child_process(worker):
    assert worker.pid is not None and worker.pid != os.getpid()
    assert "Quux" in "".join(worker.stream(CAPITAL, max_tokens=8))
    assert worker.plan is not None and worker.plan.reason


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT])
def test_a_crash_mid_answer_fails_that_answer_only(worker, sig):
    restarts = worker.restarts
    stream = worker.stream(COUNT, max_tokens=300)
    got = [next(stream), next(stream)]
    os.kill(worker.pid, sig)
    with pytest.raises(BackendUnavailable) as info:
        got.extend(stream)
    assert signal.Signals(sig).name in info.value.problem
    assert "restarts" in info.value.fix
    assert worker.pid is None  # the dead child is forgotten
    assert "Quux" in "".join(worker.stream(CAPITAL, max_tokens=8))  # a new child answers
    assert worker.restarts == restarts + 1


def test_closing_mid_answer_frees_the_model_at_once(worker):
    pid = worker.pid
    stream = worker.stream(COUNT, max_tokens=300)
    next(stream)
    t0 = time.monotonic()
    stream.close()
    nxt = worker.stream(CAPITAL, max_tokens=8)
    first = next(nxt)
    assert time.monotonic() - t0 < 2.5
    assert "Quux" in first + "".join(nxt)
    assert worker.pid == pid  # cancelled in place, not restarted


def test_errors_cross_the_process_boundary_typed(worker):
    huge = [ChatMessage(role="user", content="word " * 5000)]
    with pytest.raises(UsageError, match="context window"):
        "".join(worker.stream(huge, max_tokens=8))
    assert "Quux" in "".join(worker.stream(CAPITAL, max_tokens=8))


def test_a_file_llama_cpp_cannot_load_fails_the_constructor(tmp_path):
    pytest.importorskip("llama_cpp")
    from assistant.llm.worker import ProcessChatModel

    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF but not really" * 100)
    with pytest.raises(BackendUnavailable, match="could not load"):
        ProcessChatModel(junk, LocalLLMSettings(n_ctx=512))
    with pytest.raises(BackendUnavailable, match="no GGUF model file"):
        ProcessChatModel(tmp_path / "absent.gguf")


def test_the_amx_safe_load_path_answers(fast_gguf):
    """What an AMX machine runs (no extra buffer types), run here for real."""
    pytest.importorskip("llama_cpp")
    from assistant.llm.worker import ProcessChatModel

    model = ProcessChatModel(fast_gguf, LocalLLMSettings(n_ctx=1024, extra_bufts="off"))
    try:
        assert model.plan is not None and model.plan.use_extra_bufts is False
        assert "Quux" in "".join(model.stream(CAPITAL, max_tokens=8))
    finally:
        model.close()


def test_parent_death_ends_the_child(fast_gguf, tmp_path):
    """The child reads EOF on stdin when its parent dies, and exits: no orphaned model."""
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from assistant.llm.worker import ProcessChatModel\n"
        "from assistant.settings import LocalLLMSettings\n"
        f"m = ProcessChatModel(Path({str(fast_gguf)!r}), LocalLLMSettings(n_ctx=512))\n"
        "print(m.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):  # exited; waiting for a reaper that is not us
            return
        time.sleep(0.1)
    pytest.fail(f"worker {child_pid} outlived its parent")


def test_default_model_reads_a_long_prompt_on_this_cpu():
    """The default profile (1.5B), built by the factory as the chat builds it, on a 400+ token prompt:
    the path that segfaulted on AMX machines before the CPU decision (issue 12)."""
    pytest.importorskip("llama_cpp")
    from assistant.llm import make_chat_model
    from assistant.settings import Settings

    repo = Path(__file__).resolve().parents[2]
    entry = (repo / "corpus" / "entries").rglob("induction-head.md")
    context = next(entry).read_text()
    context = context + "\n\n" + (repo / "corpus" / "about.md").read_text()
    assert len(context.split()) >= 400  # English words: at least as many tokens
    model = make_chat_model(Settings())
    try:
        assert model.model_id.startswith("Qwen2.5-Coder-1.5B")
        question = ChatMessage(role="user", content=f"{context}\n\nIn a few words: what does an induction head copy?")
        reply = "".join(model.stream([question], max_tokens=32))
        assert reply.strip() and "token" in reply.lower()
    finally:
        model.close()
