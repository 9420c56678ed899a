"""The chat-model seam: one Protocol every back end satisfies.

A chat model turns a list of messages into a stream of text deltas. That is all the answer
pipeline needs, so the Protocol has exactly one method. Compromise: no token counts, logprobs or
tool calls cross this seam; a back end that needs them must grow the Protocol for everyone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

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

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0
    ) -> Iterator[str]:
        """Yield the reply as text deltas, at most `max_tokens` tokens.

        Closing the iterator early (or dropping it) stops the generation and frees the back end
        for the next caller at once.
        """
        ...
