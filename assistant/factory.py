"""Composition root: builds the embedder, index, retriever, chat model, assistant, service and MCP server.

The only place that decides which implementation backs each protocol; the CLI, the UI, the eval
harness and the scripts call these functions instead of constructing back ends themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from assistant.settings import Settings

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from assistant.corpus.loader import Corpus
    from assistant.embedding import Embedder
    from assistant.llm.base import ChatModel
    from assistant.pipeline import Assistant
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.service import GlossaryService
    from assistant.slots import AnswerSlots


Progress = Callable[[int, int], None]


class BuildInputs(NamedTuple):
    """What an index build reads: the loaded corpus, the embedder and its word-piece counter."""

    corpus: Corpus
    embedder: Embedder
    count_tokens: Callable[[str], int]


def open_corpus(settings: Settings) -> Corpus:
    """The glossary under `paths.corpus_dir`, validated.

    Raises:
        CorpusError: the corpus does not load (run `mi-glossary corpus check` for every problem).
    """
    from assistant.corpus import load_corpus

    return load_corpus(settings.paths.corpus_dir)


def open_embedder(settings: Settings) -> Embedder:
    """The embedder `settings.embedder` describes (loads the model)."""
    from assistant.embedding import make_embedder

    return make_embedder(settings.embedder)


def open_build_inputs(settings: Settings, *, corpus: Corpus | None = None) -> BuildInputs:
    """Corpus (loaded unless given), embedder and token counter for `indexing.store.build_index`."""
    from assistant.embedding.local import WordPieceCounter

    corpus = open_corpus(settings) if corpus is None else corpus
    return BuildInputs(corpus, open_embedder(settings), WordPieceCounter(settings.embedder.model_path))


def build_index(settings: Settings, *, corpus: Corpus | None = None, progress: Progress | None = None) -> Path:
    """Build the corpus into a new generation of `settings.index_path`, make it current, return its folder.

    `progress(done, total)` is called while chunks and adapter examples are embedded;
    `indexing.store.verify_build(path)` returns the new build's manifest.

    Raises:
        CorpusError, IndexLocked, BackendUnavailable, and OSError from a failing disk.
    """
    from assistant.indexing.passages import TierOptions
    from assistant.indexing.store import build_index as build

    inputs = open_build_inputs(settings, corpus=corpus)
    src = settings.sources  # texts stored by `mi-glossary sources fetch`, if any: the passage tier
    tier = TierOptions(settings.sources_path, src.passage_index, src.approximate_from) if src.include_in_index else None
    return build(
        inputs.corpus,
        inputs.embedder,
        inputs.count_tokens,
        settings.index_path,
        max_tokens=settings.chunking.max_tokens,
        batch_size=settings.embedder.batch_size,
        progress=progress,
        passages=tier,
    )


def open_retriever(
    settings: Settings, *, embedder: Embedder | None = None, check_stale: bool = True
) -> HybridRetriever:
    """Load the current index (verified) and wrap it in a retriever.

    Raises:
        IndexNotFound, IndexCorrupt, IndexIncompatible, IndexStale, BackendUnavailable.
    """
    from assistant.indexing.store import current_build, load_index
    from assistant.retrieval.retriever import HybridRetriever

    current_build(settings.index_path)  # no index: fail fast, before loading the model
    embedder = embedder or open_embedder(settings)
    corpus_root = settings.paths.corpus_dir if check_stale and settings.paths.corpus_dir.is_dir() else None
    index = load_index(settings.index_path, expected_embedder=embedder.model_id, corpus_root=corpus_root)
    return HybridRetriever(index, embedder, settings.retrieval)


def open_chat_model(settings: Settings, *, progress: Progress | None = None) -> ChatModel:
    """The chat model `settings.llm` describes; `progress(done, total)` in bytes while a GGUF is assembled.

    Raises:
        BackendUnavailable: the back end cannot be built (missing packages, bad model file).
    """
    from assistant.llm import make_chat_model

    return make_chat_model(settings, progress=progress)


def open_assistant(
    settings: Settings,
    *,
    chat_model: ChatModel | None = None,
    embedder: Embedder | None = None,
    retriever: HybridRetriever | None = None,
    use_llm: bool = True,
    progress: Progress | None = None,
) -> Assistant:
    """Retriever + chat model (from settings unless given) wrapped in an Assistant.

    `use_llm=False`, or `generation.mode="quoted"` (the default), loads no model: answers are
    quoted from the glossary. A given `chat_model` is always used.
    """
    from assistant.pipeline import Assistant

    retriever = retriever or open_retriever(settings, embedder=embedder)
    # Quoted answers (the default) use no language model: loading one would only cost memory.
    use_llm = use_llm and settings.generation.mode == "generated"
    if chat_model is None and use_llm:
        chat_model = open_chat_model(settings, progress=progress)
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
