"""Render a report: matplotlib PNGs (`plots.py`), one self-contained HTML page, and a Markdown page.

The HTML page is a Jinja2 template (`templates/report.html`, autoescape on); it embeds every
plot as a base64 PNG and loads nothing from outside (a CSP meta tag forbids it). Every string
that came from a question, an answer or the corpus is escaped, since the eval sets hold
injection payloads on purpose. The Markdown page links the PNGs written beside it and
backslash-escapes Markdown syntax for the same reason. report.json is written last, so a
folder with a report.json is a complete report.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from assistant.durable import atomic_write
from assistant.evaluation.plots import make_plots
from assistant.evaluation.report import Report, compare, save_report

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~])")  # inline syntax; no cell starts a line


def _summary_rows(report: Report) -> list[tuple[str, str]]:
    s = report.stamp
    return [
        ("set", f"{report.set_name} ({report.n_cases} questions, {report.mode})"),
        ("created (UTC)", s.created_utc),
        ("git commit", s.git_commit),
        (
            "index",
            f"{s.index_build} (fingerprint {s.index_fingerprint}, {s.n_entries} entries, {s.n_chunks} chunks)",
        ),
        ("embedder", s.embedder_id),
        ("LLM", s.llm_id or "none (retrieval-only)"),
        ("coverage threshold", f"{s.settings.get('retrieval', {}).get('coverage_threshold')}"),
        (
            "judge",
            "none: string and fuzzy matching; sentence support from the pipeline's own attribution",
        ),
    ]


def _kind_rows(report: Report) -> list[list[str]]:
    r = report.retrieval
    if r is None:
        return []
    rows = []
    for name, sc in [("all in-scope", r.overall), *r.by_kind.items()]:
        rows.append(
            [
                name,
                str(sc.n),
                *(
                    f"{getattr(sc, k):.3f}"
                    for k in (
                        "hit_at_1",
                        "hit_at_5",
                        "recall_at_5",
                        "recall_at_10",
                        "mrr_at_10",
                        "ndcg_at_10",
                    )
                ),
            ]
        )
    return rows


KIND_HEAD = ["kind", "n", "hit@1", "hit@5", "recall@5", "recall@10", "MRR@10", "nDCG@10"]


def _answer_rows(report: Report) -> list[list[str]]:
    a = report.answers
    if a is None:
        return []
    return [
        [
            "citation validity (markers inside retrieved set)",
            f"{a.citation_validity:.3f}",
            f"{a.markers_outside_retrieved} outside",
        ],
        ["answers grounded or explicitly not covered", f"{a.grounded_or_not_covered:.3f}", ""],
        ["citation precision vs expected", f"{a.citation_precision:.3f}", ""],
        ["citation recall vs expected", f"{a.citation_recall:.3f}", ""],
        [
            "supported sentences",
            f"{a.supported_share:.3f}",
            f"{a.unsupported_sentences} unsupported",
        ],
        [
            "key-fact coverage",
            f"{a.key_fact_coverage:.3f}" if a.key_facts_total else "n/a",
            f"{a.key_facts_total} facts",
        ],
        [
            "abstention recall (OOS said not covered)",
            f"{a.abstention.oos_abstention:.3f}",
            f"n={a.abstention.n_out_of_scope}",
        ],
        ["abstention precision", f"{a.abstention.precision:.3f}", ""],
        ["false refusals", f"{a.abstention.false_refusal:.3f}", f"n={a.abstention.n_in_scope}"],
        ["injection resisted", f"{a.injection_resisted:.3f}" if a.n_injection else "n/a", f"n={a.n_injection}"],
        [
            "answer time p50 / p95 (s)",
            f"{a.latency_total_s.p50:.2f} / {a.latency_total_s.p95:.2f}",
            "",
        ],
    ]


ANSWER_HEAD = ["kind", "question", "expected", "covered", "cited", "answer", "flags"]


def _answer_record_rows(report: Report, width: int = 400) -> list[list[str]]:
    rows = []
    for a in report.answer_records:
        flags = []
        if a.forbidden_found:
            flags.append("contains " + ", ".join(a.forbidden_found))
        if a.covered == a.must_abstain:
            flags.append("wrong abstention")
        if a.n_markers != a.n_valid_markers:
            flags.append(f"{a.n_markers - a.n_valid_markers} invalid markers")
        if a.error:
            flags.append("error: " + a.error)
        text = a.answer if len(a.answer) <= width else a.answer[:width] + "..."
        rows.append(
            [
                a.kind,
                a.question,
                ", ".join(a.expected),
                "yes" if a.covered else "no",
                ", ".join(a.cited),
                text,
                "; ".join(flags),
            ]
        )
    return rows


IMAGES = (
    ("per_kind.png", "By kind"),
    ("per_section.png", "By section"),
    ("calibration.png", "Calibration"),
    ("answers.png", "Answers"),
    ("latency.png", "Latency"),
    ("compare.png", "Comparison"),
)


@functools.cache
def _environment() -> Environment:
    """The report's Jinja2 environment: HTML autoescape on, undefined names are errors."""
    return Environment(
        loader=PackageLoader("assistant.evaluation", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        auto_reload=False,
    )


def _gate_rows(report: Report) -> list[list[str]]:
    r = report.retrieval
    if r is None:
        return []
    ab, lat = r.abstention, r.latency_ms
    return [
        ["out-of-scope abstention", f"{ab.oos_abstention:.3f}", f"{ab.oos_abstention_ci95}", str(ab.n_out_of_scope)],
        ["false refusals", f"{ab.false_refusal:.3f}", f"{ab.false_refusal_ci95}", str(ab.n_in_scope)],
        ["abstention precision", f"{ab.precision:.3f}", "", ""],
        ["latency p50 / p95 / max (ms)", f"{lat.p50:.1f} / {lat.p95:.1f} / {lat.max:.1f}", "", str(lat.n)],
    ]


def _failure_rows(report: Report) -> list[list[str]]:
    r = report.retrieval
    if r is None:
        return []
    return [
        [
            f.kind,
            f.question,
            f.query if f.query != f.question else "",
            ", ".join(f.expected),
            ", ".join(f.top5),
            f.reason,
        ]
        for f in r.failures
    ]


def render_html(report: Report, plots: dict[str, bytes], previous: Report | None = None) -> str:
    """The self-contained HTML page (`templates/report.html`); plots are embedded as base64 PNGs."""
    changes = None
    if previous is not None:
        changes = [[d.metric, _fmt(d.a), _fmt(d.b), _fmt(d.delta, signed=True)] for d in compare(previous, report)]
    images = [(title, base64.b64encode(plots[name]).decode("ascii")) for name, title in IMAGES if name in plots]
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        summary=[list(r) for r in _summary_rows(report)],
        retrieval=report.retrieval is not None,
        kind_head=KIND_HEAD,
        kinds=_kind_rows(report),
        gate=_gate_rows(report),
        images=images,
        answer_rows=_answer_rows(report),
        answer_head=ANSWER_HEAD,
        answer_records=_answer_record_rows(report),
        changes=changes,
        failures=_failure_rows(report),
    )


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def md_escape(text: str) -> str:
    """Backslash-escape Markdown syntax so corpus/question text renders as plain text."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def render_markdown(report: Report, plots: dict[str, bytes], previous: Report | None = None) -> str:
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
        return [*out, ""]

    lines = [f"# MI glossary eval: {md_escape(report.set_name)}", ""]
    lines += table(["", ""], [list(r) for r in _summary_rows(report)])
    r = report.retrieval
    if r is not None:
        ab, lat = r.abstention, r.latency_ms
        lines += ["## Retrieval", "", *table(KIND_HEAD, _kind_rows(report))]
        lines += [
            f"Out-of-scope abstention **{ab.oos_abstention:.3f}** (n={ab.n_out_of_scope}, 95% CI "
            f"{ab.oos_abstention_ci95}); false refusals **{ab.false_refusal:.3f}** "
            f"(n={ab.n_in_scope}, "
            f"95% CI {ab.false_refusal_ci95}); latency p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms.",
            "",
        ]
    for name in plots:
        lines += [f"![{name[:-4].replace('_', ' ')}]({name})", ""]
    if report.calibration is not None:
        lines += [md_escape(report.calibration.note), ""]
    if report.answers is not None:
        lines += [
            "## Answers",
            "",
            md_escape(report.answers_note),
            "",
            *table(["metric", "value", "detail"], _answer_rows(report)),
        ]
    if report.answer_records:
        lines += [
            f"## Answers given ({len(report.answer_records)})",
            "",
            *table(ANSWER_HEAD, _answer_record_rows(report, width=200)),
        ]
    if previous is not None:
        rows = [
            [d.metric, _fmt(d.a), _fmt(d.b), _fmt(d.delta, signed=True)] for d in compare(previous, report) if d.delta
        ]
        lines += [
            "## Change since previous report",
            "",
            *table(["metric", "before", "now", "delta"], rows),
        ]
    if r is not None and r.failures:
        rows = [[f.kind, f.question, ", ".join(f.expected), ", ".join(f.top5), f.reason] for f in r.failures]
        lines += [
            f"## Retrieval failures ({len(r.failures)})",
            "",
            *table(["kind", "question", "expected", "top 5", "why"], rows),
        ]
    return "\n".join(lines) + "\n"


def write_report_dir(report: Report, out_dir: Path, previous: Report | None = None) -> Path:
    """Write PNGs, report.html, report.md, then report.json (each atomically) into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = make_plots(report, previous)
    for name, png in plots.items():
        atomic_write(out_dir / name, png)
    atomic_write(out_dir / "report.md", render_markdown(report, plots, previous))
    atomic_write(out_dir / "report.html", render_html(report, plots, previous))
    save_report(report, out_dir / "report.json")
    return out_dir / "report.json"
