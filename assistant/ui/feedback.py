"""Thumbs up/down from the chat, appended locally as JSONL for the evals.

Each record is one line written with a single `os.write` on an `O_APPEND` descriptor while
holding the exclusive `durable.locked_file` flock, so concurrent writers (threads or processes) never interleave
or tear lines. The file is capped: past `max_bytes` new feedback is refused (and the user is
told), never silently dropped mid-line. Compromise: no rotation; move or empty the file to
collect more.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.durable import locked_file
from assistant.textnorm import clean_text

MAX_COMMENT_CHARS = 1000


class FeedbackRecord(BaseModel):
    """One rating of one answer, as stored in the JSONL file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: str = Field(description="UTC time of the rating, ISO 8601.")
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    question: str
    answer: str
    covered: bool
    cited: tuple[str, ...] = Field((), description="Entry ids the answer cited, in [n] order.")
    retrieved: tuple[str, ...] = Field((), description="Entry ids retrieved, in rank order.")
    models: dict[str, str] = Field(default_factory=dict)

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackLog:
    """Append-only, size-capped JSONL file."""

    def __init__(self, path: Path, max_bytes: int = 5_000_000) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def append(self, record: FeedbackRecord) -> bool:
        """Write one line; False (nothing written) when the file is at its cap.

        Raises:
            OSError: the folder cannot be created or the file cannot be written.
        """
        line = (record.model_dump_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, locked_file(self.path, flags=os.O_WRONLY | os.O_APPEND, mode=0o600) as fd:
            if os.fstat(fd).st_size + len(line) > self.max_bytes:
                return False
            written = os.write(fd, line)
            if written != len(line):  # a short write on a full disk: never leave half a line
                raise OSError(f"short write to {self.path} ({written} of {len(line)} bytes)")
            os.fsync(fd)
            return True


def clean_comment(comment: str) -> str:
    return clean_text(comment or "").strip()[:MAX_COMMENT_CHARS]
