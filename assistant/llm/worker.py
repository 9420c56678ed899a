"""The local model in a supervised child process, so native code cannot take the server down.

A segfault, abort or out-of-memory kill inside llama.cpp ends only the child. The parent's
`ProcessChatModel` sees the pipe close, raises `BackendUnavailable` to the caller of that one
answer (who still has the instant definition and the cited entries), and starts a fresh child
for the next question. The page cache keeps the GGUF, so a restart costs about the model's load
time plus a Python start.

Wire format: JSON lines (never pickle). Parent -> child on stdin: `{"op": "generate", "id",
"messages", "max_tokens", "temperature"}`, `{"op": "cancel", "id"}`, `{"op": "exit"}`. Child ->
parent on a private copy of its stdout: `{"event": "ready", "plan"}`, `{"event": "delta", "id",
"text"}`, `{"event": "done", "id"}`, `{"event": "error", "id", "type", "problem", "fix",
"cause"}`. The child points its fd 1 at stderr first, so nothing native can corrupt the protocol.

Compromise: one generation at a time (a lock, as in process), and a cancelled answer that does
not stop within `CANCEL_GRACE_S` is ended by killing the child, which then restarts on demand.
"""

from __future__ import annotations

import collections
import contextlib
import faulthandler
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from assistant.errors import BackendUnavailable, GlossaryError, UsageError
from assistant.llm.base import wire_messages
from assistant.llm.cpu import LlamaPlan
from assistant.settings import LocalLLMSettings
from assistant.types import ChatMessage

CANCEL_GRACE_S = 2.0
_POLL_S = 0.25
_WIRE_ERRORS: dict[str, type[GlossaryError]] = {"UsageError": UsageError, "BackendUnavailable": BackendUnavailable}
_EOF = object()


class _Child:
    """One running worker process: its pipes, a reader thread, and the last lines of its stderr."""

    def __init__(self, model_path: Path, settings: LocalLLMSettings, model_id: str) -> None:
        spec = json.dumps(
            {"model_path": str(model_path), "settings": settings.model_dump(mode="json"), "model_id": model_id}
        )
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, the spec is JSON we made
            [sys.executable, "-m", "assistant.llm.worker", spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )  # fmt: skip
        self.messages: queue.Queue[Any] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=12)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours: ignore rather than trust it
            if isinstance(msg, dict):
                self.messages.put(msg)
        self.messages.put(_EOF)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                self.stderr_tail.append(text[:300])

    def send(self, msg: dict[str, Any]) -> bool:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message; None when the child died (or closed its output) or stayed silent."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                msg = self.messages.get(timeout=_POLL_S)
            except queue.Empty:
                if not self.alive() and self.messages.empty():
                    return None
                if time.monotonic() > deadline:
                    return None
                continue
            return None if msg is _EOF else msg

    def how_it_ended(self) -> str:
        """'killed by SIGSEGV', 'exited with 1', or 'stopped answering' (still running)."""
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with {code}"

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class ProcessChatModel:
    """A `ChatModel` whose llama.cpp runs in a child process that is restarted after a crash.

    Example:
        >>> model = ProcessChatModel(Path("qwen.gguf"), LocalLLMSettings(n_ctx=2048))
        >>> "".join(model.stream([ChatMessage(role="user", content="2+2?")], max_tokens=8))
        '2 + 2 = 4'

    Raises:
        BackendUnavailable: the model cannot be loaded (from the constructor), or the child
            crashed while answering (from the stream; the next call starts a new child).
    """

    def __init__(
        self, model_path: Path, settings: LocalLLMSettings | None = None, *, model_id: str | None = None
    ) -> None:
        from assistant.llm.local import check_model_file

        self._settings = settings or LocalLLMSettings.model_validate({})
        self.model_path = Path(model_path)
        check_model_file(self.model_path)
        self.model_id = model_id or self.model_path.name
        self.n_ctx = self._settings.n_ctx
        self.plan: LlamaPlan | None = None
        self.restarts = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._child: _Child | None = None
        self._child = self._start()

    def __repr__(self) -> str:
        return f"ProcessChatModel(model_id={self.model_id!r}, n_ctx={self.n_ctx})"

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before the first start or after a crash)."""
        child = self._child
        return child.proc.pid if child is not None and child.alive() else None

    def _start(self) -> _Child:
        child = _Child(self.model_path, self._settings, self.model_id)
        msg = child.receive(self._settings.process_timeout_s)
        if msg is not None and msg.get("event") == "ready":
            self.plan = LlamaPlan.model_validate(msg["plan"])
            return child
        ended = child.how_it_ended()
        child.kill()
        if msg is not None and msg.get("event") == "error":
            raise _from_wire(msg)
        raise BackendUnavailable(
            f"the local model process {ended} while loading {self.model_path.name}",
            "check free memory and the model file; run with MI_GLOSSARY_LLM__EXTRA_BUFTS=off if llama.cpp "
            "crashes on this CPU",
            cause=" | ".join(list(child.stderr_tail)[-3:]),
        )

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply as text deltas; the model lock is taken on the first `next()`."""
        request = {
            "op": "generate",
            "messages": wire_messages(messages, max_tokens),
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        return self._generate(request)

    def _generate(self, request: dict[str, Any]) -> Iterator[str]:
        wait = self._settings.wait_timeout_s
        if not self._lock.acquire(timeout=wait):
            raise BackendUnavailable(
                f"the local model stayed busy for {wait:.0f} s with another answer", "try again in a moment"
            )
        try:
            child = self._running_child()
            rid = next(self._ids)
            if not child.send({**request, "id": rid}):  # its stdin is gone: the child died between answers
                raise self._crashed(child)
            finished = False
            try:
                while not finished:
                    msg = child.receive(self._settings.process_timeout_s)
                    if msg is None:
                        finished = True
                        raise self._crashed(child)
                    if msg.get("id") != rid:
                        continue  # the tail of an earlier, cancelled request
                    event = msg.get("event")
                    if event == "delta" and isinstance(msg.get("text"), str):
                        yield msg["text"]
                    elif event == "done":
                        finished = True
                    elif event == "error":
                        finished = True
                        raise _from_wire(msg)
            finally:
                if not finished:  # the consumer stopped early: stop the child, or end it
                    self._cancel(child, rid)
        finally:
            self._lock.release()

    def _running_child(self) -> _Child:
        if self._child is None or not self._child.alive():
            if self._child is not None:
                self._child.kill()
            self._child = None
            self._child = self._start()
            self.restarts += 1
        return self._child

    def _crashed(self, child: _Child) -> BackendUnavailable:
        ended = child.how_it_ended()
        tail = " | ".join(list(child.stderr_tail)[-3:])
        child.kill()
        if self._child is child:
            self._child = None
        return BackendUnavailable(
            f"the local model process {ended} while answering",
            "ask again: the model restarts for the next question",
            cause=tail,
        )

    def _cancel(self, child: _Child, rid: int) -> None:
        if child.send({"op": "cancel", "id": rid}):
            deadline = time.monotonic() + CANCEL_GRACE_S
            while (left := deadline - time.monotonic()) > 0:
                msg = child.receive(left)
                if msg is None:
                    break
                if msg.get("id") == rid and msg.get("event") in ("done", "error"):
                    return
        child.kill()  # did not stop in time: the next question starts a new child
        if self._child is child:
            self._child = None

    def close(self) -> None:
        """Stop the worker process."""
        child, self._child = self._child, None
        if child is not None:
            child.send({"op": "exit"})
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=CANCEL_GRACE_S)
            child.kill()


def _from_wire(msg: dict[str, Any]) -> GlossaryError:
    cls = _WIRE_ERRORS.get(str(msg.get("type")), BackendUnavailable)
    return cls(
        str(msg.get("problem", "the local model failed")), str(msg.get("fix", "")), cause=str(msg.get("cause", ""))
    )


# -- the child side


def _serve(spec: dict[str, Any], out: IO[str]) -> None:
    from assistant.llm.local import LlamaCppChatModel

    def send(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    try:
        model = LlamaCppChatModel(
            Path(spec["model_path"]), LocalLLMSettings.model_validate(spec["settings"]), model_id=spec["model_id"]
        )
    except GlossaryError as exc:
        send(_wire_error(0, exc))
        return
    send({"event": "ready", "plan": model.plan.model_dump()})
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    cancelled: set[int] = set()

    def read_stdin() -> None:
        for line in sys.stdin:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("op") == "cancel":
                cancelled.add(int(msg.get("id", 0)))
            elif msg.get("op") == "generate":
                requests.put(msg)
            elif msg.get("op") == "exit":
                break
        requests.put(None)  # parent gone or asked us to stop

    threading.Thread(target=read_stdin, daemon=True).start()
    while (req := requests.get()) is not None:
        rid = int(req["id"])
        try:
            messages = [ChatMessage(role=m["role"], content=m["content"]) for m in req["messages"]]
            stream = model.stream(messages, max_tokens=int(req["max_tokens"]), temperature=float(req["temperature"]))
            try:
                for text in stream:
                    if rid in cancelled:
                        break
                    send({"event": "delta", "id": rid, "text": text})
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            send({"event": "done", "id": rid})
        except GlossaryError as exc:
            send(_wire_error(rid, exc))
        cancelled.discard(rid)
    model.close()


def _wire_error(rid: int, exc: GlossaryError) -> dict[str, Any]:
    return {
        "event": "error",
        "id": rid,
        "type": type(exc).__name__,
        "problem": exc.problem,
        "fix": exc.fix,
        "cause": exc.cause,
    }


def main() -> None:
    """Entry point of the child: `python -m assistant.llm.worker '<json spec>'`."""
    faulthandler.enable()
    # The protocol gets a private copy of stdout; fd 1 then points at stderr, so anything native
    # code prints goes to the log instead of into our JSON lines.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    _serve(json.loads(sys.argv[1]), out)
    out.flush()
    os._exit(0)  # no interpreter teardown: llama.cpp's finalisers are not needed on the way out


if __name__ == "__main__":
    main()
