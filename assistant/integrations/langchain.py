"""LangChain retriever over the glossary index (the only module importing langchain-core).

`page_content` is the chunk's plain text: it is untrusted corpus text and NOT HTML-escaped;
consumers that render it as HTML must escape it themselves.

    from assistant.integrations.langchain import GlossaryRetriever
    retriever = GlossaryRetriever.from_settings(k=4)
    docs = retriever.invoke("What is an induction head?")
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings


class GlossaryRetriever(BaseRetriever):
    """Hybrid (term + dense + BM25) glossary search as a LangChain retriever.

    Metadata of each Document: entry_id, term, section, url, score, rank.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = Field(4, ge=1, le=50, description="Documents returned per query.")
    index_dir: str | None = Field(None, description="Index folder (default: settings).")
    corpus_dir: str | None = Field(None, description="Corpus folder used for the staleness check.")
    _retriever: HybridRetriever | None = PrivateAttr(default=None)

    @classmethod
    def from_retriever(cls, retriever: HybridRetriever, k: int = 4) -> GlossaryRetriever:
        """Wrap an already loaded retriever (shares its index and embedder)."""
        obj = cls(k=k)
        obj._retriever = retriever
        return obj

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> GlossaryRetriever:
        return cls(**kwargs)._ensure(settings)

    def _ensure(self, settings: Settings | None = None) -> GlossaryRetriever:
        if self._retriever is None:
            from assistant.factory import open_retriever

            s = settings or Settings()
            updates = {}
            if self.index_dir:
                updates["index_dir"] = self.index_dir
            if self.corpus_dir:
                updates["corpus_dir"] = self.corpus_dir
            if updates:
                s = s.model_copy(update={"paths": s.paths.model_copy(update=updates)})
            self._retriever = open_retriever(s)
        return self

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        self._ensure()
        assert self._retriever is not None
        result = self._retriever.search(query, k or self.k)
        return [
            Document(
                page_content=hit.text,
                metadata={"entry_id": hit.entry_id, "term": hit.term, "section": hit.section,
                          "url": hit.url, "score": hit.score, "rank": hit.rank, "chunk_id": hit.chunk_id},
            )
            for hit in result.hits
        ]
