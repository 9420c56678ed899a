"""Generation folders of one index on disk: the build lock, the CURRENT swap, undo and pruning.

`store.build_index` writes a build into `.staging-*`, then calls these in order: rename into
`build-*`, `write_pointer` + `os.replace` onto CURRENT, fsync the folder. Any failure calls `undo`,
which puts the folder back as it was, so a failed build never changes what CURRENT names, even
when only the last fsync failed. Compromise: `undo` is best effort; if the disk refuses even
that, CURRENT may keep naming the new build, which is complete and was verified before the swap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from assistant.durable import LockHeld, fsync_dir, locked_file, names_file, write_failure, write_new
from assistant.errors import IndexLocked, IndexWriteError

INDEX_DIR_SETTING = "MI_GLOSSARY_PATHS__INDEX_DIR"


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder`, then `folder` itself."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with names_file(path), path.open("rb+") as fh:
                os.fsync(fh.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)


@contextlib.contextmanager
def build_lock(index_path: Path) -> Iterator[None]:
    """Hold `index_path/LOCK` (an flock, our pid inside); a killed build's LOCK never blocks."""
    lock = index_path / "LOCK"
    try:
        with locked_file(lock, flags=os.O_WRONLY, wait=False, owner=True):
            yield
    except LockHeld as held:
        raise IndexLocked(f"another build holds {lock} ({held.owner})", "wait for it to finish") from None


def clean_orphans(index_path: Path) -> None:
    """Remove staging folders and pointer temp files of builds that were killed."""
    for orphan in index_path.glob(".staging-*"):
        shutil.rmtree(orphan, ignore_errors=True)
    for orphan in index_path.glob(".CURRENT.*.tmp"):
        with contextlib.suppress(OSError):
            orphan.unlink(missing_ok=True)


def write_pointer(tmp: Path, name: str) -> None:
    """Write `name` into the temp pointer file `tmp`, durably; the caller renames it onto CURRENT."""
    write_new(tmp, (name + "\n").encode())


def undo(index_path: Path, staging: Path, tmp: Path, final: Path | None, restore: str | None) -> None:
    """Leave the index folder as it was before a failed build.

    `final` is the renamed build folder, if the build got that far; `restore` is the name
    CURRENT held before ("" for none) when CURRENT was already swapped but the swap could not be
    made durable, and None when CURRENT was never touched.
    """
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
    if restore is not None:
        pointer = index_path / "CURRENT"
        try:
            if restore:
                write_pointer(tmp, restore)
                tmp.replace(pointer)
            else:
                pointer.unlink()
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return  # CURRENT still names the new, verified build: keep its folder
    if final is not None:
        shutil.rmtree(final, ignore_errors=True)


def prune(index_path: Path, keep: set[str]) -> None:
    """Delete every build but the new current one and the one it replaced (KEEP_BUILDS = 2).

    Keeping "the newest other folder" instead would keep the orphan of a build killed between
    its rename and the CURRENT swap, and delete the previous good build.
    """
    for path in index_path.glob("build-*"):
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def read_pointer(index_path: Path) -> str:
    """The build CURRENT names, or "" when there is none or it cannot be read."""
    try:
        return (index_path / "CURRENT").read_text().strip()
    except OSError:
        return ""


def write_error(exc: OSError, index_path: Path, before: str) -> IndexWriteError:
    """The user-facing error for a build that could not write: what failed, the fix, what CURRENT names.

    `before` is what CURRENT named when the build started.
    """
    problem, fix = write_failure(exc, index_path, setting=INDEX_DIR_SETTING, retry="`mi-glossary index build`")
    current = read_pointer(index_path)
    if current == before:
        cause = f"the new build was discarded; CURRENT still names {current}" if current else "no build was made"
    else:  # undo could not restore the pointer either: say so rather than claim nothing changed
        cause = f"CURRENT names the new build {current}, which was verified, but the disk may not have kept it"
    return IndexWriteError(problem, fix, cause=cause)
