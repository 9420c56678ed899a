"""HTML fragments and pages: Jinja2 templates (`assistant/ui/templates/`) fed by `render`.

Each function here picks a template and works out what it shows (which entries are cited,
which notes apply); the templates hold the markup. Nothing here escapes or builds markup: every
value a template prints goes through `render.text` (the environment's `finalize`), entry text
through `render.inline` / `render.markdown`, answers through `render.with_citations`, and links
to http(s) URLs from metadata through `render.web_link`. Output has no newlines (see render).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from markupsafe import Markup

from assistant.types import Answer, Entry, Hit, InstantEvent
from assistant.ui.catalog import Catalog
from assistant.ui.passages import cited_passages, turn_citations
from assistant.ui.render import anchor_id, environment, render, with_citations


class Turn(Protocol):
    """What a view reads of a chat turn (`chat.Turn`; chat imports this module, not the reverse)."""

    @property
    def number(self) -> int: ...
    @property
    def question(self) -> str: ...
    @property
    def instant(self) -> InstantEvent | None: ...
    @property
    def streamed(self) -> str: ...
    @property
    def answer(self) -> Answer | None: ...
    @property
    def error(self) -> str: ...


def _small(name: str, *args: Any) -> Markup:
    macro = getattr(environment().get_template("small.html").module, name)
    return macro(*args)


# -- chat transcript -------------------------------------------------------------------------


PROVENANCE = {
    "quoted": "Quoted from the glossary: each sentence is an entry's own text; its [n] opens the entry it comes from.",
    "generated": "Written by the language model and checked against the cited entries; it may still be wrong.",
    "summary": "The glossary's definition, quoted from the cited entry.",
}


def transcript(turns: Sequence[Turn], catalog: Catalog) -> Markup:
    return render("transcript.html", turns=[_turn(t, catalog) for t in turns], catalog=catalog)


def _turn(turn: Turn, catalog: Catalog) -> dict[str, Any]:
    """What one turn shows; the template lays it out."""
    answer = turn.answer
    view: dict[str, Any] = {
        "number": turn.number,
        "question": turn.question,
        "instant": None,
        "answer": answer is not None,
        "streamed": turn.streamed,
        "error": turn.error,
    }
    in_panel: set[str] = set()
    quoted = answer is not None and answer.composition == "quoted"
    if turn.instant is not None and not quoted:  # a quoted answer opens with the same definition
        cite = turn.instant.citation
        in_panel.add(cite.entry_id)
        view["instant"] = with_citations(f"{turn.instant.text} [{cite.n}]", [cite], catalog.scope())
    if answer is None:
        return view
    in_panel |= {c.entry_id for c in answer.citations}
    notes = []
    if answer.truncated:
        notes.append("The answer was cut short by the length or time limit.")
    if answer.unsupported:
        notes.append(
            f"{answer.unsupported} sentence(s) are not supported by a cited entry; check them against the sources."
        )
    view.update(
        covered=answer.covered,
        composition=answer.composition,
        provenance=PROVENANCE.get(answer.composition, "") if answer.covered else "",
        body=with_citations(answer.answer, answer.citations, catalog.scope() if answer.covered else None),
        suggestions=answer.suggestions if not answer.covered else (),
        why=answer.coverage if not answer.covered and answer.coverage is not None else None,
        notes=notes,
        retrieved=answer.retrieved,
        n_cited=sum(r.cited for r in answer.retrieved),
        in_panel=in_panel,
    )
    return view


# -- sources panel ---------------------------------------------------------------------------


def panel(turns: Sequence[Turn], catalog: Catalog) -> Markup:
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
    passages = cited_passages(turn_citations([t.answer for t in reversed(turns)]), catalog)  # after `sources fetch`
    cards = [
        entry_card(catalog.entries[eid], catalog, ", ".join(ls), passages=passages.get(eid, ()))
        for eid, ls in labels.items()
        if eid in catalog.entries
    ]
    return render("panel.html", cards=cards)


def entry_card(entry: Entry, catalog: Catalog, cited_as: str = "", *, ident: str = "", passages=()) -> Markup:
    return render(
        "entry_card.html",
        entry=entry,
        catalog=catalog,
        cited_as=cited_as,
        ident=ident or anchor_id(entry.id),
        close=False,
        passages=passages,
    )


def viewer_card(entry: Entry, catalog: Catalog) -> Markup:
    """The card a glossary-term click opens beside the chat (/ui/card/<id>), with a close button.

    Its id differs from the sources panel's cards, so a later citation of the same entry still
    finds its own card."""
    return render(
        "entry_card.html",
        entry=entry,
        catalog=catalog,
        cited_as="",
        ident="viewer-" + anchor_id(entry.id),
        close=True,
    )


# -- glossary browser (Gradio tab and /glossary page) -----------------------------------------


def glossary_index(catalog: Catalog) -> Markup:
    return render("glossary_index.html", catalog=catalog)


def search_results(query: str, hits: Sequence[Hit], catalog: Catalog, error: str = "") -> Markup:
    return render("search_results.html", query=query, hits=hits, catalog=catalog, error=error)


def about(catalog: Catalog) -> Markup:
    return render("about.html", catalog=catalog)


# -- standalone pages (/entry/<id>, /glossary) -------------------------------------------------


PAGE_SCRIPTS = frozenset({"/ui/graph.js"})  # same-origin scripts a page may load (never inline)


def page(title: str, body: Markup, search: str | None = None, script: str = "", tools: Markup | None = None) -> Markup:
    """A whole page; the search form (outside <main>) is shown when `search` is given;
    `tools` (rendered markup, e.g. the map's form) goes between the navigation and <main>."""
    return render(
        "page.html",
        title=title,
        body=body,
        search=search,
        script=script if script in PAGE_SCRIPTS else "",
        tools=tools if tools is not None else Markup(""),
    )


def entry_page(entry: Entry, catalog: Catalog) -> Markup:
    groups = []
    for title, ids, cls in (
        ("Prerequisites", entry.prerequisites, "prerequisites"),
        ("Related entries", entry.related, "related"),
    ):
        known = [i for i in ids if i in catalog.entries]
        if known:
            groups.append((title, known, cls))
    sources = [
        (s, ", ".join(x for x in (s.authors, str(s.year) if s.year else "") if x))
        for s in catalog.linked_sources(entry.sources)
    ]
    body = render(
        "entry.html",
        entry=entry,
        catalog=catalog,
        groups=groups,
        sources=sources,
        path=catalog.reading_path(entry.id),  # "learn this from scratch": every prerequisite, in order
    )
    return page(entry.term, body)


def graph_page(catalog: Catalog, section: str = "", query: str = "") -> Markup:
    from assistant.ui.graph import graph_page_body

    tools, body = graph_page_body(catalog, section=section, query=query)
    title = "Reading map" if section in catalog.sections else "Map"
    return page(title, body, script="/ui/graph.js", tools=tools)


def glossary_page(catalog: Catalog, query: str = "", hits: Sequence[Hit] = (), error: str = "") -> Markup:
    body = _small("glossary_body", search_results(query, hits, catalog, error), glossary_index(catalog))
    return page("Glossary", body, search=query)


def not_found_page(entry_id: str) -> Markup:
    return page("Not found", _small("not_found", entry_id))


def header(n_entries: int) -> Markup:
    return _small("header", n_entries)


def text_note(message: str) -> Markup:
    return _small("note", message)
