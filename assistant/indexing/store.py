"""Build generations of the index and load the current one, crash-safely.

Layout: `index/<name>/CURRENT` names `build-<utc>-<fingerprint>/`, which holds manifest.json,
entries.jsonl, sources.jsonl, chunks.jsonl, dense.faiss, sparse/, summaries.faiss (one vector per
entry), adapter.safetensors (the entry adapter, adapter.py) and, when corpus/out_of_scope.yaml
lists topics, off_topics.{jsonl,faiss}. A build writes into a
hidden staging folder, fsyncs, verifies by loading it back, renames it into place and only then
swaps CURRENT with os.replace; the previous build stays. A build that cannot write (disk full,
read-only folder, I/O error) removes what it wrote and raises IndexWriteError; a failed build
never changes what CURRENT names (generations.py). Loading verifies sizes and sha256 of
every file listed in the manifest before any parser runs. The index is self-contained (entries
and sources are stored with it) so serving never reparses the corpus.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from assistant.chunking import chunk_entry, chunk_source, embed_text
from assistant.corpus.loader import Corpus, corpus_file_hashes
from assistant.corpus.schema import OffTopic
from assistant.durable import fsync_dir, names_file, sha256_file
from assistant.embedding import Embedder
from assistant.errors import (
    DataError,
    IndexCorrupt,
    IndexIncompatible,
    IndexNotFound,
    IndexStale,
)
from assistant.indexing.adapter import ADAPTER_FILE, AdapterConfig, EntryAdapter, train_adapter, training_examples
from assistant.indexing.dense import DenseIndex, write_dense
from assistant.indexing.generations import build_lock as _lock
from assistant.indexing.generations import (
    clean_orphans,
    fsync_tree,
    prune,
    read_pointer,
    undo,
    write_error,
    write_pointer,
)
from assistant.indexing.manifest import (
    SCHEMA_VERSION,
    ChunkingInfo,
    IndexManifest,
    seal_manifest,
    seal_ok,
)
from assistant.indexing.passages import PassageTier, TierOptions, load_tier, passage_texts, plan_tier, write_tier
from assistant.indexing.sparse import SparseIndex, write_sparse
from assistant.types import Chunk, Entry, Source
from assistant.version import __version__

Progress = Callable[[int, int], None]
_Row = TypeVar("_Row", bound=BaseModel)
BUILD_CMD = "run `mi-glossary index build`"
DEFAULT_ADAPTER = AdapterConfig()
KEEP_BUILDS = 2
_FORBIDDEN_SUFFIXES = (".pkl", ".pickle", ".npz", ".joblib")


@dataclass
class LoadedIndex:
    path: Path
    manifest: IndexManifest
    entries: dict[str, Entry]
    sources: dict[str, Source]
    chunks: list[Chunk]
    dense: DenseIndex
    sparse: SparseIndex
    off_topics: tuple[OffTopic, ...] = ()
    off_topic_dense: DenseIndex | None = None  # one vector per off-topic, same embedder
    summary_dense: DenseIndex | None = None  # one "term: summary" vector per entry, in entries.jsonl order
    adapter: EntryAdapter | None = None  # reorders the top candidates (adapter.py); None in older builds
    passages: PassageTier | None = None  # fetched-source passages, a second tier (passages.py); None: none fetched


def _write_jsonl(path: Path, rows: list) -> None:
    with names_file(path), path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row.model_dump_json() + "\n")


def build_index(
    corpus: Corpus,
    embedder: Embedder,
    count_tokens: Callable[[str], int],
    index_path: Path,
    *,
    max_tokens: int = 200,
    progress: Progress | None = None,
    batch_size: int = 32,
    adapter_config: AdapterConfig | None = DEFAULT_ADAPTER,
    passages: TierOptions | None = None,
) -> Path:
    """Chunk, embed and index the corpus into a new generation; return its folder.

    `adapter_config=None` builds without the entry adapter (the ranking of earlier versions).
    `passages` names the store of fetched source texts: those present become the passage tier.

    Raises:
        IndexLocked: another build is running.
        DataError: a chunk does not fit, or embeddings are not finite/unit-norm.
        IndexWriteError: disk full, read-only folder or I/O error; the new build is removed and
            CURRENT still names the previous one.
    """
    index_path = Path(index_path)
    before = read_pointer(index_path)
    try:
        index_path.mkdir(parents=True, exist_ok=True)
        with _lock(index_path):
            return _build_generation(
                corpus, embedder, count_tokens, index_path, max_tokens, progress, batch_size, adapter_config, passages
            )
    except OSError as exc:
        raise write_error(exc, index_path, before) from exc


def _build_generation(
    corpus, embedder, count_tokens, index_path, max_tokens, progress, batch_size, adapter_config, passages
) -> Path:
    """The build proper, under the lock: staging folder -> verify -> rename -> swap CURRENT."""
    clean_orphans(index_path)
    pointer = index_path / "CURRENT"
    previous = pointer.read_text().strip() if pointer.is_file() else ""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"build-{stamp}-{corpus.fingerprint[:12]}"
    staging = index_path / f".staging-{name}-{os.getpid()}"
    tmp = index_path / f".CURRENT.{os.getpid()}.tmp"
    final: Path | None = None
    swapped = False
    staging.mkdir()
    try:
        _build_into(staging, corpus, embedder, count_tokens, max_tokens, progress, batch_size, adapter_config, passages)
        load_build(staging, expected_embedder=embedder.model_id)  # verify before it counts
        final = index_path / name
        if final.exists():
            final = index_path / f"{name}-{os.getpid()}"
        staging.replace(final)
        fsync_dir(index_path)
        write_pointer(tmp, final.name)
        tmp.replace(pointer)  # the atomic pointer swap
        swapped = True
        fsync_dir(index_path)
    except BaseException:
        undo(index_path, staging, tmp, final, previous if swapped else None)
        raise
    prune(index_path, keep={final.name, previous})
    return final


def _build_into(
    staging, corpus, embedder, count_tokens, max_tokens, progress, batch_size, adapter_config, passages
) -> None:
    chunks: list[Chunk] = []
    try:
        for entry in sorted(corpus.entries.values(), key=lambda e: e.id):
            chunks += chunk_entry(entry, max_tokens, count_tokens)
        for source in sorted(corpus.sources.values(), key=lambda s: s.id):
            linked = corpus.linked_by(source.id)
            if linked:
                chunks += chunk_source(source, linked, max_tokens, count_tokens)
    except ValueError as exc:
        raise DataError(f"chunking failed: {exc}", "shorten that paragraph") from exc
    texts = [embed_text(c) for c in chunks]
    ordered = sorted(corpus.entries.values(), key=lambda e: e.id)
    examples = training_examples(ordered) if adapter_config else []
    tier_chunks, tier_sources = plan_tier(corpus, passages, max_tokens, count_tokens)
    total = len(texts) + len(examples) + len(tier_chunks)
    vectors = _embed(embedder, texts, batch_size, lambda done: progress and progress(done, total))
    _check_unit(vectors, [f"chunk {c.chunk_id}" for c in chunks])
    # One short "term: summary" vector per entry: the fair opponent of the short off-topic texts.
    summaries = embedder.embed([f"{e.term}: {e.summary}" for e in ordered])
    _check_unit(summaries, [f"the summary of {e.id}" for e in ordered])
    write_dense(summaries, staging / "summaries.faiss")
    example_vectors = _embed(
        embedder, [t for t, _ in examples], batch_size, lambda done: progress and progress(len(texts) + done, total)
    )
    tier_info = None
    if tier_chunks:  # the second tier: only when fetched texts exist
        at = len(texts) + len(examples)
        tier_vectors = _embed(
            embedder, passage_texts(tier_chunks), batch_size, lambda d: progress and progress(at + d, total)
        )
        _check_unit(tier_vectors, [f"passage {c.chunk_id}" for c in tier_chunks])
        tier_info = write_tier(staging, tier_chunks, tier_sources, tier_vectors, passages)
    if corpus.off_topics:
        off = embedder.embed([f"{o.topic}: {o.text}" for o in corpus.off_topics])
        _check_unit(off, [f"off-topic '{o.topic}'" for o in corpus.off_topics])
        write_dense(off, staging / "off_topics.faiss")
        _write_jsonl(staging / "off_topics.jsonl", list(corpus.off_topics))
    _write_jsonl(staging / "entries.jsonl", sorted(corpus.entries.values(), key=lambda e: e.id))
    _write_jsonl(staging / "sources.jsonl", sorted(corpus.sources.values(), key=lambda s: s.id))
    _write_jsonl(staging / "chunks.jsonl", chunks)
    write_dense(vectors, staging / "dense.faiss")
    (staging / "sparse").mkdir()
    with names_file(staging / "sparse"):
        write_sparse([f"{c.term} {c.heading} {c.text}" for c in chunks], staging / "sparse")
    adapter_info = None  # written last: the largest file of a small corpus
    if adapter_config:
        adapter, adapter_info = train_adapter(
            example_vectors, np.array([j for _, j in examples]), summaries, adapter_config
        )
        with names_file(staging / ADAPTER_FILE):
            adapter.save(staging / ADAPTER_FILE)
    files = {str(p.relative_to(staging)): p for p in sorted(staging.rglob("*")) if p.is_file()}
    libs = {}
    for lib in ("faiss-cpu", "bm25s", "sentence-transformers", "numpy", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libs[lib] = metadata.version(lib)
    manifest = IndexManifest(
        schema_version=SCHEMA_VERSION,
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=__version__,
        library_versions=libs,
        embedder_id=embedder.model_id,
        dim=embedder.dim,
        chunking=ChunkingInfo(max_tokens=max_tokens, tokenizer=embedder.model_id),
        corpus_fingerprint=corpus.fingerprint,
        corpus_files=dict(corpus.file_hashes),
        n_chunks=len(chunks),
        n_entries=len(corpus.entries),
        adapter=adapter_info,
        passages=tier_info,
        files={rel: sha256_file(p) for rel, p in files.items()},
        sizes={rel: p.stat().st_size for rel, p in files.items()},
    )
    with names_file(staging / "manifest.json"):
        (staging / "manifest.json").write_bytes(seal_manifest(manifest))
    fsync_tree(staging)


def _embed(embedder: Embedder, texts: list[str], batch_size: int, done: Callable[[int], object]) -> np.ndarray:
    """Vectors of `texts` in their order, embedded shortest first (batches of like length pad least)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        vectors[rows] = embedder.embed([texts[i] for i in rows])
        done(min(start + batch_size, len(texts)))
    return vectors


def _check_unit(vectors: np.ndarray, names: list[str]) -> None:
    norms = np.linalg.norm(vectors, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1) > 1e-3))
    if bad.size:
        raise DataError(f"embedding of {names[int(bad[0])]} is not a finite unit vector", "check the embedder")


def current_build(index_path: Path) -> Path:
    index_path = Path(index_path)
    pointer = index_path / "CURRENT"
    if not pointer.is_file():
        raise IndexNotFound(f"no index at {index_path}", BUILD_CMD)
    name = pointer.read_text().strip()
    build = index_path / name
    if not name.startswith("build-") or "/" in name or not build.is_dir():
        raise IndexCorrupt(f"{pointer} names '{name}', which is not a build folder", BUILD_CMD)
    return build


def _read_jsonl(path: Path, model: type[_Row]) -> list[_Row]:
    rows: list[_Row] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                rows.append(model.model_validate_json(line))
            except ValidationError as exc:
                raise IndexCorrupt(f"{path.name} line {n} is invalid: {exc.errors()[0]['msg']}", BUILD_CMD) from None
    return rows


def verify_build(build: Path) -> IndexManifest:
    """Parse the manifest and check every listed file's size and sha256; parse nothing else."""
    mpath = build / "manifest.json"
    if not mpath.is_file():
        raise IndexCorrupt(f"{mpath} is missing", BUILD_CMD)
    data = mpath.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"{mpath} is not valid JSON ({exc})", BUILD_CMD) from None
    if not isinstance(raw, dict):
        raise IndexCorrupt(f"{mpath} is not a JSON object", BUILD_CMD)
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise IndexIncompatible(
            f"index schema_version {raw.get('schema_version')!r}; this version reads {SCHEMA_VERSION}", BUILD_CMD
        )
    if not seal_ok(data):  # a valid-looking edit of any field, or a damaged byte
        raise IndexCorrupt(f"{mpath} does not match its manifest_sha256", BUILD_CMD)
    try:
        manifest = IndexManifest.model_validate(raw)
    except ValidationError as exc:
        field = ".".join(str(x) for x in exc.errors()[0]["loc"])
        raise IndexCorrupt(f"{mpath} is invalid at '{field}': {exc.errors()[0]['msg']}", BUILD_CMD) from None
    for path in build.rglob("*"):
        if path.suffix in _FORBIDDEN_SUFFIXES:
            raise IndexCorrupt(f"{path} is a pickle-style file; pickles are never loaded", BUILD_CMD)
    for rel, digest in manifest.files.items():
        path = build / rel
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing", BUILD_CMD)
        size = path.stat().st_size
        if size != manifest.sizes.get(rel):
            raise IndexCorrupt(f"{path} has {size} bytes, expected {manifest.sizes.get(rel)}", BUILD_CMD)
        if sha256_file(path) != digest:
            raise IndexCorrupt(f"{path} does not match its sha256 in the manifest", BUILD_CMD)
    return manifest


def load_build(build: Path, *, expected_embedder: str | None = None) -> LoadedIndex:
    manifest = verify_build(build)
    if expected_embedder and manifest.embedder_id != expected_embedder:
        raise IndexIncompatible(f"index built with {manifest.embedder_id}, running {expected_embedder}", BUILD_CMD)
    entries = {e.id: e for e in _read_jsonl(build / "entries.jsonl", Entry)}
    sources = {s.id: s for s in _read_jsonl(build / "sources.jsonl", Source)}
    chunks = _read_jsonl(build / "chunks.jsonl", Chunk)
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        raise IndexCorrupt("chunks.jsonl has duplicate chunk ids", BUILD_CMD)
    dense = DenseIndex(build / "dense.faiss", manifest.dim)
    sparse = SparseIndex(build / "sparse")
    if not (len(chunks) == manifest.n_chunks == dense.ntotal == sparse.ntotal):
        raise IndexCorrupt(
            f"chunk counts disagree: chunks.jsonl {len(chunks)}, manifest {manifest.n_chunks}, "
            f"dense {dense.ntotal}, sparse {sparse.ntotal}",
            BUILD_CMD,
        )
    summaries = None
    if "summaries.faiss" in manifest.files:
        summaries = DenseIndex(build / "summaries.faiss", manifest.dim)
        if summaries.ntotal != len(entries):
            raise IndexCorrupt(f"summary counts disagree: entries {len(entries)}, faiss {summaries.ntotal}", BUILD_CMD)
    off_topics: tuple[OffTopic, ...] = ()
    off_dense = None
    if "off_topics.faiss" in manifest.files:
        off_topics = tuple(_read_jsonl(build / "off_topics.jsonl", OffTopic))
        off_dense = DenseIndex(build / "off_topics.faiss", manifest.dim)
        if off_dense.ntotal != len(off_topics):
            raise IndexCorrupt(
                f"off-topic counts disagree: jsonl {len(off_topics)}, faiss {off_dense.ntotal}", BUILD_CMD
            )
    adapter = None
    if ADAPTER_FILE in manifest.files:
        try:
            adapter = EntryAdapter.load(build / ADAPTER_FILE, manifest.dim, len(entries))
        except ValueError as exc:  # checksums passed, so the file was written wrong
            raise IndexCorrupt(str(exc), BUILD_CMD) from None
    tier = load_tier(build, manifest, _read_jsonl)
    return LoadedIndex(
        build, manifest, entries, sources, chunks, dense, sparse, off_topics, off_dense, summaries, adapter, tier
    )


def corpus_changes(manifest: IndexManifest, corpus_root: Path) -> list[str]:
    """Corpus files added, removed or edited since the build (cheap: hashes only, no parsing)."""
    now = corpus_file_hashes(Path(corpus_root))
    before = manifest.corpus_files
    return sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))


def load_index(
    index_path: Path, *, expected_embedder: str | None = None, corpus_root: Path | None = None
) -> LoadedIndex:
    """Load the current build, verified. With `corpus_root`, refuse a stale index.

    Raises:
        IndexNotFound, IndexCorrupt, IndexIncompatible, IndexStale.
    """
    loaded = load_build(current_build(index_path), expected_embedder=expected_embedder)
    if corpus_root is not None:
        changed = corpus_changes(loaded.manifest, corpus_root)
        if changed:
            raise IndexStale(
                f"index is stale: {len(changed)} corpus file(s) changed since it was built "
                f"(e.g. {', '.join(changed[:3])})",
                BUILD_CMD,
            )
    return loaded
