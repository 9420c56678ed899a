"""scripts/bench_retrieval.py on the fixture index: every system ranks entries, metrics add up."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_retrieval", REPO / "scripts" / "bench_retrieval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


QUERIES = ["what is an induction head", "the shared vector every layer reads from and writes to"]
EXPECTED = [("induction-head",), ("residual-stream",)]


def test_our_modes_rank_entries(bench, retriever):
    for search in (
        bench.ours(retriever, "hybrid", True),
        bench.ours(retriever, "bm25", False),
        bench.ours(retriever, "dense", False),
    ):
        result = bench.measure(search, QUERIES, EXPECTED, ["lookup", "paraphrase"])
        assert result["overall"]["n"] == 2
        assert set(result["by_kind"]) == {"lookup", "paraphrase"}
        assert result["latency_ms"]["n"] == 2
    assert bench.ours(retriever, "hybrid", True)(QUERIES[0])[0] == "induction-head"


def test_langchain_faiss_baseline_uses_our_chunks_in_memory(bench, retriever):
    pytest.importorskip("langchain_community.vectorstores")
    search, built = bench.langchain_faiss(retriever)
    ranked = search(QUERIES[0])
    assert ranked[0] == "induction-head"
    assert len(ranked) == len(set(ranked)) <= bench.RANK_DEPTH
    assert built > 0
    # same embedder, same texts: the stock L2 top hit over unit vectors is our dense top hit
    dense = bench.ours(retriever, "dense", False)(QUERIES[1])
    assert search(QUERIES[1])[0] == dense[0]
