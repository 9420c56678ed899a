"""The app over HTTP (no browser): routes, file-read probes, CORS, uploads, limits, queue, launch config."""

from __future__ import annotations

import concurrent.futures as cf
import socket
import time
import uuid

import httpx
import pytest

from assistant.ui.app import LLM_SLOT, launch_config
from tests.conftest import FIXTURE_CORPUS, REPO
from tests.ui.conftest import start_server, ui_settings

MARKERS = ("root:x:0:0", "id: induction-head", "schema_version", "An induction head implements", "PATH=")


def raw_get(url: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send the path exactly as written (like curl --path-as-is)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[-1]


def probes() -> list[str]:
    corpus = FIXTURE_CORPUS.resolve()
    entry = corpus / "entries" / "transformer-circuits" / "induction-head.md"
    return [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../etc/passwd",
        "/gradio_api/file=%2e%2e/%2e%2e/etc/passwd",
        "/file=/etc/passwd",
        f"/gradio_api/file={entry}",
        f"/gradio_api/file={corpus}/sections.yaml",
        f"/gradio_api/file={REPO}/.env",
        "/GRADIO_API/FILE=/etc/passwd",
        "/gradio_api/File=/etc/passwd",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2f..%2fetc/passwd",
        "/..%5c..%5cetc%5cpasswd",
        "/static/../../../../etc/passwd",
        "/assets/../../../etc/passwd",
        "/assets/..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/corpus/entries/transformer-circuits/induction-head.md",
        "/corpus/about.md",
        "/index/default/CURRENT",
        "/.env",
        "/.git/config",
        "/entry/../../etc/passwd",
        "/entry/..%2f..%2fetc%2fpasswd",
        "/entry/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/gradio_api/upload",
        "/upload",
        "/gradio_api/file=",
        "/gradio_api/proxy=http://127.0.0.2/",
        "/proxy=http://evil.example/",
        "/favicon.ico/../../etc/passwd",
        "/theme.css/../../etc/passwd",
        "/manifest.json/../.env",
        "/static/js/..%252f..%252fetc/passwd",
        "/gradio_api/file=/proc/self/environ",
        "/evals/feedback.jsonl",
        "/entry/%00",
        "/gradio_api/file=\\etc\\passwd",
        f"/gradio_api/file={corpus}/../../../pyproject.toml",
        "/static/..;/..;/etc/passwd",
    ]


def test_at_least_30_file_read_probes_get_nothing(live):
    paths = probes()
    assert len(paths) >= 30
    for path in paths:
        for method in ("GET", "HEAD"):
            status, body = raw_get(live.url, path, method)
            assert status != 200, (path, status)
            assert not any(m.encode() in body for m in MARKERS), path


def test_routes_and_pages(live):
    assert httpx.get(live.url + "/healthz").json()["status"] == "ok"
    page = httpx.get(live.url + "/entry/induction-head")
    assert page.status_code == 200 and "<h1>Induction head</h1>" in page.text and 'id="reading-path"' in page.text
    assert httpx.get(live.url + "/entry/no-such-entry").status_code == 404
    found = httpx.get(live.url + "/glossary", params={"q": "attention head"})
    assert found.status_code == 200 and "/entry/attention-head" in found.text
    evil = httpx.get(live.url + "/glossary", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert" not in evil.text
    assert httpx.get(live.url + "/glossary", params={"q": "x" * 500}).status_code == 422
    card = httpx.get(live.url + "/ui/card/previous-token-head")  # what a term click in the chat opens
    assert card.status_code == 200 and 'id="viewer-entry-previous-token-head"' in card.text
    assert "<html" not in card.text and httpx.get(live.url + "/ui/card/no-such-entry").status_code == 404


@pytest.mark.parametrize(
    "path", ["/", "/entry/induction-head", "/glossary", "/healthz", "/config", "/ui/card/induction-head"]
)
def test_security_headers(live, path):
    r = httpx.get(live.url + path)
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    script_src = policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.2:8000"])
def test_cross_origin_is_not_allowed(live, origin):
    for path in ("/config", "/gradio_api/info", "/healthz"):
        r = httpx.get(live.url + path, headers={"Origin": origin})
        assert r.headers.get("access-control-allow-origin") in (None, ""), path
    pre = httpx.options(
        live.url + "/gradio_api/queue/join", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert pre.headers.get("access-control-allow-origin") in (None, "")
    post = httpx.post(live.url + "/gradio_api/queue/join", json=join_body(live, "hi"), headers={"Origin": origin})
    assert post.status_code == 403


@pytest.mark.parametrize("size", [100_000, 2_000_000])
def test_upload_route_is_blocked(live, size):
    files = {"files": ("x.svg", b"<svg onload=alert(1)>" + b"a" * size, "image/svg+xml")}
    r = httpx.post(live.url + "/gradio_api/upload", files=files)
    assert r.status_code in (404, 413)


def ask_fn(app):
    return next(fn for fn in app.state.blocks.fns.values() if fn.api_name == "ask")


def join_body(server, question: str) -> dict:
    fn = ask_fn(server.app)
    return {
        "data": [question, None],
        "event_data": None,
        "fn_index": fn._id,
        "trigger_id": fn.targets[0][0],
        "session_hash": uuid.uuid4().hex[:11],
    }


def test_10mb_message_rejected_fast_without_queue_slot(live):
    queue = live.app.state.blocks._queue
    before = len(queue)
    started = time.perf_counter()
    r = httpx.post(live.url + "/gradio_api/queue/join", json=join_body(live, "a" * 10_000_000), timeout=10)
    elapsed = time.perf_counter() - started
    assert r.status_code == 413 and elapsed < 2.0
    assert len(queue) == before
    # just over the limit: refused by the validator (before the queue), with the limit in the message
    r = httpx.post(live.url + "/gradio_api/queue/join", json=join_body(live, "b" * 2001), timeout=10)
    assert r.status_code == 422 and "2,000" in r.text
    assert len(queue) == before


def test_launch_configuration(live, tmp_path, retriever, monkeypatch):
    settings = ui_settings(tmp_path)
    cfg = launch_config(settings)
    assert cfg.host == "127.0.0.1" and cfg.show_error is False and cfg.ssr_mode is False
    assert cfg.mcp_server is False and cfg.enable_monitoring is False
    assert cfg.max_file_size and cfg.allowed_paths == ()
    assert {str(FIXTURE_CORPUS.resolve()), str((tmp_path / "index").resolve())} <= set(cfg.blocked_paths)
    assert any(p.endswith(".env") for p in cfg.blocked_paths)
    blocks = live.app.state.blocks
    assert blocks.show_error is False and blocks.ssr_mode is False and not blocks.enable_monitoring
    assert not blocks.mcp_server and blocks.analytics_enabled is False and blocks.allowed_paths == []
    assert blocks.max_file_size and blocks._queue.max_size == settings.ui.queue_size
    fn = ask_fn(live.app)
    assert fn.concurrency_limit == 1 and fn.concurrency_id == LLM_SLOT and fn.validator is not None
    assert httpx.get(live.url + "/config").json()["analytics_enabled"] is False
    # serve() binds to the configured loopback address and never opens a tunnel
    import uvicorn

    from assistant.pipeline import Assistant
    from assistant.ui.serve import serve

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(cfg=self.config))
    serve(settings, assistant=Assistant(retriever, None, settings))
    assert seen["cfg"].host == "127.0.0.1" and seen["cfg"].port == settings.ui.port


def test_full_queue_answers_busy_fast(retriever, tmp_path):
    """H1: more simultaneous questions than queue slots: the extra ones get 503 'busy' at once."""
    from assistant.pipeline import Assistant
    from assistant.ui.app import build_app
    from tests.doubles import ScriptedChatModel

    settings = ui_settings(tmp_path, queue_size=2)
    model = ScriptedChatModel("An induction head copies the next token [1]. " * 4, piece=4, delay_s=0.05)
    server = start_server(build_app(Assistant(retriever, model, settings), settings))
    try:

        def join(_):
            t0 = time.perf_counter()
            r = httpx.post(server.url + "/gradio_api/queue/join", json=join_body(server, "What is an induction head?"))
            return r.status_code, time.perf_counter() - t0, r.text

        with cf.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(join, range(8)))
        codes = [c for c, _, _ in results]
        assert set(codes) <= {200, 503}, results
        assert codes.count(503) >= 8 - (settings.ui.queue_size + 1)
        assert all(t < 1.0 for c, t, _ in results if c == 503)
    finally:
        server.stop()
