"""The harness on the real fixture index: runs, reproducibility, calibration, CLI functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.calibration import calibrate, thresholds
from assistant.evaluation.cli import eval_calibrate, eval_compare, eval_gate, eval_run, evaluate
from assistant.evaluation.dataset import load_cases
from assistant.evaluation.report import content_hash, load_report
from assistant.evaluation.runner import query_for, run_retrieval, summarize_retrieval
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
TINY = FIXTURES / "evals" / "tiny.jsonl"


@pytest.fixture()
def settings(built_index) -> Settings:
    s = Settings()
    paths = s.paths.model_copy(
        update={
            "corpus_dir": FIXTURES / "corpus",
            "index_dir": built_index.parent,
            "index_name": built_index.name,
        }
    )
    return s.model_copy(update={"paths": paths})


@pytest.fixture()
def cases(retriever):
    return load_cases(TINY, known_entries=retriever.index.entries)


def test_followup_is_made_standalone_like_the_flow(retriever, cases):
    follow = next(c for c in cases if c.kind == "followup")
    assert "Induction head" in query_for(retriever, follow, Settings())


def test_retrieval_run_scores_the_fixture_set(retriever, cases):
    s = Settings()
    run = run_retrieval(retriever, cases, s)
    by_id = {r.id: r for r in run.records}
    assert by_id["lookup-1"].ranked[0] == "induction-head"
    assert "exact:induction-head" in by_id["lookup-1"].matches
    assert by_id["lookup-2"].ranked[0] == "superposition"  # the typo is forgiven
    assert by_id["lookup-1"].covered and not by_id["oos-1"].covered
    summary = summarize_retrieval(run.records, s.retrieval.coverage_threshold)
    assert summary.by_kind["lookup"].hit_at_1 == 1.0
    assert summary.overall.n == 8 and summary.abstention.n_out_of_scope == 3
    assert summary.latency_ms.p50 > 0


def test_same_index_and_settings_reproduce_results_and_hash(settings):
    a = evaluate(settings, str(TINY), retrieval_only=True)
    b = evaluate(settings, str(TINY), retrieval_only=True)
    strip = [r.model_dump(exclude={"latency_ms"}) for r in a.retrieval_records]
    assert strip == [r.model_dump(exclude={"latency_ms"}) for r in b.retrieval_records]
    assert content_hash(a) == content_hash(b)
    assert a.stamp.index_fingerprint and a.stamp.embedder_id.startswith("sentence-transformers/")


def test_calibration_sweeps_with_the_pipeline_rule(retriever, cases):
    s = Settings()
    run = run_retrieval(retriever, cases, s)
    cal = calibrate(run, s.retrieval, grid=thresholds(0.1, 0.9, 0.05))
    assert len(cal.points) == 17
    low, high = cal.points[0], cal.points[-1]
    assert low.false_refusal <= high.false_refusal and low.oos_abstention <= high.oos_abstention
    # exact term matches stay covered at any threshold (the pipeline's rule, not ours)
    assert high.false_refusal < 1.0
    assert cal.at_current.threshold == s.retrieval.coverage_threshold


def test_cli_run_compare_calibrate_and_gate(settings, tmp_path, capsys):
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert eval_run(settings, str(TINY), retrieval_only=True, out=out_a) == 0
    assert eval_run(settings, str(TINY), use_llm=False, out=out_b, compare_to=out_a) == 0
    report = load_report(out_b)
    assert report.answers is not None and report.answers.n == 11
    assert report.answers.citation_validity == 1.0  # retrieval-only answers cite the retrieved summary
    assert (out_b / "report.html").is_file() and (out_b / "compare.png").is_file()
    assert eval_compare(out_a, out_b) == 0
    assert "->" in capsys.readouterr().out
    assert eval_calibrate(settings, str(TINY), out=tmp_path / "cal") in (0, 1)
    assert load_report(tmp_path / "cal").calibration is not None

    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "test.jsonl").write_text(TINY.read_text())
    ok = tmp_path / "ok.toml"
    ok.write_text(
        '[gate]\nanswer_sample = 3\n[retrieval.min]\n"by_kind.lookup.hit_at_5" = 0.9\n'
        "[answers.max]\nmarkers_outside_retrieved = 0\n"
    )
    assert eval_gate(settings, thresholds=ok, sets_dir=sets, use_llm=False, out=tmp_path / "g") == 0
    assert load_report(tmp_path / "g").answers.n == 3
    strict = tmp_path / "strict.toml"
    strict.write_text('[gate]\nanswer_sample = 0\n[retrieval.max]\n"overall.hit_at_1" = 0.1\n')
    assert eval_gate(settings, thresholds=strict, sets_dir=sets, use_llm=False) == 1


def test_cli_data_errors_exit_3(settings, tmp_path, capsys):
    assert eval_run(settings, str(tmp_path / "missing.jsonl"), retrieval_only=True) == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        TINY.read_text().splitlines()[0]
        + "\n"
        + json.dumps(
            {
                "id": "x",
                "question": "q",
                "expected_entries": ["nope"],
                "kind": "lookup",
                "must_abstain": False,
            }
        )
        + "\n"
    )
    assert eval_run(settings, str(bad), retrieval_only=True) == 3
    assert "bad.jsonl:2: unknown entry id(s) in expected_entries: nope" in capsys.readouterr().err
    assert eval_compare(tmp_path / "a.json", tmp_path / "b.json") == 3
    assert eval_gate(settings, thresholds=tmp_path / "none.toml") == 3
    with pytest.raises(Exception, match="no such eval set"):
        eval_run(settings, str(tmp_path / "missing.jsonl"), retrieval_only=True, debug=True)
