"""HTML fragments and pages, composed ONLY from `render`'s primitives (which do all escaping).

Nothing here calls `html.escape` or puts a data value into markup directly: values go through
`render.text`, `render.inline`, `render.markdown` or `render.with_citations`, links through
`render.link` (our own hrefs) and `render.web_link` (http(s) URLs from metadata). Markup literals
here contain no data. Output has no newlines (see render's docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.types import Entry, Hit, RetrievedRef
from assistant.ui.catalog import Catalog
from assistant.ui.render import (
    anchor_id,
    entry_href,
    inline,
    link,
    markdown,
    plain,
    tag,
    text,
    web_link,
    with_citations,
)

if TYPE_CHECKING:
    from assistant.ui.chat import Turn


def _term_link(catalog: Catalog, entry_id: str, label: str | None = None, *, in_page: bool = False) -> str:
    term = label or (catalog.entries[entry_id].term if entry_id in catalog.entries else entry_id)
    if in_page:
        return link("#" + anchor_id(entry_id), text(term), cls="to-card")
    return link(entry_href(entry_id), text(term), cls="entry-link")


# -- chat transcript -------------------------------------------------------------------------


def transcript(turns: Sequence[Turn], catalog: Catalog) -> str:
    if not turns:
        return tag(
            "div",
            tag(
                "p",
                text(
                    "Ask about a mechanistic-interpretability term. Answers cite glossary entries: "
                    "click a "
                    "[n] marker to open the entry beside the chat."
                ),
            ),
            cls="welcome",
        )
    return tag("div", "".join(_turn(t, catalog) for t in turns), cls="transcript-inner")


PROVENANCE = {
    "quoted": "Quoted from the glossary: each sentence is an entry's own text; its [n] opens the entry it comes from.",
    "generated": "Written by the language model and checked against the cited entries; it may still be wrong.",
    "summary": "The glossary's definition, quoted from the cited entry.",
}


def _turn(turn: Turn, catalog: Catalog) -> str:
    question = tag("div", tag("span", "You", cls="who") + tag("p", text(turn.question)), cls="q")
    parts = [tag("span", "Assistant", cls="who")]
    cited_in_panel = set()
    answer = turn.answer
    quoted = answer is not None and answer.composition == "quoted"
    if turn.instant is not None and not quoted:  # a quoted answer opens with the same definition
        cite = turn.instant.citation
        cited_in_panel.add(cite.entry_id)
        parts.append(
            tag(
                "div",
                tag("span", "Definition", cls="label")
                + with_citations(f"{turn.instant.text} [{cite.n}]", [cite], catalog.scope()),
                cls="instant",
            )
        )
    if answer is not None:
        cited_in_panel |= {c.entry_id for c in answer.citations}
        if answer.covered and answer.composition in PROVENANCE:
            parts.append(tag("p", text(PROVENANCE[answer.composition]), cls=f"provenance {answer.composition}"))
        body = with_citations(answer.answer, answer.citations, catalog.scope() if answer.covered else None)
        parts.append(tag("div", body, cls="answer-text" + ("" if answer.covered else " not-covered")))
        if not answer.covered and answer.suggestions:
            items = "".join(
                tag(
                    "li",
                    _term_link(catalog, s.entry_id, s.term)
                    + " "
                    + tag("span", text(catalog.section(s.section).label), cls="section"),
                )
                for s in answer.suggestions
            )
            parts.append(
                tag(
                    "div",
                    tag("p", "Nearest entries in the glossary:") + tag("ul", items),
                    cls="suggestions",
                )
            )
        notes = []
        if answer.truncated:
            notes.append("The answer was cut short by the length or time limit.")
        if answer.unsupported:
            notes.append(
                f"{answer.unsupported} sentence(s) are not supported by a cited entry; check them against the sources."
            )
        if notes:
            parts.append(tag("p", text(" ".join(notes)), cls="note"))
        parts.append(tag("div", '<button type="button" class="copy-answer">Copy answer</button>', cls="tools"))
        if answer.retrieved:
            parts.append(_retrieved(answer.retrieved, catalog, cited_in_panel))
    elif turn.streamed:
        parts.append(
            tag(
                "div",
                plain(turn.streamed) + tag("span", "…", cls="typing"),
                cls="answer-text streaming",
            )
        )
    elif not turn.error:
        parts.append(tag("div", tag("p", "Searching the glossary…"), cls="answer-text pending"))
    if turn.error:
        parts.append(tag("div", tag("p", text(turn.error)), cls="error"))
    return tag(
        "div",
        question + tag("div", "".join(parts), cls="a"),
        cls="turn",
        ident=f"turn-{turn.number}",
    )


def _retrieved(refs: Sequence[RetrievedRef], catalog: Catalog, in_panel: set[str]) -> str:
    rows = []
    for r in refs:
        mark = tag("span", "cited", cls="badge cited") if r.cited else tag("span", "not cited", cls="badge")
        rows.append(
            tag(
                "li",
                _term_link(catalog, r.entry_id, r.term, in_page=r.entry_id in in_panel)
                + " "
                + tag("span", text(catalog.section(r.section).label), cls="section")
                + " "
                + tag("span", text(f"score {r.score:.3f}"), cls="score")
                + " "
                + mark,
                cls="cited" if r.cited else "",
            )
        )
    n_cited = sum(r.cited for r in refs)
    head = tag("p", text(f"Retrieved {len(refs)} entries, {n_cited} cited:"), cls="label")
    return tag("div", head + tag("ul", "".join(rows)), cls="retrieved")


# -- sources panel ---------------------------------------------------------------------------


def panel(turns: Sequence[Turn], catalog: Catalog) -> str:
    """Cards for every entry cited in the conversation, newest answer first, one card per entry."""
    labels: dict[str, list[str]] = {}
    for turn in reversed(turns):
        cites = list(turn.answer.citations) if turn.answer is not None else []
        if turn.instant is not None:
            cites.insert(0, turn.instant.citation)
        for c in cites:
            label = f"[{c.n}] in answer {turn.number}"
            if label not in labels.setdefault(c.entry_id, []):
                labels[c.entry_id].append(label)
    cards = [
        entry_card(catalog.entries[eid], catalog, ", ".join(ls)) for eid, ls in labels.items() if eid in catalog.entries
    ]
    head = tag("h2", "Sources")
    if not cards:
        return tag(
            "div",
            head + tag("p", "Entries cited in answers appear here.", cls="hint"),
            cls="sources",
        )
    return tag("div", head + "".join(cards), cls="sources")


def entry_card(entry: Entry, catalog: Catalog, cited_as: str = "", *, ident: str = "") -> str:
    meta = text(catalog.section(entry.section).label) + (" · cited as " + text(cited_as) if cited_as else "")
    parts = [
        tag("h3", text(entry.term)),
        tag("p", meta, cls="meta"),
        tag("p", inline(entry.summary, scope=catalog.scope(entry.id)), cls="summary"),
    ]
    if entry.aliases:
        parts.append(tag("p", "Also called: " + text(", ".join(entry.aliases)), cls="aliases"))
    parts.append(
        tag(
            "details",
            tag("summary", "Full entry") + markdown(entry.body, heading_offset=2, scope=catalog.scope(entry.id)),
            cls="body",
        )
    )
    links = [link(entry_href(entry.id), "Entry page", cls="permalink")]
    links += [web_link(s.url, s.title) for s in catalog.linked_sources(entry.sources)]
    parts.append(tag("p", " · ".join(links), cls="links"))
    return tag("article", "".join(parts), cls="entry-card", ident=ident or anchor_id(entry.id))


def viewer_card(entry: Entry, catalog: Catalog) -> str:
    """The card a glossary-term click opens beside the chat (/ui/card/<id>), with a close button.

    Its id differs from the sources panel's cards, so a later citation of the same entry still
    finds its own card."""
    close = '<button type="button" class="close-card" title="Close">×</button>'
    return close + entry_card(entry, catalog, ident="viewer-" + anchor_id(entry.id))


# -- glossary browser (Gradio tab and /glossary page) -----------------------------------------


def glossary_index(catalog: Catalog) -> str:
    sections = []
    for info, entries in catalog.by_section():
        items = "".join(tag("li", _term_link(catalog, e.id)) for e in entries)
        sections.append(tag("section", tag("h3", text(info.label)) + tag("ul", items), cls="glossary-section"))
    letters = []
    for letter, entries in catalog.a_to_z():
        items = "".join(tag("li", _term_link(catalog, e.id)) for e in entries)
        letters.append(tag("section", tag("h3", text(letter)) + tag("ul", items), cls="letter"))
    return tag(
        "div",
        tag("h2", "By section")
        + tag("div", "".join(sections), cls="by-section", ident="by-section")
        + tag("h2", "A–Z")
        + tag("div", "".join(letters), cls="a-z", ident="a-z"),
        cls="glossary",
    )


def search_results(query: str, hits: Sequence[Hit], catalog: Catalog, error: str = "") -> str:
    if error:
        return tag("p", text(error), cls="error")
    if not query.strip():
        return ""
    if not hits:
        return tag("p", text(f"No entries match “{query}”."), cls="hint")
    rows = "".join(
        tag(
            "li",
            _term_link(catalog, h.entry_id, h.term)
            + " "
            + tag("span", text(catalog.section(h.section).label), cls="section")
            + " "
            + tag(
                "span",
                text(catalog.entries[h.entry_id].summary if h.entry_id in catalog.entries else ""),
                cls="summary",
            ),
        )
        for h in hits
    )
    return tag(
        "div",
        tag("p", text(f"{len(hits)} entries for “{query}”:"), cls="label") + tag("ol", rows),
        cls="search-results",
    )


def about(catalog: Catalog) -> str:
    if not catalog.about_body:
        return tag("p", "This glossary has no About page.", cls="hint")
    sources = [tag("li", web_link(s.url, s.title)) for s in catalog.linked_sources(catalog.about_sources)]
    src = tag("h3", "Sources") + tag("ul", "".join(sources)) if sources else ""
    return tag(
        "div",
        tag("h2", text(catalog.about_title or "About")) + markdown(catalog.about_body) + src,
        cls="about",
    )


# -- standalone pages (/entry/<id>, /glossary) -------------------------------------------------


PAGE_SCRIPTS = frozenset({"/ui/graph.js"})  # same-origin scripts a page may load (never inline)


def page(title: str, body: str, search: str | None = None, script: str = "", tools: str = "") -> str:
    """A whole page; the search form (our markup, outside <main>) is shown when `search` is given;
    `tools` (our markup, e.g. the map's form) goes between the navigation and <main>."""
    form = ""
    if search is not None:
        form = (
            '<form class="search" method="get" action="/glossary"><label>Search the glossary '
            f'<input type="search" name="q" value="{text(search)}" maxlength="200"></label>'
            '<button type="submit">Search</button></form>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)} · MI Glossary</title>"
        '<link rel="stylesheet" href="/ui/pages.css">'
        + (f'<script src="{script}" defer></script>' if script in PAGE_SCRIPTS else "")
        + '</head><body><nav class="top"><a href="/">Chat</a> <a href="/glossary">Glossary</a> <a href="/graph">Map</a>'
        f"{form}</nav>{tools}<main>{body}</main></body></html>"
    )


def entry_page(entry: Entry, catalog: Catalog) -> str:
    parts = [
        tag("p", text(catalog.section(entry.section).label), cls="meta"),
        tag("h1", text(entry.term)),
        tag("p", inline(entry.summary, scope=catalog.scope(entry.id)), cls="summary"),
    ]
    if entry.aliases:
        parts.append(tag("p", "Also called: " + text(", ".join(entry.aliases)), cls="aliases"))
    parts.append(tag("div", markdown(entry.body, scope=catalog.scope(entry.id)), cls="body"))
    for title, ids, cls in (
        ("Prerequisites", entry.prerequisites, "prerequisites"),
        ("Related entries", entry.related, "related"),
    ):
        known = [i for i in ids if i in catalog.entries]
        if known:
            parts.append(
                tag(
                    "section",
                    tag("h2", title) + tag("ul", "".join(tag("li", _term_link(catalog, i)) for i in known)),
                    cls=cls,
                )
            )
    sources = catalog.linked_sources(entry.sources)
    if sources:
        items = "".join(
            tag(
                "li",
                web_link(s.url, s.title)
                + " "
                + tag(
                    "span",
                    text(", ".join(x for x in (s.authors, str(s.year) if s.year else "") if x)),
                    cls="by",
                ),
            )
            for s in sources
        )
        parts.append(tag("section", tag("h2", "Sources") + tag("ul", items), cls="sources"))
    path = catalog.reading_path(entry.id)
    if len(path) > 1:  # "learn this from scratch": every prerequisite, in order, with what it is
        steps = "".join(
            tag(
                "li",
                (tag("strong", text(e.term)) + " (this entry)" if e.id == entry.id else _term_link(catalog, e.id))
                + tag("p", inline(e.summary), cls="step-summary"),
            )
            for e in path
        )
        parts.append(
            tag(
                "section",
                tag("h2", "Learn this from scratch")
                + tag(
                    "p",
                    text(f"{len(path) - 1} entries to read first, in this order, each after the ones it builds on:"),
                    cls="hint",
                )
                + tag("ol", steps),
                cls="reading-path",
                ident="reading-path",
            )
        )
    return page(entry.term, tag("article", "".join(parts), cls="entry", ident=anchor_id(entry.id)))


def graph_page(catalog: Catalog, section: str = "", query: str = "") -> str:
    from assistant.ui.graph import graph_page_body

    tools, body = graph_page_body(catalog, section=section, query=query)
    title = "Reading map" if section in catalog.sections else "Map"
    return page(title, body, script="/ui/graph.js", tools=tools)


def glossary_page(catalog: Catalog, query: str = "", hits: Sequence[Hit] = (), error: str = "") -> str:
    body = tag("h1", "Glossary") + search_results(query, hits, catalog, error) + glossary_index(catalog)
    return page("Glossary", body, search=query)


def not_found_page(entry_id: str) -> str:
    return page(
        "Not found",
        tag("h1", "No such entry")
        + tag(
            "p",
            text(f"The glossary has no entry '{entry_id[:100]}'. Browse the glossary to find it."),
        ),
    )


def header(n_entries: int) -> str:
    return tag(
        "div",
        tag("h1", "MI Glossary assistant")
        + tag(
            "p",
            text(
                f"Cited answers from {n_entries} glossary entries on mechanistic interpretability. "
                "Click a [n] marker to open the cited entry beside the chat."
            ),
            cls="hint",
        ),
        cls="header",
    )


def text_note(message: str) -> str:
    return tag("p", text(message), cls="note") if message else ""
