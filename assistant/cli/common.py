"""What every command shares: the consoles, the progress bar, the error translator, options and choices.

One place turns a `GlossaryError` (or an unexpected disk fault) into a clean message on stderr
and an exit code, and re-raises it instead under the global `--debug`, so every command group,
`eval` included, behaves alike. Compromise: `--debug` is kept in module state (`STATE`) because
the translator wraps plain command functions that have no click context.
Exit codes: 0 ok, 1 an eval gate failed, 2 usage, 3 data (corpus/index/eval set), 4 model/back end, 5 network.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from assistant.errors import GlossaryError

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from assistant.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

STATE: dict[str, bool] = {"debug": False}
_TERM_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class Profile(StrEnum):
    """The pinned local models (`llm.profile`)."""

    default = "default"
    fast = "fast"


class SearchMode(StrEnum):
    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


class AnswerMode(StrEnum):
    """`generation.mode`: answers quoted from the glossary, or written by the model."""

    quoted = "quoted"
    generated = "generated"


CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: ./corpus).")]
IndexOpt = Annotated[Path | None, typer.Option("--index-dir", help="Index folder (default: ./index).")]
ProfileOpt = Annotated[Profile | None, typer.Option("--profile", help="Local model: default (1.5B) or fast (0.5B).")]


def safe_terminal_text(text: str) -> str:
    """Drop C0/C1, ESC and bidi controls before text reaches a terminal (keeps \\n and \\t)."""
    return _TERM_CONTROLS.sub("", text)


@cache
def console(stderr: bool = False) -> Console:
    """The console for stdout (results) or stderr (progress, errors); markup off, so text prints literally.

    Rich looks `sys.stdout` / `sys.stderr` up at each write, so one instance serves redirected streams too.
    """
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, soft_wrap=True)


@contextmanager
def progress(description: str) -> Iterator[Callable[..., None]]:
    """A rich bar on stderr; yields `report(done, total, stage=None)`, one bar row per distinct `stage`.

    `report` fits the library's callbacks: `(done, total)` for a build or a download, and
    `(done, total, stage)` for the eval harness's loops.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def report(done: int, total: int | None, stage: str | None = None) -> None:
        name = stage or description
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.update(tasks[name], completed=done, total=total)

    with bar:
        yield report


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """The one error translator: a typed error -> `error: problem; fix` on stderr and its exit code.

    Under `--debug` the error propagates, so Python prints the traceback (exit 1).
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except GlossaryError as exc:
            if STATE["debug"]:
                raise
            console(stderr=True).print(f"error: {safe_terminal_text(str(exc))}")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a disk fault the library did not expect: still a message, not a traceback
            if STATE["debug"]:
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            console(stderr=True).print(
                safe_terminal_text(
                    f"error: {exc.strerror or exc}{where}; check that disk and run again (--debug shows where)"
                )
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def exit_with(code: int) -> None:
    """End the command with `code` when it is not 0 (an eval gate that failed returns 1)."""
    if code:
        raise typer.Exit(code)


def settings_from(
    corpus: Path | None = None, index_dir: Path | None = None, *, profile: Profile | None = None, **sections: Any
) -> Settings:
    """Settings from the environment plus the command's options, all validated (UsageError if not)."""
    from assistant.settings import override_settings

    paths = {k: v for k, v in {"corpus_dir": corpus, "index_dir": index_dir}.items() if v}
    if paths:
        sections["paths"] = paths
    if profile is not None:
        sections["llm"] = {"profile": profile.value}
    return override_settings(**sections)


def write_json(model: BaseModel) -> None:
    """One line of JSON on stdout: a model of `assistant.contracts` (the documented contracts)."""
    sys.stdout.write(json.dumps(model.model_dump(mode="json"), ensure_ascii=False) + "\n")
