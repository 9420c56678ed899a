"""Source passages for the sources panel: what a fetched source says, next to the entry citing it.

A passage arrives on a citation (`Citation.passages`) only after `mi-glossary sources fetch`.
Its text is someone else's page: the template escapes it like all text. The link to the
original is the catalog's own url for that source, and only when the cited entry links the
source and the url is http(s), so no url from fetched or model text is ever rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from assistant.types import Citation, SourcePassage
from assistant.ui.catalog import Catalog

MAX_PER_ENTRY = 3


def cited_passages(citations: Iterable[Citation], catalog: Catalog) -> dict[str, list[tuple[SourcePassage, str]]]:
    """entry id -> [(passage, url of the original or '')], in citation order, without repeats."""
    out: dict[str, list[tuple[SourcePassage, str]]] = {}
    for c in citations:
        entry = catalog.entries.get(c.entry_id)
        if entry is None:
            continue
        urls = {s.id: s.url for s in catalog.linked_sources(entry.sources)}
        for p in c.passages:
            if p.source_id not in entry.sources:
                continue
            shown = out.setdefault(c.entry_id, [])
            if len(shown) < MAX_PER_ENTRY and all(q.chunk_id != p.chunk_id for q, _ in shown):
                shown.append((p, urls.get(p.source_id, "")))
    return out


def turn_citations(answers: Sequence[object]) -> list[Citation]:
    """Citations of answers (newest first as given), skipping turns without an answer."""
    return [c for a in answers if a is not None for c in getattr(a, "citations", ())]
