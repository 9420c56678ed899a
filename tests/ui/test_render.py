"""The one renderer and its users, without a browser: escaping, Markdown subset, links, catalog, feedback."""

from __future__ import annotations

import json
import threading

import pytest

from assistant.errors import BackendUnavailable, UsageError
from assistant.settings import Settings
from assistant.types import Answer, Citation, DeltaEvent, Entry, FinalEvent, InstantEvent, RetrievedRef, Source
from assistant.ui import render, views
from assistant.ui.catalog import Catalog, is_web_url
from assistant.ui.chat import GENERIC_ERROR, ChatController, ChatSession
from assistant.ui.feedback import FeedbackLog, FeedbackRecord
from tests.conftest import FIXTURE_CORPUS
from tests.ui.htmlcheck import problems
from tests.ui.payloads import payloads

CANARY = "http://127.0.0.2:9"
PAYLOADS = payloads(CANARY)


@pytest.fixture(scope="module")
def catalog(fixture_corpus) -> Catalog:
    return Catalog.load(fixture_corpus.entries, fixture_corpus.sources, FIXTURE_CORPUS)


def entry(eid: str, *, prereqs=(), body="Body.", summary="Summary.", **kw) -> Entry:
    return Entry(
        id=eid,
        term=kw.pop("term", eid.title()),
        section=kw.pop("section", "transformers/basics"),
        summary=summary,
        prerequisites=tuple(prereqs),
        body=body,
        path=f"{eid}.md",
        **kw,
    )


def test_text_escapes_html_and_markdown():
    out = render.text("<img src=x onerror=alert(1)> ![a](http://x) \"q\" 's' a\nb")
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert "![" not in out and "](" not in out and "http:" not in out
    assert "\n" not in out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_sink_keeps_payloads_inert(payload, catalog):
    """Each payload through every function that turns text into HTML: only allowed tags and links."""
    cite = Citation(n=1, entry_id="induction-head", term="Induction head", url="")
    fragments = [
        render.text(payload),
        render.inline(payload),
        render.markdown(payload),
        render.plain(payload),
        render.with_citations(payload + " [1] [9]", [cite]),
        render.markdown(f"## {payload}\n\n- {payload}\n- **{payload}**\n\n```\n{payload}\n```\n\n*{payload}*"),
    ]
    bad = entry(
        "bad",
        term=payload,
        summary=payload,
        body=payload,
        aliases=(payload,),
        sources=("s",),
        related=("bad",),
        section=f"{payload}/x",
    )
    src = Source(
        id="s",
        title=payload,
        authors=payload,
        year=None,
        url=f"javascript:{payload}",
        kind="paper",
        body=payload,
        path="s.md",
    )
    cat = Catalog({"bad": bad}, {"s": src})
    fragments += [
        views.entry_card(bad, cat, payload),
        views.glossary_index(cat),
        views.search_results(payload, [], cat),
        views.text_note(payload),
    ]
    page = views.entry_page(bad, cat)
    body = page.split("<main>", 1)[1].rsplit("</main>", 1)[0]
    fragments.append(body)
    for fragment in fragments:
        assert problems(fragment) == [], fragment


@pytest.mark.parametrize("payload", payloads("http://127.0.0.2:9")[:6])
def test_a_refusal_says_why_and_the_reason_stays_inert(payload, catalog):
    from assistant.types import Coverage
    from assistant.ui.chat import Turn

    why = Coverage(covered=False, rule="writing-request", detail=f"asks for writing: '{payload}'")
    answer = Answer(question=payload, standalone_query=payload, answer="Not covered.", covered=False, coverage=why)
    html = views.transcript([Turn(1, payload, answer=answer)], catalog)
    assert 'class="why"' in html and "(rule writing-request)" in html
    assert problems(html) == [], html
    covered = answer.model_copy(update={"covered": True, "coverage": why.model_copy(update={"covered": True})})
    assert 'class="why"' not in views.transcript([Turn(1, "q", answer=covered)], catalog)  # only refusals explain


def test_only_cited_markers_become_links():
    cites = [Citation(n=1, entry_id="a", term="A", url=""), Citation(n=2, entry_id="b-c", term="B", url="")]
    out = render.with_citations("One [1]. Two [2]. Fake [9] and [0].\n\nNext para.", cites)
    assert out.count("<a ") == 2 and 'href="#entry-a"' in out and 'href="#entry-b-c"' in out
    assert "[9]" not in out and "&#91;9&#93;" not in out and out.count("<p>") == 2


def test_anchor_ids_are_safe():
    assert render.anchor_id('x" onmouseover="y') == "entry-x--onmouseover--y"


def test_markdown_subset():
    source = "# T\nA **b** *i* `c<d>` _e_.\n\n1. one\n2. two\n\n```\nx = 1\n\ny\n```\n[l](http://e.com) ![i](x)"
    out = render.markdown(source)
    assert "<h2>T</h2>" in out and "<strong>b</strong>" in out and "<em>i</em>" in out and "<em>e</em>" in out
    assert "<code>c&lt;d&gt;</code>" in out and "<ol><li>one</li><li>two</li></ol>" in out
    assert "<pre><code>x = 1&#10;&#10;y</code></pre>" in out
    assert "<a" not in out and "<img" not in out and "\n" not in out


@pytest.mark.parametrize(
    "url,ok",
    [
        ("https://arxiv.org/abs/1", True),
        ("http://example.org/x?y=1", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("/relative", False),
        ("//evil.example/x", False),
        ("https://a b.com", False),
        ("https://user@evil.example", False),
        ("http:///nohost", False),
        ("", False),
        ("https://ex.org/\u0000", False),
    ],
)
def test_web_urls(url, ok):
    assert is_web_url(url) is ok
    link = render.web_link(url, "label")
    assert ("<a " in link) is ok


def test_reading_path_orders_prerequisites_and_survives_cycles():
    entries = {
        e.id: e
        for e in [
            entry("a", prereqs=["b", "c"]),
            entry("b", prereqs=["d"]),
            entry("c", prereqs=["d"]),
            entry("d"),
            entry("x", prereqs=["y"]),
            entry("y", prereqs=["x"]),
        ]
    }
    cat = Catalog(entries, {})
    path = [e.id for e in cat.reading_path("a")]
    assert path[-1] == "a" and set(path) == {"a", "b", "c", "d"} and path[0] == "d"
    assert path.index("b") < path.index("a") and path.index("c") < path.index("a")
    assert [e.id for e in cat.reading_path("x")] == ["y", "x"]
    assert cat.reading_path("missing") == []


def test_catalog_from_fixture_corpus(catalog, fixture_corpus):
    groups = catalog.by_section()
    assert sum(len(es) for _, es in groups) == len(fixture_corpus.entries)
    assert groups[0][0].title == "Mechanistic Interpretability"  # corpus order, titles from sections.yaml
    letters = [letter for letter, _ in catalog.a_to_z()]
    assert letters == sorted(letters)
    assert catalog.about_title == "" or isinstance(catalog.about_title, str)
    page = views.entry_page(fixture_corpus.entries["induction-head"], catalog)
    assert 'id="reading-path"' in page and "/entry/residual-stream" in page and "/entry/attention-head" in page
    assert 'href="https://transformer-circuits.pub/2021/framework/index.html"' in page


# -- feedback ------------------------------------------------------------------------------------


def record(**kw) -> FeedbackRecord:
    base = {"ts": FeedbackRecord.now(), "rating": "up", "question": "q", "answer": "a", "covered": True}
    return FeedbackRecord(**{**base, **kw})


def test_feedback_appends_jsonl_concurrently_and_caps(tmp_path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl", max_bytes=200_000)
    threads = [
        threading.Thread(target=lambda i=i: [log.append(record(comment=f"t{i}-{j}" * 5)) for j in range(40)])
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "sub" / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 320 and all(json.loads(x)["rating"] == "up" for x in lines)
    small = FeedbackLog(tmp_path / "small.jsonl", max_bytes=300)
    results = [small.append(record()) for _ in range(5)]
    assert results[0] and not results[-1]
    assert all(json.loads(x) for x in (tmp_path / "small.jsonl").read_text().splitlines())


# -- controller (fake assistant: errors and flow shape) -------------------------------------------


class FakeAssistant:
    def __init__(self, events=(), error: Exception | None = None):
        self.events, self.error = list(events), error

    def stream(self, question, history=()):
        yield from self.events
        if self.error:
            raise self.error


def controller(catalog, tmp_path, **kw) -> ChatController:
    s = Settings()
    s = s.model_copy(update={"ui": s.ui.model_copy(update={"feedback_path": tmp_path / "fb.jsonl"})})
    return ChatController(FakeAssistant(**kw), catalog, s)  # type: ignore[arg-type]


def test_internal_error_is_a_short_message(catalog, tmp_path):
    c = controller(catalog, tmp_path, error=RuntimeError("/secret/path/index.faiss exploded"))
    views_ = list(c.respond("What is an induction head?", ChatSession()))
    last = views_[-1].transcript
    assert render.text(GENERIC_ERROR) in last and "secret" not in last and "Traceback" not in last


@pytest.mark.parametrize(
    "exc",
    [
        UsageError("the question is empty", "type a question"),
        BackendUnavailable("the model is busy", "try again in a minute"),
    ],
)
def test_glossary_errors_show_problem_and_fix(catalog, tmp_path, exc):
    c = controller(catalog, tmp_path, error=exc)
    last = list(c.respond("What is an induction head?", ChatSession()))[-1].transcript
    assert render.text(str(exc)) in last


def test_over_long_and_empty_questions_never_reach_the_assistant(catalog, tmp_path):
    c = controller(catalog, tmp_path, error=AssertionError("must not be called"))
    session = ChatSession()
    long_view = list(c.respond("x" * 2001, session))[-1].transcript
    assert "limit is 2,000" in long_view
    assert "Type a question" in list(c.respond("  \u200b ", session))[-1].transcript


def test_stream_instant_then_final_and_feedback(catalog, tmp_path):
    cite = Citation(n=1, entry_id="induction-head", term="Induction head", url="")
    final = Answer(
        question="q",
        standalone_query="q",
        answer="It copies [1].",
        covered=True,
        citations=(cite,),
        retrieved=(
            RetrievedRef(
                entry_id="induction-head",
                term="Induction head",
                score=1.0,
                section="transformer-circuits/induction-circuits",
                cited=True,
            ),
        ),
    )
    c = controller(
        catalog,
        tmp_path,
        events=[
            InstantEvent(text="Summary", citation=cite),
            DeltaEvent(text="It co"),
            DeltaEvent(text="pies [1]."),
            FinalEvent(answer=final),
        ],
    )
    session = ChatSession()
    seen = list(c.respond("What is an induction head?", session))
    assert "Summary" in seen[1].transcript and 'id="entry-induction-head"' in seen[1].panel
    assert "retrieved" in seen[-1].transcript and "score 1.000" in seen[-1].transcript
    assert seen[-1].chips and all(q.startswith("What is") for q in seen[-1].chips)
    assert "saved" in c.feedback(session, "down", "too short <b>")
    stored = json.loads((tmp_path / "fb.jsonl").read_text())
    assert stored["rating"] == "down" and stored["cited"] == ["induction-head"] and stored["comment"] == "too short <b>"
