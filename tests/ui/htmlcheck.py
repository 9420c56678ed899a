"""Parse rendered HTML and list anything outside the renderer's contract (used by the unit tests)."""

from __future__ import annotations

from html.parser import HTMLParser

ALLOWED_TAGS = {
    "div",
    "p",
    "span",
    "a",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "article",
    "section",
    "details",
    "summary",
    "button",
    "table",  # Markdown tables in entry bodies (no attributes)
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "blockquote",
    "hr",
}
# MathML from corpus formulas (assistant/corpus/formulas.py allowlists what the renderer emits)
MATH_TAGS = {
    "math",
    "mrow",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "mspace",
    "msub",
    "msup",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
}
ALLOWED_TAGS |= MATH_TAGS
ALLOWED_ATTRS = {"href", "class", "id", "title", "target", "rel", "type"}
MATH_ATTRS = {
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "form",
    "accent",
    "accentunder",
    "separator",
    "lspace",
    "rspace",
    "minsize",
    "maxsize",
    "movablelimits",
    "symmetric",
    "largeop",
    "width",
    "columnalign",
    "linethickness",
    "displaystyle",
    "scriptlevel",
}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        a = {k: (v or "") for k, v in attrs}
        for name in a:
            if name not in ALLOWED_ATTRS and not (tag in MATH_TAGS and name in MATH_ATTRS):
                self.problems.append(f"attribute {name} on <{tag}>")
        if tag == "a":
            self.links.append(a)
            href = a.get("href", "")
            if not (href.startswith(("#entry-", "/entry/")) or href.startswith(("http://", "https://"))):
                self.problems.append(f"href {href!r}")
            if href.startswith("http") and "noopener" not in a.get("rel", ""):
                self.problems.append(f"external link without rel=noopener: {href!r}")


def problems(fragment: str, *, external_ok: frozenset[str] = frozenset()) -> list[str]:
    """Tags/attributes outside the allowlist, bad hrefs, and external hrefs not in `external_ok`."""
    c = _Collector()
    c.feed(fragment)
    c.close()
    out = list(c.problems)
    for a in c.links:
        href = a.get("href", "")
        if href.startswith("http") and href not in external_ok:
            out.append(f"unexpected external link {href!r}")
    if "\n" in fragment:
        out.append("newline in output")
    return out
