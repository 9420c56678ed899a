"""GlossaryRetriever against langchain-tests' standard retriever suite, plus our own contract (E8).

The standard suite constructs the retriever class itself with only `k`, so the class under test
is a thin subclass whose `__init__` attaches a retriever over the session's real index and
embedder (the model is not loaded once per standard test). The real constructor runs in the
`from_settings` tests and the README's agent example below.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from assistant.corpus import load_corpus
from assistant.errors import IndexNotFound, UsageError
from assistant.indexing.store import build_index, load_index
from assistant.integrations.langchain import GlossaryRetriever, GlossarySearchTool
from assistant.retrieval.retriever import HybridRetriever
from tests.conftest import FIXTURE_CORPUS
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
        assert doc.metadata == {
            "entry_id": hit.entry_id,
            "term": hit.term,
            "section": hit.section,
            "url": hit.url,
            "score": hit.score,
            "rank": hit.rank,
            "chunk_id": hit.chunk_id,
        }
        assert isinstance(doc.metadata["score"], float) and isinstance(doc.metadata["rank"], int)
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3, 4, 5]


async def test_async_invoke_matches_sync(retriever):
    r = GlossaryRetriever.from_retriever(retriever, k=3)
    sync = r.invoke("logit lens")
    assert await r.ainvoke("logit lens") == sync


def test_bad_query_surfaces_our_usage_error(retriever):
    with pytest.raises(UsageError):
        GlossaryRetriever.from_retriever(retriever).invoke("   ")


def _tiny_corpus_with_markup(root: Path) -> Path:
    return write_toy_corpus(
        root,
        ["angle-probe", "beta-lens", "gamma-patch"],
        "When a < b & c > d the {name} keeps sentence {n} as written.",
        "A toy method for which a < b holds.",
    )


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


# -- the real constructor (no subclass): from_settings validates its overrides ------------------


def test_from_settings_runs_the_real_constructor(built_index):
    r = GlossaryRetriever.from_settings(k=2, index_dir=str(built_index.parent), corpus_dir=str(FIXTURE_CORPUS))
    assert type(r) is GlossaryRetriever and r.index_dir == built_index.parent
    docs = r.invoke("What is an induction head?")
    assert len(docs) == 2 and docs[0].metadata["entry_id"] == "induction-head"
    assert len(r.invoke("superposition", k=3)) == 3


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"k": 0}, "'k'"),
        ({"k": "three"}, "'k'"),
        ({"index_dri": "/x"}, "'index_dri'"),  # a typo is refused, not ignored
    ],
)
def test_from_settings_refuses_bad_overrides(overrides, named):
    with pytest.raises(UsageError) as info:
        GlossaryRetriever.from_settings(**overrides)
    assert named in str(info.value) and "index_dir" in info.value.fix


def test_from_settings_with_a_str_path_names_the_missing_index(tmp_path):
    with pytest.raises(IndexNotFound) as info:  # was: TypeError: unsupported operand type(s) for /
        GlossaryRetriever.from_settings(index_dir=str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere" / "default") in str(info.value) and "mi-glossary index build" in str(info.value)


# -- the search tool for agents: langchain-tests' standard tool suites -------------------------


class _ToolParams:
    @property
    def tool_constructor(self) -> type[GlossarySearchTool]:
        return GlossarySearchTool

    @property
    def tool_constructor_params(self) -> dict:
        return {"retriever": GlossaryRetriever.from_retriever(_LOADED["hybrid"], k=2)}

    @property
    def tool_invoke_params_example(self) -> dict:
        return {"query": "What is an induction head?", "k": 2}


class TestGlossarySearchToolUnit(_ToolParams, ToolsUnitTests):
    pass


class TestGlossarySearchToolIntegration(_ToolParams, ToolsIntegrationTests):
    pass


def test_as_tool_returns_text_and_documents(retriever):
    tool = GlossaryRetriever.from_retriever(retriever, k=3).as_tool()
    assert isinstance(tool, GlossarySearchTool) and tool.name == "glossary_search"
    assert "untrusted" in tool.description
    message = tool.invoke({"name": tool.name, "args": {"query": "induction head"}, "id": "1", "type": "tool_call"})
    assert message.content.startswith("[1] Induction head (entry_id: induction-head)")
    assert [d.metadata["entry_id"] for d in message.artifact] == [
        h.entry_id for h in retriever.search("induction head", 3).hits
    ]
    assert len(tool.invoke({"query": "induction head", "k": 1}).split("\n\n[")) == 1


# -- the README's agent example, run as written ------------------------------------------------


def _readme_block(heading: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_agent_example_runs(built_index, monkeypatch, capsys):
    """The agent loop from the README with a scripted tool-calling chat model (the retriever, the
    tool and LangChain's tool-call plumbing are real)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage

    class ScriptedAgentModel(GenericFakeChatModel):
        """Calls glossary_search once, then answers with the first entry the tool returned."""

        def bind_tools(self, tools, **kwargs):
            assert [t.name for t in tools] == ["glossary_search"]
            return self

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            from langchain_core.outputs import ChatGeneration, ChatResult

            last = messages[-1]
            if isinstance(last, ToolMessage):
                reply = AIMessage(content="The glossary says: " + last.content.splitlines()[0])
            else:
                reply = AIMessage(
                    content="",
                    tool_calls=[{"name": "glossary_search", "id": "call-1", "args": {"query": "induction head"}}],
                )
            return ChatResult(generations=[ChatGeneration(message=reply)])

    monkeypatch.setenv("MI_GLOSSARY_PATHS__INDEX_DIR", str(built_index.parent))
    monkeypatch.setenv("MI_GLOSSARY_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    exec(
        _readme_block("### An agent with the glossary as a tool"), {"chat_model": ScriptedAgentModel(messages=iter(()))}
    )
    assert capsys.readouterr().out.startswith("The glossary says: [1] Induction head (entry_id: induction-head)")
