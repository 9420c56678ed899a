"""The acceptance path, as a user runs it: `sources fetch`, `index build`, `search` finds a
sentence only the fetched page (HTML with navigation around an article, and a PDF) contains."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_CORPUS
from tests.sources.conftest import ARTICLE_SENTENCE, PDF_SENTENCE

pytestmark = pytest.mark.slow


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_fetch_then_build_then_search_finds_the_page(site, tmp_path):
    scratch = tmp_path / "scratch"
    shutil.copytree(FIXTURE_CORPUS, scratch / "corpus")
    pages = {"ioi-paper": "/article.html", "tms": "/paper.pdf"}
    for md in (scratch / "corpus" / "sources").glob("*.md"):
        path = pages.get(md.stem, f"/gone/{md.stem}")  # every other source: a 404, never the internet
        text = re.sub(r"(?m)^url: .*$", f"url: {site.base}{path}", md.read_text(encoding="utf-8"), count=1)
        md.write_text(text, encoding="utf-8")
    env = os.environ | {
        "MI_GLOSSARY_PATHS__CACHE_DIR": str(tmp_path / "cache"),
        "MI_GLOSSARY_SOURCES__MIN_INTERVAL_S": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }

    fetch = _cli(["sources", "fetch"], scratch, env)
    assert fetch.returncode == 0, fetch.stderr
    assert "fetched 2, skipped 0 (0 already stored), failed 16" in fetch.stdout
    assert "failed: framework: HTTP 404" in fetch.stdout
    stored = sorted(p.name for p in (tmp_path / "cache" / "sources").iterdir())
    assert stored == ["ioi-paper.json", "tms.json"]  # the texts live in the cache, not in the repository
    assert not list(scratch.rglob("*.json"))

    build = _cli(["index", "build"], scratch, env)
    assert build.returncode == 0, build.stderr

    for sentence, source in ((ARTICLE_SENTENCE, "ioi-paper"), (PDF_SENTENCE, "tms")):
        found = _cli(["search", sentence], scratch, env)
        assert found.returncode == 0, found.stderr
        assert sentence in found.stdout, found.stdout
        as_json = _cli(["search", sentence, "--json"], scratch, env)
        import json

        top = json.loads(as_json.stdout)["passages"][0]
        assert top["source_id"] == source and sentence in top["text"] and top["url"].startswith(site.base)

    again = _cli(["sources", "fetch", "--only", "ioi-paper"], scratch, env)  # resume: nothing downloaded again
    assert again.returncode == 0 and "fetched 0, skipped 1 (1 already stored), failed 0" in again.stdout
    unknown = _cli(["sources", "fetch", "--only", "no-such-source"], scratch, env)
    assert unknown.returncode == 2 and "unknown source id(s): no-such-source" in unknown.stderr
