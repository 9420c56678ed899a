"""The eval report: a typed JSON document, stamped so any figure can be traced to what made it.

The stamp names the index build and its corpus fingerprint, the embedder and LLM ids, the full
settings, the git commit (read from .git without running git) and the time. `content_hash`
hashes everything except the time and latencies, so two runs on the same index with the same
settings must produce the same hash (the reproducibility check). Files are written atomically
(`durable.atomic_write`).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.durable import atomic_write
from assistant.errors import DataError
from assistant.evaluation.answer_metrics import AnswerRecord, AnswerScores
from assistant.evaluation.calibration import Calibration
from assistant.evaluation.runner import RetrievalRecord, RetrievalSummary

if TYPE_CHECKING:
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.settings import Settings

REPORT_SCHEMA = 1
VOLATILE_KEYS = {
    "created_utc",
    "latency_ms",
    "total_s",
    "first_token_s",
    "latency_total_s",
    "latency_first_token_s",
    "timings",
}


class Stamp(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    created_utc: str
    git_commit: str
    package_version: str
    index_build: str
    index_fingerprint: str = Field(description="Corpus fingerprint of the index build (12 hex).")
    corpus_fingerprint: str
    n_entries: int
    n_chunks: int
    embedder_id: str
    llm_id: str | None = None
    settings: dict[str, Any]


class Report(BaseModel):
    """Everything one eval run measured. Records are kept so a report can be re-analysed."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = REPORT_SCHEMA
    set_name: str
    mode: Literal["retrieval", "answers", "retrieval+answers"]
    n_cases: int
    stamp: Stamp
    retrieval: RetrievalSummary | None = None
    answers: AnswerScores | None = None
    answers_note: str = ""
    calibration: Calibration | None = None
    retrieval_records: list[RetrievalRecord] = []
    answer_records: list[AnswerRecord] = []


class ReportError(DataError):
    """A report file is missing or not a report."""


def git_commit(start: Path | None = None) -> str:
    """HEAD's commit read from the .git folder (no subprocess); 'unknown' outside a checkout."""
    env = os.environ.get("GIT_COMMIT")
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        git = folder / ".git"
        if git.is_file():  # worktree or submodule: "gitdir: <path>"
            text = git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                git = (folder / text.split(":", 1)[1].strip()).resolve()
        if not git.is_dir():
            continue
        try:
            head = (git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            break
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        bases = [git]
        if (git / "commondir").is_file():  # linked worktree: refs live in the main .git
            bases.append((git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve())
        for base in bases:
            if (base / ref).is_file():
                return (base / ref).read_text(encoding="utf-8").strip()
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text(encoding="utf-8").splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
        return env or f"unborn:{ref}"
    return env or "unknown"


def make_stamp(settings: Settings, retriever: HybridRetriever, llm_id: str | None = None) -> Stamp:
    from assistant import __version__

    manifest = retriever.index.manifest
    return Stamp(
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        git_commit=git_commit(),
        package_version=__version__,
        index_build=retriever.index.path.name,
        index_fingerprint=manifest.fingerprint,
        corpus_fingerprint=manifest.corpus_fingerprint,
        n_entries=manifest.n_entries,
        n_chunks=manifest.n_chunks,
        embedder_id=retriever.embedder.model_id,
        llm_id=llm_id,
        settings=json.loads(settings.model_dump_json(exclude={"paths": {"cache_dir"}})),
    )


def _strip_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip_volatile(v) for v in value]
    return value


def content_hash(report: Report) -> str:
    """sha256 of the report without its timestamp and latencies (reproducibility check)."""
    data = _strip_volatile(json.loads(report.model_dump_json()))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def flatten(report: Report) -> dict[str, float]:
    """Numeric summary figures by dotted path, e.g. `retrieval.by_kind.lookup.hit_at_5`."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, bool):
            return
        elif isinstance(value, int | float):
            out[prefix] = float(value)

    for part in ("retrieval", "answers"):
        block = getattr(report, part)
        if block is not None:
            walk(part, json.loads(block.model_dump_json(exclude={"failures"})))
    return out


class Delta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    a: float | None
    b: float | None
    delta: float | None


def compare(a: Report, b: Report) -> list[Delta]:
    """Per-metric change from report a to report b (b - a); metrics missing on one side kept."""
    fa, fb = flatten(a), flatten(b)
    keys = list(fa) + [k for k in fb if k not in fa]
    return [
        Delta(
            metric=k,
            a=fa.get(k),
            b=fb.get(k),
            delta=round(fb[k] - fa[k], 6) if k in fa and k in fb else None,
        )
        for k in keys
    ]


def save_report(report: Report, path: Path) -> None:
    atomic_write(path, report.model_dump_json(indent=1) + "\n")


def load_report(path: Path) -> Report:
    """Read a report.json (or the report.json inside a report folder)."""
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise ReportError(
            f"no report at {path}",
            "pass a report.json or a folder written by `mi-glossary eval run`",
        )
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ReportError(
            f"{path} is not a valid eval report",
            "re-run `mi-glossary eval run`",
            cause=str(exc.errors()[0]["msg"]),
        ) from None
