"""Run an eval set end to end and return its Report, or answer the reference set: the library half of `eval`.

Everything is built through `assistant.factory` and nothing prints: long loops report through
an optional `progress(done, total, stage)` callback, which the CLI draws as one bar per stage.
Writing the report folders lives here too, so a script gets the same files as the CLI.
Compromise: the chat model for `evaluate` is built whenever answers are asked for with
`use_llm`, also in quoted mode, so the report's stamp names the model the settings describe.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import BackendUnavailable

if TYPE_CHECKING:
    from assistant.evaluation.dataset import EvalCase
    from assistant.evaluation.reference import ReferenceRun
    from assistant.evaluation.report import Report
    from assistant.llm.base import ChatModel
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.settings import Settings

SETS_DIR = Path("evals/sets")
REPORTS_DIR = Path("evals/reports")
# Calibrate on our dev split plus the held-out set other sessions wrote: dev alone has 35
# out-of-scope questions, too few to place a threshold (evals/README.md).
CALIBRATION_SETS = "dev+heldout"
THRESHOLDS = Path("evals/thresholds.toml")

StageProgress = Callable[[int, int, str], None]
"""`progress(done, total, stage)`: `stage` names the loop ("retrieving 40 questions")."""


def known_sets(sets_dir: Path = SETS_DIR) -> Sequence[str]:
    """Names accepted by --set (files in evals/sets)."""
    return sorted(p.stem for p in sets_dir.glob("*.jsonl"))


def _ticker(progress: StageProgress | None, total: int, stage: str) -> Callable[[], None] | None:
    """A no-argument tick for the runner's loops that reports `(done, total, stage)`."""
    if progress is None:
        return None
    report = progress
    counter = itertools.count(1)
    report(0, total, stage)
    return lambda: report(next(counter), total, stage)


def load_set(name: str, retriever: HybridRetriever, sets_dir: Path, sample: int | None) -> list[EvalCase]:
    """The cases of set `name` ("dev+heldout": one run over both), optionally a stratified sample."""
    from assistant.evaluation.dataset import load_cases, resolve_set, sample_cases

    cases: list[EvalCase] = []
    for part in name.split("+"):
        cases += load_cases(resolve_set(part, sets_dir), known_entries=retriever.index.entries)
    return sample_cases(cases, sample) if sample else cases


def _chat_model(settings: Settings, required: bool) -> tuple[ChatModel | None, str]:
    """The configured chat model, or (None, why) when it cannot be built and is not required."""
    from assistant.factory import open_chat_model

    try:
        return open_chat_model(settings), ""
    except BackendUnavailable as exc:
        if required:
            raise
        return (
            None,
            f"retrieval-only answers (cited entry summaries): the LLM is unavailable ({exc.problem})",
        )


def evaluate(
    settings: Settings,
    set_name: str,
    *,
    retrieval_only: bool = False,
    sample: int | None = None,
    answer_sample: int | None = None,
    use_llm: bool = True,
    require_llm: bool = True,
    calibrate_threshold: bool = False,
    sets_dir: Path = SETS_DIR,
    progress: StageProgress | None = None,
) -> Report:
    """Run one eval and return the Report (no files written). Raises GlossaryError subclasses.

    `sample` limits the whole run; `answer_sample` answers only that many of the (retrieved) cases.
    """
    from assistant.evaluation.answer_metrics import answer_scores
    from assistant.evaluation.calibration import calibrate
    from assistant.evaluation.dataset import sample_cases
    from assistant.evaluation.report import Report, make_stamp
    from assistant.evaluation.runner import run_answers, run_retrieval, summarize_retrieval
    from assistant.factory import open_assistant, open_retriever

    retriever = open_retriever(settings)
    cases = load_set(set_name, retriever, sets_dir, sample)
    run = run_retrieval(retriever, cases, settings, _ticker(progress, len(cases), f"retrieving {len(cases)} questions"))
    summary = summarize_retrieval(run.records, settings.retrieval.coverage_threshold)
    calibration = calibrate(run, settings.retrieval) if calibrate_threshold else None
    answers, answer_records, note, llm_id = None, [], "", None
    if not retrieval_only:
        chat_model, note = _chat_model(settings, require_llm) if use_llm else (None, "retrieval-only answers")
        llm_id = getattr(chat_model, "model_id", None)
        asked = sample_cases(cases, answer_sample) if answer_sample is not None else cases
        assistant = open_assistant(settings, retriever=retriever, chat_model=chat_model, use_llm=False)
        answer_records = run_answers(
            assistant, asked, _ticker(progress, len(asked), f"answering {len(asked)} questions")
        )
        answers = answer_scores(answer_records)
        if llm_id and not note:
            note = f"answers by {llm_id}"
    mode = "retrieval" if retrieval_only else "retrieval+answers"
    return Report(
        set_name="+".join(Path(part).stem for part in set_name.split("+")),
        mode=mode,
        n_cases=len(cases),
        stamp=make_stamp(settings, retriever, llm_id),
        retrieval=summary,
        answers=answers,
        answers_note=note,
        calibration=calibration,
        retrieval_records=run.records,
        answer_records=answer_records,
    )


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_report(
    report: Report, out: Path | None, reports_dir: Path = REPORTS_DIR, previous: Report | None = None
) -> Path:
    """Write JSON, Markdown and HTML (with plots) into `out` (default: a stamped folder); return it."""
    from assistant.evaluation.render import write_report_dir

    folder = out or reports_dir / f"{report.set_name}-{_utc_stamp()}-{report.stamp.index_fingerprint}"
    write_report_dir(report, folder, previous)
    return folder


def run_reference_set(
    settings: Settings,
    set_name: str = "reference",
    *,
    limit: int = 0,
    sets_dir: Path = SETS_DIR,
    progress: StageProgress | None = None,
) -> ReferenceRun:
    """Answer the reference set (a stratified `limit` of it, 0 = all) with the configured assistant."""
    from assistant.evaluation.dataset import load_cases, resolve_set, sample_cases
    from assistant.evaluation.reference import ReferenceRun, run_reference, summarise
    from assistant.factory import open_assistant

    assistant = open_assistant(settings)
    cases = load_cases(resolve_set(set_name, sets_dir), known_entries=assistant.entries)
    if limit:
        cases = sample_cases(cases, limit)
    mode = settings.generation.mode
    stage = f"answering reference questions ({mode})"
    tick = _ticker(progress, len(cases), stage)
    records = run_reference(assistant.ask, cases, progress=(lambda done, total: tick()) if tick else None)
    models = {"embedder": assistant.retriever.embedder.model_id}
    if assistant.chat_model is not None:
        models["llm"] = assistant.chat_model.model_id
    return ReferenceRun(set_name=set_name, mode=mode, models=models, summary=summarise(records), records=records)


def write_reference(run: ReferenceRun, out: Path | None, reports_dir: Path = REPORTS_DIR) -> Path:
    """Write `report.json` into `out` (default: evals/reports/reference/<utc>-<mode>); return the folder."""
    from assistant.durable import atomic_write

    folder = out or reports_dir / "reference" / f"{_utc_stamp()}-{run.mode}"
    folder.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "set": run.set_name,
        "mode": run.mode,
        "models": run.models,
        "summary": {k: v.model_dump() for k, v in run.summary.items()},
        "records": [r.model_dump() for r in run.records],
    }
    atomic_write(folder / "report.json", json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return folder
