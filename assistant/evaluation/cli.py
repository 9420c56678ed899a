"""`mi-glossary eval ...` as plain functions: Settings and arguments in, an exit code out.

The lead wires these into typer in `assistant/cli.py`. They print with rich (tables on stdout,
progress and errors on stderr), never call sys.exit, and translate expected failures into exit
codes: 0 ok, 1 a gate threshold failed, 3 data (eval set, index, report, thresholds), 4 model.
Pass `debug=True` to re-raise instead (the CLI's --debug).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import BackendUnavailable, GlossaryError

if TYPE_CHECKING:
    from rich.console import Console

    from assistant.evaluation.dataset import EvalCase
    from assistant.evaluation.gate import Check
    from assistant.evaluation.report import Report
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.settings import Settings

EXIT_OK, EXIT_GATE_FAILED = 0, 1
SETS_DIR = Path("evals/sets")
REPORTS_DIR = Path("evals/reports")
# Calibrate on our dev split plus the held-out set other sessions wrote: dev alone has 35
# out-of-scope questions, too few to place a threshold (evals/README.md).
CALIBRATION_SETS = "dev+heldout"
THRESHOLDS = Path("evals/thresholds.toml")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False)


def _plain(text: str) -> str:
    return _CONTROLS.sub("", text)


def _guard(fn: Callable[..., int]) -> Callable[..., int]:
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> int:
        try:
            return fn(*args, **kwargs)
        except GlossaryError as exc:
            if debug:
                raise
            _console(stderr=True).print(f"error: {_plain(str(exc))}", soft_wrap=True)
            return exc.exit_code

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _load_set(name: str, retriever: HybridRetriever, sets_dir: Path, sample: int | None) -> list[EvalCase]:
    from assistant.evaluation.dataset import load_cases, resolve_set, sample_cases

    cases: list[EvalCase] = []
    for part in name.split("+"):  # "dev+heldout": one run over both sets
        cases += load_cases(resolve_set(part, sets_dir), known_entries=retriever.index.entries)
    return sample_cases(cases, sample) if sample else cases


def _default_out(reports_dir: Path, set_name: str, report: Report) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return reports_dir / f"{report.set_name}-{stamp}-{report.stamp.index_fingerprint}"


def _chat_model(settings: Settings, required: bool) -> tuple[Any, str]:
    """The configured chat model, or (None, why) when it cannot be built and is not required."""
    from assistant.llm import make_chat_model

    try:
        return make_chat_model(settings), ""
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
) -> Report:
    """Run one eval and return the Report (no files written). Raises GlossaryError subclasses.

    `sample` limits the whole run; `answer_sample` answers only that many of the (retrieved) cases.
    """
    from assistant.evaluation.answer_metrics import answer_scores
    from assistant.evaluation.calibration import calibrate
    from assistant.evaluation.dataset import sample_cases
    from assistant.evaluation.report import Report, make_stamp
    from assistant.evaluation.runner import run_answers, run_retrieval, summarize_retrieval
    from assistant.factory import open_retriever

    retriever = open_retriever(settings)
    cases = _load_set(set_name, retriever, sets_dir, sample)
    with _progress(len(cases), f"retrieving {len(cases)} questions") as tick:
        run = run_retrieval(retriever, cases, settings, tick)
    summary = summarize_retrieval(run.records, settings.retrieval.coverage_threshold)
    calibration = calibrate(run, settings.retrieval) if calibrate_threshold else None
    answers, answer_records, note, llm_id = None, [], "", None
    if not retrieval_only:
        from assistant.pipeline import Assistant

        chat_model, note = _chat_model(settings, require_llm) if use_llm else (None, "retrieval-only answers")
        llm_id = getattr(chat_model, "model_id", None)
        asked = sample_cases(cases, answer_sample) if answer_sample is not None else cases
        assistant = Assistant(retriever, chat_model, settings)
        with _progress(len(asked), f"answering {len(asked)} questions") as tick:
            answer_records = run_answers(assistant, asked, tick)
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


def _rate(value: float, n: int) -> str:
    """A rate, or 'n/a' when the sample had nothing to measure it on (not a misleading 0.000)."""
    return f"{value:.3f}" if n else "n/a (none in the sample)"


def print_summary(report: Report, console: Console | None = None) -> None:
    from rich.table import Table

    out = console or _console()
    r = report.retrieval
    if r is not None:
        table = Table(
            title=f"retrieval on {report.set_name} ({report.n_cases} questions, index {report.stamp.index_fingerprint})"
        )
        for col in ("kind", "n", "hit@1", "hit@5", "recall@5", "MRR@10", "nDCG@10", "covered"):
            table.add_column(col, justify="left" if col == "kind" else "right")
        for kind, sc in [("all in-scope", r.overall), *r.by_kind.items()]:
            cov = r.covered_by_kind.get(kind)
            table.add_row(
                kind,
                str(sc.n),
                f"{sc.hit_at_1:.3f}",
                f"{sc.hit_at_5:.3f}",
                f"{sc.recall_at_5:.3f}",
                f"{sc.mrr_at_10:.3f}",
                f"{sc.ndcg_at_10:.3f}",
                f"{cov:.3f}" if cov is not None else "",
            )
        for kind in ("out_of_scope",):
            if kind in r.covered_by_kind:
                table.add_row(kind, "", "", "", "", "", "", f"{r.covered_by_kind[kind]:.3f}")
        out.print(table)
        ab, lat = r.abstention, r.latency_ms
        out.print(
            f"coverage threshold {r.coverage_threshold:.3f}: "
            f"out-of-scope abstention {ab.oos_abstention:.3f} "
            f"(n={ab.n_out_of_scope}), false refusals {ab.false_refusal:.3f} (n={ab.n_in_scope}); "
            f"retrieval latency p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms; "
            f"{len(r.failures)} failures"
        )
    if report.calibration is not None:
        out.print(_plain(report.calibration.note))
    a = report.answers
    if a is not None:
        out.print(
            f"answers (n={a.n}, {_plain(report.answers_note)}): "
            f"citation validity {a.citation_validity:.3f}, "
            f"precision {a.citation_precision:.3f}, recall {a.citation_recall:.3f}, supported "
            f"{a.supported_share:.3f}, key facts {_rate(a.key_fact_coverage, a.key_facts_total)}, abstention "
            f"recall {a.abstention.oos_abstention:.3f}, false refusals {a.abstention.false_refusal:.3f}, "
            f"injection resisted {_rate(a.injection_resisted, a.n_injection)}, p50 {a.latency_total_s.p50:.2f} s"
        )


def _write(report: Report, out: Path | None, reports_dir: Path, previous: Report | None = None) -> Path:
    from assistant.evaluation.render import write_report_dir

    folder = out or _default_out(reports_dir, report.set_name, report)
    write_report_dir(report, folder, previous)
    return folder


@_guard
def eval_run(
    settings: Settings,
    set_name: str,
    *,
    retrieval_only: bool = False,
    sample: int | None = None,
    answer_sample: int | None = None,
    out: Path | None = None,
    compare_to: Path | None = None,
    use_llm: bool = True,
    sets_dir: Path = SETS_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> int:
    """`eval run --set NAME [--retrieval-only] [--sample N] [--answer-sample M] [--out DIR] [--compare PREV]`.

    `sample` limits the whole run; `answer_sample` retrieves every question but answers only a
    stratified M of them (answers cost seconds each on a CPU, retrieval milliseconds).
    """
    from assistant.evaluation.report import load_report

    previous = load_report(compare_to) if compare_to else None
    report = evaluate(
        settings,
        set_name,
        retrieval_only=retrieval_only,
        sample=sample,
        answer_sample=answer_sample,
        use_llm=use_llm,
        sets_dir=sets_dir,
    )
    print_summary(report)
    folder = _write(report, out, reports_dir, previous)
    _console().print(f"report: {folder / 'report.html'} (json: {folder / 'report.json'})")
    return EXIT_OK


@_guard
def eval_compare(a: Path, b: Path, *, show_all: bool = False) -> int:
    """`eval compare A B`: per-metric deltas (b - a); only changed ones unless show_all."""
    from rich.table import Table

    from assistant.evaluation.report import compare, load_report

    ra, rb = load_report(a), load_report(b)
    table = Table(title=f"{ra.set_name}@{ra.stamp.index_fingerprint} -> {rb.set_name}@{rb.stamp.index_fingerprint}")
    for col in ("metric", "A", "B", "delta"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    rows = [d for d in compare(ra, rb) if show_all or d.delta != 0]
    for d in rows:
        fmt = "-" if d.delta is None else f"{d.delta:+.4f}"
        table.add_row(
            d.metric,
            "-" if d.a is None else f"{d.a:.4f}",
            "-" if d.b is None else f"{d.b:.4f}",
            fmt,
        )
    out = _console()
    out.print(table)
    out.print(
        f"{len(rows)} metric(s) shown; settings differ: {_settings_diff(ra.stamp.settings, rb.stamp.settings) or 'no'}"
    )
    return EXIT_OK


def _settings_diff(a: dict, b: dict, prefix: str = "") -> str:
    diffs = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            sub = _settings_diff(va, vb, f"{prefix}{key}.")
            if sub:
                diffs.append(sub)
        elif va != vb:
            diffs.append(f"{prefix}{key}: {va} -> {vb}")
    return "; ".join(diffs)


@_guard
def eval_calibrate(
    settings: Settings,
    set_name: str = CALIBRATION_SETS,
    *,
    out: Path | None = None,
    sets_dir: Path = SETS_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> int:
    """`eval calibrate`: sweep the coverage threshold on the calibration sets and print the best one."""
    from rich.table import Table

    report = evaluate(settings, set_name, retrieval_only=True, calibrate_threshold=True, sets_dir=sets_dir)
    cal = report.calibration
    assert cal is not None  # evaluate() was asked to calibrate
    table = Table(
        title=f"coverage threshold sweep on {report.set_name} "
        f"({cal.n_in_scope} in scope, {cal.n_out_of_scope} out of scope)"
    )
    for col in ("threshold", "OOS abstention", "false refusals", "in-scope accuracy", "feasible"):
        table.add_column(col, justify="right")
    marks = {cal.current_threshold: " (current)"}
    if cal.best_threshold is not None:
        marks[cal.best_threshold] = marks.get(cal.best_threshold, "") + " (chosen)"
    for p in cal.points[::4] + [cal.at_current] + ([cal.at_best] if cal.at_best else []):
        table.add_row(
            f"{p.threshold:.3f}{marks.get(p.threshold, '')}",
            f"{p.oos_abstention:.3f}",
            f"{p.false_refusal:.3f}",
            f"{p.in_scope_accuracy:.3f}",
            "yes" if p.feasible else "no",
        )
    out_console = _console()
    out_console.print(table)
    out_console.print(_plain(cal.note))
    if cal.best_threshold is not None:
        out_console.print(
            f"set retrieval.coverage_threshold = {cal.best_threshold:.3f} "
            f"(env MI_GLOSSARY_RETRIEVAL__COVERAGE_THRESHOLD={cal.best_threshold:.3f})"
        )
    folder = _write(report, out, reports_dir)
    out_console.print(f"report: {folder / 'report.html'}")
    return EXIT_OK if cal.best_threshold is not None else EXIT_GATE_FAILED


@_guard
def eval_gate(
    settings: Settings,
    *,
    thresholds: Path = THRESHOLDS,
    out: Path | None = None,
    use_llm: bool = True,
    sets_dir: Path = SETS_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> int:
    """`eval gate`: retrieval on the full test split, answers on a sample, bounds from TOML."""
    from assistant.evaluation.gate import check, load_gate_config
    from assistant.settings import LocalLLMSettings

    config = load_gate_config(thresholds)
    g = config.gate
    if isinstance(settings.llm, LocalLLMSettings) and settings.llm.model_path is None:
        settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"profile": g.llm_profile})})
    report = evaluate(
        settings,
        g.set,
        retrieval_only=g.answer_sample == 0,
        answer_sample=g.answer_sample,
        use_llm=use_llm,
        require_llm=g.require_llm,
        sets_dir=sets_dir,
    )
    print_summary(report)
    checks = check(report, config)
    if out is not None:
        _write(report, out, reports_dir)
    return _report_checks(checks, f"gate ({thresholds})")


def known_sets(sets_dir: Path = SETS_DIR) -> Sequence[str]:
    """Names accepted by --set (files in evals/sets)."""
    return sorted(p.stem for p in sets_dir.glob("*.jsonl"))


def _report_checks(checks: Sequence[Check], title: str) -> int:
    """Print the bounds table; EXIT_GATE_FAILED when an enforced bound fails, else EXIT_OK."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("metric", "bound", "value", "ok"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for c in checks:
        table.add_row(
            c.metric,
            f"{c.op} {c.bound:g}",
            "-" if c.value is None else f"{c.value:.4f}",
            "ok" if c.ok else ("FAIL" if c.enforced else "below target"),
        )
    out_console = _console()
    out_console.print(table)
    enforced = [c for c in checks if c.enforced]
    failed = [c for c in enforced if not c.ok]
    missed = [c.metric for c in checks if not c.enforced and not c.ok]
    if missed:
        out_console.print(f"targets not met yet (not failing): {', '.join(missed)}")
    if failed:
        _console(stderr=True).print(
            f"gate failed: {len(failed)} of {len(enforced)} thresholds: " + ", ".join(c.metric for c in failed),
            soft_wrap=True,
        )
        return EXIT_GATE_FAILED
    out_console.print(f"gate passed: {len(enforced)} thresholds")
    return EXIT_OK


def eval_reference(
    settings: Settings,
    *,
    set_name: str = "reference",
    limit: int = 0,
    out: Path | None = None,
    gate: bool = False,
    thresholds: Path = THRESHOLDS,
    sets_dir: Path = SETS_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> int:
    """`eval reference`: answer the reference set end to end; must-state / must-not per kind.

    Returns EXIT_GATE_FAILED when `gate` is set and a `[reference.min]` / `[reference.max]`
    bound of the thresholds file fails, else EXIT_OK.
    """
    import json

    from rich.table import Table

    from assistant.evaluation.dataset import load_cases, resolve_set, sample_cases
    from assistant.evaluation.reference import run_reference, summarise
    from assistant.factory import open_assistant

    assistant = open_assistant(settings)
    cases = load_cases(resolve_set(set_name, sets_dir), known_entries=assistant.entries)
    if limit:
        cases = sample_cases(cases, limit)
    with _progress(len(cases), f"answering reference questions ({settings.generation.mode})") as step:
        records = run_reference(assistant.ask, cases, progress=lambda done, total: step())
    summary = summarise(records)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = out or reports_dir / "reference" / f"{stamp}-{settings.generation.mode}"
    folder.mkdir(parents=True, exist_ok=True)
    models = {"embedder": assistant.retriever.embedder.model_id}
    if assistant.chat_model is not None:
        models["llm"] = assistant.chat_model.model_id
    payload = {
        "set": set_name,
        "mode": settings.generation.mode,
        "models": models,
        "summary": {k: v.model_dump() for k, v in summary.items()},
        "records": [r.model_dump() for r in records],
    }
    (folder / "report.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    table = Table(title=f"reference answers ({settings.generation.mode}) -> {folder}")
    for col in ("kind", "n", "must_state", "must_not", "refused", "abstained", "repeats", "p50 s"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for kind, sc in summary.items():
        table.add_row(
            kind,
            str(sc.n),
            fmt(sc.must_state),
            fmt(sc.must_not),
            fmt(sc.refused),
            fmt(sc.abstained),
            str(sc.repeats),
            f"{sc.p50_s:.2f}",
        )
    _console().print(table)
    if not gate:
        return EXIT_OK
    from assistant.evaluation.gate import check_reference, load_gate_config

    return _report_checks(
        check_reference(summary, load_gate_config(thresholds).reference), f"reference gate ({thresholds})"
    )
