"""Answer slots: the one bound on concurrent answers, shared by the chat, the HTTP API and MCP.

At most `active` answers run at once (the language model has one slot) and at most `waiting`
more wait for it; past that, `hold()` raises `ServiceBusy` at once instead of queueing. The
chat's own Gradio queue counts too: `pending` reports how many chat events wait there, so an API
caller sees the chat's backlog, and the chat's validator refuses a question while the slots are
full. Compromise: the two queues are not one FIFO; an API request and a chat event that arrive
together may be served in either order, but the total never exceeds `active + waiting`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.errors import ServiceBusy

RETRY_AFTER_S = 5


class AnswerSlots:
    """A bounded waiting line in front of `active` concurrent answers (thread-safe).

    Args:
        active: answers that may run at once.
        waiting: answers that may wait for a slot; one more is refused with ServiceBusy.
        wait_s: longest wait for a slot before ServiceBusy.
        pending: extra waiting work counted against `waiting` (the chat's Gradio queue).
    """

    def __init__(
        self, active: int = 1, waiting: int = 8, *, wait_s: float = 120.0, pending: Callable[[], int] | None = None
    ) -> None:
        self.active = active
        self.waiting = waiting
        self.wait_s = wait_s
        self.pending = pending or (lambda: 0)
        self._cond = threading.Condition()
        self._running = 0
        self._queued = 0

    @property
    def capacity(self) -> int:
        return self.active + self.waiting

    def load(self) -> int:
        """Answers running or waiting, the chat's queued events included."""
        return self._running + self._queued + self.pending()

    def full(self) -> bool:
        return self.load() >= self.capacity

    @contextmanager
    def hold(self, *, admitted: bool = False) -> Iterator[None]:
        """Run the block in an answer slot, waiting in line for one.

        `admitted=True` skips the "line is full" check, for work another queue already admitted
        (a chat event Gradio has dequeued).

        Raises:
            ServiceBusy: the line is full, or no slot came free within `wait_s`.
        """
        with self._cond:
            if not admitted and self.full():
                raise ServiceBusy(
                    f"the assistant is busy ({self.load()} answers running or waiting)",
                    f"retry in {RETRY_AFTER_S} s",
                    retry_after_s=RETRY_AFTER_S,
                )
            self._queued += 1
            try:
                got = self._cond.wait_for(lambda: self._running < self.active, timeout=self.wait_s)
            finally:
                self._queued -= 1
            if not got:
                raise ServiceBusy(
                    f"no answer slot came free within {self.wait_s:.0f} s",
                    f"retry in {RETRY_AFTER_S} s",
                    retry_after_s=RETRY_AFTER_S,
                )
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()
