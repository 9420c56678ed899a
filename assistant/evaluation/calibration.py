"""Calibrate the coverage threshold (best dense cosine below which a question is "not covered").

Sweep thresholds over a run (by default dev + the held-out set, `mi-glossary eval calibrate`),
re-deciding coverage for every question with the pipeline's own `decide` (every other rule
still applies), and pick, among thresholds with out-of-scope abstention >= 0.9 and false refusals
<= 0.05, the one with the largest abstention minus false refusals (Youden's J; ties: higher
in-scope accuracy, then the one nearest the current setting). Maximising accuracy instead chose
the lowest feasible threshold on dev, where the other rules already refuse every out-of-scope
question; it then fell short on questions written by other people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from assistant.answer.coverage import decide
from assistant.evaluation.metrics import hit_at_k

if TYPE_CHECKING:
    from assistant.evaluation.runner import RetrievalRun
    from assistant.settings import RetrievalSettings

MIN_OOS_ABSTENTION = 0.90
MAX_FALSE_REFUSAL = 0.05


class ThresholdPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: float
    oos_abstention: float
    false_refusal: float
    in_scope_accuracy: float
    feasible: bool


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    n_in_scope: int
    n_out_of_scope: int
    min_oos_abstention: float
    max_false_refusal: float
    current_threshold: float
    at_current: ThresholdPoint
    best_threshold: float | None
    at_best: ThresholdPoint | None
    feasible_range: tuple[float, float] | None
    points: list[ThresholdPoint]
    note: str


def thresholds(lo: float = 0.10, hi: float = 0.80, step: float = 0.005) -> list[float]:
    n = round((hi - lo) / step)
    return [round(lo + i * step, 4) for i in range(n + 1)]


def evaluate_threshold(
    run: RetrievalRun,
    settings: RetrievalSettings,
    threshold: float,
    min_oos: float = MIN_OOS_ABSTENTION,
    max_fr: float = MAX_FALSE_REFUSAL,
) -> ThresholdPoint:
    cut = type(settings).model_validate({**settings.model_dump(), "coverage_threshold": threshold})  # validated
    oos_total = oos_abstained = ins_total = refused = good = 0
    for rec, result in zip(run.records, run.results, strict=True):
        covered = decide(result.signals, cut).covered if result is not None else False
        if rec.must_abstain:
            oos_total += 1
            oos_abstained += not covered
        else:
            ins_total += 1
            refused += not covered
            good += covered and hit_at_k(rec.ranked, rec.expected, 5) == 1.0
    oos = oos_abstained / oos_total if oos_total else 1.0
    fr = refused / ins_total if ins_total else 0.0
    return ThresholdPoint(
        threshold=threshold,
        oos_abstention=round(oos, 6),
        false_refusal=round(fr, 6),
        in_scope_accuracy=round(good / ins_total, 6) if ins_total else 0.0,
        feasible=oos >= min_oos and fr <= max_fr,
    )


def _margin(p: ThresholdPoint, min_oos: float, max_fr: float) -> float:
    return min(p.oos_abstention - min_oos, max_fr - p.false_refusal)


def calibrate(
    run: RetrievalRun,
    settings: RetrievalSettings,
    grid: Sequence[float] | None = None,
    min_oos: float = MIN_OOS_ABSTENTION,
    max_fr: float = MAX_FALSE_REFUSAL,
) -> Calibration:
    """Sweep the grid and choose the threshold (see the module docstring for the rule)."""
    grid = list(grid) if grid is not None else thresholds()
    points = [evaluate_threshold(run, settings, t, min_oos, max_fr) for t in grid]
    current = evaluate_threshold(run, settings, settings.coverage_threshold, min_oos, max_fr)
    feasible = [p for p in points if p.feasible]
    n_oos = sum(r.must_abstain for r in run.records)
    base = dict(
        n_in_scope=len(run.records) - n_oos,
        n_out_of_scope=n_oos,
        min_oos_abstention=min_oos,
        max_false_refusal=max_fr,
        current_threshold=settings.coverage_threshold,
        at_current=current,
        points=points,
    )
    if not feasible:
        best = max(points, key=lambda p: (_margin(p, min_oos, max_fr), p.in_scope_accuracy))
        return Calibration(
            **base,
            best_threshold=None,
            at_best=best,
            feasible_range=None,
            note=(
                f"no threshold meets both constraints; closest is {best.threshold:.3f} "
                f"(abstention {best.oos_abstention:.3f}, false refusals {best.false_refusal:.3f}): "
                "retrieval itself must separate in-scope from out-of-scope better"
            ),
        )
    best = max(
        feasible,
        key=lambda p: (
            round(p.oos_abstention - p.false_refusal, 3),
            p.in_scope_accuracy,
            -abs(p.threshold - settings.coverage_threshold),
        ),
    )
    span = (min(p.threshold for p in feasible), max(p.threshold for p in feasible))
    return Calibration(
        **base,
        best_threshold=best.threshold,
        at_best=best,
        feasible_range=span,
        note=(
            f"feasible thresholds {span[0]:.3f}-{span[1]:.3f}; chosen {best.threshold:.3f} "
            f"(in-scope accuracy {best.in_scope_accuracy:.3f}, abstention "
            f"{best.oos_abstention:.3f}, false refusals {best.false_refusal:.3f})"
        ),
    )
