"""The template engine and the Markdown library under the renderer: autoescape, raw HTML, links, tables."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from jinja2 import StrictUndefined, UndefinedError

from assistant.types import Answer, Citation, Entry, Source
from assistant.ui import render, views
from assistant.ui.catalog import Catalog
from assistant.ui.chat import Turn
from tests.ui.htmlcheck import problems

RAW = '<script>alert(1)</script><img src=x onerror=alert(2)><b onclick="x()">bold</b>'
TEMPLATES = resources.files("assistant.ui") / "templates"


def entry(body: str = "Body.", **kw) -> Entry:
    return Entry(
        id=kw.pop("id", "host"),
        term=kw.pop("term", "Host"),
        section="transformers/basics",
        summary=kw.pop("summary", "Summary."),
        body=body,
        path="host.md",
        **kw,
    )


def test_environment_autoescapes_every_template_and_refuses_undefined_names():
    env = render.environment()
    assert env.autoescape("entry_card.html") is True and env.autoescape(None) is True  # type: ignore[operator]
    assert env.undefined is StrictUndefined
    assert str(env.from_string("{{ x }}").render(x="<b>[a](javascript:x)</b>")) == (
        "&lt;b&gt;&#91;a&#93;&#40;javascript&#58;x&#41;&lt;/b&gt;"
    )
    with pytest.raises(UndefinedError):
        env.get_template("small.html").module.note(env.undefined(name="message"))  # type: ignore[attr-defined]
    with pytest.raises(UndefinedError):
        render.render("panel.html")  # `cards` is missing: an error, not an empty panel
    names = sorted(p.name for p in TEMPLATES.iterdir() if p.name.endswith(".html"))
    assert {"macros.html", "page.html", "entry.html", "transcript.html"} <= set(names)
    for name in names:  # every template loads; none switches escaping off or marks data safe
        env.get_template(name)
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source, name
    cat = Catalog({}, {})
    for fixed in (views.transcript([], cat), views.header(3)):  # our own literal text is Markdown-inert too
        assert "&#91;n&#93;" in fixed and "[n]" not in fixed
    page = render.render("page.html", title="t", body=render.text("b"), search="", script="", tools="")
    assert "\n" not in page and "<main>b</main>" in page


def test_raw_html_in_an_entry_body_is_shown_as_text():
    host = entry(f"Before {RAW} after.\n\n{RAW}\n\n- item {RAW}\n\n## Heading {RAW}")
    cat = Catalog({"host": host}, {})
    for html in (
        render.markdown(host.body),
        views.entry_card(host, cat),
        views.entry_page(host, cat).split("<main>", 1)[1].rsplit("</main>", 1)[0],
    ):
        assert problems(html) == [], html
        assert "<script" not in html and "<img" not in html and "<b " not in html  # problems(): no on* attribute
        assert html.count("&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;") >= 3  # visible, not dropped


def test_raw_html_in_an_answer_is_shown_as_text(fixture_corpus):
    cat = Catalog(fixture_corpus.entries, fixture_corpus.sources)
    cite = Citation(n=1, entry_id="induction-head", term="Induction head", url="")
    answer = Answer(question="q", standalone_query="q", answer=f"It copies {RAW} [1].", citations=(cite,), covered=True)
    for html in (
        render.with_citations(answer.answer, [cite]),
        views.transcript([Turn(1, RAW, answer=answer)], cat),
        views.transcript([Turn(2, "q", streamed=RAW)], cat),
    ):
        assert problems(html) == [], html
        assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "<javascript:alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "[click][r]\n\n[r]: javascript:alert(1)",
        "![click](javascript:alert(1))",
        "[click](https://fine.example/but-not-ours)",
    ],
)
def test_links_in_entry_bodies_are_never_links(source):
    html = str(render.markdown(source))
    assert "<a " not in html and "<img" not in html and ' href="' not in html, html  # raw HTML shows as text
    assert "click" in html or "click" not in source  # the text stays readable
    assert problems(html) == []


def test_a_javascript_source_url_is_not_linked_and_an_https_one_is():
    bad = Source(id="b", title="Bad", authors="", year=None, url="javascript:alert(1)", kind="paper", body="", path="b")
    good = Source(
        id="g", title="Good", authors="A", year=2020, url="https://ok.example/p", kind="paper", body="", path="g"
    )
    host = entry(sources=("b", "g"))
    cat = Catalog({"host": host}, {"b": bad, "g": good})
    page = views.entry_page(host, cat)
    assert "javascript" not in page
    assert '<a href="https://ok.example/p" class="ext" target="_blank" rel="noopener noreferrer">Good</a>' in page
    assert str(render.web_link("javascript:alert(1)", "Bad")) == "Bad"


def test_tables_render_without_attributes_and_terms_link_once_per_cell(fixture_corpus):
    cat = Catalog(fixture_corpus.entries, fixture_corpus.sources)
    html = render.markdown(
        "| Model | Note |\n|---|--:|\n| a | the residual stream, residual stream |\n| b | residual stream |",
        scope=cat.scope(),
    )
    assert html.startswith("<table><thead><tr><th>Model</th><th>Note</th></tr></thead><tbody><tr><td>a</td>")
    assert "style" not in html and html.count('class="term-link"') == 2
    assert problems(html) == []


def test_commonmark_escapes_and_formulas_in_markdown():
    html = render.markdown(r"Costs \$5 and $x^2$, not `$y$`; **bold $z$** and 1\. not a list.")
    assert html.count('<span class="formula">') == 2 and "<code>&#36;y&#36;</code>" in html
    assert "Costs &#36;5" in html and "<strong>bold <span" in html and "<ol>" not in html
    one_line = render.markdown("a\nb\n\n```py\nx\n  y\n```")
    assert one_line == "<p>a b</p><pre><code>x&#10;  y</code></pre>"  # no newline, no class from the fence info


def test_headings_are_offset_and_clamped():
    assert render.markdown("# a\n###### b", heading_offset=2) == "<h3>a</h3><h6>b</h6>"
    assert re.fullmatch(r"<h1>a</h1>", str(render.markdown("# a", heading_offset=0)))
