"""The one renderer: every piece of corpus text, model output and user input becomes HTML here.

Markup comes from Jinja2 templates (`assistant/ui/templates/`, one `Environment`, autoescape on,
`StrictUndefined`) and entry bodies from markdown-it-py (CommonMark, raw HTML off). Rules:
1. every value a template prints goes through `text()`: `html.escape` plus numeric entities for
   the characters Markdown would act on (`[ ] ( ) ! * _ ~ $ : @` ...), so a Markdown pass
   downstream (Gradio's Markdown component) finds nothing to turn into a link or an image. The
   environment's `finalize` applies it, so autoescape can never be skipped by a template; only
   `Markup` made here (or by a template) passes through as it is;
2. the only links are ours: `[n]` markers whose n is in the answer's citations become
   `#entry-<id>` links, `/entry/<id>` permalinks, and http(s) source URLs taken from entry
   metadata (`rel="noopener noreferrer"`); never a URL found in model output or entry bodies
   (a Markdown link or image in a body shows its text only);
3. no images, no inline styles, no event-handler attributes, ever: Markdown tokens render with
   no attributes at all (so a table's alignment `style` is dropped too);
4. entry bodies are CommonMark parsed by markdown-it-py with raw HTML off: raw HTML in a body
   stays visible as text, and so do reference definitions and autolinks (those rules are off);
5. glossary terms named in prose (a `linker.Scope` finds the spans; never in code or headings)
   become `/entry/<id>` links wrapped with a hover/focus card of the term and its summary, both
   escaped like any other text. The card is CSS-only (`:hover`, `:focus-within`);
6. formulas (`$...$`, `$$...$$`, found by `corpus.formulas.find`'s rules through a markdown-it
   inline rule) become MathML: the tree that `corpus.formulas.parse` checked against its
   allowlist, serialised by a template macro with every text node escaped; a formula that does
   not parse is shown as its LaTeX in `<code>`.

Output never contains a newline (templates are joined onto one line when loaded; text has its
newlines replaced), so a Markdown renderer sees one raw HTML block.
Compromise: answers are not Markdown: paragraphs of escaped text with formulas, terms and `[n]`.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.ext import Extension
from markupsafe import Markup

from assistant.types import Citation
from assistant.ui.mdrender import SafeRenderer

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline

    from assistant.ui.linker import Scope

_MD_SIGNIFICANT = {ord(c): f"&#{ord(c)};" for c in "[]()!*_`~$:@\\|{}"}
_NEWLINES = {ord("\n"): " ", ord("\r"): " "}
_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_WORD_BEFORE = re.compile(r"\w")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


def text(value: object) -> Markup:
    """Escape anything for HTML text or a quoted attribute, Markdown-inert.

    >>> str(text('<img src=x onerror=alert(1)> ![a](http://x)'))
    '&lt;img src=x onerror=alert&#40;1&#41;&gt; &#33;&#91;a&#93;&#40;http&#58;//x&#41;'
    """
    escaped = html.escape(str(value), quote=True)
    return Markup(escaped.translate(_MD_SIGNIFICANT).translate(_NEWLINES))  # noqa: S704 - escaped just above


def anchor_id(entry_id: str) -> str:
    """The in-page anchor of an entry card: `entry-<id>` with only [A-Za-z0-9_-]."""
    return "entry-" + _ID_SAFE.sub("-", entry_id)


def entry_href(entry_id: str) -> str:
    return "/entry/" + quote(entry_id, safe="")


# -- the template environment -----------------------------------------------------------------


class _OneLine(Extension):
    """Join template source onto one line (indentation dropped) before it is compiled.

    Only the templates' own layout is touched; values are printed later and keep what `text`
    made of them. Templates keep every `{% %}` / `{{ }}` tag on one line."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\n[ \t]*", "", source)


def _finalize(value: object) -> object:
    """Every printed value: our `Markup` as it is, anything else through `text`."""
    return value if isinstance(value, Markup) else text(value)


def _join(items: Iterable[object], sep: str = "") -> Markup:
    """`join` with `text` escaping (Jinja's own escapes for HTML only, not for Markdown)."""
    return text(sep).join(_finalize(i) for i in items)  # type: ignore[misc]


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment of the UI (built on first use, then shared)."""
    env = Environment(
        loader=PackageLoader("assistant.ui", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        extensions=[_OneLine],
        auto_reload=False,
    )
    env.filters["join"] = _join
    env.globals.update(
        text=text,
        anchor_id=anchor_id,
        entry_href=entry_href,
        inline=inline,
        markdown=markdown,
        with_citations=with_citations,
        plain=plain,
        web_link=web_link,
    )
    return env


def render(name: str, **context: Any) -> Markup:
    """Render one template of `assistant/ui/templates/` with `context`."""
    return Markup(environment().get_template(name).render(**context))  # noqa: S704 - autoescaped template


def _macro(name: str) -> Callable[..., Markup]:
    return getattr(environment().get_template("macros.html").module, name)


# -- links, terms, formulas --------------------------------------------------------------------


def web_link(url: str, label: str) -> Markup:
    """A link to an http(s) URL from entry/source metadata; anything else renders as text only."""
    from assistant.ui.catalog import is_web_url

    if not is_web_url(url):
        return text(label)
    return _macro("web_link")(url, label)


def term_link(entry_id: str, label: str, term: str, summary: str) -> Markup:
    """A glossary term in prose: a link to its entry plus a hover/focus card (term + summary).

    `label`, `term` and `summary` are raw text; the template escapes all three.
    """
    return _macro("term_link")(entry_id, label, term, summary)


def cite_link(citation: Citation) -> Markup:
    return _macro("cite_link")(citation)


def linked(raw: str, scope: Scope | None) -> Markup:
    """Escaped text with the scope's glossary mentions turned into `term_link`s."""
    if scope is None:
        return text(raw)
    out: list[Markup] = []
    pos = 0
    for m in scope.take(raw):
        term, summary = scope.linker.card(m.entry_id)
        out.append(text(raw[pos : m.start]))
        out.append(term_link(m.entry_id, raw[m.start : m.end], term, summary))
        pos = m.end
    out.append(text(raw[pos:]))
    return Markup("").join(out)


def formula(latex: str, *, display: bool = False) -> Markup:
    """LaTeX -> MathML, or the LaTeX as code when it does not parse.

    >>> str(formula("x^2"))
    '<span class="formula"><math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math></span>'
    """
    from assistant.corpus.formulas import FormulaError, parse

    try:
        root = parse(latex, display=display)
    except FormulaError:
        return _macro("tex_source")(latex)
    # the wrapper marks our formulas: Gradio's sanitizer keeps a span's class, not a <math>'s
    return _macro("formula")(root, display)


# -- Markdown (entry bodies, summaries, About) ------------------------------------------------


def _formula_rule(state: StateInline, silent: bool) -> bool:
    """markdown-it inline rule: a `$...$` / `$$...$$` formula that starts here (formulas.find's rules)."""
    from assistant.corpus.formulas import MAX_FORMULA_CHARS, find

    pos = state.pos
    if state.src[pos] != "$":
        return False
    before = state.src[pos - 1] if pos else " "
    if before in "\\$":
        return False
    # a window as long as the longest formula `parse` accepts keeps many `$`s linear, not quadratic
    spans = find(state.src[pos : min(state.posMax, pos + MAX_FORMULA_CHARS + 4)])
    if not spans or spans[0].start != 0 or (not spans[0].display and _WORD_BEFORE.match(before)):
        return False
    if not silent:
        token = state.push("formula", "math", 0)
        token.content = spans[0].latex
        token.info = "display" if spans[0].display else ""
    state.pos += spans[0].end
    return True


@functools.cache
def _markdown_it() -> tuple[MarkdownIt, SafeRenderer]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.disable(["html_block", "html_inline", "reference", "autolink"])
    md.inline.ruler.after("escape", "formula", _formula_rule)
    renderer = SafeRenderer(
        escape=lambda raw: str(text(raw)),
        link_terms=lambda raw, scope: str(linked(raw, scope)),
        formula=lambda latex, display: str(formula(latex, display=display)),
    )
    return md, renderer


def _end_lists(source: str) -> str:
    """A line at the margin right after a list item starts a new paragraph, as the corpus writes
    it, instead of CommonMark's lazy continuation of the item: a blank line is put between.

    >>> _end_lists("1. a\\nNext.")
    '1. a\\n\\nNext.'
    """
    out: list[str] = []
    in_list, fence = False, ""
    for line in source.split("\n"):
        if fence:
            fence = "" if line.strip().startswith(fence) else fence
        elif m := _FENCE.match(line):
            fence, in_list = m.group(1), False
        elif _LIST_ITEM.match(line):
            in_list = True
        elif not line.strip():
            in_list = False
        elif in_list and not line[0].isspace():
            out.append("")
            in_list = False
        out.append(line)
    return "\n".join(out)


def markdown(source: str, *, heading_offset: int = 1, scope: Scope | None = None) -> Markup:
    """Render CommonMark (plus tables) with no raw HTML, no links and no images.

    With a `scope`, glossary terms are linked once per paragraph, list item or table cell; never
    in headings or code.

    >>> str(markdown("## Title\\nSome **bold** and <b>raw</b>.\\n\\n- a"))
    '<h3>Title</h3><p>Some <strong>bold</strong> and &lt;b&gt;raw&lt;/b&gt;.</p><ul><li>a</li></ul>'
    """
    md, renderer = _markdown_it()
    env = {"scope": scope, "offset": heading_offset}
    tokens = md.parse(_end_lists(source.replace("\r\n", "\n")), {})
    return Markup(renderer.render(tokens, md.options, env).replace("\n", ""))  # noqa: S704 - SafeRenderer escapes


def inline(raw: str, scope: Scope | None = None) -> Markup:
    """Inline Markdown only (formulas, code spans, emphasis) on escaped text, e.g. a summary.

    With a `scope`, glossary terms outside code spans and formulas are linked (see `linked`).
    """
    md, renderer = _markdown_it()
    env = {"scope": scope, "offset": 0}
    return Markup(renderer.render(md.parseInline(raw, {}), md.options, env).replace("\n", ""))  # noqa: S704 - as above


def _fresh(scope: Scope | None) -> Scope | None:
    return scope.paragraph() if scope is not None else None


# -- answers -------------------------------------------------------------------------------------


def _paragraphs(value: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]


def with_citations(answer: str, citations: Iterable[Citation], scope: Scope | None = None) -> Markup:
    """Answer text -> HTML paragraphs; `[n]` becomes a link only when n is one of `citations`.

    Markers for any other n are dropped (the pipeline already removes them; this is the backstop).
    With a `scope`, glossary terms are linked once per paragraph.

    >>> c = Citation(n=1, entry_id="a", term="A", url="")
    >>> str(with_citations("x [1] y [9] <b>", [c]))
    '<p>x <a href="#entry-a" class="cite" title="A">&#91;1&#93;</a> y  &lt;b&gt;</p>'
    """
    by_n: Mapping[int, Citation] = {c.n: c for c in citations}
    paragraphs: list[Markup] = []
    for para in _paragraphs(answer):
        parts: list[Markup] = []
        pos = 0
        para_scope = _fresh(scope)
        for m in _MARKER.finditer(para):
            parts.append(_prose(para[pos : m.start()], para_scope))
            cite = by_n.get(int(m.group(1)))
            if cite is not None:
                parts.append(cite_link(cite))
            pos = m.end()
        parts.append(_prose(para[pos:], para_scope))
        paragraphs.append(Markup("").join(parts))
    return _macro("paragraphs")(paragraphs)


def _prose(raw: str, scope: Scope | None) -> Markup:
    """Answer text: formulas as MathML, terms linked, the rest escaped (no Markdown)."""
    from assistant.corpus.formulas import find

    out: list[Markup] = []
    pos = 0
    for f in find(raw) if "$" in raw else ():
        out.append(linked(raw[pos : f.start], scope))
        out.append(formula(f.latex, display=f.display))
        pos = f.end
    out.append(linked(raw[pos:], scope))
    return Markup("").join(out)


def plain(value: str) -> Markup:
    """Streaming (unchecked) text: paragraphs of escaped text, markers not linked."""
    return _macro("paragraphs")(_paragraphs(value))
