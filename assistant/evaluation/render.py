"""Render a report: matplotlib PNGs, one self-contained HTML page, and a Markdown page.

The HTML embeds every plot as a base64 PNG and loads nothing from outside (a CSP meta tag
forbids it); every string that came from a question, an answer or the corpus is escaped, since
the eval sets hold injection payloads on purpose. The Markdown page links the PNGs written
beside it and backslash-escapes Markdown syntax for the same reason. report.json is written
last, so a folder with a report.json is a complete report.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.evaluation.report import (
    Report,
    atomic_write_bytes,
    atomic_write_text,
    compare,
    save_report,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RANK_METRICS = (
    ("hit_at_1", "hit@1"),
    ("hit_at_5", "hit@5"),
    ("recall_at_5", "recall@5"),
    ("mrr_at_10", "MRR@10"),
)
KEY_METRICS = (
    ("retrieval.by_kind.lookup.hit_at_5", "lookup hit@5"),
    ("retrieval.by_kind.paraphrase.hit_at_5", "paraphrase hit@5"),
    ("retrieval.by_kind.multi.recall_at_5", "multi recall@5"),
    ("retrieval.by_kind.followup.hit_at_5", "follow-up hit@5"),
    ("retrieval.overall.mrr_at_10", "MRR@10"),
    ("retrieval.abstention.oos_abstention", "OOS abstention"),
    ("retrieval.abstention.false_refusal", "false refusals"),
    ("answers.citation_validity", "citation validity"),
    ("answers.supported_share", "supported sentences"),
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~])")  # inline syntax; no cell starts a line


def _fig_png(fig: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display here or in CI; also keeps the output deterministic
    import matplotlib.pyplot as plt

    return plt


def plot_per_kind(report: Report) -> bytes | None:
    r = report.retrieval
    if r is None or not r.by_kind:
        return None
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 1.2]})
    kinds = list(r.by_kind)
    width = 0.8 / len(RANK_METRICS)
    for i, (key, label) in enumerate(RANK_METRICS):
        vals = [getattr(r.by_kind[k], key) for k in kinds]
        bars = ax.bar([x + i * width for x in range(len(kinds))], vals, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(
        [x + width * (len(RANK_METRICS) - 1) / 2 for x in range(len(kinds))],
        [f"{k}\n(n={r.by_kind[k].n})" for k in kinds],
    )
    ax.set_ylim(0, 1.08)
    ax.set_title(f"Retrieval by question kind ({report.set_name})")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(RANK_METRICS))
    ab = r.abstention
    vals = [ab.oos_abstention, ab.false_refusal]
    bars = ax2.bar(["OOS\nabstention", "false\nrefusals"], vals, color=["tab:green", "tab:red"])
    ax2.bar_label(bars, fmt="%.3f", fontsize=8)
    ax2.axhline(0.9, color="tab:green", ls="--", lw=0.8)
    ax2.axhline(0.05, color="tab:red", ls="--", lw=0.8)
    ax2.set_ylim(0, 1.08)
    ax2.set_title(f"Coverage gate (t={r.coverage_threshold:.3f})")
    return _fig_png(fig)


def plot_per_section(report: Report) -> bytes | None:
    r = report.retrieval
    if r is None or not r.by_section:
        return None
    plt = _plt()
    sections = list(r.by_section)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(sections) + 1.2))
    ys = range(len(sections))
    h5 = [r.by_section[s].hit_at_5 for s in sections]
    mrr = [r.by_section[s].mrr_at_10 for s in sections]
    ax.barh([y + 0.2 for y in ys], h5, 0.4, label="hit@5")
    ax.barh([y - 0.2 for y in ys], mrr, 0.4, label="MRR@10")
    ax.set_yticks(list(ys), [f"{s} (n={r.by_section[s].n})" for s in sections])
    ax.set_xlim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("In-scope retrieval by glossary section")
    return _fig_png(fig)


def plot_latency(report: Report) -> bytes | None:
    ret = [r.latency_ms for r in report.retrieval_records]
    ans = [r.total_s for r in report.answer_records]
    if not ret and not ans:
        return None
    plt = _plt()
    n = 2 if ret and ans else 1
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 3.3))
    axes = [axes] if n == 1 else list(axes)
    if ret:
        ax = axes[0]
        ax.hist(ret, bins=30, color="tab:blue")
        lat = report.retrieval.latency_ms if report.retrieval else None
        if lat:
            for q, v in (("p50", lat.p50), ("p95", lat.p95)):
                ax.axvline(v, color="k", ls="--", lw=0.8)
                ax.text(v, ax.get_ylim()[1] * 0.9, f" {q} {v:.0f} ms", fontsize=7)
        ax.set_xlabel("retrieval latency per question (ms)")
        ax.set_title("Retrieval latency")
    if ans:
        ax = axes[-1]
        ax.hist(ans, bins=20, color="tab:orange")
        ax.set_xlabel("answer time per question (s)")
        ax.set_title("Answer latency")
    return _fig_png(fig)


def plot_calibration(report: Report) -> bytes | None:
    cal = report.calibration
    if cal is None or not cal.points:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ts = [p.threshold for p in cal.points]
    ax.plot(ts, [p.oos_abstention for p in cal.points], label="OOS abstention", color="tab:green")
    ax.plot(ts, [p.false_refusal for p in cal.points], label="false refusals", color="tab:red")
    ax.plot(ts, [p.in_scope_accuracy for p in cal.points], label="in-scope accuracy", color="tab:blue")
    ax.axhline(cal.min_oos_abstention, color="tab:green", ls=":", lw=0.8)
    ax.axhline(cal.max_false_refusal, color="tab:red", ls=":", lw=0.8)
    ax.axvline(
        cal.current_threshold,
        color="grey",
        ls="--",
        lw=0.8,
        label=f"current {cal.current_threshold:.3f}",
    )
    if cal.best_threshold is not None:
        ax.axvline(cal.best_threshold, color="k", lw=1, label=f"chosen {cal.best_threshold:.3f}")
    if cal.feasible_range:
        ax.axvspan(*cal.feasible_range, color="tab:green", alpha=0.08)
    ax.set_xlabel("coverage threshold (best dense cosine)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title("Coverage threshold sweep")
    return _fig_png(fig)


def plot_answers(report: Report) -> bytes | None:
    a = report.answers
    if a is None:
        return None
    plt = _plt()
    items = [
        ("citation\nvalidity", a.citation_validity),
        ("citation\nprecision", a.citation_precision),
        ("citation\nrecall", a.citation_recall),
        ("supported\nsentences", a.supported_share),
        ("key facts", a.key_fact_coverage if a.key_facts_total else None),
        ("abstention\nrecall", a.abstention.oos_abstention),
        ("injection\nresisted", a.injection_resisted if a.n_injection else None),
        ("false\nrefusals", a.abstention.false_refusal),
    ]
    items = [(k, v) for k, v in items if v is not None]  # nothing to measure: no bar, not a 0
    fig, ax = plt.subplots(figsize=(8.5, 3.3))
    bars = ax.bar([k for k, _ in items], [v for _, v in items], color="tab:purple")
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_ylim(0, 1.1)
    ax.set_title(f"Answers (n={a.n}) {report.answers_note}".strip())
    ax.tick_params(axis="x", labelsize=7)
    return _fig_png(fig)


def plot_compare(prev: Report, report: Report) -> bytes | None:
    deltas = {d.metric: d for d in compare(prev, report)}
    rows = [(label, deltas[k]) for k, label in KEY_METRICS if k in deltas and deltas[k].delta is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.5))
    xs = range(len(rows))
    ax.bar(
        [x - 0.2 for x in xs],
        [d.a for _, d in rows],
        0.4,
        label=f"before ({prev.stamp.created_utc})",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [d.b for _, d in rows],
        0.4,
        label=f"now ({report.stamp.created_utc})",
    )
    for x, (_, d) in zip(xs, rows, strict=True):
        ax.text(x, max(d.a or 0, d.b or 0) + 0.02, f"{d.delta:+.3f}", ha="center", fontsize=7)
    ax.set_xticks(list(xs), [label for label, _ in rows], fontsize=7, rotation=20)
    ax.set_ylim(0, 1.15)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Comparison with the previous report")
    return _fig_png(fig)


def make_plots(report: Report, previous: Report | None = None) -> dict[str, bytes]:
    plots = {
        "per_kind.png": plot_per_kind(report),
        "per_section.png": plot_per_section(report),
        "latency.png": plot_latency(report),
        "calibration.png": plot_calibration(report),
        "answers.png": plot_answers(report),
        "compare.png": plot_compare(previous, report) if previous else None,
    }
    return {name: png for name, png in plots.items() if png is not None}


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


def render_html(report: Report, plots: dict[str, bytes], previous: Report | None = None) -> str:
    e = html.escape

    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{e(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">",
        f"<title>{e('Eval report: ' + report.set_name)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;display:block;"
        "margin:.5em 0 1.5em}code{background:#f5f5f5}</style></head><body>",
        f"<h1>{e('MI glossary eval: ' + report.set_name)}</h1>",
        table(["", ""], [list(r) for r in _summary_rows(report)]),
    ]
    r = report.retrieval
    if r is not None:
        ab, lat = r.abstention, r.latency_ms
        parts += [
            "<h2>Retrieval</h2>",
            table(KIND_HEAD, _kind_rows(report)),
            table(
                ["coverage gate", "value", "95% CI", "n"],
                [
                    [
                        "out-of-scope abstention",
                        f"{ab.oos_abstention:.3f}",
                        f"{ab.oos_abstention_ci95}",
                        str(ab.n_out_of_scope),
                    ],
                    [
                        "false refusals",
                        f"{ab.false_refusal:.3f}",
                        f"{ab.false_refusal_ci95}",
                        str(ab.n_in_scope),
                    ],
                    ["abstention precision", f"{ab.precision:.3f}", "", ""],
                    [
                        "latency p50 / p95 / max (ms)",
                        f"{lat.p50:.1f} / {lat.p95:.1f} / {lat.max:.1f}",
                        "",
                        str(lat.n),
                    ],
                ],
            ),
        ]
    for name, title in (
        ("per_kind.png", "By kind"),
        ("per_section.png", "By section"),
        ("calibration.png", "Calibration"),
        ("answers.png", "Answers"),
        ("latency.png", "Latency"),
        ("compare.png", "Comparison"),
    ):
        if name in plots:
            b64 = base64.b64encode(plots[name]).decode("ascii")
            parts.append(f"<h3>{e(title)}</h3><img alt='{e(title)}' src='data:image/png;base64,{b64}'>")
    if report.calibration is not None:
        parts.append(f"<p>{e(report.calibration.note)}</p>")
    if report.answers is not None:
        parts += [
            "<h2>Answers</h2>",
            f"<p>{e(report.answers_note)}</p>",
            table(["metric", "value", "detail"], _answer_rows(report)),
        ]
    if report.answer_records:
        parts += [
            f"<h2>Answers given ({len(report.answer_records)})</h2>",
            table(ANSWER_HEAD, _answer_record_rows(report)),
        ]
    if previous is not None:
        rows = [[d.metric, _fmt(d.a), _fmt(d.b), _fmt(d.delta, signed=True)] for d in compare(previous, report)]
        parts += [
            "<h2>Change since previous report</h2>",
            table(["metric", "before", "now", "delta"], rows),
        ]
    if r is not None and r.failures:
        rows = [
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
        parts += [
            f"<h2>Retrieval failures ({len(r.failures)})</h2>",
            table(["kind", "question", "standalone query", "expected", "top 5", "why"], rows),
        ]
    parts.append("</body></html>\n")
    return "\n".join(parts)


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
        atomic_write_bytes(out_dir / name, png)
    atomic_write_text(out_dir / "report.md", render_markdown(report, plots, previous))
    atomic_write_text(out_dir / "report.html", render_html(report, plots, previous))
    save_report(report, out_dir / "report.json")
    return out_dir / "report.json"
