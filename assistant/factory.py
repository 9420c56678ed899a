"""Composition root: builds the embedder, index, retriever (and later the assistant) from Settings.

The only place that decides which implementation backs each protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.embedding import Embedder
    from assistant.retrieval.retriever import HybridRetriever


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


def open_assistant(settings: Settings, *, chat_model=None, embedder: Embedder | None = None, use_llm: bool = True,
                   progress=None):
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
