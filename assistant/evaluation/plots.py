"""The eval report's plots: matplotlib figures rendered to PNG bytes (Agg backend, no display).

Each `plot_*` returns None when the report has nothing to draw, so a missing section is a
missing picture rather than an empty one. PNGs carry no software or date metadata, so the
same report gives the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from assistant.evaluation.report import Report, compare

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


def _fig_png(fig: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _plt() -> Any:
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
