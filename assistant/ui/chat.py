"""The chat's behaviour, without Gradio: a session of turns and a controller that streams views.

`ChatController.respond` turns the Assistant's event stream (instant -> deltas -> final) into a
sequence of `ChatView`s (transcript HTML, sources-panel HTML, chips); the Gradio layer only
forwards them. Every failure ends as a short message inside the turn: a `GlossaryError` shows its
own text (problem; fix), anything else a generic line, and the traceback goes to the log only.
Compromise: feedback rates the latest answer of the session (no per-answer picker).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.errors import GlossaryError
from assistant.pipeline import Assistant
from assistant.settings import Settings
from assistant.slots import AnswerSlots
from assistant.textnorm import clean_text
from assistant.types import Answer, ChatMessage, DeltaEvent, FinalEvent, InstantEvent
from assistant.ui import views
from assistant.ui.catalog import Catalog
from assistant.ui.feedback import FeedbackLog, FeedbackRecord, clean_comment

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong while answering; please try again."
MAX_TURNS = 40  # a session keeps this many turns (bounds memory per browser tab)
STREAM_INTERVAL_S = 0.06  # at most ~16 transcript updates per second while tokens stream
EXAMPLES = (
    ("induction-head", "What is an induction head?"),
    ("superposition", "How does superposition explain polysemantic neurons?"),
    ("activation-patching", "How does activation patching locate a circuit?"),
    ("sparse-autoencoder", "What does a sparse autoencoder learn?"),
    ("residual-stream", "What is the residual stream?"),
)


@dataclass
class Turn:
    number: int
    question: str
    instant: InstantEvent | None = None
    streamed: str = ""
    answer: Answer | None = None
    error: str = ""

    @property
    def done(self) -> bool:
        return self.answer is not None or bool(self.error)


@dataclass
class ChatSession:
    """One browser tab's conversation (kept server-side in a gr.State)."""

    turns: list[Turn] = field(default_factory=list)
    next_number: int = 1

    def history(self) -> list[ChatMessage]:
        messages: list[ChatMessage] = []
        for turn in self.turns:
            if turn.answer is not None and turn.answer.covered:
                messages.append(ChatMessage(role="user", content=turn.question))
                messages.append(ChatMessage(role="assistant", content=turn.answer.answer))
        return messages

    def add(self, question: str) -> Turn:
        turn = Turn(self.next_number, question)
        self.next_number += 1
        self.turns = [*self.turns, turn][-MAX_TURNS:]
        return turn

    def last_answered(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if t.answer is not None), None)


@dataclass(frozen=True)
class ChatView:
    transcript: str
    panel: str
    chips: list[str]


class ChatController:
    def __init__(
        self,
        assistant: Assistant,
        catalog: Catalog,
        settings: Settings,
        feedback: FeedbackLog | None = None,
        slots: AnswerSlots | None = None,
    ) -> None:
        self.assistant = assistant
        self.catalog = catalog
        self.settings = settings
        self.feedback_log = feedback or FeedbackLog(settings.ui.feedback_path)
        self.max_chars = settings.retrieval.max_query_chars
        self.slots = slots or AnswerSlots(waiting=settings.ui.queue_size)

    # -- input checks (also run as the Gradio validator, before the request takes a queue slot)

    def check(self, question: object) -> str:
        """'' when the question may be asked, else the message to show."""
        if not isinstance(question, str):
            return "Type a question."
        if len(question) > self.max_chars:
            return (
                f"Your question is {len(question):,} characters; the limit is {self.max_chars:,}. "
                "Ask about one term or idea at a time."
            )
        if not clean_text(question).strip():
            return "Type a question, e.g. 'What is an induction head?'"
        return ""

    def busy(self) -> str:
        """'' unless every answer slot (shared with the API and MCP) is taken: then the message to show."""
        if self.slots.full():
            return "The assistant is busy answering other questions; please ask again in a few seconds."
        return ""

    # -- views

    def examples(self) -> list[str]:
        found = [q for eid, q in EXAMPLES if eid in self.catalog.entries]
        if len(found) < 3:
            found += [f"What is {e.term}?" for _, group in self.catalog.by_section() for e in group[:1]]
        return found[:4]

    def chips(self, session: ChatSession) -> list[str]:
        """Follow-ups from the last answer's cited entries' `related` (or its suggestions)."""
        turn = session.last_answered()
        if turn is None or turn.answer is None:
            return self.examples()
        answer = turn.answer
        asked = {t.question.casefold() for t in session.turns}
        ids: list[str] = []
        if answer.covered:
            cited = [c.entry_id for c in answer.citations]
            for eid in cited:
                ids += (
                    [r for r in self.catalog.entries[eid].related if r not in cited]
                    if eid in self.catalog.entries
                    else []
                )
        else:
            ids = [s.entry_id for s in answer.suggestions]
        out: list[str] = []
        for eid in dict.fromkeys(ids):
            if eid in self.catalog.entries:
                q = f"What is {self.catalog.entries[eid].term}?"
                if q.casefold() not in asked:
                    out.append(q)
        return out[:4] or self.examples()

    def view(self, session: ChatSession) -> ChatView:
        return ChatView(
            views.transcript(session.turns, self.catalog),
            views.panel(session.turns, self.catalog),
            self.chips(session),
        )

    # -- answering

    def respond(self, question: str, session: ChatSession) -> Iterator[ChatView]:
        """Yield a view at once (question shown), then as the answer streams, then the final one."""
        history = session.history()
        problem = self.check(question)
        turn = session.add(question if not problem else question[:300])
        if problem:
            turn.error = problem
            yield self.view(session)
            return
        yield self.view(session)
        try:
            with self.slots.hold(admitted=True):  # Gradio's queue admitted it: wait for the slot
                yield from self._stream(question, history, turn, session)
        except GlossaryError as exc:
            turn.error = str(exc)
        except Exception:
            log.exception("answering %r failed", question[:80])
            turn.error = GENERIC_ERROR
        if not turn.done:
            turn.error = GENERIC_ERROR
        yield self.view(session)

    def _stream(
        self, question: str, history: list[ChatMessage], turn: Turn, session: ChatSession
    ) -> Iterator[ChatView]:
        last = time.monotonic()
        for event in self.assistant.stream(question, history):
            if isinstance(event, InstantEvent):
                turn.instant = event
            elif isinstance(event, DeltaEvent):
                turn.streamed += event.text
                if time.monotonic() - last < STREAM_INTERVAL_S:
                    continue
            elif isinstance(event, FinalEvent):
                turn.answer = event.answer
                turn.streamed = ""
                continue
            last = time.monotonic()
            yield self.view(session)

    # -- feedback

    def feedback(self, session: ChatSession, rating: str, comment: str) -> str:
        turn = session.last_answered()
        if turn is None or turn.answer is None:
            return "Ask a question first; feedback applies to the latest answer."
        if rating not in ("up", "down"):
            return "Unknown rating."
        a = turn.answer
        record = FeedbackRecord(
            ts=FeedbackRecord.now(),
            rating=rating,
            comment=clean_comment(comment),
            question=a.question,
            answer=a.answer,
            covered=a.covered,
            cited=tuple(c.entry_id for c in a.citations),
            retrieved=tuple(r.entry_id for r in a.retrieved),
            models=dict(a.models),
        )
        try:
            stored = self.feedback_log.append(record)
        except OSError:
            log.exception("could not store feedback in %s", self.feedback_log.path)
            return "Could not save your feedback (the feedback file is not writable)."
        if not stored:
            return "Feedback log is full; thank you anyway."
        return f"Thanks, your {'thumbs up' if rating == 'up' else 'thumbs down'} on answer {turn.number} was saved."
