"""Typed errors. Every expected failure carries the problem, and a fix the user can act on.

The CLI maps `exit_code` to the process exit status; the UI shows `str(error)`; the library
never exits or prints.
"""

from __future__ import annotations


class GlossaryError(Exception):
    """Base of every expected failure: `problem` says what is wrong, `fix` what to do."""

    exit_code = 1

    def __init__(self, problem: str, fix: str = "", *, cause: str = "") -> None:
        self.problem = problem
        self.fix = fix
        self.cause = cause
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.problem
        if self.cause:
            text += f" ({self.cause})"
        if self.fix:
            text += f"; {self.fix}"
        return text


class UsageError(GlossaryError):
    """Bad arguments or a bad query (empty, too long)."""

    exit_code = 2


class DataError(GlossaryError):
    """Corpus, index or eval-set problems."""

    exit_code = 3


class ProblemListError(DataError):
    """A file set with problems; `problems` lists every one as `path:line: problem (fix)`."""

    what = "data"
    fix_all = "fix the lines above"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} {self.what} problem(s):\n" + "\n".join(problems), self.fix_all)


class CorpusError(ProblemListError):
    what = "corpus"
    fix_all = "fix them and run `mi-glossary corpus check` again"


class IndexNotFound(DataError):
    """No index has been built yet."""


class IndexCorrupt(DataError):
    """A file of the index does not match its recorded checksum, or cannot be parsed."""


class IndexIncompatible(DataError):
    """The index was built by another embedder, schema or settings."""


class IndexStale(DataError):
    """The corpus changed since the index was built."""


class IndexLocked(DataError):
    """Another build holds the index lock."""


class IndexWriteError(DataError):
    """A build could not write the index folder (disk full, read-only, I/O error); CURRENT is unchanged."""


class BackendUnavailable(GlossaryError):
    """A model or back end cannot be loaded or reached."""

    exit_code = 4


class ModelIntegrityError(BackendUnavailable):
    """Model weights on disk do not match the pinned size or sha256."""


class NetworkError(GlossaryError):
    """A remote back end could not be reached."""

    exit_code = 5


class EntryNotFound(UsageError):
    """No glossary entry has this id or term."""


class ServiceBusy(GlossaryError):
    """Every answer slot is taken and the waiting line is full; `retry_after_s` says when to retry."""

    exit_code = 4

    def __init__(self, problem: str, fix: str = "", *, retry_after_s: int = 5) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(problem, fix)
