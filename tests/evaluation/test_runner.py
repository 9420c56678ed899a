"""The harness on the real fixture index: runs, reproducibility, calibration, CLI functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.cli.eval import calibrate_threshold, check_gate, compare_reports, run_set
from assistant.evaluation.calibration import calibrate, thresholds
from assistant.evaluation.dataset import load_cases
from assistant.evaluation.harness import evaluate
from assistant.evaluation.report import content_hash, load_report
from assistant.evaluation.runner import query_for, run_retrieval, summarize_retrieval
from assistant.settings import Settings, override_settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
TINY = FIXTURES / "evals" / "tiny.jsonl"


@pytest.fixture()
def settings(built_index) -> Settings:
    return override_settings(**{"paths": _paths(built_index)})


def _paths(built_index: Path) -> dict[str, str]:
    return {
        "corpus_dir": str(FIXTURES / "corpus"),
        "index_dir": str(built_index.parent),
        "index_name": built_index.name,
    }


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
    seen: list[tuple[int, int, str]] = []
    a = evaluate(settings, str(TINY), retrieval_only=True, progress=lambda *call: seen.append(call))
    n = a.n_cases
    assert seen[0] == (0, n, f"retrieving {n} questions") and seen[-1] == (n, n, f"retrieving {n} questions")
    assert len(seen) == n + 1  # the library reports progress; the CLI draws it
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
    assert run_set(settings, str(TINY), retrieval_only=True, out=out_a) == 0
    assert run_set(settings, str(TINY), use_llm=False, out=out_b, compare_to=out_a) == 0
    report = load_report(out_b)
    assert report.answers is not None and report.answers.n == 11
    assert report.answers.citation_validity == 1.0  # retrieval-only answers cite the retrieved summary
    assert (out_b / "report.html").is_file() and (out_b / "compare.png").is_file()
    assert compare_reports(out_a, out_b) == 0
    assert "->" in capsys.readouterr().out
    assert calibrate_threshold(settings, str(TINY), out=tmp_path / "cal") in (0, 1)
    assert load_report(tmp_path / "cal").calibration is not None

    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "test.jsonl").write_text(TINY.read_text())
    ok = tmp_path / "ok.toml"
    ok.write_text(
        '[gate]\nanswer_sample = 3\n[retrieval.min]\n"by_kind.lookup.hit_at_5" = 0.9\n'
        "[answers.max]\nmarkers_outside_retrieved = 0\n"
    )
    assert check_gate(settings, thresholds=ok, sets_dir=sets, use_llm=False, out=tmp_path / "g") == 0
    assert load_report(tmp_path / "g").answers.n == 3
    strict = tmp_path / "strict.toml"
    strict.write_text('[gate]\nanswer_sample = 0\n[retrieval.max]\n"overall.hit_at_1" = 0.1\n')
    assert check_gate(settings, thresholds=strict, sets_dir=sets, use_llm=False) == 1


def test_cli_data_errors_exit_3(built_index, tmp_path):
    """Through the real app and its one error translator: a message and exit 3, a traceback only under --debug."""
    env = {f"MI_GLOSSARY_PATHS__{k.upper()}": v for k, v in _paths(built_index).items()}
    cli = CliRunner(env=env)

    missing = cli.invoke(app, ["eval", "run", "--set", str(tmp_path / "missing.jsonl"), "--retrieval-only"])
    assert missing.exit_code == 3 and "no such eval set" in missing.stderr
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
    run = cli.invoke(app, ["eval", "run", "--set", str(bad), "--retrieval-only", "--out", str(tmp_path / "r")])
    assert run.exit_code == 3, run.output
    assert "bad.jsonl:2: unknown entry id(s) in expected_entries: nope" in run.stderr
    compared = cli.invoke(app, ["eval", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert compared.exit_code == 3 and "no report at" in compared.stderr
    debug = cli.invoke(app, ["--debug", "eval", "run", "--set", str(tmp_path / "missing.jsonl"), "--retrieval-only"])
    assert debug.exit_code == 1 and "no such eval set" in str(debug.exception)


def test_gate_without_a_thresholds_file_exits_3(settings, tmp_path):
    from assistant.errors import GlossaryError

    with pytest.raises(GlossaryError, match=r"none\.toml") as info:
        check_gate(settings, thresholds=tmp_path / "none.toml")
    assert info.value.exit_code == 3
