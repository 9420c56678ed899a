"""Reports: round trip, atomic writes, hashing, compare deltas, escaping, and the gate config."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from assistant.durable import atomic_write
from assistant.evaluation.answer_metrics import answer_scores, score_answer
from assistant.evaluation.dataset import EvalCase
from assistant.evaluation.gate import GateConfigError, check, load_gate_config
from assistant.evaluation.render import md_escape, render_html, render_markdown, write_report_dir
from assistant.evaluation.report import (
    Report,
    ReportError,
    Stamp,
    compare,
    content_hash,
    flatten,
    load_report,
    save_report,
)
from assistant.evaluation.runner import RetrievalRecord, summarize_retrieval
from assistant.types import Answer, Citation, RetrievedRef

REPO = Path(__file__).resolve().parents[2]
EVIL = "what is X? <script>alert(1)</script> ![x](http://evil.example/p.png)"


def record(
    i: int,
    kind: str,
    ranked: tuple[str, ...],
    expected: tuple[str, ...],
    covered: bool,
    latency: float = 5.0,
) -> RetrievalRecord:
    return RetrievalRecord(
        id=f"{kind}-{i}",
        kind=kind,
        section="transformers" if expected else "(out of scope)",
        question=EVIL if kind == "injection" else f"question {i}",
        query=f"question {i}",
        expected=expected,
        must_abstain=not expected,
        ranked=ranked,
        best_dense=0.5,
        matches=(),
        covered=covered,
        latency_ms=latency,
    )


def make_report(hit: bool = True, latency: float = 5.0, created: str = "2026-01-01T00:00:00Z") -> Report:
    recs = [
        record(1, "lookup", ("a", "b"), ("a",), True, latency),
        record(2, "lookup", ("b", "a") if hit else ("b", "c"), ("a",), True, latency),
        record(3, "multi", ("a", "b", "c"), ("a", "c"), True, latency),
        record(4, "out_of_scope", ("a",), (), False, latency),
        record(5, "injection", ("a",), (), True, latency),
    ]
    case = EvalCase(id="lookup-1", question=EVIL, expected_entries=("a",), kind="lookup", must_abstain=False)
    answer = Answer(
        question=EVIL,
        standalone_query=EVIL,
        answer="A is a thing [1].",
        covered=True,
        citations=(Citation(n=1, entry_id="a", term="A", url=""),),
        retrieved=(RetrievedRef(entry_id="a", term="A", score=1.0),),
        timings={"total_s": latency},
    )
    answers = [score_answer(case, answer)]
    stamp = Stamp(
        created_utc=created,
        git_commit="abc",
        package_version="0.1.0",
        index_build="build-x",
        index_fingerprint="f00",
        corpus_fingerprint="f00" * 4,
        n_entries=3,
        n_chunks=9,
        embedder_id="minilm@1",
        settings={"retrieval": {"coverage_threshold": 0.4}},
    )
    return Report(
        set_name="unit",
        mode="retrieval+answers",
        n_cases=len(recs),
        stamp=stamp,
        retrieval=summarize_retrieval(recs, 0.4),
        answers=answer_scores(answers),
        retrieval_records=recs,
        answer_records=answers,
    )


def test_summary_by_hand():
    r = make_report().retrieval
    assert r.by_kind["lookup"].hit_at_1 == 0.5 and r.by_kind["lookup"].hit_at_5 == 1.0
    assert r.by_kind["multi"].recall_at_5 == 1.0
    assert r.abstention.oos_abstention == 0.5  # the injection was answered
    assert [f.id for f in r.failures] == ["injection-5"]
    assert "answered out-of-scope" in r.failures[0].reason


def test_round_trip(tmp_path):
    report = make_report()
    save_report(report, tmp_path / "r.json")
    again = load_report(tmp_path / "r.json")
    assert again == report
    assert content_hash(again) == content_hash(report)


def test_load_errors_are_named(tmp_path):
    with pytest.raises(ReportError, match="no report at"):
        load_report(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"set_name": 1}')
    with pytest.raises(ReportError, match="not a valid eval report"):
        load_report(tmp_path / "bad.json")


def test_hash_ignores_time_and_latency_only():
    base = make_report()
    assert content_hash(base) == content_hash(make_report(latency=99.0, created="2030-05-05T00:00:00Z"))
    assert content_hash(base) != content_hash(make_report(hit=False))


def test_atomic_write_keeps_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic_write(target, "old")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file, not mkstemp's 0600

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left behind


def test_compare_deltas():
    deltas = {d.metric: d for d in compare(make_report(), make_report(hit=False))}
    d = deltas["retrieval.by_kind.lookup.hit_at_5"]
    assert (d.a, d.b, d.delta) == (1.0, 0.5, -0.5)
    assert deltas["retrieval.by_kind.multi.recall_at_5"].delta == 0.0
    assert "answers.citation_validity" in deltas


def test_flatten_paths():
    flat = flatten(make_report())
    assert flat["retrieval.abstention.false_refusal"] == 0.0
    assert flat["answers.citation_validity"] == 1.0
    assert not any("failures" in k for k in flat)


def test_html_and_markdown_escape_untrusted_text(tmp_path):
    report = make_report()
    out = write_report_dir(report, tmp_path / "rep", previous=make_report(hit=False))
    assert out.name == "report.json"
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "src='http" not in page and "href" not in page  # the payload stays inert text
    assert "<img alt='By kind' src='data:image/png;base64," in page
    assert "default-src 'none'" in page
    md = (tmp_path / "rep" / "report.md").read_text()
    assert not re.search(r"(?<!\\)\]\(http://evil", md) and "<script>" not in md  # no live link
    assert "![per kind](per_kind.png)" in md
    for png in ("per_kind.png", "per_section.png", "latency.png", "answers.png", "compare.png"):
        assert (tmp_path / "rep" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert md_escape("a|b [c](d) <b>") == r"a\|b \[c\](d) \<b\>"
    assert render_html(report, {}) and render_markdown(report, {})


def test_gate_checks_and_unknown_metric(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[retrieval.min]\n"by_kind.lookup.hit_at_5" = 0.9\n[answers.max]\nmarkers_outside_retrieved = 0\n')
    config = load_gate_config(cfg)
    assert all(c.ok for c in check(make_report(), config))
    failed = [c for c in check(make_report(hit=False), config) if not c.ok]
    assert [c.metric for c in failed] == ["retrieval.by_kind.lookup.hit_at_5"]
    cfg.write_text('[retrieval.target_min]\n"abstention.oos_abstention" = 0.9\n')
    (goal,) = check(make_report(), load_gate_config(cfg))
    assert not goal.ok and not goal.enforced  # a goal is reported, never failing
    cfg.write_text('[retrieval.min]\n"by_kind.lookup.hit_at_55" = 0.9\n')
    with pytest.raises(GateConfigError, match=r"unknown retrieval metric 'by_kind\.lookup\.hit_at_55'"):
        check(make_report(), load_gate_config(cfg))
    cfg.write_text("[gate]\nset = 'test'\nanswer_smaple = 3\n")
    with pytest.raises(GateConfigError, match="answer_smaple"):
        load_gate_config(cfg)


def test_repo_thresholds_parse():
    config = load_gate_config(REPO / "evals" / "thresholds.toml")
    assert config.retrieval.min["by_kind.lookup.hit_at_5"] == 0.97
    assert config.retrieval.max["abstention.false_refusal"] == 0.05
    assert config.retrieval.min["abstention.oos_abstention"] == 0.90  # the issue-5 bar is now gated


def test_a_rate_with_nothing_measured_is_not_shown_as_zero():
    from assistant.cli.eval_tables import rate

    assert rate(0.0, 0).startswith("n/a")
    assert rate(0.0, 3) == "0.000" and rate(1.0, 2) == "1.000"


def test_reference_bounds_check_and_refuse_unknown_metrics():
    from assistant.evaluation.gate import Bounds, GateConfigError, check_reference
    from assistant.evaluation.reference import KindScores

    summary = {
        "all_in_scope": KindScores(
            n=10, must_state=0.6, must_not=0.1, refused=0.0, abstained=None, repeats=0, p50_s=0.1
        )
    }
    checks = check_reference(summary, Bounds(min={"all_in_scope.must_state": 0.5}, max={"all_in_scope.must_not": 0.02}))
    assert [(c.metric, c.ok) for c in checks] == [
        ("reference.all_in_scope.must_state", True),
        ("reference.all_in_scope.must_not", False),
    ]
    with pytest.raises(GateConfigError, match="unknown reference metric"):
        check_reference(summary, Bounds(max={"all_in_scope.mustnot": 0.02}))
