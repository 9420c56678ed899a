"""Tables and one-line summaries for `mi-glossary eval`: reports in, rich output on the console out.

Everything a report says about a run is shown from the report itself, so what is printed and what
is written to report.json never disagree. Text from reports passes `safe_terminal_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.cli.common import console as _console
from assistant.cli.common import safe_terminal_text as _plain

if TYPE_CHECKING:
    from rich.console import Console

    from assistant.evaluation.gate import Check
    from assistant.evaluation.reference import ReferenceRun
    from assistant.evaluation.report import Delta, Report

EXIT_OK, EXIT_GATE_FAILED = 0, 1


def rate(value: float, n: int) -> str:
    """A rate, or 'n/a' when the sample had nothing to measure it on (not a misleading 0.000)."""
    return f"{value:.3f}" if n else "n/a (none in the sample)"


def print_summary(report: Report, console: Console | None = None) -> None:
    """The retrieval table and the abstention, calibration and answer lines of `report`."""
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
            f"{a.supported_share:.3f}, key facts {rate(a.key_fact_coverage, a.key_facts_total)}, abstention "
            f"recall {a.abstention.oos_abstention:.3f}, false refusals {a.abstention.false_refusal:.3f}, "
            f"injection resisted {rate(a.injection_resisted, a.n_injection)}, p50 {a.latency_total_s.p50:.2f} s"
        )


def settings_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    """`key: old -> new` for every setting that differs, nested keys dotted."""
    diffs = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            sub = settings_diff(va, vb, f"{prefix}{key}.")
            if sub:
                diffs.append(sub)
        elif va != vb:
            diffs.append(f"{prefix}{key}: {va} -> {vb}")
    return "; ".join(diffs)


def print_checks(checks: Sequence[Check], title: str) -> int:
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


def print_compare(ra: Report, rb: Report, rows: Sequence[Delta]) -> None:
    """Per-metric deltas (b - a) and which settings differ."""
    from rich.table import Table

    table = Table(title=f"{ra.set_name}@{ra.stamp.index_fingerprint} -> {rb.set_name}@{rb.stamp.index_fingerprint}")
    for col in ("metric", "A", "B", "delta"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for d in rows:
        table.add_row(
            d.metric,
            "-" if d.a is None else f"{d.a:.4f}",
            "-" if d.b is None else f"{d.b:.4f}",
            "-" if d.delta is None else f"{d.delta:+.4f}",
        )
    out = _console()
    out.print(table)
    out.print(
        f"{len(rows)} metric(s) shown; settings differ: {settings_diff(ra.stamp.settings, rb.stamp.settings) or 'no'}"
    )


def print_calibration(report: Report) -> None:
    """The coverage-threshold sweep (every 4th point, the current and the chosen one) and the setting to use."""
    from rich.table import Table

    cal = report.calibration
    if cal is None:
        return
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
    out = _console()
    out.print(table)
    out.print(_plain(cal.note))
    if cal.best_threshold is not None:
        out.print(
            f"set retrieval.coverage_threshold = {cal.best_threshold:.3f} "
            f"(env MI_GLOSSARY_RETRIEVAL__COVERAGE_THRESHOLD={cal.best_threshold:.3f})"
        )


def print_reference(run: ReferenceRun, folder: Path) -> None:
    """Must-state, must-not, refusals and latency per question kind."""
    from rich.table import Table

    table = Table(title=f"reference answers ({run.mode}) -> {folder}")
    for col in ("kind", "n", "must_state", "must_not", "refused", "abstained", "repeats", "p50 s"):
        table.add_column(col, justify="left" if col == "kind" else "right")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    for kind, sc in run.summary.items():
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
