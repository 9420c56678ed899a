"""The /graph page: the glossary's cross-link graph as server-side SVG, and a per-section reading map.

Layout, chosen to stay readable at 320 nodes without a layout engine: one column per section
(sections in corpus order, wrapped into rows), entries listed down their column in reading
order (prerequisites first), each a coloured dot with its term. `related` links are faint
undirected curves; `prerequisites` are darker curves with an arrowhead at the entry that needs
them. Every node is an `<a href="/entry/<id>">`, so a click opens the entry with no script.
Search is a GET form (`?q=`) that marks matching nodes server-side; zoom is the one small
same-origin script `/ui/graph.js` (viewBox changes; the page works without it, at 100%).
`?section=<key>` draws that section alone plus the outside prerequisites it needs, with an
ordered list of its entries and their summaries: the printable reading map.

The markup is `templates/graph.html`; every value it prints goes through `render.text`.
Compromise: edges between far-apart columns cross many others; the faint style keeps the
labels legible, and a section's own map shows its edges clearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from assistant.types import Entry
from assistant.ui.catalog import Catalog
from assistant.ui.render import environment

COL_W = 230
ROW_H = 17
HEAD_H = 34
COLS = 8
PALETTE = 8  # CSS classes s0..s7, one per top-level section
LABEL_CHARS = 30
HEAD_CHARS = 27


@dataclass(frozen=True)
class Node:
    entry: Entry
    x: float
    y: float
    colour: int
    outside: bool = False  # a prerequisite from another section, on a section map


def _ordered(catalog: Catalog, entries: list[Entry]) -> list[Entry]:
    """Entries in reading order: each after its prerequisites among `entries`, else by term."""
    ids = {e.id for e in entries}
    done: list[str] = []
    seen: set[str] = set()

    def visit(e: Entry) -> None:
        seen.add(e.id)
        for p in sorted(x for x in e.prerequisites if x in ids):
            if p not in seen:
                visit(catalog.entries[p])
        done.append(e.id)

    for e in sorted(entries, key=lambda e: e.term.casefold()):
        if e.id not in seen:
            visit(e)
    return [catalog.entries[i] for i in done]


@dataclass(frozen=True)
class Layout:
    nodes: list[Node]
    edges: list[tuple[str, str, str]]  # (kind, from id, to id); prerequisites point at the entry needing them
    heads: list[tuple[float, float, str]]  # column titles (x, y, label)
    width: float
    height: float


def layout(catalog: Catalog, section: str = "") -> Layout:
    """Where every entry (or one section's entries and their outside prerequisites) is drawn."""
    tops = list(dict.fromkeys(info.key.split("/")[0] for info, _ in catalog.by_section()))
    colour = {t: i % PALETTE for i, t in enumerate(tops)}
    groups = [(info, es) for info, es in catalog.by_section() if not section or info.key == section]
    if section:
        inside = {e.id for _, es in groups for e in es}
        outside = sorted(
            {p for _, es in groups for e in es for p in e.prerequisites if p in catalog.entries and p not in inside}
        )
        if outside:
            groups = [
                (catalog.section("prerequisites/from other sections"), [catalog.entries[p] for p in outside]),
                *groups,
            ]
    nodes: list[Node] = []
    heads: list[tuple[float, float, str]] = []
    y0, width = 0.0, 0.0
    for row in range(0, len(groups), COLS):
        cells = groups[row : row + COLS]
        tallest = 0
        for col, (info, es) in enumerate(cells):
            x = col * COL_W + 10
            ordered = _ordered(catalog, es)
            borrowed = info.key.startswith("prerequisites/")
            heads.append((x - 4, y0 + HEAD_H - 16, "Needed from other sections" if borrowed else info.label))
            for i, e in enumerate(ordered):
                nodes.append(
                    Node(e, x, y0 + HEAD_H + i * ROW_H, colour.get(e.section.split("/")[0], 0), outside=borrowed)
                )
            tallest = max(tallest, len(ordered))
            width = max(width, x + COL_W)
        y0 += HEAD_H + tallest * ROW_H + 24
    placed = {n.entry.id for n in nodes}
    edges = []
    for n in nodes:
        for p in n.entry.prerequisites:
            if p in placed:
                edges.append(("prereq", p, n.entry.id))
        for r in n.entry.related:
            if r in placed and r not in n.entry.prerequisites and n.entry.id < r:
                edges.append(("related", n.entry.id, r))
    return Layout(nodes, edges, heads, width, y0)


def _curve(a: Node, b: Node) -> str:
    ax, ay, bx, by = a.x, a.y, b.x, b.y
    if abs(ax - bx) < 1:  # same column: bow out to the left
        bend = min(80.0, 12 + abs(ay - by) / 4)
        return f"M{ax:.0f},{ay:.0f} C{ax - bend:.0f},{ay:.0f} {bx - bend:.0f},{by:.0f} {bx:.0f},{by:.0f}"
    mx = (ax + bx) / 2
    return f"M{ax:.0f},{ay:.0f} C{mx:.0f},{ay:.0f} {mx:.0f},{by:.0f} {bx:.0f},{by:.0f}"


def _template(name: str) -> Any:
    return getattr(environment().get_template("graph.html").module, name)


def svg(catalog: Catalog, *, section: str = "", query: str = "") -> Markup:
    """The graph as one `<svg>`; nodes whose term or alias contains `query` get class `match`."""
    plan = layout(catalog, section)
    at = {n.entry.id: n for n in plan.nodes}
    q = query.strip().casefold()
    heads = []
    for x, y, label in plan.heads:  # the subsection's name fits a column; the full label is its tooltip
        short = label.rsplit(" › ", 1)[-1]
        short = short if len(short) <= HEAD_CHARS else short[: HEAD_CHARS - 1] + "…"
        heads.append((f"{x:.0f}", f"{y:.0f}", label, short))
    edges = [(kind, _curve(at[a], at[b])) for kind, a, b in plan.edges]
    nodes = []
    for n in plan.nodes:
        e = n.entry
        match = bool(q) and (q in e.term.casefold() or any(q in a.casefold() for a in e.aliases))
        nodes.append(
            {
                "id": e.id,
                "cls": f"node s{n.colour}" + (" outside" if n.outside else "") + (" match" if match else ""),
                "term": e.term,
                "summary": e.summary,
                "label": e.term if len(e.term) <= LABEL_CHARS else e.term[: LABEL_CHARS - 1] + "…",
                "x": f"{n.x:.0f}",
                "y": f"{n.y:.0f}",
                "tx": f"{n.x + 9:.0f}",
                "ty": f"{n.y + 4:.0f}",
            }
        )
    size = {"w": f"{plan.width:.0f}", "h": f"{plan.height:.0f}"}
    return _template("svg")(size, heads, edges, nodes, bool(q))


def reading_map(catalog: Catalog, section: str) -> Markup:
    """The section's entries in reading order, each with its summary and outside prerequisites."""
    entries = [e for info, es in catalog.by_section() if info.key == section for e in es]
    items = [
        (e, [catalog.entries[p].term for p in e.prerequisites if p in catalog.entries])
        for e in _ordered(catalog, entries)
    ]
    return _template("reading_map")(items)


def graph_page_body(catalog: Catalog, *, section: str = "", query: str = "") -> tuple[Markup, Markup]:
    """(the tools form, the body): the form goes outside <main>, which holds only rendered content."""
    known = section in {info.key for info, _ in catalog.by_section()}
    section = section if known else ""
    title = f"Reading map: {catalog.section(section).label}" if section else "Map of the glossary"
    form = _template("tools")([info for info, _ in catalog.by_section()], section, query)
    n = sum(len(es) for info, es in catalog.by_section() if not section or info.key == section)
    reading = reading_map(catalog, section) if section else ""
    body = _template("body")(title, n, svg(catalog, section=section, query=query), reading)
    return form, body
