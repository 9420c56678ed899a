"""The store of fetched source texts: one JSON record per source, under the cache folder.

A record holds the extracted text (Markdown, `## ` section headings) and its provenance: the
url asked for, the final url after redirects, when, the content type, the sha256 of the bytes
received and of the text. Records are written with `durable.atomic_write` (temporary file,
fsync, rename), so a crash or a full disk leaves the previous record or none, never half of one. The
texts are other people's: they live under `paths.cache_dir`, never in the repository.
This module does no networking; the index build reads records through it.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.durable import atomic_write
from assistant.errors import DataError

RECORD_VERSION = 1
_REFETCH = "run `mi-glossary sources fetch --only {sid} --refresh`"


class FetchedText(BaseModel):
    """One fetched source: the text we extracted and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_version: int = RECORD_VERSION
    source_id: str
    url: str = Field(description="The source's url in the corpus (what was asked for).")
    fetched_url: str = Field(description="The url downloaded (an arXiv abstract leads to its HTML or PDF).")
    final_url: str = Field(description="The url after redirects.")
    fetched_at: str = Field(description="UTC time of the download, ISO 8601.")
    content_type: str
    sha256: str = Field(description="sha256 of the bytes received.")
    n_bytes: int
    extractor: str = Field(description="Library and version that extracted the text.")
    text_sha256: str = Field(description="sha256 of `text` (UTF-8).")
    text: str = Field(description="Extracted main text, Markdown with `## ` headings. Untrusted.")


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_path(store: Path, source_id: str) -> Path:
    if not source_id or "/" in source_id or "\\" in source_id or source_id.startswith("."):
        raise DataError(f"source id {source_id!r} cannot name a file", "fix the id in corpus/sources/")
    return Path(store) / f"{source_id}.json"


def write_record(store: Path, record: FetchedText) -> Path:
    """Write `record` atomically (`durable.atomic_write`); return its path."""
    path = record_path(Path(store), record.source_id)
    atomic_write(path, record.model_dump_json(indent=1), strict_dir_sync=False)
    return path


def read_record(store: Path, source_id: str) -> FetchedText | None:
    """The stored record of `source_id`, verified; None if there is none.

    Raises:
        DataError: the record is not valid JSON, not a record, or its text does not match its sha256.
    """
    path = record_path(store, source_id)
    if not path.is_file():
        return None
    fix = _REFETCH.format(sid=source_id)
    try:
        record = FetchedText.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise DataError(f"{path} is not a valid fetched-source record ({exc.errors()[0]['msg']})", fix) from None
    if record.source_id != source_id:
        raise DataError(f"{path} holds source '{record.source_id}', expected '{source_id}'", fix)
    if text_digest(record.text) != record.text_sha256:
        raise DataError(f"{path}: the text does not match its text_sha256", fix)
    return record


def stored_ids(store: Path) -> list[str]:
    """Ids of the sources with a record in `store` (sorted); temporary files are ignored."""
    store = Path(store)
    if not store.is_dir():
        return []
    return sorted(p.stem for p in store.glob("*.json") if not p.name.startswith("."))


def clean_temporaries(store: Path) -> int:
    """Remove temporary files an interrupted fetch left behind; return how many."""
    store = Path(store)
    removed = 0
    if store.is_dir():
        for tmp in store.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed += 1
    return removed


def current_records(store: Path, urls: dict[str, str]) -> dict[str, FetchedText]:
    """Verified records of the sources in `urls` (id -> corpus url) whose url is still that url.

    A record fetched for a url the corpus no longer gives is left out (stale), not indexed.
    """
    out: dict[str, FetchedText] = {}
    for sid in stored_ids(store):
        if sid not in urls:
            continue
        record = read_record(store, sid)
        if record is not None and record.url == urls[sid]:
            out[sid] = record
    return out
