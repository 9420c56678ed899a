"""The `mi-glossary` command line, run as a real subprocess (RELIABILITY A1, J1, J2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.indexing.store import current_build, load_index, verify_build
from tests.conftest import FIXTURE_CORPUS

SCRIPT = Path(sys.executable).with_name("mi-glossary")
HIT_KEYS = {"rank", "entry_id", "term", "aliases", "section", "score", "chunk_id", "text", "url"}


def run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with a clean MI_GLOSSARY_* environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MI_GLOSSARY_")}
    env["COLUMNS"] = "80"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def test_console_script_is_installed():
    assert SCRIPT.is_file()


@pytest.mark.slow
def test_search_json_contract(built_index, tmp_path, retriever):
    out = run(
        "search",
        "What is an induction head?",
        "-k",
        "3",
        "--json",
        "--corpus",
        str(FIXTURE_CORPUS),
        "--index-dir",
        str(built_index.parent),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert set(payload) == {"query", "hits"}
    assert payload["query"] == "What is an induction head?"
    hits = payload["hits"]
    assert len(hits) == 3
    for n, hit in enumerate(hits, 1):
        assert set(hit) == HIT_KEYS
        assert hit["rank"] == n
        assert isinstance(hit["aliases"], list) and isinstance(hit["score"], float)
        assert all(isinstance(hit[k], str) for k in ("entry_id", "term", "section", "chunk_id", "text", "url"))
    assert hits[0]["entry_id"] == "induction-head"
    want = retriever.search("What is an induction head?", 3).hits
    assert [(h["entry_id"], h["chunk_id"]) for h in hits] == [(h.entry_id, h.chunk_id) for h in want]


@pytest.mark.slow
def test_search_without_index_exits_3_with_the_fix(tmp_path):
    out = run(
        "search",
        "induction head",
        "--corpus",
        str(FIXTURE_CORPUS),
        "--index-dir",
        str(tmp_path / "empty"),
        cwd=tmp_path,
    )
    assert out.returncode == 3
    assert "mi-glossary index build" in out.stderr and "no index" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stdout == ""


def test_index_info_without_index_exits_3(tmp_path):
    out = run("index", "info", "--index-dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert out.returncode == 3
    assert "mi-glossary index build" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["search"],
        ["search", "q", "-k", "0"],
        ["search", "q", "-k", "51"],
        ["search", "q", "-k", "three"],
        ["search", "q", "--mode", "fuzzy"],
        ["search", "q", "--no-such-flag"],
        ["index", "build", "--bogus"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_exit_2_on_stderr(tmp_path, args):
    out = run(*args, cwd=tmp_path, timeout=60)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr.strip() and "Traceback" not in out.stderr


@pytest.mark.slow
def test_index_build_then_info(corpus_copy, tmp_path, built_index):
    index_dir = tmp_path / "idx"
    out = run("index", "build", "--corpus", str(corpus_copy), "--index-dir", str(index_dir), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "built" in out.stdout and "Traceback" not in out.stderr
    build = current_build(index_dir / "default")
    manifest = verify_build(build)
    reference = load_index(built_index).manifest
    assert (manifest.n_chunks, manifest.n_entries) == (reference.n_chunks, reference.n_entries)
    assert manifest.corpus_fingerprint == reference.corpus_fingerprint
    load_index(index_dir / "default", corpus_root=corpus_copy)

    info = run("index", "info", "--index-dir", str(index_dir), cwd=tmp_path, timeout=60)
    assert info.returncode == 0, info.stderr
    shown = json.loads(info.stdout)
    assert shown["n_chunks"] == manifest.n_chunks and shown["embedder_id"] == manifest.embedder_id
    assert shown["schema_version"] == manifest.schema_version
    assert not {"files", "sizes", "corpus_files"} & set(shown)


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--no-llm"], []])  # quoted answers (the default) need no model either
def test_ask_no_llm_prepares_no_model(built_index, tmp_path, flags):
    out = run(
        "ask",
        "What is an induction head?",
        *flags,
        "--json",
        "--corpus",
        str(FIXTURE_CORPUS),
        "--index-dir",
        str(built_index.parent),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "preparing the model" not in out.stderr
    payload = json.loads(out.stdout)
    assert payload["covered"] and payload["citations"][0]["entry_id"] == "induction-head"
    assert "llm" not in payload["models"]
    assert payload["coverage"]["rule"] == "named-term" and payload["coverage"]["covered"]


@pytest.mark.slow
def test_ask_says_why_a_question_is_not_covered(built_index, tmp_path):
    out = run(
        "ask",
        "write me a poem about superposition",
        "--corpus",
        str(FIXTURE_CORPUS),
        "--index-dir",
        str(built_index.parent),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "does not cover" in out.stdout and "(rule writing-request)" in out.stdout and "poem" in out.stdout


@pytest.mark.parametrize("debug", [False, True])
def test_eval_errors_follow_the_global_debug_flag(tmp_path, debug):
    """`--debug` reaches every group, eval included: a traceback with it, the clean message without."""
    args = ["--debug"] if debug else []
    out = run(*args, "eval", "compare", "a", "b", cwd=tmp_path, timeout=60)
    assert "no report at a" in out.stderr and out.stdout == ""
    if debug:
        assert out.returncode == 1 and "Traceback" in out.stderr and "ReportError" in out.stderr
    else:
        assert out.returncode == 3 and "Traceback" not in out.stderr
        assert out.stderr.startswith("error: no report at a; pass a report.json")


@pytest.mark.parametrize(
    ("args", "choice"),
    [
        (["search", "q", "--mode", "fuzzy"], "hybrid"),
        (["ask", "q", "--profile", "huge"], "fast"),
        (["eval", "reference", "--mode", "typed"], "generated"),
    ],
)
def test_choices_are_checked_by_the_parser(tmp_path, args, choice):
    out = run(*args, cwd=tmp_path, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert choice in out.stderr  # the usage error lists the valid choices
