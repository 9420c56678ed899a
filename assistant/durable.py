"""Durable-file helpers shared by the index store, the model assembly, eval reports and feedback.

sha256 of a file (with optional byte progress); the one way to write a file durably
(`write_new` + `atomic_write`: a fresh temporary file, fsync, `os.replace`, fsync of the folder);
the one lock (`locked_file`, an exclusive `flock`, released by the kernel when its holder dies);
fsync of a folder so a rename itself persists; whether a process is still alive; and the words
for a failed write (disk full, read-only, I/O error) that every writer shows the user.

Compromise: numpy and faiss report a short write without an errno; `names_file` calls it "no
space left" only when the disk is then (almost) full, which is what a short write on a local
disk nearly always means.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
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


def write_new(path: Path, data: bytes) -> None:
    """Create `path` (it must not exist: O_EXCL never follows or reuses a file), write `data`, fsync.

    Mode 0o666 lets the umask decide (mkstemp's 0o600 would make reports unreadable to anyone
    else on a shared machine). On failure the partial file is removed and the OSError names it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with names_file(path), os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def temp_beside(path: Path) -> Path:
    """A fresh temporary name in `path`'s folder (same file system, so the rename is atomic)."""
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def atomic_write(path: Path, data: bytes | str, *, strict_dir_sync: bool = True) -> None:
    """Replace `path` with `data` so a reader sees the old file or the new one, never half of one.

    `strict_dir_sync=False` tolerates a file system that refuses to fsync the folder (the rename
    is then as durable as that file system makes it)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path)
    write_new(tmp, raw)
    try:
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent, strict=strict_dir_sync)


class LockHeld(Exception):
    """`locked_file(wait=False)` found the lock taken; `owner` is what its holder wrote in it."""

    def __init__(self, path: Path, owner: str) -> None:
        super().__init__(f"{path} is held by {owner or 'another process'}")
        self.path, self.owner = path, owner


@contextlib.contextmanager
def locked_file(
    path: Path, *, flags: int = os.O_RDWR, mode: int = 0o644, wait: bool = True, owner: bool = False
) -> Iterator[int]:
    """Open `path` (created if missing) holding an exclusive `flock` on it; yields the fd.

    The kernel releases the lock when the holder exits, however it dies, so a killed process
    never leaves a lock that blocks. `owner=True` makes it a lock file: our pid is written into
    it, and it is removed on release (after checking, once locked, that the name still points at
    the file we locked; a holder that removed it in between means: lock the new file).

    Raises:
        LockHeld: `wait=False` and another process holds it.
    """
    while True:
        fd = os.open(path, flags | os.O_CREAT, mode)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            try:
                held_by = path.read_text().strip()
            except OSError:
                held_by = ""
            raise LockHeld(path, f"pid {held_by}" if held_by else "") from None
        if not owner:
            break
        try:
            same = os.fstat(fd).st_ino == path.stat().st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        if owner:
            with names_file(path):
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
        yield fd
    finally:
        if owner:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        os.close(fd)  # also releases the flock


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
