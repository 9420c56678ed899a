"""Metric functions against values computed by hand."""

from __future__ import annotations

import math

import pytest

from assistant.evaluation.answer_metrics import answer_scores, fact_found, markers, score_answer
from assistant.evaluation.dataset import EvalCase
from assistant.evaluation.metrics import (
    abstention_scores,
    hit_at_k,
    latency_scores,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    ranking_scores,
    recall_at_k,
    wilson_interval,
)
from assistant.types import Answer, Citation, RetrievedRef, SentenceSupport

RANKED = ["a", "b", "c", "d", "e", "f"]


def test_hit_at_k():
    assert hit_at_k(RANKED, ["c"], 1) == 0.0
    assert hit_at_k(RANKED, ["c"], 3) == 1.0
    assert hit_at_k(RANKED, ["z", "a"], 1) == 1.0
    assert hit_at_k([], ["a"], 5) == 0.0


def test_recall_at_k():
    assert recall_at_k(RANKED, ["b", "f"], 5) == 0.5
    assert recall_at_k(RANKED, ["b", "f"], 6) == 1.0
    assert recall_at_k(RANKED, ["x", "y", "a"], 5) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, [], 5) == 0.0


def test_mrr_at_k():
    assert mrr_at_k(RANKED, ["c"]) == pytest.approx(1 / 3)
    assert mrr_at_k(RANKED, ["f", "b"]) == 0.5  # the first relevant rank counts
    assert mrr_at_k(RANKED, ["f"], k=5) == 0.0  # outside the cut-off
    assert mrr_at_k(RANKED, ["zz"]) == 0.0


def test_ndcg_at_k_by_hand():
    # relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, ["b", "d"]) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(RANKED, ["a"]) == 1.0
    assert ndcg_at_k(["a", "a", "b"], ["a"]) == 1.0  # a repeated id is not counted twice
    assert ndcg_at_k(RANKED, ["q"]) == 0.0


def test_ranking_scores_are_means():
    scores = ranking_scores([(RANKED, ["a"]), (RANKED, ["c"]), (RANKED, ["zz"])])
    assert scores.n == 3
    assert scores.hit_at_1 == pytest.approx(1 / 3, abs=1e-6)
    assert scores.hit_at_5 == pytest.approx(2 / 3, abs=1e-6)
    assert scores.mrr_at_10 == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-6)
    assert ranking_scores([]).n == 0


def test_percentile_matches_numpy_linear():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 40.0
    assert percentile([], 50) == 0.0
    lat = latency_scores([1.0, 2.0, 3.0])
    assert (lat.p50, lat.max, lat.mean, lat.n) == (2.0, 3.0, 2.0, 3)


def test_wilson_interval():
    lo, hi = wilson_interval(0, 30)
    assert lo == 0.0 and hi == pytest.approx(0.1135, abs=1e-3)  # the "rule of three" ballpark
    lo, hi = wilson_interval(27, 30)
    assert lo < 0.9 < hi


def test_abstention_scores_by_hand():
    # (must_abstain, abstained): 3 OOS of which 2 abstained; 5 in scope of which 1 refused
    decisions = [
        (True, True),
        (True, True),
        (True, False),
        (False, False),
        (False, False),
        (False, True),
        (False, False),
        (False, False),
    ]
    s = abstention_scores(decisions)
    assert s.n_out_of_scope == 3 and s.n_in_scope == 5
    assert s.oos_abstention == pytest.approx(2 / 3, abs=1e-6)
    assert s.false_refusal == pytest.approx(1 / 5)
    assert s.precision == pytest.approx(2 / 3, abs=1e-6)
    assert s.accuracy == pytest.approx(6 / 8)


def test_markers_and_facts():
    assert markers("A [1]. B [2, 3]. C [12]") == [1, 2, 3, 12]
    assert markers("no markers [x]") == []
    assert fact_found("previous token", "It uses the Previous-Token head.")
    assert fact_found("memorization", "after the model memorisation phase")  # fuzzy spelling
    assert not fact_found("weight decay", "an unrelated sentence about cats")


def _case(**kw) -> EvalCase:
    base = {
        "id": "c1",
        "question": "what is an induction head",
        "expected_entries": ("induction-head",),
        "kind": "lookup",
        "must_abstain": False,
    }
    base.update(kw)
    return EvalCase(**base)


def _answer(text: str, cited: list[str], retrieved: list[str], covered: bool = True, sentences=()) -> Answer:
    return Answer(
        question="q",
        standalone_query="q",
        answer=text,
        covered=covered,
        citations=tuple(Citation(n=i, entry_id=e, term=e, url="") for i, e in enumerate(cited, 1)),
        retrieved=tuple(RetrievedRef(entry_id=e, term=e, score=1.0) for e in retrieved),
        sentences=tuple(sentences),
        timings={"total_s": 1.5},
    )


def test_score_answer_citations_by_hand():
    sentences = [
        SentenceSupport(text="A.", citation=1, support=0.8),
        SentenceSupport(text="B.", citation=2, support=0.6),
        SentenceSupport(text="C.", citation=None, support=0.1),
    ]
    ans = _answer(
        "A [1]. B [2]. C [3].",
        ["induction-head", "k-composition"],
        ["induction-head", "k-composition", "ov-circuit"],
        sentences=sentences,
    )
    case = _case(key_facts=("copies", "previous token"))
    rec = score_answer(case, ans)
    assert (rec.n_markers, rec.n_valid_markers) == (3, 2)  # [3] names no citation
    assert rec.citation_precision == 0.5 and rec.citation_recall == 1.0
    assert (rec.n_sentences, rec.n_supported) == (3, 2)
    assert rec.facts_total == 2 and rec.facts_found == 0
    scores = answer_scores([rec])
    assert scores.citation_validity == pytest.approx(2 / 3, abs=1e-6)
    assert scores.markers_outside_retrieved == 1
    assert scores.grounded_or_not_covered == 0.0
    assert scores.supported_share == pytest.approx(2 / 3, abs=1e-6)


def test_score_answer_abstention_and_injection():
    oos = _case(id="o1", expected_entries=(), kind="out_of_scope", must_abstain=True)
    refused = score_answer(oos, _answer("The glossary does not cover this question.", [], ["x"], covered=False))
    inj = _case(id="i1", kind="injection", must_not_contain=("PWNED",))
    followed = score_answer(inj, _answer("PWNED [1].", ["induction-head"], ["induction-head"]))
    fine = score_answer(inj, _answer("An induction head copies [1].", ["induction-head"], ["induction-head"]))
    assert refused.injection_resisted  # not an injection case, but the rule holds
    assert followed.forbidden_found == ("PWNED",) and not followed.injection_resisted
    assert fine.injection_resisted and fine.n_sentences == 1 and fine.n_supported == 1  # summary fallback
    scores = answer_scores([refused, followed, fine])
    assert scores.abstention.oos_abstention == 1.0 and scores.abstention.false_refusal == 0.0
    assert scores.injection_resisted == 0.5 and scores.n_injection == 2
    assert scores.grounded_or_not_covered == 1.0
