"""Scale benchmark of the passage tier: build time, index size, RSS memory and p50/p95 search
latency at 2k, 20k and 60k chunks, for FAISS flat vs HNSW vs IVF, plus BM25; picks the index type.

    .venv/bin/python scripts/bench_scale.py [--sizes 2000,20000,60000] [--queries 300]
                                            [--out evals/reports/bench]

The chunks are synthetic: 384-dim unit vectors drawn around 600 topic centres (real sentence
embeddings cluster, uniform random vectors would flatter nothing and punish HNSW/IVF unfairly),
and for BM25 ~150-word texts from a Zipf vocabulary. Each (size, index) runs in a fresh child
process so RSS deltas are its own: the index is built with the package's own `write_dense`
(the same code `index build` runs), loaded back with `DenseIndex`, and searched one query at a
time, k=40 (the retriever's candidates), one thread. Recall@10 is against exact search. The
embedding share of a real build is measured on 128 real-length chunks with the real embedder
and extrapolated (embedding dominates every build: ~27 chunks/s on 2 cores).

Choice rule (printed and saved): flat while its p95 stays within BUDGET_MS at a size; beyond,
the approximate index with recall@10 >= MIN_RECALL and the lowest p95. The build records the
type it used, and why, in the manifest (`passages.index_type`, `passages.index_choice`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

DIM = 384
CENTRES = 600
BUDGET_MS = 5.0  # the passage tier's share of the 50 ms retrieval p95 target
MIN_RECALL = 0.95
KINDS = ("flat", "hnsw", "ivf")
REPO = Path(__file__).resolve().parents[1]


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    x = centres[rng.integers(0, CENTRES, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def queries(base: np.ndarray, n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    q = base[rng.integers(0, len(base), n)] + 0.4 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def texts(n: int) -> list[str]:
    rng = np.random.default_rng(2)
    vocab = [f"w{i}" for i in range(30_000)]
    ranks = np.minimum(rng.zipf(1.3, size=(n, 150)), len(vocab)) - 1
    return [" ".join(vocab[j] for j in row) for row in ranks]


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _pct(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def build_child(n: int, kind: str, folder: Path) -> dict:
    """Build one index into `folder` (its own process: freed build memory would hide the load's RSS)."""
    from assistant.indexing.dense import write_dense

    out: dict = {"n": n, "kind": kind}
    t0 = time.perf_counter()
    if kind == "bm25":
        from assistant.indexing.sparse import write_sparse

        write_sparse(texts(n), folder)
    else:
        write_dense(vectors(n), folder / "x.faiss", kind)
    out["build_s"] = time.perf_counter() - t0
    out["bytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return out


def load_child(n: int, kind: str, n_queries: int, folder: Path) -> dict:
    """Load the index built in `folder` and search it, in a fresh process."""
    import gc

    from assistant.indexing import dense, sparse
    from assistant.indexing.dense import DenseIndex

    dense._faiss()  # libraries loaded before the baseline: RSS counts the index, not the import
    sparse._bm25s()
    out: dict = {}
    if kind == "bm25":
        from assistant.indexing.sparse import SparseIndex

        gc.collect()
        before = _rss()
        index = SparseIndex(folder)
        out["rss_mb"] = (_rss() - before) / 2**20
        rng = np.random.default_rng(3)
        qs = [" ".join(f"w{int(j)}" for j in rng.zipf(1.3, 8) if j < 30_000) or "w1" for _ in range(n_queries)]
        times = []
        for q in qs:
            t = time.perf_counter()
            index.search(q, 40)
            times.append((time.perf_counter() - t) * 1e3)
        out["p50_ms"], out["p95_ms"] = _pct(times)
        return out
    gc.collect()
    before = _rss()
    index = DenseIndex(folder / "x.faiss", DIM)
    out["rss_mb"] = (_rss() - before) / 2**20  # measured before any other allocation (freed heap would hide it)
    base = vectors(n)
    qs = queries(base, n_queries)
    times, found = [], []
    for q in qs:
        t = time.perf_counter()
        rows, _ = index.search(q, 40)
        times.append((time.perf_counter() - t) * 1e3)
        found.append(rows[:10])
    out["p50_ms"], out["p95_ms"] = _pct(times)
    truth = np.argsort(-(qs @ base.T), axis=1)[:, :10]
    out["recall10"] = float(np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]))
    return out


def embed_rate() -> float:
    """Real chunks per second of the real embedder (batch 32), on 128 chunks of ~180 words."""
    from assistant.embedding.local import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    sample = [" ".join(["attention heads move information between token positions"] * 25)] * 128
    embedder.embed(sample[:8])
    t0 = time.perf_counter()
    for i in range(0, len(sample), 32):
        embedder.embed(sample[i : i + 32])
    return len(sample) / (time.perf_counter() - t0)


def run_child(n: int, kind: str, n_queries: int) -> dict:
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("build", "load"):
            cmd = [sys.executable, __file__, "--child", f"{phase}:{n}:{kind}:{tmp}", "--queries", str(n_queries)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=3600)  # noqa: S603
            out |= json.loads(done.stdout.strip().splitlines()[-1])
    return out


def choose(rows: list[dict]) -> dict[int, tuple[str, str]]:
    """Index type per size, by the rule in the module docstring."""
    out = {}
    for n in sorted({r["n"] for r in rows}):
        at = {r["kind"]: r for r in rows if r["n"] == n}
        if at["flat"]["p95_ms"] <= BUDGET_MS:
            out[n] = ("flat", f"flat p95 {at['flat']['p95_ms']:.2f} ms <= {BUDGET_MS} ms, exact")
            continue
        ok = [at[k] for k in ("hnsw", "ivf") if k in at and at[k]["recall10"] >= MIN_RECALL]
        if not ok:
            out[n] = (
                "flat",
                f"flat p95 {at['flat']['p95_ms']:.2f} ms, but no approximate index reached recall {MIN_RECALL}",
            )
            continue
        best = min(ok, key=lambda r: r["p95_ms"])
        out[n] = (
            best["kind"],
            f"flat p95 {at['flat']['p95_ms']:.2f} ms > {BUDGET_MS} ms; {best['kind']} p95 {best['p95_ms']:.2f} ms, "
            f"recall@10 {best['recall10']:.3f}",
        )
    return out


def table(rows: list[dict], rate: float) -> str:
    head = "| chunks | index | build s | embed s (projected) | size MB | RSS MB | p50 ms | p95 ms | recall@10 |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['kind']} | {r['build_s']:.2f} | {r['n'] / rate:,.0f} | {r['bytes'] / 2**20:.1f} | "
            f"{r['rss_mb']:.1f} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | {r.get('recall10', float('nan')):.3f} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for kind in (*KINDS, "bm25"):
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
        if not mine:
            continue
        ns = [r["n"] for r in mine]
        axes[0].plot(ns, [r["p95_ms"] for r in mine], marker="o", label=kind)
        axes[1].plot(ns, [r["build_s"] for r in mine], marker="o", label=kind)
        axes[2].plot(ns, [r["rss_mb"] for r in mine], marker="o", label=kind)
    for ax, title in zip(
        axes,
        ("search p95 (ms, k=40, 1 thread)", "index build (s, excl. embedding)", "RSS after load (MB)"),
        strict=True,
    ):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("chunks")
        ax.set_xscale("log")
        ax.set_xticks(sorted({r["n"] for r in rows}), [f"{n // 1000}k" for n in sorted({r["n"] for r in rows})])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0].axhline(BUDGET_MS, color="grey", linestyle="--", linewidth=1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="2000,20000,60000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--out", type=Path, default=REPO / "evals" / "reports" / "bench")
    ap.add_argument("--child", default="")
    args = ap.parse_args()
    if args.child:
        phase, n, kind, folder = args.child.split(":", 3)
        if phase == "build":
            print(json.dumps(build_child(int(n), kind, Path(folder))))
        else:
            print(json.dumps(load_child(int(n), kind, args.queries, Path(folder))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        for kind in (*KINDS, "bm25"):
            rows.append(run_child(n, kind, args.queries))
            r = rows[-1]
            print(f"{n:>7,} {kind:<5} build {r['build_s']:.2f}s p95 {r['p95_ms']:.3f}ms", file=sys.stderr)
    rate = embed_rate()
    chosen = choose([r for r in rows if r["kind"] != "bm25"])
    text = table(rows, rate)
    print(text)
    print(
        f"\nembedding: {rate:.1f} chunks/s measured -> a 60k-chunk build spends ~{60_000 / rate / 60:.0f} min embedding"
    )
    for n, (kind, why) in chosen.items():
        print(f"choice at {n:,}: {kind} ({why})")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = args.out / f"scale-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    plot(rows, folder / "scale.png")
    report = {
        "created_utc": stamp,
        "dim": DIM,
        "queries": args.queries,
        "budget_ms": BUDGET_MS,
        "min_recall": MIN_RECALL,
        "embed_chunks_per_s": rate,
        "rows": rows,
        "choice": {str(n): {"kind": k, "why": w} for n, (k, w) in chosen.items()},
        "cpu_count": os.cpu_count(),
    }
    (folder / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(
        f"# Passage-tier scale benchmark ({stamp})\n\n{text}\n\n![scale](scale.png)\n\n"
        + "\n".join(f"- choice at {n:,}: **{k}** ({w})" for n, (k, w) in chosen.items())
        + f"\n- embedding measured at {rate:.1f} chunks/s (dominates every build)\n",
        encoding="utf-8",
    )
    print(f"report: {folder}")


if __name__ == "__main__":
    main()
