"""GlossaryRetriever against langchain-tests' standard retriever suite, plus our own contract (E8).

The standard suite constructs the retriever class itself with only `k`, so the class under test
is a thin subclass whose `__init__` attaches a retriever over the session's real index and
embedder (the model is never loaded twice).
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.corpus import load_corpus
from assistant.indexing.store import build_index, load_index
from assistant.integrations.langchain import GlossaryRetriever
from assistant.retrieval.retriever import HybridRetriever
from tests.toy_corpus import write_toy_corpus

METADATA_KEYS = {"entry_id", "term", "section", "url", "score", "rank", "chunk_id"}
_LOADED: dict[str, HybridRetriever] = {}


@pytest.fixture(autouse=True, scope="module")
def _share_index(built_index, embedder):
    # Not the `retriever` fixture: RetrieversIntegrationTests defines its own fixture of that name.
    _LOADED["hybrid"] = HybridRetriever(load_index(built_index, expected_embedder=embedder.model_id), embedder)
    yield
    _LOADED.clear()


class FixtureGlossaryRetriever(GlossaryRetriever):
    """GlossaryRetriever over the session's fixture index, constructible from `k` alone."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._retriever = _LOADED["hybrid"]


class TestGlossaryRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[GlossaryRetriever]:
        return FixtureGlossaryRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "What is an induction head?"


def test_from_retriever_shares_the_loaded_index(retriever):
    docs = GlossaryRetriever.from_retriever(retriever, k=4).invoke("What is an induction head?")
    assert len(docs) == 4 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["entry_id"] == "induction-head"


def test_documents_mirror_the_hits(retriever):
    query = "how does activation patching work"
    docs = GlossaryRetriever.from_retriever(retriever, k=5).invoke(query)
    hits = retriever.search(query, 5).hits
    assert len(docs) == len(hits) == 5
    for doc, hit in zip(docs, hits, strict=True):
        assert set(doc.metadata) == METADATA_KEYS
        assert doc.page_content == hit.text
        assert doc.metadata == {"entry_id": hit.entry_id, "term": hit.term, "section": hit.section,
                                "url": hit.url, "score": hit.score, "rank": hit.rank, "chunk_id": hit.chunk_id}
        assert isinstance(doc.metadata["score"], float) and isinstance(doc.metadata["rank"], int)
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3, 4, 5]


async def test_async_invoke_matches_sync(retriever):
    r = GlossaryRetriever.from_retriever(retriever, k=3)
    sync = r.invoke("logit lens")
    assert await r.ainvoke("logit lens") == sync


def test_bad_query_surfaces_our_usage_error(retriever):
    from assistant.errors import UsageError

    with pytest.raises(UsageError):
        GlossaryRetriever.from_retriever(retriever).invoke("   ")


def _tiny_corpus_with_markup(root: Path) -> Path:
    return write_toy_corpus(root, ["angle-probe", "beta-lens", "gamma-patch"],
                            "When a < b & c > d the {name} keeps sentence {n} as written.",
                            "A toy method for which a < b holds.")


def test_page_content_is_raw_text_not_html(tmp_path, embedder, counter):
    """`<`, `>` and `&` reach the consumer unescaped: anyone rendering page_content as HTML must
    escape it (html.escape) first; the retriever does not, on purpose (it is plain text)."""
    corpus = load_corpus(_tiny_corpus_with_markup(tmp_path / "corpus"))
    build_index(corpus, embedder, counter, tmp_path / "index")
    hybrid = HybridRetriever(load_index(tmp_path / "index", expected_embedder=embedder.model_id), embedder)
    docs = GlossaryRetriever.from_retriever(hybrid, k=3).invoke("angle probe")
    assert docs[0].metadata["entry_id"] == "angle-probe"
    for doc in docs:
        assert "a < b" in doc.page_content
        assert "&lt;" not in doc.page_content and "&amp;" not in doc.page_content
        assert html.escape(doc.page_content) != doc.page_content
    body = [c.text for c in hybrid.index.chunks if c.doc_id == "angle-probe" and c.chunk_id != "angle-probe#0"]
    assert body and all("When a < b & c > d" in text for text in body)
