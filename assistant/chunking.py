"""Entry-aware chunking that always fits the embedder's window.

Each entry becomes a few chunks: the first carries the term, aliases and summary (so a bare
term lookup finds it), the rest follow the body's `## ` sections, packed paragraph by
paragraph. Sizes are measured in the embedder's own word pieces on the exact text that gets
embedded; a paragraph too long for the budget is split at sentences, then at words, so nothing
is ever truncated by the model. The compromise: chunks never span two sections, so a few are
short.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Literal

from assistant.types import Chunk, Entry, Source

TokenCount = Callable[[str], int]
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(`\"'])")


def _sections(body: str) -> Iterator[tuple[str, list[str]]]:
    heading, paras, buf = "", list[str](), list[str]()
    for line in body.splitlines():
        m = re.match(r"^#{2,6}\s+(.*)$", line)
        if m:
            if buf:
                paras.append("\n".join(buf).strip())
                buf = []
            if any(paras):
                yield heading, [p for p in paras if p]
            heading, paras = m.group(1).strip(), []
        elif not line.strip():
            if buf:
                paras.append("\n".join(buf).strip())
                buf = []
        else:
            buf.append(line)
    if buf:
        paras.append("\n".join(buf).strip())
    if any(paras):
        yield heading, [p for p in paras if p]


def _pieces(text: str, prefix: str, budget: int, count: TokenCount) -> list[str]:
    """Split one paragraph so each piece fits with the prefix: sentences, then words."""
    if count(f"{prefix}{text}") <= budget:
        return [text]
    out: list[str] = []
    sentences = _SENTENCE_RE.split(text)
    if len(sentences) == 1:
        words, cur = text.split(), list[str]()
        for word in words:
            if cur and count(prefix + " ".join([*cur, word])) > budget:
                out.append(" ".join(cur))
                cur = []
            cur.append(word)
        if cur:
            out.append(" ".join(cur))
        return out
    cur_s = ""
    for sentence in sentences:
        trial = f"{cur_s} {sentence}".strip()
        if cur_s and count(prefix + trial) > budget:
            out.append(cur_s)
            cur_s = ""
            trial = sentence
        if count(prefix + trial) > budget:
            out.extend(_pieces(trial, prefix, budget, count)[:-1])
            trial = _pieces(trial, prefix, budget, count)[-1]
        cur_s = trial
    if cur_s:
        out.append(cur_s)
    return out


def embed_text(chunk: Chunk) -> str:
    """The exact text embedded and measured: the heading path gives the chunk its context."""
    return f"{chunk.heading}\n{chunk.text}"


def _chunk_doc(
    doc_id: str,
    kind: Literal["entry", "source", "passage"],
    entry_ids: tuple[str, ...],
    term: str,
    section: str,
    lead: str,
    body: str,
    budget: int,
    count: TokenCount,
) -> list[Chunk]:
    groups: list[tuple[str, list[str]]] = [("", [lead])] if lead else []
    groups += list(_sections(body))
    chunks: list[Chunk] = []

    def emit(heading: str, parts: list[str]) -> None:
        text = "\n\n".join(parts)
        chunk = Chunk(
            chunk_id=f"{doc_id}#{len(chunks)}",
            doc_id=doc_id,
            kind=kind,
            entry_ids=entry_ids,
            term=term,
            section=section,
            heading=heading,
            text=text,
            n_tokens=0,
        )
        n = count(embed_text(chunk))
        if n > budget:  # never silently truncated by the model
            raise ValueError(f"chunk {chunk.chunk_id} has {n} word pieces > {budget}")
        chunks.append(chunk.model_copy(update={"n_tokens": n}))

    for sub, paras in groups:
        heading = f"{term} > {sub}" if sub else term
        prefix = heading + "\n"
        cur: list[str] = []
        for para in paras:
            for piece in _pieces(para, prefix, budget, count):
                if cur and count(prefix + "\n\n".join([*cur, piece])) > budget:
                    emit(heading, cur)
                    cur = []
                cur.append(piece)
        if cur:
            emit(heading, cur)
    return chunks


def chunk_entry(entry: Entry, budget: int, count: TokenCount) -> list[Chunk]:
    """Chunks of one entry; the first leads with term, aliases and summary.

    >>> [c.chunk_id for c in chunk_entry(entry, 200, counter)]   # doctest: +SKIP
    ['induction-head#0', 'induction-head#1', 'induction-head#2']
    """
    aka = f" (also: {', '.join(entry.aliases)})" if entry.aliases else ""
    lead = f"{entry.term}{aka}: {entry.summary}"
    return _chunk_doc(entry.id, "entry", (entry.id,), entry.term, entry.section, lead, entry.body, budget, count)


def chunk_source(source: Source, linked_by: tuple[str, ...], budget: int, count: TokenCount) -> list[Chunk]:
    """Chunks of a source summary; they speak for the entries that link the source."""
    year = f" ({source.year})" if source.year else ""
    lead = f"{source.title}{year}, {source.authors}."
    return _chunk_doc(
        f"source:{source.id}", "source", linked_by, source.title, "sources", lead, source.body, budget, count
    )


def chunk_fetched(source: Source, text: str, linked_by: tuple[str, ...], budget: int, count: TokenCount) -> list[Chunk]:
    """Chunks of a source's fetched text (kind "passage"), split at its `## ` headings, same window rules."""
    return _chunk_doc(f"passage:{source.id}", "passage", linked_by, source.title, "sources", "", text, budget, count)
