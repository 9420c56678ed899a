"""The chat-model seam: one Protocol every back end satisfies.

A chat model turns a list of messages into a stream of text deltas. That is all the answer
pipeline needs, so the Protocol has exactly one method. Compromise: no token counts, logprobs or
tool calls cross this seam; a back end that needs them must grow the Protocol for everyone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.errors import UsageError
from assistant.types import ChatMessage


@runtime_checkable
class ChatModel(Protocol):
    """Streams a reply to chat messages.

    Example:
        >>> "".join(model.stream([ChatMessage(role="user", content="Say hi")], max_tokens=8))
        'Hi!'
    """

    model_id: str
    """Stable model name recorded with every answer, e.g. `Qwen2.5-Coder-0.5B-Instruct-Q4_K_M`."""

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply as text deltas, at most `max_tokens` tokens.

        Closing the iterator early (or dropping it) stops the generation and frees the back end
        for the next caller at once.
        """
        ...


def wire_messages(messages: Sequence[ChatMessage], max_tokens: int) -> list[dict[str, str]]:
    """The messages as chat-completion dicts, after the checks every back end makes first.

    Raises:
        UsageError: `max_tokens` below 1, or no messages.
    """
    if max_tokens < 1:
        raise UsageError(f"max_tokens must be at least 1, got {max_tokens}", "pass max_tokens >= 1")
    if not messages:
        raise UsageError("no messages to answer", "pass at least one user message")
    return [{"role": m.role, "content": m.content} for m in messages]
