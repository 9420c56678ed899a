"""The fetcher against a real local HTTP server: good pages stored with provenance, every bad
case reported and skipped, and nothing half-written left in the store."""

from __future__ import annotations

import hashlib
import itertools
import json
import time

import pytest

from assistant.sources.fetch import PoliteClient, candidates, fetch_all
from assistant.sources.library import read_record, stored_ids
from assistant.types import Source
from tests.sources.conftest import ARTICLE_SENTENCE, HIDDEN, PDF_SENTENCE


def _source(sid: str, url: str) -> Source:
    return Source(
        id=sid, title=f"Title of {sid}", authors="A. Author", year=2024, url=url, kind="paper", body="x", path=""
    )


def _run(site, store, settings, cases: dict[str, str], **kw):
    sources = [_source(sid, site.base + path if path.startswith("/") else path) for sid, path in cases.items()]
    return {o.source_id: o for o in fetch_all(sources, store, settings, **kw)}


def test_html_article_is_stored_with_provenance_and_without_boilerplate(site, tmp_path, fast_settings):
    out = _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    assert out["art"].status == "fetched", out["art"].reason
    rec = read_record(tmp_path, "art")
    assert ARTICLE_SENTENCE in rec.text
    assert "## Method" in rec.text and "## Results" in rec.text  # headings kept, at the chunker's level
    for canary in ("NAV-CANARY", "FOOTER-CANARY", "ASIDE-CANARY", "SCRIPT-CANARY", "COMMENT-CANARY", HIDDEN):
        assert canary not in rec.text
    assert rec.url == rec.fetched_url == rec.final_url == site.base + "/article.html"
    assert rec.content_type.startswith("text/html")
    assert rec.sha256 == hashlib.sha256(site_body(site, "/article.html")).hexdigest()
    assert rec.extractor.startswith("trafilatura")
    assert rec.fetched_at.endswith("+00:00")


def site_body(site, path: str) -> bytes:
    from tests.sources.conftest import ARTICLE

    return ARTICLE.encode() if path.endswith(".html") else site.pdf


def test_pdf_is_extracted_with_numbered_headings(site, tmp_path, fast_settings):
    out = _run(site, tmp_path, fast_settings, {"pdf": "/paper.pdf"})
    assert out["pdf"].status == "fetched", out["pdf"].reason
    rec = read_record(tmp_path, "pdf")
    assert PDF_SENTENCE in rec.text
    assert "## 2 Method" in rec.text
    assert rec.content_type == "application/pdf" and rec.extractor.startswith("pypdf")
    assert rec.sha256 == hashlib.sha256(site.pdf).hexdigest() and rec.n_bytes == len(site.pdf)


def test_a_redirect_is_followed_and_the_final_url_recorded(site, tmp_path, fast_settings):
    out = _run(site, tmp_path, fast_settings, {"moved": "/moved"})
    assert out["moved"].status == "fetched"
    rec = read_record(tmp_path, "moved")
    assert rec.url == site.base + "/moved" and rec.final_url == site.base + "/article.html"


BAD = {
    "missing": ("/nope.html", "failed", "HTTP 404"),
    "slow": ("/slow", "failed", "timed out"),
    "big": ("/big", "failed", "cap"),
    "big-declared": ("/big-declared", "failed", "cap"),
    "gzip-bomb": ("/gzip-bomb", "failed", "cap (aborted)"),
    "image": ("/image.png", "skipped", "image/png is not text"),
    "private": ("/private/secret.html", "skipped", "robots.txt disallows"),
    "loop": ("/loop", "failed", "redirects"),
    "to-file": ("/to-file", "skipped", "not http(s)"),
    "ftp": ("ftp://127.0.0.1/x", "skipped", "not http(s)"),
    "empty": ("/empty.html", "skipped", "characters of main text"),
    "refused": ("http://127.0.0.1:9/x.html", "failed", "cannot reach"),
}


def test_every_bad_case_is_reported_and_skipped_and_nothing_is_stored(site, tmp_path, fast_settings):
    started = time.monotonic()
    out = _run(
        site, tmp_path, fast_settings, {sid: path for sid, (path, _, _) in BAD.items()} | {"good": "/article.html"}
    )
    assert time.monotonic() - started < 15, "a bad case hung"
    for sid, (_, status, reason) in BAD.items():
        assert out[sid].status == status, (sid, out[sid])
        assert reason in out[sid].reason, (sid, out[sid].reason)
    assert stored_ids(tmp_path) == ["good"]  # only the good one, and no temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json"]
    assert "/private/secret.html" not in site.paths()  # robots.txt honoured: never even asked
    assert site.paths().count("/robots.txt") == 1  # read once per host


def test_resume_keeps_what_is_stored_and_refresh_fetches_again(site, tmp_path, fast_settings):
    _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    before = (tmp_path / "art.json").read_bytes()
    again = _run(site, tmp_path, fast_settings, {"art": "/article.html", "pdf": "/paper.pdf"})
    assert again["art"].status == "skipped" and "already fetched" in again["art"].reason
    assert again["pdf"].status == "fetched"
    assert site.paths().count("/article.html") == 1 and (tmp_path / "art.json").read_bytes() == before
    _run(site, tmp_path, fast_settings, {"art": "/article.html"}, refresh=True)
    assert site.paths().count("/article.html") == 2


def test_a_damaged_record_is_fetched_again(site, tmp_path, fast_settings):
    _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    raw = json.loads((tmp_path / "art.json").read_text())
    raw["text"] += " tampered"
    (tmp_path / "art.json").write_text(json.dumps(raw))
    from assistant.errors import DataError

    with pytest.raises(DataError, match="text_sha256"):
        read_record(tmp_path, "art")
    out = _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    assert out["art"].status == "fetched" and read_record(tmp_path, "art").text.endswith("probe confirms.")


def test_a_corpus_url_change_makes_the_record_stale(site, tmp_path, fast_settings):
    from assistant.sources.library import current_records

    _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    assert list(current_records(tmp_path, {"art": site.base + "/article.html"})) == ["art"]
    assert current_records(tmp_path, {"art": site.base + "/other.html"}) == {}


def test_requests_to_one_host_are_spaced_by_the_rate_limit(site, tmp_path, fast_settings):
    settings = type(fast_settings).model_validate({**fast_settings.model_dump(), "min_interval_s": 0.4})
    _run(site, tmp_path, settings, {"a": "/article.html", "b": "/paper.pdf"})
    times = [t for _, t in site.log]
    assert len(times) == 3  # robots.txt, then the two pages
    assert all(b - a >= 0.38 for a, b in itertools.pairwise(times))


def test_robots_crawl_delay_is_honoured(site, tmp_path, fast_settings):
    site.robots = "User-agent: *\nCrawl-delay: 0.5\nDisallow: /private/\n"
    with PoliteClient(fast_settings) as client:
        _run(site, tmp_path, fast_settings, {"a": "/article.html", "b": "/paper.pdf"}, client=client)
    times = [t for p, t in site.log if p != "/robots.txt"]
    assert times[1] - times[0] >= 0.48


def test_arxiv_abstract_leads_to_html_then_pdf():
    assert candidates("https://arxiv.org/abs/2211.00593v2") == [
        "https://arxiv.org/html/2211.00593v2",
        "https://arxiv.org/pdf/2211.00593v2",
    ]
    assert candidates("https://arxiv.org/pdf/2211.00593.pdf")[0] == "https://arxiv.org/html/2211.00593"
    assert candidates("https://transformer-circuits.pub/2021/framework/index.html") == [
        "https://transformer-circuits.pub/2021/framework/index.html"
    ]


def test_the_pdf_fallback_is_used_when_the_html_version_fails(site, tmp_path, fast_settings, monkeypatch):
    import assistant.sources.fetch as fetch

    monkeypatch.setattr(fetch, "candidates", lambda url: [site.base + "/nope.html", site.base + "/paper.pdf"])
    out = _run(site, tmp_path, fast_settings, {"paper": "/abs/1234"})
    assert out["paper"].status == "fetched"
    rec = read_record(tmp_path, "paper")
    assert rec.fetched_url == site.base + "/paper.pdf" and PDF_SENTENCE in rec.text


def test_robots_txt_that_answers_5xx_means_disallow(site, tmp_path, fast_settings):
    site.robots = None  # the server then answers 503 for /robots.txt
    out = _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    assert out["art"].status == "skipped" and "treated as disallow" in out["art"].reason
    assert "/article.html" not in site.paths() and stored_ids(tmp_path) == []


def test_a_failing_disk_leaves_no_half_written_record(site, tmp_path, fast_settings, monkeypatch):
    import os

    def no_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(OSError, match="No space"):
        _run(site, tmp_path, fast_settings, {"art": "/article.html"})
    assert list(tmp_path.iterdir()) == []  # neither the record nor its temporary file
