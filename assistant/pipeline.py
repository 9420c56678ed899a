"""The Assistant: the one object UIs, the CLI and evals hold; it only delegates.

Answering is `answer.flow.answer_stream`, which drives the steps (retrieve, coverage, compose
or generate, cite) from the parts held here; nothing below imports this module. The public
surface is `stream` (events for UIs) and `ask` (the finished Answer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from assistant.answer.compose import Composer
from assistant.answer.flow import answer_stream
from assistant.types import Answer, AnswerEvent, ChatMessage, Entry, FinalEvent, Source

if TYPE_CHECKING:
    from assistant.llm.base import ChatModel
    from assistant.retrieval.retriever import HybridRetriever, SearchResult
    from assistant.settings import Settings


class Assistant:
    """Answers questions from the glossary with citations checked in code.

    Args:
        retriever: a loaded HybridRetriever (its index holds entries and sources).
        chat_model: any ChatModel; None means retrieval-only answers (summaries, no LLM).
        settings: generation and retrieval settings.
    """

    def __init__(self, retriever: HybridRetriever, chat_model: ChatModel | None, settings: Settings) -> None:
        self.retriever = retriever
        self.chat_model = chat_model
        self.settings = settings
        self.composer = Composer(retriever.index.entries)

    @property
    def entries(self) -> dict[str, Entry]:
        return self.retriever.index.entries

    @property
    def sources(self) -> dict[str, Source]:
        return self.retriever.index.sources

    def search(self, query: str, k: int | None = None) -> SearchResult:
        return self.retriever.search(query, k)

    def stream(self, question: str, history: Sequence[ChatMessage] = ()) -> Iterator[AnswerEvent]:
        """Yield InstantEvent? then DeltaEvent* then exactly one FinalEvent.

        Raises:
            UsageError: empty or over-long question (before any work).
        """
        yield from answer_stream(self.retriever, self.chat_model, self.composer, self.settings, question, history)

    def ask(self, question: str, history: Sequence[ChatMessage] = ()) -> Answer:
        final = None
        for event in self.stream(question, history):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None  # answer_stream always ends with a FinalEvent
        return final
