"""Formulas as math: corpus LaTeX rendered server-side to MathML, escaped, and laid out by Chromium."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from assistant.corpus import load_corpus
from assistant.ui import render, views
from assistant.ui.catalog import Catalog
from tests.conftest import REPO
from tests.ui.htmlcheck import problems
from tests.ui.payloads import payloads


@pytest.fixture(scope="module")
def glossary():
    corpus = load_corpus(REPO / "corpus")
    return corpus, Catalog.load(corpus.entries, corpus.sources, REPO / "corpus")


def visible_text(page: str) -> str:
    main = page.split("<main>", 1)[1].rsplit("</main>", 1)[0]
    main = re.sub(r"<code>.*?</code>", "", main)  # code shows its text verbatim by design
    return htmllib.unescape(re.sub(r"<[^>]+>", "", main))


def test_every_entry_page_shows_its_formulas_as_mathml_with_no_raw_dollar(glossary):
    corpus, catalog = glossary
    with_math = 0
    for entry in corpus.entries.values():
        page = views.entry_page(entry, catalog)
        assert "$" not in visible_text(page), entry.id
        assert '<code class="tex">' not in page, entry.id  # nothing fell back to LaTeX source
        if "$" in entry.body:
            with_math += 1
            assert (
                '<span class="formula"><math display="inline">' in page
                or '<span class="formula display"><math display="block">' in page
            ), entry.id
        sources = frozenset(s.url for s in catalog.sources.values())
        assert problems(page.split("<main>", 1)[1].rsplit("</main>", 1)[0], external_ok=sources) == [], entry.id
    assert with_math >= 15


def test_formula_markup_and_fallback():
    out = render.inline(r"The QK circuit $W_{QK} = W_Q^T W_K$ and `$x$` and $$\frac{a}{b}$$.")
    assert out.count('<span class="formula') == 2 and '<span class="formula display"><math display="block">' in out
    assert "<msub><mi>W</mi><mrow><mi>Q</mi><mi>K</mi></mrow></msub>" in out
    assert "<code>&#36;x&#36;</code>" in out  # code is never math
    bad = render.inline(r"Broken $\frac{1$ stays source.")
    assert '<code class="tex">&#92;frac&#123;1</code>' in bad and "<math" not in bad


@pytest.mark.parametrize("payload", payloads("http://127.0.0.2:9"))
def test_payloads_inside_formulas_stay_inert(payload):
    flat = payload.replace("$", "").replace("\n", " ")
    for tex in (flat, rf"\text{{{flat}}}", rf"x_{{{flat}}}", rf"\operatorname{{{flat}}}"):
        for html in (
            render.inline(f"a ${tex}$ b"),
            render.markdown(f"$${tex}$$"),
            render.with_citations(f"a ${tex}$ b", []),
        ):
            assert problems(html) == [], html


@pytest.mark.browser
def test_chromium_lays_out_the_mathml(page, glossary):
    """Chromium's MathML Core: a subscript sits lower than its base and a fraction is two rows."""
    corpus, catalog = glossary
    css = (REPO / "assistant/ui/assets.py").read_text()  # the page CSS is not needed to lay out MathML
    assert "PAGES_CSS" in css
    page.set_content(views.entry_page(corpus.entries["qk-circuit"], catalog))
    math = page.locator(".formula > math").first
    assert math.is_visible()
    base = math.locator("msub > mi").first.bounding_box()
    sub = math.locator("msub > mrow").first.bounding_box()
    assert base and sub and sub["y"] > base["y"] and sub["height"] < base["height"] + 1
    page.set_content(views.entry_page(corpus.entries["layernorm"], catalog))
    block = page.locator('.formula > math[display="block"]')
    assert block.count() == 3
    boxes = [block.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # one display formula per line
    frac = page.locator("mfrac").first
    if frac.count():
        num, den = frac.locator("> *").nth(0).bounding_box(), frac.locator("> *").nth(1).bounding_box()
        assert num["y"] < den["y"]
