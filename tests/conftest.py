"""Shared fixtures: the real embedding model (loaded once) and a real index of the fixture corpus."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
REPO = Path(__file__).resolve().parents[1]


def run_in_own_loop(fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """`asyncio.run(fn())` in a thread of its own, for async client code in sync tests: the browser
    tests (pytest-playwright's sync API) leave an event loop running in the main thread."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(fn())
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=target, name="async-client")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the async client hung"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture(scope="session")
def embedder():
    from assistant.embedding.local import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def counter():
    from assistant.embedding.local import WordPieceCounter

    return WordPieceCounter()


@pytest.fixture(scope="session")
def fixture_corpus():
    from assistant.corpus import load_corpus

    return load_corpus(FIXTURE_CORPUS)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, fixture_corpus, embedder, counter) -> Path:
    """A real index of the fixture corpus, built once: returns the index path (…/default)."""
    from assistant.indexing.store import build_index

    path = tmp_path_factory.mktemp("index") / "default"
    build_index(fixture_corpus, embedder, counter, path, max_tokens=200)
    return path


@pytest.fixture()
def index_copy(tmp_path, built_index) -> Path:
    """A private copy of the built index that a test may damage."""
    dest = tmp_path / "default"
    shutil.copytree(built_index, dest)
    return dest


@pytest.fixture(scope="session")
def retriever(built_index, embedder):
    from assistant.indexing.store import load_index
    from assistant.retrieval.retriever import HybridRetriever

    return HybridRetriever(load_index(built_index, expected_embedder=embedder.model_id), embedder)


@pytest.fixture(scope="session")
def fast_gguf() -> Path:
    """The pinned Qwen2.5-Coder-0.5B GGUF, assembled and verified in the user's model cache."""
    from assistant.llm.gguf import ensure_gguf
    from assistant.settings import Settings

    return ensure_gguf("fast", Settings().paths.cache_dir)


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, dest)
    return dest
