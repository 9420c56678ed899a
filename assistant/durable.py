"""Durable-file helpers shared by the index store and the model assembly.

sha256 of a file (with optional byte progress), fsync of a folder so a rename itself persists,
and whether the process that owns a lock or staged file is still alive.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

_BLOCK = 1 << 20


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


def fsync_dir(folder: Path, *, strict: bool = True) -> None:
    """Persist renames in `folder`. strict=False ignores file systems that refuse it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
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
