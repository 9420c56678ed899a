"""Session fixtures for the chat-model tests: the real 0.5B GGUF, one loaded model, one server.

The GGUF is assembled once into the user's model cache (the settings' default,
~/.cache/mi-glossary) and reused by later runs; everything else writes under tmp_path.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.llm.gguf import PINNED
from assistant.settings import LocalLLMSettings

SERVER_ALIAS = "qwen0.5b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def fast_llm(fast_gguf: Path) -> Iterator[object]:
    """One in-process LlamaCppChatModel on the 0.5B, shared by the session (0.2 s to load)."""
    from assistant.llm.local import LlamaCppChatModel

    model = LlamaCppChatModel(fast_gguf, LocalLLMSettings(n_ctx=2048, n_threads=2), model_id=PINNED["fast"].model_id)
    yield model
    model.close()


@pytest.fixture(scope="session")
def llama_server(fast_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the 0.5B on loopback; yields its base URL (…/v1)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable, "-m", "assistant.llm.server",  # llama_cpp.server with the AMX-safe load
        "--model", str(fast_gguf),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", "2", "--n_ctx", "2048",
        "--model_alias", SERVER_ALIAS,
        "--verbose", "False",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready after 90 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
