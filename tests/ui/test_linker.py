"""Glossary terms linked where they are used: the linker's rules and the markup it leads to (no browser)."""

from __future__ import annotations

import re

import pytest

from assistant.types import Citation, Entry
from assistant.ui import render, views
from assistant.ui.catalog import Catalog
from tests.conftest import FIXTURE_CORPUS, REPO
from tests.ui.htmlcheck import problems
from tests.ui.payloads import payloads

LINK = re.compile(r'<a href="/entry/([^"]+)" class="term-link">(.*?)</a>')


@pytest.fixture(scope="module")
def catalog(fixture_corpus) -> Catalog:
    return Catalog.load(fixture_corpus.entries, fixture_corpus.sources, FIXTURE_CORPUS)


def links(html: str) -> list[tuple[str, str]]:
    return LINK.findall(html)


def test_longest_match_first_and_no_split_terms(catalog):
    spans = catalog.linker.find("An induction attention head differs from an attention head.")
    ids = [m.entry_id for m in spans]
    # "induction attention head" (an alias of induction-head) wins over the "attention head" inside it
    assert ids == ["induction-head", "attention-head"]


def test_once_per_paragraph_and_again_in_the_next(catalog):
    html = render.markdown(
        "The residual stream is a sum. Every layer writes to the residual stream.\n\n"
        "Read the residual stream.\n\n- residual stream\n- the residual stream again",
        scope=catalog.scope(),
    )
    assert [eid for eid, _ in links(html)] == ["residual-stream"] * 4  # 1 per paragraph and list item


def test_never_inside_code_or_headings(catalog):
    html = render.markdown(
        "## Residual stream\n`residual stream` in code\n\n```\nthe residual stream\n```\n\nOutside: residual stream.",
        scope=catalog.scope(),
    )
    assert "<h3>Residual stream</h3>" in html
    assert "<code>residual stream</code>" in html and "<pre><code>the residual stream</code></pre>" in html
    assert len(links(html)) == 1


def test_never_the_entrys_own_term_nor_a_part_of_it(catalog):
    own = catalog.entries["induction-head"]
    html = views.entry_page(own, catalog)
    body = html.split('class="body"', 1)[1].split("<section", 1)[0]
    ids = {eid for eid, _ in links(body)}
    assert "induction-head" not in ids and "attention-head" not in ids  # "induction heads" is claimed by its page
    assert {"previous-token-head", "k-composition", "ov-circuit"} <= ids


def test_words_of_a_term_never_span_a_sentence_or_differ_in_case_rules(catalog):
    assert catalog.linker.find("It reads the residual. Stream processing is unrelated.") == []
    assert [m.entry_id for m in catalog.linker.find("Residual-streams, residual_stream")] == [
        "residual-stream",
        "residual-stream",
    ]
    assert catalog.linker.find("ahead of the stream") == []  # "head" (a short single word) is never contained


def test_link_carries_a_card_with_term_and_summary(catalog):
    html = render.with_citations(
        "An induction head copies [1].", [Citation(n=1, entry_id="x", term="X", url="")], catalog.scope()
    )
    card = re.search(r'<span class="term-card"><strong>(.*?)</strong> <span class="term-summary">(.*?)</span>', html)
    assert card and card.group(1) == "Induction head"
    assert card.group(2).startswith("An attention head that looks back")
    assert links(html) == [("induction-head", "induction head")]  # the label is the text as written
    assert problems(html) == []


def test_chat_answer_and_sources_panel_link_terms(catalog):
    from assistant.types import Answer
    from assistant.ui.chat import Turn

    cite = Citation(n=1, entry_id="induction-head", term="Induction head", url="")
    answer = Answer(
        question="q",
        standalone_query="q",
        answer="An induction head uses K-composition with a previous token head [1].",
        citations=(cite,),
        covered=True,
    )
    html = views.transcript([Turn(1, "q", answer=answer)], catalog)
    assert {eid for eid, _ in links(html)} == {"induction-head", "k-composition", "previous-token-head"}
    panel = views.panel([Turn(1, "q", answer=answer)], catalog)
    assert {"previous-token-head", "k-composition"} <= {eid for eid, _ in links(panel)}
    assert "induction-head" not in {eid for eid, _ in links(panel)}
    sources = frozenset(s.url for s in catalog.sources.values())
    assert problems(html) == [] and problems(panel, external_ok=sources) == []


@pytest.mark.parametrize("payload", payloads("http://127.0.0.2:9"))
def test_payloads_through_the_linker_stay_inert(payload):
    """Payloads as terms, aliases and summaries of linked entries, and around their mentions."""

    def make(eid: str, term: str, body: str, aliases=()) -> Entry:
        return Entry(
            id=eid,
            term=term,
            aliases=tuple(aliases),
            section=f"{payload}/x",
            summary=payload,
            body=body,
            path=f"{eid}.md",
        )

    entries = {
        "evil": make("evil", "Evil circuit", "x", aliases=(payload, f"evil {payload[:30]} alias")),
        "host": make(
            "host",
            "Host",
            f"{payload} The evil circuit and {payload} and evil {payload[:30]} alias.\n\n"
            f"- **evil circuit** {payload}\n\n`evil circuit {payload}`",
        ),
    }
    cat = Catalog(entries, {})
    page = views.entry_page(entries["host"], cat).split("<main>", 1)[1].rsplit("</main>", 1)[0]
    answer = render.with_citations(f"{payload} evil circuit {payload}", [], cat.scope())
    for html in (page, answer, views.entry_card(entries["host"], cat), views.viewer_card(entries["host"], cat)):
        assert problems(html) == [], html
    assert any(eid == "evil" for eid, _ in links(page))


def test_superposition_page_links_at_least_five_entries_in_its_prose():
    """The acceptance check on the real 320-entry glossary."""
    from assistant.corpus import load_corpus

    corpus = load_corpus(REPO / "corpus")
    cat = Catalog.load(corpus.entries, corpus.sources, REPO / "corpus")
    html = views.entry_page(corpus.entries["superposition"], cat)
    body = html.split('<div class="body">', 1)[1].split("<section", 1)[0]
    ids = {eid for eid, _ in links(body)}
    assert len(ids) >= 5 and "superposition" not in ids and ids <= set(corpus.entries)
    assert {"neuron-polysemanticity", "sparse-autoencoder", "toy-models-of-superposition"} <= ids
