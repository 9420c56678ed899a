"""The JSON HTTP API beside the chat (FastAPI), mounted at /api/v1; OpenAPI at /api/v1/openapi.json.

GET /search?q=&k=, GET /entries/{id}, GET /entries?section=, POST /ask {question, history?}.
Responses are the models of `assistant.contracts`; errors are `ApiError` bodies: 422 names the
field at fault, 404 an unknown entry or section, 503 (with Retry-After) when every answer slot
(shared with the chat) is taken. `POST /ask` with `Accept: text/event-stream` streams server-sent
events `instant` {text, citation}, `delta` {text} and one `final` (the AskResponse), or one
`error` {detail} if the answer fails mid-way. Body size, CSRF and headers are enforced by
`SecurityMiddleware` in front of the whole app, so an oversized body never reaches a handler.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Generator
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant import __version__
from assistant.contracts import UNTRUSTED, ApiError, AskResponse, EntryList, EntryView, SearchResponse
from assistant.errors import BackendUnavailable, EntryNotFound, GlossaryError, NetworkError, ServiceBusy, UsageError
from assistant.service import MAX_K, GlossaryService
from assistant.slots import RETRY_AFTER_S
from assistant.types import AnswerEvent, ChatMessage, DeltaEvent, FinalEvent, InstantEvent

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
SSE = "text/event-stream"
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ApiError}, 422: {"model": ApiError}, 503: {"model": ApiError}}


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=4000)


class AskRequest(BaseModel):
    """POST /api/v1/ask. History is capped server-side (generation.history_turns / history_chars)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="One question, in plain words.")
    history: list[HistoryMessage] = Field(
        default_factory=list, max_length=40, description="Earlier turns, oldest first (for follow-up questions)."
    )


def _error(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ApiError(detail=detail, field=field).model_dump(), status_code=status, headers=headers)


def _status(exc: GlossaryError) -> tuple[int, dict[str, str] | None]:
    if isinstance(exc, ServiceBusy):
        return 503, {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, EntryNotFound):
        return 404, None
    if isinstance(exc, UsageError):
        return 422, None
    if isinstance(exc, BackendUnavailable | NetworkError):
        return 503, {"Retry-After": "30"}
    return 500, None


def _sse(event: AnswerEvent) -> str:
    if isinstance(event, FinalEvent):
        name, data = "final", AskResponse.from_answer(event.answer).model_dump_json()
    elif isinstance(event, InstantEvent):
        name, data = "instant", json.dumps({"text": event.text, "citation": event.citation.model_dump()})
    else:
        assert isinstance(event, DeltaEvent)
        name, data = "delta", json.dumps({"text": event.text})
    return f"event: {name}\ndata: {data}\n\n"


def build_api(service: GlossaryService) -> FastAPI:
    """The API as an app to mount at `PREFIX` (before Gradio's catch-all mount at /)."""
    api = FastAPI(
        title="MI Glossary API",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": PREFIX}],
        description="Search, read and ask the mechanistic-interpretability glossary. " + UNTRUSTED,
    )

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        return _error(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @api.exception_handler(GlossaryError)
    async def glossary_error(request: Request, exc: GlossaryError) -> JSONResponse:
        status, headers = _status(exc)
        field = {"/search": "q", "/ask": "question"}.get(request.url.path.removeprefix(PREFIX))
        return _error(status, str(exc), field if status == 422 else None, headers)

    @api.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search the glossary")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="A term or a short question.")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="Entries to return.")] = 5,
    ) -> SearchResponse:
        return service.search(q, k)

    @api.get("/entries", response_model=EntryList, responses=ERRORS, summary="List entries")
    def entries(
        section: Annotated[
            str | None, Query(max_length=200, description="Only this section (and its subsections).")
        ] = None,
    ) -> EntryList:
        return service.list_entries(section)

    @api.get("/entries/{entry_id}", response_model=EntryView, responses=ERRORS, summary="Read one entry")
    def entry(entry_id: str) -> EntryView:
        return service.get_entry(entry_id)

    @api.post(
        "/ask",
        response_model=AskResponse,
        responses={
            **ERRORS,
            200: {
                "content": {SSE: {"schema": {"type": "string"}}},
                "description": "AskResponse, or with Accept: text/event-stream the events instant, delta, "
                "final (final data = AskResponse).",
            },
        },
        summary="Ask a question",
    )
    async def ask(body: AskRequest, request: Request):
        history = [ChatMessage(role=m.role, content=m.content) for m in body.history]
        service.check_question(body.question)  # 422 before any slot is taken
        if SSE not in request.headers.get("accept", ""):
            return await run_in_threadpool(service.ask, body.question, history)
        if service.slots.full():
            raise ServiceBusy("the assistant is busy", f"retry in {RETRY_AFTER_S} s", retry_after_s=RETRY_AFTER_S)
        events = service.stream(body.question, history)
        # The first event is taken here, so a busy line or a bad question is still an HTTP status.
        first = await run_in_threadpool(next, events, None)
        return StreamingResponse(
            _stream(events, first), media_type=SSE, headers={"cache-control": "no-cache", "x-accel-buffering": "no"}
        )

    return api


async def _stream(events: Generator[AnswerEvent, None, None], first: AnswerEvent | None) -> AsyncIterator[str]:
    try:
        event = first
        while event is not None:
            yield _sse(event)
            event = await run_in_threadpool(next, events, None)
    except GlossaryError as exc:
        yield f"event: error\ndata: {ApiError(detail=str(exc)).model_dump_json()}\n\n"
    except Exception:
        log.exception("streaming an answer failed")
        yield f"event: error\ndata: {ApiError(detail='answering failed; please try again').model_dump_json()}\n\n"
    finally:
        # Frees the answer slot, also when the client went away (this runs under cancellation, so
        # no await). If a next() is still running in a worker thread, the generator closes, and
        # frees its slot, when that thread lets go of it.
        with contextlib.suppress(ValueError):
            events.close()
