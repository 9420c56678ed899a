"""Chat with a GGUF model in process through llama.cpp (llama-cpp-python).

One `Llama` object per model, guarded by a `threading.Lock` so only one generation runs at a
time: llama.cpp contexts are not re-entrant, and on two cores a second concurrent generation
would only halve the speed of both. The lock is taken when the caller starts iterating and
released as soon as the stream ends, raises, or is closed (`close()`, `break` + garbage
collection), so an abandoned answer frees the model at once.

Compromise: the lock is held while the consumer holds an open, unfinished stream. A caller that
keeps a half-read stream alive blocks everyone else; waiting callers give up after
`wait_timeout_s` with a "busy" error instead of hanging.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.errors import BackendUnavailable, UsageError
from assistant.llm.base import wire_messages
from assistant.llm.cpu import cpu_flags, llama_plan
from assistant.settings import LocalLLMSettings
from assistant.types import ChatMessage

INSTALL_HINT = "run `pip install 'mi-glossary[llm]'` (it builds llama-cpp-python; needs gcc and cmake)"


def check_installed() -> None:
    """Raise BackendUnavailable, naming the install command, when llama-cpp-python is missing."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        raise BackendUnavailable("the local chat back end needs llama-cpp-python, which is not installed", INSTALL_HINT)


def check_model_file(model_path: Path) -> None:
    """Raise BackendUnavailable when `model_path` is not a file."""
    if not model_path.is_file():
        raise BackendUnavailable(
            f"no GGUF model file at {model_path}",
            "unset MI_GLOSSARY_LLM__MODEL_PATH to use the pinned model, or point it at a .gguf file",
        )


class LlamaCppChatModel:
    """A `ChatModel` running a local GGUF with llama.cpp, using the chat template in the GGUF.

    Example:
        >>> model = LlamaCppChatModel(Path("qwen.gguf"), LocalLLMSettings(n_ctx=2048))
        >>> "".join(model.stream([ChatMessage(role="user", content="2+2?")], max_tokens=8))
        '2 + 2 = 4'

    Raises:
        BackendUnavailable: llama-cpp-python is not installed, or the file cannot be loaded.
    """

    def __init__(
        self,
        model_path: Path,
        settings: LocalLLMSettings | None = None,
        *,
        model_id: str | None = None,
    ) -> None:
        settings = settings or LocalLLMSettings.model_validate({})
        check_installed()
        from llama_cpp import Llama  # heavy native library: imported only when a model is built

        model_path = Path(model_path)
        check_model_file(model_path)
        self.model_id = model_id or model_path.name
        self.model_path = model_path
        self.n_ctx = settings.n_ctx
        self._wait_timeout_s = settings.wait_timeout_s
        self._lock = threading.Lock()
        self.plan = llama_plan(cpu_flags(), system_info(), settings.extra_bufts)
        try:
            with _model_params(use_extra_bufts=self.plan.use_extra_bufts):
                self._llama: Any = Llama(
                    model_path=str(model_path),
                    n_ctx=settings.n_ctx,
                    n_threads=settings.n_threads,
                    n_threads_batch=settings.n_threads,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendUnavailable(
                f"llama.cpp could not load {model_path}",
                "check that it is a complete GGUF file; for the pinned models delete it and run "
                "again to re-assemble it",
                cause=str(exc),
            ) from None

    def __repr__(self) -> str:
        return f"LlamaCppChatModel(model_id={self.model_id!r}, n_ctx={self.n_ctx})"

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply as text deltas (usually one token each), at most `max_tokens` tokens.

        Arguments are checked now; the model lock is taken on the first `next()`.
        """
        payload = wire_messages(messages, max_tokens)
        return self._generate(payload, max_tokens, temperature)

    def _generate(self, payload: list[dict[str, str]], max_tokens: int, temperature: float) -> Iterator[str]:
        if not self._lock.acquire(timeout=self._wait_timeout_s):
            raise BackendUnavailable(
                f"the local model stayed busy for {self._wait_timeout_s:.0f} s with another answer",
                "try again in a moment",
            )
        try:
            try:
                chunks = self._llama.create_chat_completion(
                    messages=payload, max_tokens=max_tokens, temperature=temperature, stream=True
                )
                # The request is validated (prompt length vs n_ctx) on the first chunk.
                first = next(chunks, None)
            except ValueError as exc:
                raise UsageError(
                    f"the prompt does not fit the model's context window of {self.n_ctx} tokens",
                    "use fewer or shorter context passages, or raise MI_GLOSSARY_LLM__N_CTX",
                    cause=str(exc),
                ) from None
            if first is None:
                return
            try:
                text = _delta_text(first)
                if text:
                    yield text
                for chunk in chunks:
                    text = _delta_text(chunk)
                    if text:
                        yield text
            except RuntimeError as exc:  # llama_decode failures surface as RuntimeError
                raise BackendUnavailable(
                    "llama.cpp failed while generating",
                    "try again; if it persists, lower MI_GLOSSARY_LLM__N_CTX or free memory",
                    cause=str(exc),
                ) from None
            finally:
                # Stop llama.cpp's generator now rather than at garbage collection.
                chunks.close()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Free the model's memory now (otherwise at garbage collection)."""
        close = getattr(self._llama, "close", None)
        if close is not None:
            close()


def system_info() -> str:
    """llama.cpp's own report of the features it was built with (e.g. `AMX_INT8 = 1`)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace")


_PARAMS_LOCK = threading.Lock()


@contextlib.contextmanager
def _model_params(*, use_extra_bufts: bool) -> Iterator[None]:
    """While a `Llama` is built, its model params get `use_extra_bufts` set as asked.

    `Llama.__init__` takes no such argument: it fills `llama_model_default_params()` and loads the
    model at once, so the defaults are wrapped for the duration (under a lock: one load at a time).
    """
    import llama_cpp.llama_cpp as lib

    with _PARAMS_LOCK:
        original = lib.llama_model_default_params

        def params() -> Any:
            p = original()
            p.use_extra_bufts = use_extra_bufts
            return p

        lib.llama_model_default_params = params
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def _delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or ()
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    return delta.get("content") or ""
