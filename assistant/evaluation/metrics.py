"""Metric functions: pure, small, and checked against hand-computed values in the tests.

Ranking metrics take the ranked entry ids and the gold ids of one question; relevance is
binary (an entry is either one the question needs or not). Aggregates are plain means over
questions, with the count kept beside them so a 1.0 over two questions is not mistaken for a
1.0 over two hundred.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict


def hit_at_k(ranked: Sequence[str], expected: Iterable[str], k: int) -> float:
    """1.0 if any expected id is in the top k. `hit_at_k(["a", "b"], ["b"], 1) == 0.0`."""
    gold = set(expected)
    return 1.0 if any(r in gold for r in ranked[:k]) else 0.0


def recall_at_k(ranked: Sequence[str], expected: Iterable[str], k: int) -> float:
    """Share of expected ids found in the top k. `recall_at_k(["a", "b"], ["b", "c"], 2) == 0.5`."""
    gold = set(expected)
    if not gold:
        return 0.0
    return len(gold & set(ranked[:k])) / len(gold)


def mrr_at_k(ranked: Sequence[str], expected: Iterable[str], k: int = 10) -> float:
    """1 / rank of the first expected id within the top k, else 0."""
    gold = set(expected)
    for i, r in enumerate(ranked[:k], 1):
        if r in gold:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], expected: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG: sum 1/log2(rank+1) over hits, over the ideal ordering's sum."""
    gold = set(expected)
    if not gold:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, r in enumerate(ranked[:k], 1):
        if r in gold and r not in seen:
            dcg += 1.0 / math.log2(i + 1)
            seen.add(r)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """`np.percentile` (linear interpolation), q in [0, 100]; 0.0 for no values."""
    return float(np.percentile(values, q)) if len(values) else 0.0


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sensible at 0/n and n/n)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


class RankingScores(BaseModel):
    """Mean ranking metrics over `n` in-scope questions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n: int
    hit_at_1: float
    hit_at_5: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float


RANKING_FUNCS: dict[str, Callable[[Sequence[str], Iterable[str]], float]] = {
    "hit_at_1": lambda r, e: hit_at_k(r, e, 1),
    "hit_at_5": lambda r, e: hit_at_k(r, e, 5),
    "recall_at_5": lambda r, e: recall_at_k(r, e, 5),
    "recall_at_10": lambda r, e: recall_at_k(r, e, 10),
    "mrr_at_10": lambda r, e: mrr_at_k(r, e, 10),
    "ndcg_at_10": lambda r, e: ndcg_at_k(r, e, 10),
}


def ranking_scores(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> RankingScores:
    """Average every ranking metric over (ranked, expected) pairs."""
    n = len(pairs)
    means = {name: (sum(fn(r, e) for r, e in pairs) / n if n else 0.0) for name, fn in RANKING_FUNCS.items()}
    return RankingScores(n=n, **{k: round(v, 6) for k, v in means.items()})


class AbstentionScores(BaseModel):
    """How often the coverage decision is right.

    `oos_abstention`: share of must-abstain questions declared not covered (recall of abstention).
    `false_refusal`: share of in-scope questions declared not covered.
    `precision`: share of "not covered" decisions that were on must-abstain questions.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_out_of_scope: int
    n_in_scope: int
    oos_abstention: float
    oos_abstention_ci95: tuple[float, float]
    false_refusal: float
    false_refusal_ci95: tuple[float, float]
    precision: float
    accuracy: float


def abstention_scores(decisions: Sequence[tuple[bool, bool]]) -> AbstentionScores:
    """From (must_abstain, abstained) pairs, one per question."""
    oos = [abst for must, abst in decisions if must]
    ins = [abst for must, abst in decisions if not must]
    abstained_oos, refused = sum(oos), sum(ins)
    total_abstained = abstained_oos + refused
    correct = abstained_oos + (len(ins) - refused)
    return AbstentionScores(
        n_out_of_scope=len(oos),
        n_in_scope=len(ins),
        oos_abstention=round(abstained_oos / len(oos), 6) if oos else 0.0,
        oos_abstention_ci95=tuple(round(x, 4) for x in wilson_interval(abstained_oos, len(oos))),
        false_refusal=round(refused / len(ins), 6) if ins else 0.0,
        false_refusal_ci95=tuple(round(x, 4) for x in wilson_interval(refused, len(ins))),
        precision=round(abstained_oos / total_abstained, 6) if total_abstained else 1.0,
        accuracy=round(correct / len(decisions), 6) if decisions else 0.0,
    )


class LatencyScores(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    n: int
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    mean: float


def latency_scores(values: Sequence[float]) -> LatencyScores:
    vals = list(values)
    return LatencyScores(
        n=len(vals),
        p50=round(percentile(vals, 50), 3),
        p90=round(percentile(vals, 90), 3),
        p95=round(percentile(vals, 95), 3),
        p99=round(percentile(vals, 99), 3),
        max=round(max(vals, default=0.0), 3),
        mean=round(sum(vals) / len(vals), 3) if vals else 0.0,
    )
