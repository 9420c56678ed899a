"""The second tier: passages of fetched source texts, in their own dense and BM25 indexes.

Built only when `mi-glossary sources fetch` stored texts; otherwise nothing of it exists and the
entry tier is byte-for-byte what it was. Keeping the tier apart means a 60k-passage paper
collection never changes which entries a question retrieves, nor the coverage decision; the
passages are ranked on their own and shown and cited next to the entries that link them. The
compromise: a question only a paper answers is still "not covered" by the glossary.

Files in a build: passages.jsonl (chunks, kind "passage"), passage_sources.jsonl (provenance),
passages.faiss (flat, IVF or HNSW: `choose_index_type`) and passages_sparse/ (BM25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from assistant.chunking import chunk_fetched, embed_text
from assistant.corpus.loader import Corpus
from assistant.durable import names_file
from assistant.errors import DataError, IndexCorrupt
from assistant.indexing.dense import DenseIndex, write_dense
from assistant.indexing.manifest import IndexManifest, PassageTierInfo
from assistant.indexing.sparse import SparseIndex, write_sparse
from assistant.sources.library import current_records
from assistant.types import Chunk

CHUNKS_FILE = "passages.jsonl"
SOURCES_FILE = "passage_sources.jsonl"
DENSE_FILE = "passages.faiss"
SPARSE_DIR = "passages_sparse"
# From scripts/bench_scale.py (evals/reports/bench/scale-20261203T173250Z, 2 shared cores, k=40, one
# thread): flat p50/p95 1.5/5.6 ms at 20k passages, 6.0/12.8 ms at 60k (88 MB scanned per query);
# at 60k IVF (4*sqrt(n) lists, nprobe 32) 0.37/0.47 ms with recall@10 0.98, built in 4 s; HNSW
# (M=32, efSearch 128) 0.47/0.66 ms but recall@10 0.76 and 17 s to build. At 20k neither
# approximate index reaches recall 0.95. So: exact flat below 40k passages, IVF from there.
DEFAULT_APPROXIMATE_FROM = 40_000
AUTO_APPROXIMATE = "ivf"
_REBUILD = "run `mi-glossary index build`"


class PassageSource(BaseModel):
    """Provenance of one fetched source included in the build."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source_id: str
    title: str
    url: str
    final_url: str
    fetched_at: str
    content_type: str
    sha256: str
    text_sha256: str
    entry_ids: tuple[str, ...]
    n_chunks: int


@dataclass(frozen=True)
class TierOptions:
    """Where fetched texts are and which FAISS index the tier gets ("auto", "flat", "hnsw", "ivf")."""

    store: Path
    index_type: str = "auto"
    approximate_from: int = DEFAULT_APPROXIMATE_FROM


@dataclass
class PassageTier:
    chunks: list[Chunk]
    sources: dict[str, PassageSource]
    dense: DenseIndex
    sparse: SparseIndex


def choose_index_type(n: int, setting: str, approximate_from: int) -> tuple[str, str]:
    """(index type, why) for a tier of `n` passages; the why goes into the manifest."""
    if setting != "auto":
        return setting, f"set to {setting} (MI_GLOSSARY_SOURCES__PASSAGE_INDEX)"
    if n >= approximate_from:
        return AUTO_APPROXIMATE, (
            f"auto: {n} passages >= {approximate_from}; flat p95 12.8 ms at 60k, IVF 0.47 ms with recall@10 "
            "0.98 (scripts/bench_scale.py)"
        )
    return "flat", f"auto: {n} passages < {approximate_from}; exact flat search is fast enough (scripts/bench_scale.py)"


def section_of(chunk: Chunk) -> str:
    """The section heading of a passage chunk ('' before the first heading)."""
    prefix = f"{chunk.term} > "
    return chunk.heading[len(prefix) :] if chunk.heading.startswith(prefix) else ""


def plan_tier(
    corpus: Corpus, options: TierOptions | None, max_tokens: int, count_tokens: Callable[[str], int]
) -> tuple[list[Chunk], list[PassageSource]]:
    """Chunk every current fetched text of a source some entry links; ([], []) when there are none."""
    if options is None:
        return [], []
    urls = {sid: s.url for sid, s in corpus.sources.items()}
    records = current_records(options.store, urls)
    chunks: list[Chunk] = []
    infos: list[PassageSource] = []
    for sid in sorted(records):
        linked = corpus.linked_by(sid)
        if not linked:
            continue
        rec, source = records[sid], corpus.sources[sid]
        try:
            mine = chunk_fetched(source, rec.text, linked, max_tokens, count_tokens)
        except ValueError as exc:
            raise DataError(f"chunking the fetched text of {sid} failed: {exc}", "report this source") from exc
        if not mine:
            continue
        chunks += mine
        infos.append(
            PassageSource(
                source_id=sid,
                title=source.title,
                url=source.url,
                final_url=rec.final_url,
                fetched_at=rec.fetched_at,
                content_type=rec.content_type,
                sha256=rec.sha256,
                text_sha256=rec.text_sha256,
                entry_ids=linked,
                n_chunks=len(mine),
            )
        )
    return chunks, infos


def passage_texts(chunks: list[Chunk]) -> list[str]:
    return [embed_text(c) for c in chunks]


def write_tier(staging: Path, chunks: list[Chunk], infos: list[PassageSource], vectors, options: TierOptions):
    """Write the tier's files into `staging`; return its manifest record."""
    kind, why = choose_index_type(len(chunks), options.index_type, options.approximate_from)
    for name, rows in ((CHUNKS_FILE, chunks), (SOURCES_FILE, infos)):
        with names_file(staging / name), (staging / name).open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(row.model_dump_json() + "\n")
    write_dense(vectors, staging / DENSE_FILE, kind)
    (staging / SPARSE_DIR).mkdir()
    with names_file(staging / SPARSE_DIR):
        write_sparse([f"{c.term} {c.heading} {c.text}" for c in chunks], staging / SPARSE_DIR)
    return PassageTierInfo(
        n_chunks=len(chunks),
        index_type=kind,
        index_choice=why,
        sources={i.source_id: i.sha256 for i in infos},
        text_sha256={i.source_id: i.text_sha256 for i in infos},
    )


def load_tier(build: Path, manifest: IndexManifest, read_jsonl) -> PassageTier | None:
    """The verified build's passage tier, or None when it has none."""
    info = manifest.passages
    if info is None:
        return None
    chunks = read_jsonl(build / CHUNKS_FILE, Chunk)
    sources = {s.source_id: s for s in read_jsonl(build / SOURCES_FILE, PassageSource)}
    dense = DenseIndex(build / DENSE_FILE, manifest.dim)
    sparse = SparseIndex(build / SPARSE_DIR)
    if not (len(chunks) == info.n_chunks == dense.ntotal == sparse.ntotal):
        raise IndexCorrupt(
            f"passage counts disagree: {CHUNKS_FILE} {len(chunks)}, manifest {info.n_chunks}, "
            f"dense {dense.ntotal}, sparse {sparse.ntotal}",
            _REBUILD,
        )
    if set(sources) != set(info.sources) or any(s.sha256 != info.sources[k] for k, s in sources.items()):
        raise IndexCorrupt(f"{SOURCES_FILE} disagrees with the manifest's passage sources", _REBUILD)
    return PassageTier(chunks, sources, dense, sparse)
