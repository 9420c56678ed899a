"""The index on disk: verify before parse, crash-safe generations, locks (RELIABILITY A1-A13, B2-B5).

Real parts throughout: the MiniLM embedder, FAISS and bm25s files built by `build_index`. The
only test doubles are small Embedder classes that wrap the real embedder and fail on purpose.
Crash safety is tested by SIGKILLing real `mi-glossary index build` runs; most of them are
forked from a helper process that has already imported torch, so each kill costs about a
second instead of a full model load (see `_ForkServer`).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.durable import sha256_file
from assistant.embedding import Embedder
from assistant.errors import (
    DataError,
    IndexCorrupt,
    IndexIncompatible,
    IndexLocked,
    IndexNotFound,
    IndexStale,
)
from assistant.indexing import dense as dense_mod
from assistant.indexing import sparse as sparse_mod
from assistant.indexing import store
from assistant.indexing.dense import DenseIndex, write_dense
from assistant.indexing.manifest import seal_manifest_bytes
from assistant.indexing.store import (
    build_index,
    current_build,
    load_build,
    load_index,
    verify_build,
)
from assistant.retrieval.retriever import HybridRetriever
from tests.conftest import FIXTURE_CORPUS, REPO
from tests.toy_corpus import write_toy_corpus

QUERIES = [
    "What is an induction head?",
    "features stored as nearly orthogonal directions",
    "how does activation patching work",
    "logit lens",
    "QK circuit of an attention head",
]
BUILD_CMD = "mi-glossary index build"

# ---------------------------------------------------------------- helpers


def snapshot(build: Path) -> dict[str, str]:
    """sha256 of every file under a build folder (relative path -> digest)."""
    return {str(p.relative_to(build)): sha256_file(p) for p in sorted(build.rglob("*")) if p.is_file()}


def builds(index_path: Path) -> set[str]:
    return {p.name for p in index_path.glob("build-*") if p.is_dir()}


def reseal(build: Path, **manifest_updates: object) -> None:
    """Re-record sizes and hashes after a deliberate edit, so a check *behind* the checksums runs."""
    mpath = build / "manifest.json"
    data = json.loads(mpath.read_text())
    for rel in data["files"]:
        data["files"][rel] = sha256_file(build / rel)
        data["sizes"][rel] = (build / rel).stat().st_size
    data.update(manifest_updates)
    mpath.write_bytes(seal_manifest_bytes(json.dumps(data, indent=1).encode()))


class FailingEmbedder:
    """The real embedder, dying after `fail_after` batches (a model or disk fault mid-build)."""

    def __init__(self, inner: Embedder, fail_after: int, lock: Path | None = None) -> None:
        self.inner, self.fail_after, self.lock = inner, fail_after, lock
        self.model_id, self.dim = inner.model_id, inner.dim
        self.calls = 0
        self.lock_seen: str | None = None

    def embed(self, texts):
        if self.lock is not None and self.lock_seen is None:
            self.lock_seen = self.lock.read_text()
        if self.calls >= self.fail_after:
            raise RuntimeError("embedder died mid-build")
        self.calls += 1
        return self.inner.embed(texts)


class ZeroEmbedder:
    """Returns zero vectors: a broken model the build must refuse (B5)."""

    def __init__(self, inner: Embedder) -> None:
        self.model_id, self.dim = inner.model_id, inner.dim

    def embed(self, texts):
        return np.zeros((len(texts), self.dim), dtype=np.float32)


@pytest.fixture()
def parser_spy(monkeypatch):
    """Records every call into the FAISS, bm25s and JSONL parsers of the store."""
    calls: list[str] = []
    real_faiss, real_bm25s, real_jsonl = dense_mod._faiss, sparse_mod._bm25s, store._read_jsonl

    def faiss_spy():
        calls.append("faiss")
        return real_faiss()

    def bm25s_spy():
        calls.append("bm25s")
        return real_bm25s()

    def jsonl_spy(path, model):
        calls.append(f"jsonl:{path.name}")
        return real_jsonl(path, model)

    monkeypatch.setattr(dense_mod, "_faiss", faiss_spy)
    monkeypatch.setattr(sparse_mod, "_bm25s", bm25s_spy)
    monkeypatch.setattr(store, "_read_jsonl", jsonl_spy)
    return calls


def _hits(r: HybridRetriever, query: str) -> list[tuple[str, str, float]]:
    return [(h.entry_id, h.chunk_id, h.score) for h in r.search(query).hits]


# ---------------------------------------------------------------- round trip, generations


def test_load_refuses_without_index(tmp_path):
    with pytest.raises(IndexNotFound, match=BUILD_CMD):
        load_index(tmp_path / "nothing")


def test_built_index_is_consistent(built_index, fixture_corpus):
    loaded = load_index(built_index, corpus_root=FIXTURE_CORPUS)
    m = loaded.manifest
    assert m.n_chunks == len(loaded.chunks) == loaded.dense.ntotal == loaded.sparse.ntotal > 0
    assert m.n_entries == len(loaded.entries) == len(fixture_corpus.entries)
    assert m.corpus_fingerprint == fixture_corpus.fingerprint
    assert set(m.files) >= {"entries.jsonl", "sources.jsonl", "chunks.jsonl", "dense.faiss"}
    assert not list(built_index.glob(".staging-*")) and not (built_index / "LOCK").exists()


@pytest.mark.slow
def test_second_build_round_trips_and_keeps_previous(index_copy, fixture_corpus, embedder, counter, retriever):
    old = current_build(index_copy)
    old_files = snapshot(old)
    # A build killed after renaming its folder but before swapping CURRENT leaves a complete,
    # newer, never-current folder behind; it must not push the previous good build out.
    orphan = index_copy / "build-20000101T000000Z-orphan"
    shutil.copytree(old, orphan)
    os.utime(orphan)

    new = build_index(fixture_corpus, embedder, counter, index_copy, max_tokens=200)

    assert new != old and current_build(index_copy) == new
    assert (index_copy / "CURRENT").read_text().strip() == new.name
    verify_build(new)
    assert old.is_dir() and snapshot(old) == old_files, "the previous good build was lost"
    assert builds(index_copy) == {old.name, new.name}
    assert not list(index_copy.glob(".staging-*")) and not (index_copy / "LOCK").exists()

    reloaded = HybridRetriever(
        load_index(index_copy, expected_embedder=embedder.model_id, corpus_root=FIXTURE_CORPUS), embedder
    )
    assert [c.chunk_id for c in reloaded.index.chunks] == [c.chunk_id for c in retriever.index.chunks]
    for query in QUERIES:
        got, want = _hits(reloaded, query), _hits(retriever, query)
        assert [g[:2] for g in got] == [w[:2] for w in want], query
        assert [g[2] for g in got] == pytest.approx([w[2] for w in want], abs=1e-5)


# ---------------------------------------------------------------- verify before parse


TRUNCATED_FILES = ["dense.faiss", "chunks.jsonl", "sparse/data.csc.index.npy"]
OFFSETS = ["0", "1", "7", "8", "64", "n/2", "n-1"]


@pytest.mark.parametrize("rel", TRUNCATED_FILES)
@pytest.mark.parametrize("where", OFFSETS)
def test_truncation_is_caught_before_any_parser(index_copy, parser_spy, rel, where):
    path = current_build(index_copy) / rel
    data = path.read_bytes()
    n = len(data)
    offset = {"n/2": n // 2, "n-1": n - 1}.get(where) or int(where)
    path.write_bytes(data[:offset])

    with pytest.raises(IndexCorrupt) as err:
        load_index(index_copy)
    assert rel in str(err.value) and f"{offset} bytes, expected {n}" in str(err.value)
    assert BUILD_CMD in str(err.value)
    assert parser_spy == [], "a parser ran before the checksum check"


def test_parser_spy_sees_a_normal_load(index_copy, parser_spy):
    """The spy is wired to the real parsers: a healthy load goes through all of them."""
    load_index(index_copy)
    assert {"faiss", "bm25s", "jsonl:chunks.jsonl"} <= set(parser_spy)


@pytest.mark.parametrize(
    "rel",
    [
        "dense.faiss",
        "chunks.jsonl",
        "entries.jsonl",
        "manifest.json",
        "summaries.faiss",
        "off_topics.faiss",
        "off_topics.jsonl",
    ],
)
def test_random_byte_flips_are_all_detected(index_copy, rel):
    build = current_build(index_copy)
    path = build / rel
    original = path.read_bytes()
    rng = random.Random(f"flip-{rel}")
    allowed = (IndexCorrupt, IndexIncompatible) if rel == "manifest.json" else (IndexCorrupt,)
    silent, flips = [], 250
    for _ in range(flips):
        pos = rng.randrange(len(original))
        damaged = bytearray(original)
        damaged[pos] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(damaged))
        try:
            verify_build(build)
        except allowed:
            pass
        else:
            silent.append(pos)
    path.write_bytes(original)
    verify_build(build)  # restored: the loop really damaged and repaired the same file
    assert silent == [], f"{len(silent)}/{flips} flips of {rel} loaded silently at {silent[:10]}"


def test_manifest_missing(index_copy, parser_spy):
    (current_build(index_copy) / "manifest.json").unlink()
    with pytest.raises(IndexCorrupt, match=r"manifest\.json is missing.*mi-glossary index build"):
        load_index(index_copy)
    assert parser_spy == []


def test_manifest_invalid_json(index_copy, parser_spy):
    mpath = current_build(index_copy) / "manifest.json"
    mpath.write_text(mpath.read_text()[:-40])
    with pytest.raises(IndexCorrupt, match=r"not valid JSON.*mi-glossary index build"):
        load_index(index_copy)
    assert parser_spy == []


@pytest.mark.parametrize("version", [0, 99, "2", None])
def test_manifest_unknown_schema_version(index_copy, parser_spy, version):
    reseal(current_build(index_copy), schema_version=version)
    with pytest.raises(IndexIncompatible) as err:
        load_index(index_copy)
    assert "schema_version" in str(err.value) and BUILD_CMD in str(err.value)
    assert parser_spy == []


@pytest.mark.parametrize(("field", "value"), [("dim", "wide"), ("n_chunks", None), ("files", []), ("colour", "red")])
def test_manifest_bad_field_is_named(index_copy, parser_spy, field, value):
    """Checksums intact (resealed) but a field is wrong: the error names the field."""
    build = current_build(index_copy)
    reseal(build)
    data = json.loads((build / "manifest.json").read_text())
    if value is None:
        del data[field]
    else:
        data[field] = value
    (build / "manifest.json").write_bytes(seal_manifest_bytes(json.dumps(data).encode()))
    with pytest.raises(IndexCorrupt) as err:
        load_index(index_copy)
    assert f"'{field}'" in str(err.value) and BUILD_CMD in str(err.value)
    assert parser_spy == []


def test_manifest_edit_without_reseal_is_caught(index_copy):
    """A plausible hand edit (say, n_entries) keeps the JSON valid but breaks the seal."""
    build = current_build(index_copy)
    mpath = build / "manifest.json"
    text = mpath.read_text()
    data = json.loads(text)
    mpath.write_text(text.replace(f'"n_entries": {data["n_entries"]}', f'"n_entries": {data["n_entries"] + 1}'))
    assert json.loads(mpath.read_text())["n_entries"] == data["n_entries"] + 1
    with pytest.raises(IndexCorrupt, match="manifest"):
        verify_build(build)


def test_behind_the_checksums_jsonl_problems_are_named(index_copy):
    """A4: a bad line or duplicate ids in a validly sealed docstore are named, with the line."""
    build = current_build(index_copy)
    path = build / "chunks.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:4], "{not json\n", *lines[5:]]))
    reseal(build)
    with pytest.raises(IndexCorrupt, match=r"chunks\.jsonl line 5"):
        load_index(index_copy)
    path.write_text("".join([*lines[:4], lines[3], *lines[5:]]))
    reseal(build)
    with pytest.raises(IndexCorrupt, match="duplicate chunk ids"):
        load_index(index_copy)
    path.write_text("".join(lines[:-1]))
    reseal(build)
    with pytest.raises(IndexCorrupt, match="chunk counts disagree"):
        load_index(index_copy)


@pytest.mark.parametrize("name", ["evil.pkl", "sparse/evil.pickle", "index.joblib"])
def test_planted_pickle_is_refused_and_never_unpickled(index_copy, tmp_path, name):
    class Boom:
        def __init__(self, marker: Path) -> None:
            self.marker = marker

        def __reduce__(self):
            return (open, (str(self.marker), "w"))

    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(Boom(probe)))  # the payload is live: unpickling creates its marker
    assert probe.exists()

    marker = tmp_path / "pwned"
    (current_build(index_copy) / name).write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(IndexCorrupt, match="pickles are never loaded"):
        load_index(index_copy)
    assert not marker.exists()


# ---------------------------------------------------------------- compatibility, staleness


def test_other_embedder_is_incompatible(index_copy, embedder):
    load_index(index_copy, expected_embedder=embedder.model_id)
    other = "sentence-transformers/all-MiniLM-L6-v2@0000000000000000"  # same model name and dim
    with pytest.raises(IndexIncompatible, match=f"running {other}.*{BUILD_CMD}"):
        load_index(index_copy, expected_embedder=other)


def test_query_of_wrong_dimension_is_refused_before_faiss(built_index):
    index = DenseIndex(current_build(built_index) / "dense.faiss", 384)
    searched = []
    real = index._index

    class SearchSpy:
        d, ntotal = real.d, real.ntotal

        def search(self, *args):
            searched.append(args)
            return real.search(*args)

    index._index = SearchSpy()
    for bad in (np.ones(383, dtype=np.float32), np.ones(768, dtype=np.float32)):
        with pytest.raises(IndexIncompatible, match="dimension"):
            index.search(bad, 3)
    assert searched == []
    rows, _ = index.search(np.ones(384, dtype=np.float32) / np.sqrt(384), 3)
    assert len(rows) == 3 and len(searched) == 1


def test_wrong_dimension_is_refused_under_python_O(built_index):
    """FAISS checks the dimension with a bare assert, which `python -O` removes; ours stays."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import numpy as np
        from assistant.errors import IndexIncompatible
        from assistant.indexing.dense import DenseIndex
        if __debug__:
            sys.exit("not running under -O")
        index = DenseIndex(Path(sys.argv[1]), 384)
        try:
            index.search(np.ones(383, dtype=np.float32), 3)
        except IndexIncompatible as exc:
            print("REFUSED:", exc)
        else:
            print("SEARCHED")
        """
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", script, str(current_build(built_index) / "dense.faiss")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("REFUSED:") and "383" in out.stdout


def test_k_beyond_ntotal_never_yields_minus_one(tmp_path, built_index):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    write_dense(vectors, tmp_path / "tiny.faiss")
    tiny = DenseIndex(tmp_path / "tiny.faiss", 8)
    rows, scores = tiny.search(vectors[1], 10)
    assert sorted(rows) == [0, 1, 2] and rows[0] == 1
    assert scores == sorted(scores, reverse=True) and all(np.isfinite(scores))

    full = DenseIndex(current_build(built_index) / "dense.faiss", 384)
    q = np.ones(384, dtype=np.float32) / np.sqrt(384)
    rows, _ = full.search(q, full.ntotal + 500)
    assert sorted(rows) == list(range(full.ntotal))


def test_stale_corpus_is_refused_with_the_count(index_copy, corpus_copy):
    load_index(index_copy, corpus_root=corpus_copy)  # identical copy: not stale
    entry = corpus_copy / "entries" / "transformer-circuits" / "induction-head.md"
    entry.write_text(entry.read_text().replace("copies that token", "copies the token"))
    with pytest.raises(IndexStale, match=r"1 corpus file\(s\) changed.*induction-head\.md.*" + BUILD_CMD):
        load_index(index_copy, corpus_root=corpus_copy)
    (corpus_copy / "sources" / "tms.md").unlink()
    with pytest.raises(IndexStale, match=r"2 corpus file\(s\) changed"):
        load_index(index_copy, corpus_root=corpus_copy)


# ---------------------------------------------------------------- failed builds, locks


def test_embedder_failing_midway_leaves_everything_as_it_was(index_copy, fixture_corpus, embedder, counter):
    old = current_build(index_copy)
    before, pointer, names = snapshot(old), (index_copy / "CURRENT").read_bytes(), builds(index_copy)
    failing = FailingEmbedder(embedder, fail_after=2)
    assert isinstance(failing, Embedder)

    with pytest.raises(RuntimeError, match="died mid-build"):
        build_index(fixture_corpus, failing, counter, index_copy, batch_size=8)

    assert failing.calls == 2, "the build did not get midway"
    assert (index_copy / "CURRENT").read_bytes() == pointer
    assert builds(index_copy) == names and snapshot(old) == before
    assert not list(index_copy.glob(".staging-*")) and not (index_copy / "LOCK").exists()
    load_index(index_copy)


def test_non_unit_embeddings_fail_the_build_naming_a_chunk(index_copy, fixture_corpus, embedder, counter):
    pointer = (index_copy / "CURRENT").read_bytes()
    with pytest.raises(DataError, match=r"embedding of chunk \S+#\d+ is not a finite unit vector"):
        build_index(fixture_corpus, ZeroEmbedder(embedder), counter, index_copy)
    assert (index_copy / "CURRENT").read_bytes() == pointer
    assert not list(index_copy.glob(".staging-*"))


def test_concurrent_build_fails_fast_naming_the_holder(index_copy, fixture_corpus, embedder, counter):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom pathlib import Path\nfrom assistant.indexing.store import _lock\n"
            "with _lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    sys.stdin.read()\n",
            str(index_copy),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        spy = FailingEmbedder(embedder, fail_after=10**6)
        started = time.perf_counter()
        with pytest.raises(IndexLocked) as err:
            build_index(fixture_corpus, spy, counter, index_copy)
        assert time.perf_counter() - started < 5
        assert f"pid {holder.pid}" in str(err.value) and "LOCK" in str(err.value)
        assert spy.calls == 0
        assert (index_copy / "LOCK").read_text() == str(holder.pid), "the loser touched the lock"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert not (index_copy / "LOCK").exists()


def _dead_pid() -> str:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.parametrize("content", ["dead-pid", "", "garbage"])
def test_stale_lock_is_taken_over(index_copy, fixture_corpus, embedder, counter, content):
    lock = index_copy / "LOCK"
    lock.write_text(_dead_pid() if content == "dead-pid" else content)
    spy = FailingEmbedder(embedder, fail_after=0, lock=lock)
    with pytest.raises(RuntimeError, match="died mid-build"):  # got past the lock, into embedding
        build_index(fixture_corpus, spy, counter, index_copy)
    assert spy.lock_seen == str(os.getpid())
    assert not lock.exists()


# ---------------------------------------------------------------- kill -9 during builds


def write_tiny_corpus(root: Path) -> Path:
    """A valid three-entry corpus: a full build takes about a second once the model is loaded."""
    return write_toy_corpus(
        root,
        ["alpha-probe", "beta-lens", "gamma-patch"],
        "The {name} method reads sentence {n} of a toy model and writes score {i}.",
        "A toy method used only by tests.",
    )


_SERVER = textwrap.dedent(
    """
    import json, os, sys
    import assistant.cli
    from assistant.embedding.local import SentenceTransformerEmbedder, WordPieceCounter
    SentenceTransformerEmbedder(); WordPieceCounter()  # warm imports and the weights digest; no inference
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "run":
            pid = os.fork()
            if pid == 0:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                sys.argv = ["mi-glossary", *json.loads(arg)]
                try:
                    assistant.cli.main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                except BaseException:
                    code = 99
                os._exit(code)
            print(pid, flush=True)
        elif cmd == "wait":
            print(os.waitpid(int(arg), 0)[1], flush=True)
    """
)


class _ForkServer:
    """A process that imported the CLI and torch once and forks one `mi-glossary` run per request.

    Each forked child runs the real CLI entry point (`assistant.cli.main`) with fresh argv; the
    test SIGKILLs the child by pid and the server reaps it and reports the wait status.
    """

    def __init__(self) -> None:
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def start(self, args: list[str]) -> int:
        return int(self._ask(f"run {json.dumps(args)}"))

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait {pid}"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _check_after_crash(index_path: Path, previous: str, known: set[str], fingerprint: str) -> str:
    """CURRENT verifies and is the old build or a new complete one; the previous build survives."""
    build = current_build(index_path)
    manifest = load_build(build).manifest
    assert build.name == previous or build.name not in known, f"CURRENT moved to an older build {build.name}"
    assert manifest.corpus_fingerprint == fingerprint
    verify_build(index_path / previous)
    return build.name


@pytest.mark.slow
def test_kill_9_during_build_never_breaks_current(tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    index_path = index_dir / "default"
    args = ["index", "build", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    from assistant.corpus import load_corpus

    fingerprint = load_corpus(corpus).fingerprint
    rng = random.Random(20240607)
    outcomes: list[tuple[float, str]] = []

    script = Path(sys.executable).with_name("mi-glossary")
    server = _ForkServer()
    try:
        # Two complete runs: the first good build, and (warm) the time a build takes.
        for _ in range(2):
            t0 = time.perf_counter()
            pid = server.start(args)
            lock_at = None
            while not _is_zombie(pid):
                assert time.perf_counter() - t0 < 300, "a build did not finish"
                if lock_at is None and (index_path / "LOCK").exists():
                    lock_at = time.perf_counter() - t0
                time.sleep(0.005)
            duration = time.perf_counter() - t0
            assert server.wait(pid) == 0
        previous = current_build(index_path).name
        known = builds(index_path)
        assert lock_at is not None and lock_at < duration

        # Stratified seeded delays over the whole run: before the lock, embedding, writing,
        # verifying, renaming, swapping CURRENT and pruning.
        n = 12
        delays = [rng.uniform(i, i + 1) * duration / n for i in range(n)]
        for delay in delays:
            pid = server.start(args)
            time.sleep(delay)
            building = _lock_owner(index_path) == str(pid)  # not a stale LOCK of an earlier kill
            os.kill(pid, signal.SIGKILL)
            status = server.wait(pid)
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert killed or os.WEXITSTATUS(status) == 0, f"run ended with status {status}"
            name = _check_after_crash(index_path, previous, known, fingerprint)
            what = ("killed while building" if building else "killed") if killed else "finished"
            outcomes.append((round(delay, 3), what))
            previous, known = name, known | builds(index_path)

        # Early kills of the real console script, while Python, torch and the model load.
        for delay in (rng.uniform(0.1, 1.5), rng.uniform(1.5, 4.0)):
            proc = subprocess.Popen(
                [str(script), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
            )
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            previous = _check_after_crash(index_path, previous, known, fingerprint)
            outcomes.append((round(delay, 3), f"console script rc={proc.returncode}"))

        # Leftovers of killed runs (LOCK of a dead pid, staging folders) never block the next build.
        pid = server.start(args)
        assert server.wait(pid) == 0
    finally:
        server.close()
    final = current_build(index_path)
    verify_build(final)
    assert final.name not in known
    assert not list(index_path.glob(".staging-*")) and not (index_path / "LOCK").exists()
    mid_build = [o for o in outcomes if o[1] == "killed while building"]
    assert len(mid_build) >= n // 3, f"too few runs were interrupted mid-build: {outcomes}"  # timing varies with load
    print("kill -9 outcomes (delay s, what):", outcomes)


def _lock_owner(index_path: Path) -> str:
    try:
        return (index_path / "LOCK").read_text().strip()
    except OSError:
        return ""


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


def test_off_topic_rows_that_disagree_with_their_vectors_are_corrupt(index_copy):
    """Behind valid checksums (resealed), a dropped off-topic line is still caught by the count check."""
    build = current_build(index_copy)
    path = build / "off_topics.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    reseal(build)
    with pytest.raises(IndexCorrupt, match="off-topic counts disagree"):
        load_index(index_copy)
