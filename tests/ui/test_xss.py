"""E1-E6 in real Chromium: >= 50 injection/exfiltration payloads as model output and as corpus text.

For every page state we assert: no dialog, no request to any origin but the app (Playwright's
request log AND a canary HTTP server on 127.0.0.2), and, inside rendered content (chat, sources
panel, glossary, entry pages), no script/img/iframe/style/... element, no on* or style attribute,
no javascript:/data:/vbscript: URL and no position:fixed element. A MutationObserver installed
before any page script records offending nodes the moment they are inserted, so transient
states while the answer streams are checked too. Glossary terms in prose are linked, with hover
cards carrying the linked entry's term and summary, so the payload entries' payload aliases and
summaries go through the linker too, and so does the card a term click opens beside the chat
(#term-viewer).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import free_port, start_server, ui_settings
from tests.ui.payloads import payloads

pytestmark = pytest.mark.browser

WATCH = r"""
(() => {
  window.__violations = [];
  const BAD = new Set(["SCRIPT","IMG","IFRAME","FRAME","OBJECT","EMBED","STYLE","LINK","BASE","META","SVG",
    "MATH","FORM","INPUT","TEXTAREA","SELECT","VIDEO","AUDIO","SOURCE","TEMPLATE","DIALOG","BODY","NOSCRIPT",
    "PICTURE","X","MGLYPH","MTEXT","TABLE"]);
  const MATH_OK = new Set(["MATH","MROW","MI","MO","MN","MTEXT","MSUB","MSUP","MSUBSUP","MFRAC","MSQRT","MROOT",
    "MOVER","MUNDER","MUNDEROVER","MSPACE","MTABLE","MTR","MTD","MSTYLE"]);
  const SVG_OK = new Set(["SVG","G","PATH","CIRCLE","TEXT","A","TITLE","DEFS","MARKER"]);
  const CONTENT = "#transcript .prose, #sources-panel .prose, #glossary-results .prose, #glossary-index .prose," +
    " #about .prose, #chips, #term-viewer, body.page main";
  const scan = (root) => {
    if (!(root instanceof Element)) return;
    const inContent = root.closest(CONTENT) || (location.pathname !== "/" && root.closest("main"));
    const nodes = inContent ? [root, ...root.querySelectorAll("*")] : [...root.querySelectorAll(CONTENT)]
      .flatMap((c) => [...c.querySelectorAll("*")]);
    for (const node of nodes) {
      if (node.closest("#chips") && !node.closest("#chips button")) continue;  // Gradio's own chrome
      // our formulas: MathML elements (MATH_OK) in a <math> that is the only child of our <span class="formula">
      const root = node.closest("math");
      const ours = MATH_OK.has(node.tagName.toUpperCase()) && root && root.parentElement.matches("span.formula") &&
        root.parentElement.children.length === 1 && !root.parentElement.closest("math");
      // the /graph map: our SVG, drawn server-side directly inside .graph-wrap (SVG_OK elements only)
      const map = SVG_OK.has(node.tagName.toUpperCase()) && node.closest("svg.graph") &&
        node.closest("svg.graph").parentElement.matches("main > .graph-wrap");
      if (BAD.has(node.tagName.toUpperCase()) && !ours && !map) window.__violations.push("tag " + node.tagName);
      if (node.closest("svg") && !map && !node.closest("#chips") && inContent)
        window.__violations.push("svg element " + node.tagName);
      for (const a of node.attributes) {
        const n = a.name.toLowerCase(), v = a.value.replace(/[\s\u0000-\u001f]/g, "").toLowerCase();
        if (n.startsWith("on")) window.__violations.push("attr " + n + " on " + node.tagName);
        if (n === "style" && !node.closest("#chips")) window.__violations.push("style on " + node.tagName);
        if (["href","src","action","formaction","xlink:href","srcset","ping","data"].includes(n) &&
            /^(javascript|data|vbscript):/.test(v)) window.__violations.push("url " + n + "=" + v);
        if (n === "href" && /^https?:/.test(v) && !(node.rel || "").includes("noopener"))
          window.__violations.push("external link without noopener " + v);
      }
    }
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.type === "childList") m.addedNodes.forEach(scan); else scan(m.target);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
  window.__finalScan = () => {
    scan(document.documentElement);
    for (const el of document.querySelectorAll("main *, #transcript .prose *, #sources-panel .prose *, " +
        "#glossary-results .prose *, #glossary-index .prose *, #term-viewer *"))
      if (getComputedStyle(el).position === "fixed") window.__violations.push("position:fixed " + el.tagName);
    return window.__violations;
  };
})();
"""


class _Canary(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"canary")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def canary():
    port = free_port("127.0.0.2")
    server = ThreadingHTTPServer(("127.0.0.2", port), _Canary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Canary.hits.clear()
    yield f"http://127.0.0.2:{port}"
    server.shutdown()


@pytest.fixture(scope="module")
def attack_live(canary, embedder, counter, tmp_path_factory):
    """The real app on an index built from payload-laden entries and sources (the corpus lint bypassed)."""
    from assistant.corpus.loader import Corpus
    from assistant.indexing.store import build_index, load_index
    from assistant.pipeline import Assistant
    from assistant.retrieval.retriever import HybridRetriever
    from assistant.types import Entry, Source
    from assistant.ui.app import build_app
    from tests.doubles import ScriptedChatModel

    p = payloads(canary)
    urls = [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        f"{canary}/source-link",
        'https://example.org/"onmouseover="alert(1)',
        "JaVaScRiPt:alert(2)",
    ]
    sources = {
        f"src-{j}": Source(
            id=f"src-{j}",
            title=p[j * 7 % len(p)],
            authors=p[(j * 7 + 3) % len(p)],
            year=2024,
            url=urls[j],
            kind="paper",
            body=p[j],
            path=f"src-{j}.md",
        )
        for j in range(len(urls))
    }
    entries = {}
    for i in range(6):
        mine = p[i::6]
        body = "\n\n".join(
            [
                f"## {mine[0]}",
                f"Payload {i:02d} explains attention. {mine[1]}",
                f"Unlike Payload {(i + 1) % 6:02d}, it is not {p[(i + 1) % 6 :: 6][0][:80]} at all.",
                "\n".join(f"- {x}" for x in mine[2:5]),
                f"**{mine[5]}** and *{mine[6]}*",
                f"```\n{mine[7]}\n```",
                *mine[8:],
            ]
        )
        entries[f"payload-{i:02d}"] = Entry(
            id=f"payload-{i:02d}",
            term=f"Payload {i:02d}",
            aliases=(f"payload entry {i}", mine[0][:80]),
            section="techniques/mi-techniques" if i % 2 else f"{mine[1][:40]}/x",
            summary=f"Payload {i:02d} is a test entry about attention. {mine[2]}",
            related=(f"payload-{(i + 1) % 6:02d}", "<script>alert(1)</script>"),
            prerequisites=(f"payload-{i - 1:02d}",) if i else (),
            sources=(f"src-{i}",),
            body=body,
            path=f"payload-{i:02d}.md",
        )
    corpus = Corpus(tmp_path_factory.mktemp("attack"), entries, sources, {})
    index_path = tmp_path_factory.mktemp("attack-index") / "default"
    build_index(corpus, embedder, counter, index_path, max_tokens=200)
    retriever = HybridRetriever(load_index(index_path, expected_embedder=embedder.model_id), embedder)
    settings = ui_settings(tmp_path_factory.mktemp("attack-ui"))
    model = ScriptedChatModel("\n\n".join(p), piece=40)
    server = start_server(build_app(Assistant(retriever, model, settings), settings))
    yield server, model, p
    server.stop()


def watch(page: Page, origin: str) -> dict:
    seen: dict = {"dialogs": [], "offsite": []}
    page.add_init_script(WATCH)
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith(origin) else seen["offsite"].append(r.url))
    return seen


def assert_clean(page: Page, seen: dict, where: str) -> None:
    violations = page.evaluate("window.__finalScan()")
    assert violations == [], (where, violations[:10])
    assert seen["dialogs"] == [], where
    assert seen["offsite"] == [], where
    assert _Canary.hits == [], where


def ask_and_wait(page: Page, question: str, n: int) -> None:
    box = page.locator("#q textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator(f"#turn-{n} .tools, #turn-{n} .error").first).to_be_visible(timeout=30_000)


def test_payloads_as_model_output(page: Page, live, scripted, canary):
    """Model replies made of payloads (10 per answer), streamed and final, on the real fixture index."""
    p = payloads(canary)
    assert len(p) >= 50
    seen = watch(page, live.url)
    page.goto(live.url + "/")
    expect(page.locator("#chips")).to_be_visible()
    scripted.delay_s, scripted.piece = 0.08, 40  # slow enough that every streamed state is rendered
    for n, start in enumerate(range(0, len(p), 10), 1):
        chunk = p[start : start + 10]
        scripted.reply = "An induction head copies tokens [1]. " + "\n\n".join(chunk) + " It uses K-composition [2]."
        page.locator("#q textarea").fill("What is an induction head?")
        page.locator("#q textarea").press("Enter")
        probe = next(x for x in chunk if "\n" not in x and "\u202e" not in x)[:14]
        expect(page.locator(f"#turn-{n} .answer-text.streaming")).to_contain_text(probe, timeout=30_000)
        expect(page.locator(f"#turn-{n} .tools")).to_be_visible(timeout=30_000)
        assert_clean(page, seen, f"answer {n}")
    # the payload text is visible as text, and fake markers [9]/[12] never became links
    assert page.locator("#transcript a.cite", has_text="[9]").count() == 0
    assert page.locator('#transcript a[href^="http"]').count() == 0


def test_payloads_as_corpus_text(page: Page, attack_live):
    server, _, _ = attack_live
    seen = watch(page, server.url)
    page.goto(server.url + "/")
    expect(page.locator("#chips")).to_be_visible()
    for i in range(6):
        ask_and_wait(page, f"What is Payload {i:02d}?", i + 1)
        expect(page.locator(f"#entry-payload-{i:02d}")).to_be_attached()
        page.locator(f"#entry-payload-{i:02d} details summary").click()  # open the full body
        assert_clean(page, seen, f"chat about payload-{i:02d}")
        if i == 0:  # payload-00's body names Payload 01, not cited yet: its card opens beside the chat
            term = page.locator("#sources-panel a.term-link[href='/entry/payload-01']").first
            term.hover()
            term.click()
            expect(page.locator("#term-viewer #viewer-entry-payload-01")).to_be_visible()
            page.locator("#term-viewer details summary").click()
            assert_clean(page, seen, "term card and the term viewer")
    page.locator("#transcript a.cite").first.click()
    page.get_by_role("tab", name="Glossary").click()
    box = page.locator("#glossary-search textarea, #glossary-search input").first
    box.fill("payload attention")
    box.press("Enter")
    expect(page.locator("#glossary-results a").first).to_be_visible()
    page.get_by_role("tab", name="About").click()
    assert_clean(page, seen, "glossary tab")
    for path in [
        *(f"/entry/payload-{i:02d}" for i in range(6)),
        "/glossary",
        "/glossary?q=payload",
        "/graph",
        "/graph?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&section=techniques%2Fmi-techniques",
        "/entry/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ]:
        page.goto(server.url + path)
        assert_clean(page, seen, path)
    # corpus source URLs: only http(s) ones are links, each with rel=noopener noreferrer
    page.goto(server.url + "/entry/payload-03")
    expect(page.locator(".sources a.ext")).to_have_attribute("rel", "noopener noreferrer")
    page.goto(server.url + "/graph?q=payload")
    page.locator("#node-payload-02").click()  # a node of the map opens its entry
    expect(page.locator("h1")).to_have_text("Payload 02")
    page.goto(server.url + "/entry/payload-00")
    assert page.locator(".sources a").count() == 0  # javascript: source URL is shown as text only
    linked = page.locator(".body a.term-link[href='/entry/payload-01']")
    expect(linked).to_have_count(1)  # once per paragraph; the payload alias of payload-01 too, as text
    linked.hover()
    expect(page.locator(".body .term-card").first).to_be_visible()
    assert_clean(page, seen, "entry page with hover card")
