"""OpenAICompatChatModel against a real llama.cpp server and a tiny local HTTP handler.

The llama server (session fixture) proves the SSE parsing on real output; the tiny handler
checks what is sent (Bearer header) and how HTTP errors, bad streams and stalls are reported.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.errors import BackendUnavailable, NetworkError
from assistant.llm.openai_compat import OpenAICompatChatModel
from assistant.settings import OpenAILLMSettings
from assistant.types import ChatMessage

SERVER_ALIAS = "qwen0.5b"  # the --model_alias the llama_server fixture passes
KEY_ENV = "MIG_TEST_LLM_KEY"
SECRET = "sk-test-9f8e7d6c5b4a-SECRET"
HELLO = [ChatMessage(role="user", content="Say hello.")]


def free_port() -> int:
    """A loopback port with nothing listening on it (just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model(base_url: str, **kw: Any) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(OpenAILLMSettings(base_url=base_url, model="m", api_key_env=KEY_ENV, **kw))


def _no_secret(exc: BaseException) -> None:
    """The key appears nowhere in the error, its repr, or anything chained to it."""
    seen: BaseException | None = exc
    while seen is not None:
        assert SECRET not in str(seen)
        assert SECRET not in repr(seen)
        assert SECRET not in repr(vars(seen))
        seen = seen.__cause__ or seen.__context__


# --- a tiny scripted server -------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        mode = self.path.split("/")[1]
        if mode == "ok":
            events = [
                {"choices": [{"delta": {"role": "assistant"}}]},
                {"choices": [{"delta": {"content": "Hel"}}]},
                {"choices": [{"delta": {"content": "lo"}}]},
                {"choices": [{"delta": {}, "finish_reason": "stop"}]},
            ]
            payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self._send(200, payload, "text/event-stream")
        elif mode == "json":
            self._send(200, json.dumps({"choices": [{"message": {"content": "whole"}}]}),
                       "application/json")  # fmt: skip
        elif mode == "unauthorized":
            auth = self.headers.get("Authorization", "")
            self._send(401, json.dumps({"error": f"Incorrect API key provided: {auth}"}),
                       "application/json")  # fmt: skip
        elif mode == "boom":
            self._send(500, "internal boom: the model crashed", "text/plain")
        elif mode == "garbage":
            self._send(200, "data: {not json\n\n", "text/event-stream")
        elif mode == "midstream_error":
            self._send(200, f'data: {{"error": {{"message": "died, key {SECRET}"}}}}\n\n',
                       "text/event-stream")  # fmt: skip
        elif mode == "slow":
            time.sleep(3)
            self._send(200, "data: [DONE]\n\n", "text/event-stream")

    def _send(self, status: int, text: str, ctype: str) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeout test)


@pytest.fixture
def scripted() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Base address of the scripted server and the list of requests it received."""
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


# --- what is sent -----------------------------------------------------------------------------


def test_key_from_named_env_var_is_sent_as_bearer(
    scripted: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, requests = scripted
    monkeypatch.setenv(KEY_ENV, SECRET)
    model = _model(f"{address}/ok/v1")

    assert list(model.stream(HELLO, max_tokens=5, temperature=0.3)) == ["Hel", "lo"]

    (req,) = requests
    assert req["path"] == "/ok/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert req["body"] == {
        "model": "m",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 5,
        "temperature": 0.3,
        "stream": True,
    }
    assert SECRET not in repr(model)
    assert SECRET not in str(model)
    assert SECRET not in repr(vars(model))
    assert KEY_ENV in repr(model)


def test_no_key_no_authorization_header(
    scripted: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, requests = scripted
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert "".join(_model(f"{address}/ok/v1/").stream(HELLO, max_tokens=5)) == "Hello"
    assert "Authorization" not in requests[0]["headers"]


def test_non_streaming_json_reply_is_accepted(scripted: tuple[str, list[dict[str, Any]]]) -> None:
    address, _ = scripted
    assert list(_model(f"{address}/json/v1").stream(HELLO, max_tokens=5)) == ["whole"]


# --- how failures are reported ----------------------------------------------------------------


def test_http_401_is_backend_unavailable_without_the_key(
    scripted: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = scripted
    monkeypatch.setenv(KEY_ENV, SECRET)
    with pytest.raises(BackendUnavailable) as info:
        list(_model(f"{address}/unauthorized/v1").stream(HELLO, max_tokens=5))
    assert "HTTP 401" in info.value.problem
    assert KEY_ENV in info.value.fix
    assert "Incorrect API key provided: Bearer ***" in info.value.cause
    _no_secret(info.value)


def test_http_500_names_status_and_body_excerpt(
    scripted: tuple[str, list[dict[str, Any]]],
) -> None:
    address, _ = scripted
    with pytest.raises(BackendUnavailable) as info:
        list(_model(f"{address}/boom/v1").stream(HELLO, max_tokens=5))
    assert "HTTP 500" in str(info.value)
    assert "internal boom" in str(info.value)
    assert f"{address}/boom/v1/chat/completions" in str(info.value)


def test_malformed_stream_and_error_events(
    scripted: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = scripted
    monkeypatch.setenv(KEY_ENV, SECRET)
    with pytest.raises(BackendUnavailable, match="malformed"):
        list(_model(f"{address}/garbage/v1").stream(HELLO, max_tokens=5))
    with pytest.raises(BackendUnavailable, match="error mid-answer") as info:
        list(_model(f"{address}/midstream_error/v1").stream(HELLO, max_tokens=5))
    _no_secret(info.value)


def test_refused_port_is_a_fast_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(NetworkError) as info:
        next(_model(url).stream(HELLO, max_tokens=5))
    assert time.monotonic() - t0 < 2.0
    assert f"{url}/chat/completions" in info.value.problem
    assert "start the server" in info.value.fix
    assert info.value.__context__ is None and info.value.__cause__ is None
    _no_secret(info.value)


def test_dns_failure_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(NetworkError, match=r"http://llm\.invalid/v1/chat/completions") as info:
        next(_model("http://llm.invalid/v1").stream(HELLO, max_tokens=5))
    assert "host name" in info.value.fix


def test_silent_server_times_out_with_the_url(
    scripted: tuple[str, list[dict[str, Any]]],
) -> None:
    address, _ = scripted
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match=r"sent nothing for 0\.3 s") as info:
        next(_model(f"{address}/slow/v1", timeout_s=0.3).stream(HELLO, max_tokens=5))
    assert time.monotonic() - t0 < 2.0
    assert "MI_GLOSSARY_LLM__TIMEOUT_S" in info.value.fix


def test_user_info_in_base_url_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://alice:{SECRET}@127.0.0.1:{free_port()}/v1"
    model = _model(url)
    assert SECRET not in repr(model)
    with pytest.raises(NetworkError) as info:
        next(model.stream(HELLO, max_tokens=5))
    _no_secret(info.value)


# --- the real llama.cpp server ----------------------------------------------------------------


@pytest.mark.slow
def test_streams_an_answer_from_llama_cpp_server(llama_server: str) -> None:
    model = OpenAICompatChatModel(OpenAILLMSettings(base_url=llama_server, model=SERVER_ALIAS))
    messages = [
        ChatMessage(role="system", content="Answer using only the context, in one sentence."),
        ChatMessage(
            role="user",
            content="Context: The Frobnitz coefficient of a transformer layer is 17.\n\n"
            "Question: What is the Frobnitz coefficient of a transformer layer?",
        ),
    ]
    deltas = list(model.stream(messages, max_tokens=40))
    assert len(deltas) > 1
    assert "17" in "".join(deltas)

    capped = list(model.stream([ChatMessage(role="user", content="Count from 1 to 200.")], max_tokens=6))
    assert 1 < len(capped) <= 6


@pytest.mark.slow
def test_closing_early_then_streaming_again(llama_server: str) -> None:
    model = OpenAICompatChatModel(OpenAILLMSettings(base_url=llama_server, model=SERVER_ALIAS))
    count = "Count from 1 to 1000, separated by commas."
    first = model.stream([ChatMessage(role="user", content=count)], max_tokens=300)
    assert next(first)
    first.close()
    t0 = time.monotonic()
    assert next(model.stream(HELLO, max_tokens=4))
    # The server drops the abandoned answer when it sees the disconnect instead of finishing
    # its 300 tokens: 0.4-1.1 s measured (also on a loaded machine); generous for busy CI.
    assert time.monotonic() - t0 < 15.0
    model.close()
