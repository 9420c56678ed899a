"""The one renderer: every piece of corpus text, model output and user input becomes HTML here.

Rules (../shared/RELIABILITY.md rule 1):
1. all text goes through `text()`: `html.escape` plus numeric entities for the characters
   Markdown would act on (`[ ] ( ) ! * _ ~ $ : @` ...), so a Markdown pass downstream (Gradio's
   Markdown component) finds nothing to turn into a link or an image;
2. the only links are ours: `[n]` markers whose n is in the answer's citations become
   `#entry-<id>` links, `/entry/<id>` permalinks, and http(s) source URLs taken from entry
   metadata (`rel="noopener noreferrer"`); never a URL found in model output or entry bodies;
3. no images, no inline styles, no event-handler attributes, ever;
4. entry bodies are Markdown we render ourselves (headings, paragraphs, lists, code, bold,
   italic) from escaped text; raw HTML in a body stays visible as text;
5. glossary terms named in prose (a `linker.Scope` finds the spans; never in code or headings)
   become `/entry/<id>` links wrapped with a hover/focus card of the term and its summary, both
   escaped like any other text. The card is CSS-only (`:hover`, `:focus-within`), so it needs
   no script;
6. formulas (`$...$`, `$$...$$` in entry text and quoted answers) become MathML: the tree that
   `corpus.formulas.parse` checked against its allowlist, serialised here with every text node
   escaped; a formula that does not parse is shown as its LaTeX in `<code>`.

Output never contains a newline, so a Markdown renderer sees one raw HTML block.
Compromise: Markdown links in entry bodies are shown as their text, not linked.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from assistant.types import Citation

if TYPE_CHECKING:
    from assistant.ui.linker import Scope

_MD_SIGNIFICANT = {c: f"&#{ord(c)};" for c in "[]()!*_`~$:@\\|{}"}
_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\*\*(?P<bold>[^*\n]+?)\*\*"
    r"|__(?P<bold2>[^_\n]+?)__"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*\n]*?[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em2>[^_\s](?:[^_\n]*?[^_\s])?)_(?![\w_])"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,4})[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def text(value: object) -> str:
    """Escape anything for HTML text or a quoted attribute, Markdown-inert.

    >>> text('<img src=x onerror=alert(1)> ![a](http://x)')
    '&lt;img src=x onerror=alert&#40;1&#41;&gt; &#33;&#91;a&#93;&#40;http&#58;//x&#41;'
    """
    escaped = html.escape(str(value), quote=True)
    out = "".join(_MD_SIGNIFICANT.get(ch, ch) for ch in escaped)
    return out.replace("\n", " ").replace("\r", " ")


def anchor_id(entry_id: str) -> str:
    """The in-page anchor of an entry card: `entry-<id>` with only [A-Za-z0-9_-]."""
    return "entry-" + _ID_SAFE.sub("-", entry_id)


def entry_href(entry_id: str) -> str:
    return "/entry/" + quote(entry_id, safe="")


def link(href: str, label: str, *, cls: str = "", title: str = "", external: bool = False) -> str:
    """An <a> to one of OUR hrefs: anchors, /entry/... or URLs checked by `web_link`."""
    attrs = [f'href="{html.escape(href, quote=True)}"']
    if cls:
        attrs.append(f'class="{text(cls)}"')
    if title:
        attrs.append(f'title="{text(title)}"')
    if external:
        attrs.append('target="_blank" rel="noopener noreferrer"')
    return f"<a {' '.join(attrs)}>{label}</a>"


def tag(name: str, inner: str, cls: str = "", ident: str = "") -> str:
    """Wrap rendered HTML in a fixed tag with optional class and id (no other attributes)."""
    attrs = (f' id="{text(ident)}"' if ident else "") + (f' class="{text(cls)}"' if cls else "")
    return f"<{name}{attrs}>{inner}</{name}>"


def web_link(url: str, label: str) -> str:
    """A link to an http(s) URL from entry/source metadata; anything else renders as text only."""
    from assistant.ui.catalog import is_web_url

    if not is_web_url(url):
        return text(label)
    return link(url, text(label), cls="ext", external=True)


# -- inline and block Markdown (entry bodies, About) -------------------------------------------


def term_link(entry_id: str, label: str, term: str, summary: str) -> str:
    """A glossary term in prose: a link to its entry plus a hover/focus card (term + summary).

    `label`, `term` and `summary` are raw text; all three are escaped here.
    """
    card = tag(
        "span", tag("strong", text(term)) + " " + tag("span", text(summary), cls="term-summary"), cls="term-card"
    )
    return tag("span", link(entry_href(entry_id), text(label), cls="term-link") + card, cls="term")


def linked(raw: str, scope: Scope | None) -> str:
    """Escaped text with the scope's glossary mentions turned into `term_link`s."""
    if scope is None:
        return text(raw)
    out: list[str] = []
    pos = 0
    for m in scope.take(raw):
        term, summary = scope.linker.card(m.entry_id)
        out.append(text(raw[pos : m.start]))
        out.append(term_link(m.entry_id, raw[m.start : m.end], term, summary))
        pos = m.end
    out.append(text(raw[pos:]))
    return "".join(out)


def formula(latex: str, *, display: bool = False) -> str:
    """LaTeX -> MathML, or the LaTeX as code when it does not parse.

    >>> formula("x^2")
    '<span class="formula"><math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math></span>'
    """
    from assistant.corpus.formulas import FormulaError, parse

    try:
        root = parse(latex, display=display)
    except FormulaError:
        return f'<code class="tex">{text(latex)}</code>'
    # the wrapper marks our formulas: Gradio's sanitizer keeps a span's class, not a <math>'s
    return tag("span", _mathml(root), cls="formula display" if display else "formula")


def _mathml(el: ET.Element) -> str:
    attrs = "".join(f' {name}="{text(value)}"' for name, value in el.attrib.items())  # allowlisted names
    inner = text(el.text or "") + "".join(_mathml(child) + text(child.tail or "") for child in el)
    return f"<{el.tag}{attrs}>{inner}</{el.tag}>"


def inline(raw: str, depth: int = 0, scope: Scope | None = None) -> str:
    """Formulas, code spans, bold and italic on escaped text; everything else literal.

    With a `scope`, glossary terms outside code spans and formulas are linked (see `linked`).
    """
    from assistant.corpus.formulas import find

    if depth == 0 and "$" in raw:
        parts: list[str] = []
        pos = 0
        for f in find(raw):
            parts.append(_inline(raw[pos : f.start], 0, scope))
            parts.append(formula(f.latex, display=f.display))
            pos = f.end
        parts.append(_inline(raw[pos:], 0, scope))
        return "".join(parts)
    return _inline(raw, depth, scope)


def _inline(raw: str, depth: int, scope: Scope | None) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(raw):
        out.append(linked(raw[pos : m.start()], scope))
        if m["code"] is not None:
            out.append(f"<code>{text(m['code'])}</code>")
        elif (bold := m["bold"] or m["bold2"]) is not None:
            out.append(f"<strong>{_inline(bold, depth + 1, scope) if depth < 2 else linked(bold, scope)}</strong>")
        else:
            em = m["em"] or m["em2"] or ""
            out.append(f"<em>{_inline(em, depth + 1, scope) if depth < 2 else linked(em, scope)}</em>")
        pos = m.end()
    out.append(linked(raw[pos:], scope))
    return "".join(out)


def markdown(source: str, *, heading_offset: int = 1, scope: Scope | None = None) -> str:
    """Render a small, safe subset of Markdown. Unknown syntax (HTML, links, images) stays text.

    With a `scope`, glossary terms are linked once per paragraph and once per list item; never
    in headings or code.

    >>> markdown("## Title\\nSome **bold** and <b>raw</b>.\\n\\n- a")
    '<h3>Title</h3><p>Some <strong>bold</strong> and &lt;b&gt;raw&lt;/b&gt;.</p><ul><li>a</li></ul>'
    """
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_kind = ""
    lines = source.replace("\r\n", "\n").split("\n")

    def flush_para() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(s.strip() for s in para), scope=_fresh(scope))}</p>")
            para.clear()

    def flush_list() -> None:
        nonlocal list_kind
        if items:
            lis = "".join(f"<li>{inline(i, scope=_fresh(scope))}</li>" for i in items)
            out.append(f"<{list_kind}>{lis}</{list_kind}>")
            items.clear()
        list_kind = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush_para()
            flush_list()
            fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                code.append(lines[i])
                i += 1
            body = "&#10;".join(text(c) for c in code)  # newlines as entities: output stays one line
            out.append(f"<pre><code>{body}</code></pre>")
        elif not line.strip():
            flush_para()
            flush_list()
        elif m := _HEADING.match(line):
            flush_para()
            flush_list()
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif (m := _BULLET.match(line)) or (m2 := _NUMBERED.match(line)):
            flush_para()
            kind = "ul" if m else "ol"
            if list_kind and list_kind != kind:
                flush_list()
            list_kind = kind
            items.append(m.group(1) if m else m2.group(2))  # type: ignore[union-attr]
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # continuation of a list item
        else:
            flush_list()
            para.append(line)
        i += 1
    flush_para()
    flush_list()
    return "".join(out)


def _fresh(scope: Scope | None) -> Scope | None:
    return scope.paragraph() if scope is not None else None


# -- answers -------------------------------------------------------------------------------------


def cite_link(citation: Citation) -> str:
    return link("#" + anchor_id(citation.entry_id), text(f"[{citation.n}]"), cls="cite", title=citation.term)


def with_citations(answer: str, citations: Iterable[Citation], scope: Scope | None = None) -> str:
    """Answer text -> HTML paragraphs; `[n]` becomes a link only when n is one of `citations`.

    Markers for any other n are dropped (the pipeline already removes them; this is the backstop).
    With a `scope`, glossary terms are linked once per paragraph.

    >>> c = Citation(n=1, entry_id="a", term="A", url="")
    >>> with_citations("x [1] y [9] <b>", [c])
    '<p>x <a href="#entry-a" class="cite" title="A">&#91;1&#93;</a> y  &lt;b&gt;</p>'
    """
    by_n: Mapping[int, Citation] = {c.n: c for c in citations}
    paragraphs = [p for p in re.split(r"\n\s*\n", answer.strip()) if p.strip()]
    out = []
    for para in paragraphs:
        parts: list[str] = []
        pos = 0
        para_scope = _fresh(scope)
        for m in _MARKER.finditer(para):
            parts.append(_prose(para[pos : m.start()], para_scope))
            cite = by_n.get(int(m.group(1)))
            if cite is not None:
                parts.append(cite_link(cite))
            pos = m.end()
        parts.append(_prose(para[pos:], para_scope))
        out.append(f"<p>{''.join(parts)}</p>")
    return "".join(out)


def _prose(raw: str, scope: Scope | None) -> str:
    """Answer text: formulas as MathML, terms linked, the rest escaped (no Markdown)."""
    from assistant.corpus.formulas import find

    out: list[str] = []
    pos = 0
    for f in find(raw) if "$" in raw else ():
        out.append(linked(raw[pos : f.start], scope))
        out.append(formula(f.latex, display=f.display))
        pos = f.end
    out.append(linked(raw[pos:], scope))
    return "".join(out)


def plain(value: str) -> str:
    """Streaming (unchecked) text: paragraphs of escaped text, markers not linked."""
    paragraphs = [p for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]
    return "".join(f"<p>{text(p)}</p>" for p in paragraphs)
