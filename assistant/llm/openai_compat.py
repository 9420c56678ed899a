"""Chat with any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, LM Studio, OpenAI).

Plain httpx against `{base_url}/chat/completions` with `stream: true`, parsing the server-sent
events (`data: {...}` lines ending with `data: [DONE]`). No openai SDK: one POST and a line parser
are all we need, and it keeps the dependency list short.

The API key is read from the environment variable NAMED in the settings at each request, by an
httpx auth hook that puts it only in the `Authorization` header: it is never stored on the object
or in our frames' locals, never logged, never put in an error (error bodies are scrubbed of it,
and transport errors are raised without their httpx chain, which holds the request headers).

Compromise: `timeout_s` bounds each wait for bytes from the server, not the whole answer; the
wall-clock deadline of a generation is the caller's job (close the stream when it passes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import httpx

from assistant.errors import BackendUnavailable, GlossaryError, NetworkError
from assistant.llm.base import wire_messages
from assistant.settings import OpenAILLMSettings
from assistant.types import ChatMessage

_EXCERPT_CHARS = 300


class OpenAICompatChatModel:
    """A `ChatModel` talking to an OpenAI-compatible chat-completions endpoint over HTTP.

    Example:
        >>> s = OpenAILLMSettings(base_url="http://127.0.0.1:8765/v1", model="qwen0.5b")
        >>> model = OpenAICompatChatModel(s)
        >>> "".join(model.stream([ChatMessage(role="user", content="Hi")], max_tokens=8))
        'Hello! How can I help?'
    """

    def __init__(self, settings: OpenAILLMSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self.model_id = settings.model
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self._display_url = _display_url(self.url)
        self._key_env = settings.api_key_env
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            follow_redirects=False,
            transport=transport,
            auth=_BearerFromEnv(settings.api_key_env),
        )

    def __repr__(self) -> str:
        return (
            f"OpenAICompatChatModel(model_id={self.model_id!r}, url={self._display_url!r}, "
            f"api_key_env={self._key_env!r})"
        )

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply as text deltas; the request is sent on the first `next()`.

        Raises (while iterating):
            NetworkError: the server cannot be reached or stops answering (names the URL).
            BackendUnavailable: the server answers with an HTTP error or a malformed stream.
        """
        body = {
            "model": self._settings.model,
            "messages": wire_messages(messages, max_tokens),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        return self._generate(body)

    def _generate(self, body: dict[str, Any]) -> Iterator[str]:
        headers = {"Accept": "text/event-stream"}
        try:
            with self._client.stream("POST", self.url, json=body, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(response.status_code, response.text)
                if response.headers.get("content-type", "").startswith("application/json"):
                    # Server ignored `stream: true`: take the whole message at once.
                    response.read()
                    text = _message_text(_parse_json(response.text, self._display_url))
                    if text:
                        yield text
                    return
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, `event:` and `: keep-alive` comments
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    text = _delta_text(_parse_json(data, self._display_url), self._key_env)
                    if text:
                        yield text
        except httpx.HTTPError as exc:
            error: GlossaryError = self._transport_error(exc)
        else:
            return
        # Raised outside the `except` so the httpx exception (which holds the request and its
        # headers) is not attached as __context__.
        raise error

    def _transport_error(self, exc: httpx.HTTPError) -> GlossaryError:
        url = self._display_url
        kind = type(exc).__name__
        if isinstance(exc, httpx.UnsupportedProtocol):
            return BackendUnavailable(
                f"cannot use the chat server URL {url}",
                "set MI_GLOSSARY_LLM__BASE_URL to an http(s) URL ending in /v1",
                cause=kind,
            )
        if isinstance(exc, httpx.ConnectTimeout):
            return NetworkError(
                f"no connection to the chat server at {url} within {self._settings.connect_timeout_s:g} s",
                "check that the server is running and reachable, or fix MI_GLOSSARY_LLM__BASE_URL",
                cause=kind,
            )
        if isinstance(exc, httpx.ConnectError):
            return NetworkError(
                f"cannot connect to the chat server at {url}",
                "start the server (e.g. `python -m llama_cpp.server --model <file.gguf>`), "
                "check the host name, or fix MI_GLOSSARY_LLM__BASE_URL",
                cause=f"{kind}: {_scrub(str(exc), self._key_env)}",
            )
        if isinstance(exc, httpx.TimeoutException):
            return NetworkError(
                f"the chat server at {url} sent nothing for {self._settings.timeout_s:g} s",
                "check the server's load, or raise MI_GLOSSARY_LLM__TIMEOUT_S",
                cause=kind,
            )
        return NetworkError(
            f"the connection to the chat server at {url} failed",
            "check the server and the network, then try again",
            cause=kind,
        )

    def _status_error(self, status: int, text: str) -> BackendUnavailable:
        excerpt = _scrub(" ".join(text.split())[:_EXCERPT_CHARS], self._key_env)
        if status in (401, 403):
            fix = f"check the API key in the environment variable {self._key_env}"
        elif status == 404:
            fix = (
                f"check that MI_GLOSSARY_LLM__BASE_URL ends in /v1 and that the server has the model {self.model_id!r}"
            )
        elif status == 429:
            fix = "the server is rate-limiting; wait and try again"
        elif status >= 500:
            fix = "the server failed; check its logs and try again"
        else:
            fix = "check the model name and the server's limits (context length, max_tokens)"
        return BackendUnavailable(f"the chat server at {self._display_url} answered HTTP {status}", fix, cause=excerpt)

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self._client.close()

    def __enter__(self) -> OpenAICompatChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _display_url(url: str) -> str:
    """The URL without user info or query, safe to show in messages."""
    try:
        return str(httpx.URL(url).copy_with(username=None, password=None, query=None, fragment=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid URL>"


class _BearerFromEnv(httpx.Auth):
    """Adds `Authorization: Bearer <key>` from the named env var, read at request time."""

    def __init__(self, env_name: str) -> None:
        self._env_name = env_name

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = os.environ.get(self._env_name, "").strip()
        if key:  # local servers need none; sending `Bearer ` with nothing would confuse some
            request.headers["Authorization"] = f"Bearer {key}"
        yield request

    def __repr__(self) -> str:
        return f"_BearerFromEnv({self._env_name!r})"


def _scrub(text: str, env_name: str) -> str:
    """`text` with the key held in `env_name` (if any) replaced by `***`."""
    key = os.environ.get(env_name, "").strip()
    return text.replace(key, "***") if key else text


def _parse_json(data: str, url: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        raise BackendUnavailable(
            f"the chat server at {url} sent a malformed event",
            "check that it speaks the OpenAI chat-completions API",
            cause=data[:80],
        )
    return obj


def _delta_text(event: dict[str, Any], env_name: str) -> str:
    if "error" in event:
        raise BackendUnavailable(
            "the chat server reported an error mid-answer",
            "check the server's logs and try again",
            cause=_scrub(json.dumps(event["error"])[:_EXCERPT_CHARS], env_name),
        )
    choices = event.get("choices") or ()
    if not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _message_text(event: dict[str, Any]) -> str:
    choices = event.get("choices") or ()
    if not choices or not isinstance(choices[0], dict):
        return ""
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""
