"""Durable-file helpers shared by the index store and the model assembly.

sha256 of a file (with optional byte progress), fsync of a folder so a rename itself persists,
whether the process that owns a lock or staged file is still alive, and the words for a failed
write (disk full, read-only, I/O error) that both writers show the user.

Compromise: numpy and faiss report a short write without an errno; `names_file` calls it "no
space left" only when the disk is then (almost) full, which is what a short write on a local
disk nearly always means.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

_BLOCK = 1 << 20
_NEARLY_FULL = 1 << 20  # bytes free below which a short write counts as a full disk


def sha256_file(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """Hex sha256 of a file, calling `progress(done_bytes, total_bytes)` as it reads."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    buf = bytearray(_BLOCK)
    view = memoryview(buf)
    with path.open("rb") as src:
        while n := src.readinto(buf):
            digest.update(view[:n])
            done += n
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


@contextlib.contextmanager
def names_file(path: Path) -> Iterator[None]:
    """Make an OSError raised inside the block name `path` (and carry an errno when it can).

    `write()`, `close()` and `fsync()` on an open file raise OSError without a filename, and
    numpy's `tofile` reports a short write with no errno at all ("30000 requested and 16352
    written"); the user must still learn which file failed and why.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            free = _free_bytes(path)
            if free is not None and free < _NEARLY_FULL:
                raise OSError(errno.ENOSPC, f"No space left on device (short write: {exc})", str(path)) from exc
            raise OSError(errno.EIO, f"short write ({exc})", str(path)) from exc
        if exc.filename is None:
            exc.filename = str(path)
        raise


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free
    return None


def write_failure(
    exc: OSError, folder: Path, *, setting: str, retry: str, target: Path | None = None
) -> tuple[str, str]:
    """`(problem, fix)` for an OSError met while writing `target` (default: the file it names).

    `folder` is the folder the user chose (index or cache dir), `setting` the environment
    variable that moves it elsewhere, `retry` the command to run again once the cause is gone.

    Example:
        >>> write_failure(OSError(28, "No space left on device", "index/x"), Path("index"),
        ...               setting="MI_GLOSSARY_PATHS__INDEX_DIR", retry="`mi-glossary index build`")[0]
        'could not write index/x: No space left on device'
    """
    where = target or exc.filename or folder
    other_disk = f"set {setting} to a folder on another disk"
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free space on the disk holding {folder}, or {other_disk}"
    elif code == errno.EROFS:
        fix = f"{folder} is on a read-only file system: remount it read-write, or set {setting} to a writable folder"
    elif code == errno.EIO:
        fix = f"the disk reported an I/O error: check it (e.g. `dmesg`), then run {retry} again, or {other_disk}"
    elif code in (errno.EACCES, errno.EPERM):
        fix = f"make {folder} writable for this user, or set {setting} to a writable folder"
    else:
        fix = f"check that {folder} is a writable folder with free space, or set {setting} to another folder"
    return f"could not write {where}: {exc.strerror or exc}", fix


def fsync_dir(folder: Path, *, strict: bool = True) -> None:
    """Persist renames in `folder`. strict=False ignores file systems that refuse it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        with names_file(folder):
            os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
