"""Retrieval benchmark: our hybrid vs the hybrid before the entry adapter vs BM25, dense, LangChain's FAISS.

    .venv/bin/python scripts/bench_retrieval.py [--set test[,defs-heldout,...]] [--build-times]
                                                [--out evals/reports/bench]

One run, one index, one test split, the same embedder and the same query strings (follow-ups
rewritten into standalone queries exactly as the answer flow does) for every system. The
LangChain baseline is `langchain_community.vectorstores.FAISS` built in memory with
`FAISS.from_texts` over the very texts our index embedded, through an `Embeddings` adapter
over our embedder, queried through its stock `as_retriever()`; never `load_local` (pickle).
Its chunk hits are mapped to entries in rank order (first occurrence wins). "hybrid (ours)" is
the shipped retriever (dense + BM25 + entry summaries, named terms pinned, top 10 reordered by
the entry adapter); "hybrid before adapter" is the same index with `rerank_depth=0`, i.e. the
ranking before the adapter existed. `--build-times` also builds the corpus twice into a
temporary folder, without and with the adapter, and reports both build times. Ranking metrics
use in-scope questions only; latency is per query, wall clock, including the query embedding.
Needs `pip install langchain-community` (the `bench` extra); without it that row is skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.durable import atomic_write
from assistant.evaluation.dataset import load_cases, resolve_set
from assistant.evaluation.metrics import latency_scores, ranking_scores
from assistant.evaluation.report import git_commit
from assistant.evaluation.runner import RANK_DEPTH, query_for
from assistant.factory import open_retriever
from assistant.retrieval.lexicon import topic_text
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import RetrievalSettings, Settings

LC_CHUNKS = 40  # chunks fetched from the LangChain retriever (= our per-ranker candidates)
Search = Callable[[str], list[str]]


def ours(retriever, mode: str, pin: bool, own: dict[str, str] | None = None) -> Search:
    """Our retriever in one mode. `own` maps a rewritten follow-up to the user's own words, whose
    terms are the only ones pinned (exactly what the answer flow does)."""
    own = own or {}
    return lambda q: [
        h.entry_id for h in retriever.search(q, RANK_DEPTH, mode=mode, pin_terms=pin, terms_from=own.get(q)).hits
    ]


def langchain_faiss(retriever) -> tuple[Search, float]:
    """Stock LangChain FAISS over our chunk texts and embedder: (search, build seconds)."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings

    from assistant.chunking import embed_text

    embedder = retriever.embedder

    class OurEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

    chunks = retriever.index.chunks
    t0 = time.perf_counter()
    store = FAISS.from_texts(
        [embed_text(c) for c in chunks],
        OurEmbeddings(),
        metadatas=[{"entry_ids": list(c.entry_ids)} for c in chunks],
    )
    built = time.perf_counter() - t0
    lc = store.as_retriever(search_kwargs={"k": LC_CHUNKS})
    known = retriever.index.entries

    def search(q: str) -> list[str]:
        ranked: list[str] = []
        for doc in lc.invoke(q):
            for eid in doc.metadata["entry_ids"]:
                if eid in known and eid not in ranked:
                    ranked.append(eid)
        return ranked[:RANK_DEPTH]

    return search, built


def build_times(settings: Settings) -> dict[str, float]:
    """Seconds for one index build without the entry adapter (the build before it) and one with it."""
    import tempfile

    from assistant.factory import open_build_inputs
    from assistant.indexing.store import DEFAULT_ADAPTER, build_index

    corpus, embedder, counter = open_build_inputs(settings)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in (("without adapter (before)", None), ("with adapter", DEFAULT_ADAPTER)):
            t0 = time.perf_counter()
            build_index(
                corpus,
                embedder,
                counter,
                Path(tmp) / name.split()[0],
                max_tokens=settings.chunking.max_tokens,
                batch_size=settings.embedder.batch_size,
                adapter_config=config,
            )
            out[name] = round(time.perf_counter() - t0, 1)
    return out


def score(
    ranked: Sequence[list[str]], times: Sequence[float], expected: Sequence[Sequence[str]], kinds: Sequence[str]
) -> dict:
    pairs = list(zip(ranked, expected, strict=True))
    by_kind = {
        k: ranking_scores([p for p, kk in zip(pairs, kinds, strict=True) if kk == k]).model_dump()
        for k in sorted(set(kinds))
    }
    return {
        "overall": ranking_scores(pairs).model_dump(),
        "by_kind": by_kind,
        "latency_ms": latency_scores(times).model_dump(),
    }


def measure(search: Search, queries: Sequence[str], expected: Sequence[Sequence[str]], kinds: Sequence[str]) -> dict:
    """One system over all queries."""
    return measure_all({"one": search}, queries, expected, kinds)["one"]


def measure_all(
    systems: dict[str, Search], queries: Sequence[str], expected: Sequence[Sequence[str]], kinds: Sequence[str]
) -> dict[str, dict]:
    """Every system on every query, interleaved (rotating order per query), so background load
    and cache warmth fall on all systems alike instead of on whichever happened to run first."""
    names = list(systems)
    ranked: dict[str, list[list[str]]] = {n: [] for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    for i, q in enumerate(queries):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            t0 = time.perf_counter()
            ranked[name].append(systems[name](q))
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {n: score(ranked[n], times[n], expected, kinds) for n in names}


def plot(results: dict[str, dict], path: Path) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    metrics = (
        ("hit_at_1", "hit@1"),
        ("hit_at_5", "hit@5"),
        ("mrr_at_10", "MRR@10"),
        ("recall_at_5", "recall@5"),
    )
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1.3]})
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        vals = [results[name]["overall"][m] for m, _ in metrics]
        bars = ax.bar([x + i * width for x in range(len(metrics))], vals, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=5, rotation=90, padding=2)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(metrics))], [lab for _, lab in metrics])
    ax.set_ylim(0.5, 1.02)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    ax.set_title("Retrieval quality, same test split")
    p50 = [results[n]["latency_ms"]["p50"] for n in names]
    p95 = [results[n]["latency_ms"]["p95"] for n in names]
    xs = range(len(names))
    ax2.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    ax2.bar([x + 0.2 for x in xs], p95, 0.4, label="p95")
    ax2.set_xticks(list(xs), names, rotation=30, ha="right", fontsize=7)
    ax2.set_ylabel("ms per query")
    ax2.legend(fontsize=7)
    ax2.set_title("Latency")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    atomic_write(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="test", help="Eval set name in evals/sets or a .jsonl path.")
    parser.add_argument("--out", type=Path, default=Path("evals/reports/bench"), help="Folder for JSON + PNG.")
    parser.add_argument("--sets-dir", type=Path, default=Path("evals/sets"))
    parser.add_argument(
        "--build-times", action="store_true", help="Also time one index build without and one with the entry adapter."
    )
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from assistant.errors import GlossaryError

    console = Console(highlight=False, markup=False, width=240)  # the by-kind tables are wide
    settings = Settings()
    names = [n for n in args.set.split(",") if n]
    try:
        retriever = open_retriever(settings)
        cases, kinds = [], []
        for name in names:
            loaded = load_cases(resolve_set(name, args.sets_dir), known_entries=retriever.index.entries)
            loaded = [c for c in loaded if not c.must_abstain]
            cases += loaded
            kinds += [c.kind if len(names) == 1 else f"{name}:{c.kind}" for c in loaded]
    except GlossaryError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        return exc.exit_code
    queries = [query_for(retriever, c, settings) for c in cases]
    own = {q: topic_text(c.question) for q, c in zip(queries, cases, strict=True) if q != topic_text(c.question)}
    expected = [c.expected_entries for c in cases]
    retriever.search("warm up the embedder", RANK_DEPTH)
    before = HybridRetriever(
        retriever.index, retriever.embedder, RetrievalSettings(**{**settings.retrieval.model_dump(), "rerank_depth": 0})
    )

    systems: dict[str, Search] = {
        "hybrid (ours)": ours(retriever, "hybrid", True, own),
        "hybrid before adapter": ours(before, "hybrid", True, own),
        "hybrid, no term pinning": ours(retriever, "hybrid", False),
        "BM25 alone": ours(retriever, "bm25", False),
        "dense alone": ours(retriever, "dense", False),
    }
    notes = []
    try:
        search, built = langchain_faiss(retriever)
        systems["LangChain FAISS (stock)"] = search
        notes.append(f"LangChain FAISS built in memory from {len(retriever.index.chunks)} chunks in {built:.1f} s")
    except ImportError as exc:
        notes.append(f"LangChain FAISS skipped: {exc} (pip install langchain-community)")

    console.print(f"running {len(systems)} systems on {len(queries)} questions, interleaved", style="dim")
    results = measure_all(systems, queries, expected, kinds)

    table = Table(
        title=f"retrieval benchmark: {args.set} split, {len(queries)} in-scope questions, "
        f"index {retriever.index.manifest.fingerprint}"
    )
    for col in ("system", "hit@1", "hit@5", "MRR@10", "recall@5", "p50 ms", "p95 ms"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for name, res in results.items():
        o, lat = res["overall"], res["latency_ms"]
        table.add_row(
            name,
            f"{o['hit_at_1']:.3f}",
            f"{o['hit_at_5']:.3f}",
            f"{o['mrr_at_10']:.3f}",
            f"{o['recall_at_5']:.3f}",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
        )
    console.print(table)
    kind_names = sorted(set(kinds))
    for title, metric in (("hit@1 by kind", "hit_at_1"), ("hit@5 by kind (recall@5 for multi)", "hit_at_5")):
        kinds_table = Table(title=title)
        kinds_table.add_column("system")
        for k in kind_names:
            kinds_table.add_column(f"{k} (n={kinds.count(k)})", justify="right")
        for name, res in results.items():
            key = {k: "recall_at_5" if k.endswith("multi") and metric == "hit_at_5" else metric for k in kind_names}
            kinds_table.add_row(name, *(f"{res['by_kind'][k][key[k]]:.3f}" for k in kind_names))
        console.print(kinds_table)
    if "LangChain FAISS (stock)" in results:
        ratio = results["hybrid (ours)"]["latency_ms"]["p50"] / results["LangChain FAISS (stock)"]["latency_ms"]["p50"]
        notes.append(f"p50 latency, ours / LangChain FAISS in this run: {ratio:.2f}x")
    builds = build_times(settings) if args.build_times else {}
    for name, seconds in builds.items():
        notes.append(f"index build {name}: {seconds:.1f} s")
    for note in notes:
        console.print(note)

    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "set": args.set,
        "n_questions": len(queries),
        "index_fingerprint": retriever.index.manifest.fingerprint,
        "embedder": retriever.embedder.model_id,
        "git_commit": git_commit(),
        "notes": notes,
        "build_seconds": builds,
        "settings": json.loads(settings.retrieval.model_dump_json()),
        "results": results,
    }
    atomic_write(args.out / "bench_retrieval.json", json.dumps(payload, indent=1) + "\n")
    plot(results, args.out / "bench_retrieval.png")
    console.print(f"saved {args.out / 'bench_retrieval.json'} and {args.out / 'bench_retrieval.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
