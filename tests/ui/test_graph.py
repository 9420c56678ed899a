"""The /graph map: every entry drawn as a linked SVG node, prerequisite edges directed, search, zoom,
a per-section reading map; unit checks on the full glossary, browser checks in real Chromium."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from assistant.corpus import load_corpus
from assistant.ui import graph, views
from assistant.ui.catalog import Catalog
from tests.conftest import REPO
from tests.ui.conftest import shot


@pytest.fixture(scope="module")
def glossary() -> Catalog:
    corpus = load_corpus(REPO / "corpus")
    return Catalog.load(corpus.entries, corpus.sources, REPO / "corpus")


def test_full_glossary_graph_has_every_entry_once_and_directed_prerequisites(glossary):
    page = views.graph_page(glossary)
    nodes = re.findall(r'<a class="node s\d[^"]*" href="/entry/([^"]+)"', page)
    assert len(nodes) == len(glossary.entries) == 320 and set(nodes) == set(glossary.entries)
    plan = graph.layout(glossary)
    prereq = [(a, b) for kind, a, b in plan.edges if kind == "prereq"]
    assert len(prereq) == sum(len(e.prerequisites) for e in glossary.entries.values())
    assert page.count('marker-end="url(#arrow)"') == len(prereq)
    # readable: no two labels share a row in a column, and columns do not overlap
    spots = {(round(n.x), round(n.y)) for n in plan.nodes}
    assert len(spots) == len(plan.nodes)
    assert len({e.section.split("/")[0] for e in glossary.entries.values()}) <= graph.PALETTE


def test_section_reading_map_orders_prerequisites_first(glossary):
    key = "transformer-circuits/induction-circuits"
    page = views.graph_page(glossary, section=key)
    ordered = re.findall(r'<li><a href="/entry/([^"]+)">', page.split('class="reading-map"', 1)[1])
    inside = {e.id for e in glossary.entries.values() if e.section == key}
    assert set(ordered) == inside
    for i, eid in enumerate(ordered):
        for p in glossary.entries[eid].prerequisites:
            if p in inside:
                assert ordered.index(p) < i, (p, eid)
    assert "Needed from other sections" in page  # outside prerequisites are drawn, greyed
    assert views.graph_page(glossary, section="<script>x</script>").count("reading-map") == 0  # unknown: whole map


@pytest.mark.browser
def test_graph_page_in_chromium_click_search_zoom(page: Page, live):
    r = httpx.get(live.url + "/graph")
    script_src = r.headers["content-security-policy"].split("script-src", 1)[1].split(";", 1)[0]
    assert r.status_code == 200 and script_src.strip() == "'self'"  # no inline script on the map
    page.goto(live.url + "/graph?q=induction")
    svg = page.locator("svg.graph")
    expect(svg).to_be_visible()
    n = len(live.app.state.controller.catalog.entries)
    expect(page.locator("svg.graph a.node")).to_have_count(n)
    expect(page.locator("svg.graph a.node.match")).to_have_count(1)
    width = float(svg.get_attribute("width") or 0)
    page.locator("button.zoom[data-zoom=in]").click()
    assert float(svg.get_attribute("width") or 0) > width  # the same-origin script ran under the CSP
    page.locator("button.zoom[data-zoom=reset]").click()
    shot(page, "graph")
    page.locator("#node-induction-head").click()
    expect(page).to_have_url(re.compile(r"/entry/induction-head$"))
    expect(page.locator("h1")).to_have_text("Induction head")


def test_learn_this_from_scratch_gives_the_ordered_path_with_summaries(glossary):
    checked = 0
    for entry in glossary.entries.values():
        path = glossary.reading_path(entry.id)
        page = views.entry_page(entry, glossary)
        if len(path) < 2:
            assert 'id="reading-path"' not in page
            continue
        section = page.split('id="reading-path"', 1)[1]
        assert "Learn this from scratch" in section
        steps = re.findall(r'<li>(?:<a href="/entry/([^"]+)" class="entry-link">|<strong>)', section)
        assert len(steps) == len(path) and steps[-1] == "" and path[-1].id == entry.id
        assert [s for s in steps[:-1]] == [e.id for e in path[:-1]]  # the catalog's order: prerequisites first
        assert section.count('class="step-summary"') == len(path)
        checked += 1
    assert checked >= 100
