"""Composition root: builds the embedder, index, retriever, assistant, service and MCP server from Settings.

The only place that decides which implementation backs each protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.settings import Settings

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from assistant.embedding import Embedder
    from assistant.pipeline import Assistant
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.service import GlossaryService
    from assistant.slots import AnswerSlots


def open_retriever(
    settings: Settings, *, embedder: Embedder | None = None, check_stale: bool = True
) -> HybridRetriever:
    """Load the current index (verified) and wrap it in a retriever.

    Raises:
        IndexNotFound, IndexCorrupt, IndexIncompatible, IndexStale, BackendUnavailable.
    """
    from assistant.embedding import make_embedder
    from assistant.indexing.store import current_build, load_index
    from assistant.retrieval.retriever import HybridRetriever

    current_build(settings.index_path)  # no index: fail fast, before loading the model
    embedder = embedder or make_embedder(settings.embedder)
    corpus_root = settings.paths.corpus_dir if check_stale and settings.paths.corpus_dir.is_dir() else None
    index = load_index(settings.index_path, expected_embedder=embedder.model_id, corpus_root=corpus_root)
    return HybridRetriever(index, embedder, settings.retrieval)


def open_assistant(
    settings: Settings, *, chat_model=None, embedder: Embedder | None = None, use_llm: bool = True, progress=None
):
    """Retriever + chat model (from settings unless given) wrapped in an Assistant.

    `use_llm=False`, or `generation.mode="quoted"` (the default), loads no model: answers are
    quoted from the glossary.
    """
    from assistant.pipeline import Assistant

    retriever = open_retriever(settings, embedder=embedder)
    # Quoted answers (the default) use no language model: loading one would only cost memory.
    use_llm = use_llm and settings.generation.mode == "generated"
    if chat_model is None and use_llm:
        from assistant.llm import make_chat_model

        chat_model = make_chat_model(settings, progress=progress)
    return Assistant(retriever, chat_model, settings)


def make_slots(settings: Settings, *, pending: Callable[[], int] | None = None) -> AnswerSlots:
    """The answer slots the chat, the HTTP API and MCP share: one running answer, `ui.queue_size` waiting."""
    from assistant.slots import AnswerSlots

    return AnswerSlots(
        active=1,
        waiting=settings.ui.queue_size,
        wait_s=getattr(settings.llm, "wait_timeout_s", settings.generation.deadline_s),
        pending=pending,
    )


def open_service(
    settings: Settings, *, assistant: Assistant | None = None, slots: AnswerSlots | None = None
) -> GlossaryService:
    """The glossary service (search, define, ask, entries) over `assistant` (default: `open_assistant`)."""
    from assistant.service import GlossaryService

    return GlossaryService(assistant or open_assistant(settings), slots or make_slots(settings))


def open_mcp_server(settings: Settings, *, service: GlossaryService | None = None) -> MCPServer:
    """The MCP server (tools search, define, ask, get_entry) over `service` (default: `open_service`)."""
    from assistant.integrations.mcp_server import build_mcp_server

    return build_mcp_server(service or open_service(settings))


def open_mcp_http(settings: Settings, service: GlossaryService, *, host: str, body_limit: int):
    """The MCP server as streamable-HTTP routes for /mcp, plus the lifespan the app must run them in."""
    from assistant.integrations.mcp_server import build_mcp_server, streamable_http

    return streamable_http(build_mcp_server(service), host=host, body_limit=body_limit)
