"""The glossary as a service: the operations the HTTP API and the MCP tools expose, as contracts.

`GlossaryService` wraps an Assistant and the shared `AnswerSlots`: `search`, `define`,
`get_entry` and `list_entries` are quick reads (no slot); `ask` and `stream` take an answer slot,
so the chat, the API and MCP share one bound on concurrent answers. Every method returns a model
from `assistant.contracts` and raises only `GlossaryError`s (`UsageError`, `EntryNotFound`,
`ServiceBusy`, ...), whose text says what to fix.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING

from assistant.contracts import AskResponse, DefineResponse, EntryList, EntrySummary, EntryView, SearchResponse
from assistant.errors import EntryNotFound, UsageError
from assistant.slots import AnswerSlots
from assistant.textnorm import normalize_query
from assistant.types import AnswerEvent, ChatMessage, FinalEvent

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

MAX_K = 50
MAX_TERM_CHARS = 200


class GlossaryService:
    """Search, define, ask and read entries; results are `assistant.contracts` models.

    Args:
        assistant: a loaded Assistant (index, and chat model in generated mode).
        slots: the answer slots shared with the chat (default: a private one, 1 running + 8 waiting).
    """

    def __init__(self, assistant: Assistant, slots: AnswerSlots | None = None) -> None:
        self.assistant = assistant
        self.slots = slots or AnswerSlots()

    @property
    def _retriever(self):
        return self.assistant.retriever

    def search(self, query: str, k: int = 5) -> SearchResponse:
        """Ranked entries for `query`, each with its best passage.

        Raises:
            UsageError: empty or over-long query, or k outside 1..50.
        """
        if not 1 <= k <= MAX_K:
            raise UsageError(f"k={k} is out of range", f"use a k from 1 to {MAX_K}")
        return SearchResponse.from_result(self.assistant.search(query, k))

    def define(self, term: str) -> DefineResponse:
        """The entry `term` names (its term, an alias, or a typo of either), like the chat's instant answer.

        Raises:
            UsageError: empty or over-long term.
            EntryNotFound: no entry has that term or alias; the message names the nearest entries.
        """
        text = normalize_query(term, max_chars=MAX_TERM_CHARS)
        settings = self.assistant.settings.retrieval
        matches = [
            m
            for m in self._retriever.resolver.resolve(text, fuzzy_cutoff=settings.fuzzy_cutoff)
            if m.how in ("exact", "fuzzy") and m.entry_id in self.assistant.entries
        ]
        if not matches:
            near = [h.entry_id for h in self.assistant.search(text, 3).hits]
            raise EntryNotFound(
                f"no glossary entry is named '{text}'",
                f"call search with it instead (nearest entries: {', '.join(near) or 'none'})",
            )
        entry = self.assistant.entries[matches[0].entry_id]
        return DefineResponse(
            entry_id=entry.id,
            term=entry.term,
            aliases=list(entry.aliases),
            section=entry.section,
            summary=entry.summary,
            url=self._retriever.url(entry.id),
            matched="fuzzy" if matches[0].how == "fuzzy" else "exact",
        )

    def get_entry(self, entry_id: str) -> EntryView:
        """The whole entry with this id.

        Raises:
            EntryNotFound: no such id; the message says how to find one.
        """
        entry = self.assistant.entries.get(entry_id)
        if entry is None:
            shown = entry_id[:80]
            raise EntryNotFound(
                f"no glossary entry has the id '{shown}'",
                "ids are lowercase-hyphen like 'induction-head'; get them from search or define",
            )
        return EntryView.from_entry(entry, self.assistant.entries, self.assistant.sources, self._retriever.url)

    def list_entries(self, section: str | None = None) -> EntryList:
        """Entries sorted by term; `section` keeps one section and its subsections.

        Raises:
            EntryNotFound: no entry is in that section; the message lists the sections.
        """
        wanted = (section or "").strip("/ ")
        rows = [
            e
            for e in self.assistant.entries.values()
            if not wanted or e.section == wanted or e.section.startswith(wanted + "/")
        ]
        if wanted and not rows:
            known = sorted({e.section for e in self.assistant.entries.values()})
            raise EntryNotFound(f"no entries in section '{wanted[:80]}'", f"use one of: {', '.join(known)}")
        rows.sort(key=lambda e: e.term.casefold())
        return EntryList(
            section=wanted or None,
            count=len(rows),
            entries=[EntrySummary(id=e.id, term=e.term, section=e.section, summary=e.summary) for e in rows],
        )

    def check_question(self, question: str) -> None:
        """Raise UsageError now for a question `ask` would refuse (before taking a slot)."""
        normalize_query(question, max_chars=self.assistant.settings.retrieval.max_query_chars)

    def ask(self, question: str, history: Sequence[ChatMessage] = ()) -> AskResponse:
        """The checked, cited answer (takes an answer slot).

        Raises:
            UsageError: empty or over-long question. ServiceBusy: every slot is taken.
        """
        final = None
        for event in self.stream(question, history):
            if isinstance(event, FinalEvent):
                final = event.answer
        assert final is not None  # answer_stream always ends with a FinalEvent
        return AskResponse.from_answer(final)

    def stream(self, question: str, history: Sequence[ChatMessage] = ()) -> Generator[AnswerEvent, None, None]:
        """InstantEvent? DeltaEvent* FinalEvent, inside an answer slot held until the stream ends.

        The slot is taken when iteration starts: call `slots.full()` first to refuse early.

        Raises:
            UsageError: empty or over-long question. ServiceBusy: every slot is taken.
        """
        self.check_question(question)
        with self.slots.hold():
            yield from self.assistant.stream(question, history)
