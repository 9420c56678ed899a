"""The JSON HTTP API (/api/v1) over real HTTP on the real app (uvicorn on 127.0.0.1, fixture index).

The `live` app runs in generated mode with a scripted chat model, so /ask streams deltas.
"""

from __future__ import annotations

import json
import threading
import time

import httpx

from tests.test_cli import HIT_KEYS
from tests.ui.test_http import join_body

API = "/api/v1"
SSE = {"Accept": "text/event-stream"}


def test_search_contract(live):
    r = httpx.get(live.url + API + "/search", params={"q": "induction head", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"query", "hits"} and len(body["hits"]) == 3
    assert body["hits"][0]["entry_id"] == "induction-head"
    assert all(set(h) == HIT_KEYS for h in body["hits"])
    assert [h["rank"] for h in body["hits"]] == [1, 2, 3]


def test_entries(live):
    r = httpx.get(live.url + API + "/entries/superposition")
    assert r.status_code == 200
    entry = r.json()
    assert entry["id"] == "superposition" and entry["term"] == "Superposition" and entry["body"]
    assert entry["page"] == "/entry/superposition"
    assert all(set(ref) == {"id", "term"} for ref in entry["related"] + entry["prerequisites"])
    assert entry["sources"] and all(s["url"].startswith("http") for s in entry["sources"])

    missing = httpx.get(live.url + API + "/entries/no-such-entry")
    assert missing.status_code == 404 and "no-such-entry" in missing.json()["detail"]

    listed = httpx.get(live.url + API + "/entries", params={"section": "transformer-circuits"}).json()
    ids = {e["id"] for e in listed["entries"]}
    assert listed["count"] == len(ids) and {"induction-head", "qk-circuit"} <= ids and "superposition" not in ids
    everything = httpx.get(live.url + API + "/entries").json()
    assert everything["count"] > listed["count"] and everything["section"] is None
    unknown = httpx.get(live.url + API + "/entries", params={"section": "cooking"})
    assert unknown.status_code == 404 and "transformer-circuits" in unknown.json()["detail"]


def test_bad_requests_name_the_field(live):
    cases = [
        (httpx.get, API + "/search", {"params": {"q": "x", "k": 0}}, "k"),
        (httpx.get, API + "/search", {"params": {"k": 3}}, "q"),
        (httpx.get, API + "/search", {"params": {"q": "   "}}, "q"),
        (httpx.post, API + "/ask", {"json": {"question": ""}}, "question"),
        (httpx.post, API + "/ask", {"json": {"question": "\u200b \t"}}, "question"),
        (httpx.post, API + "/ask", {"json": {"question": "a" * 2001}}, "question"),
        (
            httpx.post,
            API + "/ask",
            {"json": {"question": "hi", "history": [{"role": "system", "content": "x"}]}},
            "history.0.role",
        ),
    ]
    for method, path, kwargs, field in cases:
        r = method(live.url + path, **kwargs)
        assert r.status_code == 422, (path, kwargs, r.text)
        assert r.json()["field"] == field, r.json()
        assert r.json()["detail"]


def test_ask_off_topic_is_not_covered(live):
    r = httpx.post(live.url + API + "/ask", json={"question": "What is the best recipe for banana bread?"}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["covered"] is False and body["citations"] == []
    assert {"question", "answer", "covered", "citations", "retrieved", "timings", "models"} <= set(body)


def test_ask_json_and_stream(live):
    r = httpx.post(live.url + API + "/ask", json={"question": "What is an induction head?"}, timeout=30)
    answer = r.json()
    assert r.status_code == 200 and answer["covered"]
    assert answer["citations"][0]["entry_id"] == "induction-head"
    assert "[1]" in answer["answer"]

    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST", live.url + API + "/ask", json={"question": "What is an induction head?"}, headers=SSE, timeout=30
    ) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in s.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "instant" and kinds[-1] == "final" and kinds.count("final") == 1
    assert "delta" in kinds
    assert events[0][1]["citation"]["entry_id"] == "induction-head"
    final = events[-1][1]
    assert final["covered"] and [c["entry_id"] for c in final["citations"]] == [
        c["entry_id"] for c in answer["citations"]
    ]


def test_a_dropped_stream_frees_its_slot(live, scripted):
    scripted.delay_s = 0.2  # a slow answer: the client leaves while it streams
    slots = live.app.state.slots
    with httpx.stream(
        "POST", live.url + API + "/ask", json={"question": "What is an induction head?"}, headers=SSE, timeout=30
    ) as s:
        lines = s.iter_lines()
        assert next(lines).startswith("event: ")
        assert slots.load() == 1
    deadline = time.monotonic() + 5
    while slots.load() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slots.load() == 0


def test_busy_gives_503_with_retry_after(live):
    """Fill the answer slots (one running, queue_size waiting): the API's ask and the chat are refused, search is not."""
    slots = live.app.state.slots
    release = threading.Event()

    def occupy():
        with slots.hold(admitted=True):
            release.wait(30)

    threads = [threading.Thread(target=occupy, daemon=True) for _ in range(slots.capacity)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while slots.load() < slots.capacity and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slots.full()
        for headers in ({}, SSE):
            started = time.monotonic()
            r = httpx.post(
                live.url + API + "/ask", json={"question": "What is an induction head?"}, headers=headers, timeout=10
            )
            assert r.status_code == 503 and time.monotonic() - started < 2
            assert int(r.headers["retry-after"]) > 0 and "busy" in r.json()["detail"]
        assert httpx.get(live.url + API + "/search", params={"q": "induction head"}).status_code == 200
        # the chat shares the slots: its validator refuses the question before it joins Gradio's queue
        queued = len(live.app.state.blocks._queue)
        chat = httpx.post(live.url + "/gradio_api/queue/join", json=join_body(live, "What is an induction head?"))
        assert chat.status_code == 422 and "busy" in chat.text
        assert len(live.app.state.blocks._queue) == queued
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert slots.load() == 0
    assert (
        httpx.post(live.url + API + "/ask", json={"question": "What is an induction head?"}, timeout=30).status_code
        == 200
    )


def test_5mb_body_is_413_without_a_slot(live):
    slots = live.app.state.slots
    queue = live.app.state.blocks._queue
    before = (slots.load(), len(queue))
    started = time.monotonic()
    r = httpx.post(
        live.url + API + "/ask",
        content=b'{"question": "' + b"a" * 5_000_000 + b'"}',
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 413 and time.monotonic() - started < 2
    assert (slots.load(), len(queue)) == before


def test_openapi_document(live):
    r = httpx.get(live.url + API + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert set(doc["paths"]) == {"/search", "/entries", "/entries/{entry_id}", "/ask"}
    assert doc["servers"] == [{"url": API}]
    assert {"SearchResponse", "AskResponse", "EntryView", "EntryList", "ApiError"} <= set(doc["components"]["schemas"])
    assert httpx.get(live.url + "/openapi.json").status_code == 404  # only the API's own document
