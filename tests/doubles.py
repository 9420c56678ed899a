"""Test doubles: small real classes that satisfy the protocols (always beside a real-part test)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from assistant.types import ChatMessage


class ScriptedChatModel:
    """A ChatModel that streams a fixed reply (or one computed from the messages) in small pieces."""

    def __init__(
        self,
        reply: str | Callable[[Sequence[ChatMessage]], str],
        *,
        model_id: str = "scripted",
        piece: int = 12,
        delay_s: float = 0.0,
    ) -> None:
        self.reply = reply
        self.model_id = model_id
        self.piece = piece
        self.delay_s = delay_s
        self.calls: list[list[ChatMessage]] = []

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        self.calls.append(list(messages))
        text = self.reply(messages) if callable(self.reply) else self.reply
        words = text.split(" ")
        text = " ".join(words[:max_tokens])  # one "token" per word: respects the cap like a model
        for i in range(0, len(text), self.piece):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield text[i : i + self.piece]
