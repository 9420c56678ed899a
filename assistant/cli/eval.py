"""`mi-glossary eval run | compare | calibrate | gate | reference`: measure retrieval and answers.

Each command has a plain function beside it (Settings and arguments in, an exit code out: 0 ok,
1 a gate threshold failed) that raises typed errors; the typer command wraps it in the shared
error translator, so `--debug` shows the traceback here as everywhere. The work is done by
`evaluation.harness`; this module only draws its progress and prints its tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import AnswerMode, ProfileOpt, console, exit_with, handle_errors, progress, settings_from
from assistant.cli.eval_tables import (
    EXIT_GATE_FAILED,
    EXIT_OK,
    print_calibration,
    print_checks,
    print_compare,
    print_reference,
    print_summary,
)
from assistant.evaluation.harness import CALIBRATION_SETS, REPORTS_DIR, SETS_DIR, THRESHOLDS

if TYPE_CHECKING:
    from assistant.settings import Settings

app = typer.Typer(help="Measure retrieval and answer quality on the question sets.", no_args_is_help=True)


def run_set(
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
    """`eval run`: one set; `answer_sample` retrieves every question but answers only a stratified M.

    Answers cost seconds each on a CPU, retrieval milliseconds.
    """
    from assistant.evaluation.harness import evaluate, write_report
    from assistant.evaluation.report import load_report

    previous = load_report(compare_to) if compare_to else None
    with progress(f"evaluating {set_name}") as report_progress:
        report = evaluate(
            settings,
            set_name,
            retrieval_only=retrieval_only,
            sample=sample,
            answer_sample=answer_sample,
            use_llm=use_llm,
            sets_dir=sets_dir,
            progress=report_progress,
        )
    print_summary(report)
    folder = write_report(report, out, reports_dir, previous)
    console().print(f"report: {folder / 'report.html'} (json: {folder / 'report.json'})")
    return EXIT_OK


def compare_reports(a: Path, b: Path, *, show_all: bool = False) -> int:
    """`eval compare A B`: per-metric deltas (b - a); only changed ones unless show_all."""
    from assistant.evaluation.report import compare, load_report

    ra, rb = load_report(a), load_report(b)
    print_compare(ra, rb, [d for d in compare(ra, rb) if show_all or d.delta != 0])
    return EXIT_OK


def calibrate_threshold(
    settings: Settings,
    set_name: str = CALIBRATION_SETS,
    *,
    out: Path | None = None,
    sets_dir: Path = SETS_DIR,
    reports_dir: Path = REPORTS_DIR,
) -> int:
    """`eval calibrate`: sweep the coverage threshold; EXIT_GATE_FAILED when no threshold is feasible."""
    from assistant.evaluation.harness import evaluate, write_report

    with progress(f"calibrating on {set_name}") as report_progress:
        report = evaluate(
            settings,
            set_name,
            retrieval_only=True,
            calibrate_threshold=True,
            sets_dir=sets_dir,
            progress=report_progress,
        )
    print_calibration(report)
    folder = write_report(report, out, reports_dir)
    console().print(f"report: {folder / 'report.html'}")
    found = report.calibration is not None and report.calibration.best_threshold is not None
    return EXIT_OK if found else EXIT_GATE_FAILED


def check_gate(
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
    from assistant.evaluation.harness import evaluate, write_report
    from assistant.settings import LocalLLMSettings, override_settings

    config = load_gate_config(thresholds)
    g = config.gate
    if isinstance(settings.llm, LocalLLMSettings) and settings.llm.model_path is None:
        settings = override_settings(settings, llm={"profile": g.llm_profile})
    with progress(f"gate on {g.set}") as report_progress:
        report = evaluate(
            settings,
            g.set,
            retrieval_only=g.answer_sample == 0,
            answer_sample=g.answer_sample,
            use_llm=use_llm,
            require_llm=g.require_llm,
            sets_dir=sets_dir,
            progress=report_progress,
        )
    print_summary(report)
    checks = check(report, config)
    if out is not None:
        write_report(report, out, reports_dir)
    return print_checks(checks, f"gate ({thresholds})")


def answer_reference(
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
    from assistant.evaluation.harness import run_reference_set, write_reference

    with progress("answering reference questions") as report_progress:
        run = run_reference_set(settings, set_name, limit=limit, sets_dir=sets_dir, progress=report_progress)
    folder = write_reference(run, out, reports_dir)
    print_reference(run, folder)
    if not gate:
        return EXIT_OK
    from assistant.evaluation.gate import check_reference, load_gate_config

    return print_checks(
        check_reference(run.summary, load_gate_config(thresholds).reference), f"reference gate ({thresholds})"
    )


@app.command("run")
@handle_errors
def eval_run(
    set_name: Annotated[str, typer.Option("--set", help="Question set: dev or test (evals/sets/NAME.jsonl).")] = "test",
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only", help="Skip answers.")] = False,
    sample: Annotated[int | None, typer.Option(help="Evaluate only N questions (stratified).")] = None,
    answer_sample: Annotated[int | None, typer.Option(help="Retrieve all, answer only N.")] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Answers from retrieval only (no model).")] = False,
    profile: ProfileOpt = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default evals/reports/<set>-<utc>).")] = None,
    compare: Annotated[Path | None, typer.Option(help="A previous report.json to compare with.")] = None,
) -> None:
    """Run an eval set; write JSON, Markdown and HTML reports with plots."""
    s = settings_from(profile=profile)
    exit_with(
        run_set(
            s,
            set_name,
            retrieval_only=retrieval_only,
            sample=sample,
            answer_sample=answer_sample,
            out=out,
            compare_to=compare,
            use_llm=not no_llm,
        )
    )


@app.command("compare")
@handle_errors
def eval_compare(
    a: Annotated[Path, typer.Argument(help="Older report.json (or its folder).")],
    b: Annotated[Path, typer.Argument(help="Newer report.json (or its folder).")],
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged metrics too.")] = False,
) -> None:
    """Print metric deltas between two reports."""
    exit_with(compare_reports(a, b, show_all=show_all))


@app.command("calibrate")
@handle_errors
def eval_calibrate(
    set_name: Annotated[str, typer.Option("--set", help="Set(s) to calibrate on; join with + (dev+heldout).")] = (
        CALIBRATION_SETS
    ),
) -> None:
    """Sweep the coverage threshold on the dev set and print the best one."""
    exit_with(calibrate_threshold(settings_from(), set_name))


@app.command("reference")
@handle_errors
def eval_reference(
    set_name: Annotated[str, typer.Option("--set", help="Reference set (evals/sets/NAME.jsonl).")] = "reference",
    mode: Annotated[AnswerMode, typer.Option("--mode", help="quoted (default) or generated answers.")] = (
        AnswerMode.quoted
    ),
    profile: ProfileOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Answer a stratified sample of this many (0 = all).")] = 0,
    gate: Annotated[
        bool, typer.Option("--gate", help="Fail (exit 1) on the [reference] bounds of thresholds.toml.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder (default evals/reports/reference/...).")
    ] = None,
) -> None:
    """Answer the reference set end to end: must-state coverage and must-not violations per kind."""
    s = settings_from(profile=profile, generation={"mode": mode.value})
    exit_with(answer_reference(s, set_name=set_name, limit=limit, out=out, gate=gate))


@app.command("gate")
@handle_errors
def eval_gate(
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Answer sample from retrieval only.")] = False,
) -> None:
    """CI gate: retrieval on the full test split, answers on a sample; bounds in evals/thresholds.toml."""
    exit_with(check_gate(settings_from(), use_llm=not no_llm))
