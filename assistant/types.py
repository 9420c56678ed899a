"""Value types shared across the package (pydantic, frozen, extra="forbid")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entry(_Value):
    """A glossary entry: front matter plus body (Markdown, our own prose)."""

    id: str
    term: str
    aliases: tuple[str, ...] = ()
    section: str
    summary: str
    related: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    body: str
    path: str = Field(description="Path of the file, relative to the corpus folder.")


class Source(_Value):
    """A paper, post or tool an entry links, with our own summary of it."""

    id: str
    title: str
    authors: str
    year: int | None
    url: str
    kind: str
    body: str
    path: str


class Chunk(_Value):
    """A piece of an entry or source small enough for the embedder's window."""

    chunk_id: str = Field(description="`<doc_id>#<n>`; deterministic.")
    doc_id: str = Field(description="Entry id, or `source:<id>` for a source.")
    kind: Literal["entry", "source"]
    entry_ids: tuple[str, ...] = Field(description="Entries this chunk speaks for (a source: the entries linking it).")
    term: str
    section: str
    heading: str = Field(description="Heading path inside the document, e.g. 'Induction head > Example'.")
    text: str
    n_tokens: int


class Hit(_Value):
    """One retrieved entry, with its best chunk."""

    rank: int
    entry_id: str
    term: str
    aliases: tuple[str, ...]
    section: str
    score: float = Field(description="Fused score (higher is better); pinned term matches rank first.")
    dense_score: float = Field(description="Best cosine similarity of the entry's chunks to the query.")
    chunk_id: str
    text: str
    url: str = Field(description="Link to the entry's first source (http/https), or '' if none.")
    matched_term: bool = Field(False, description="The query names this entry's term or an alias.")


class ChatMessage(_Value):
    role: Literal["system", "user", "assistant"]
    content: str


class Citation(_Value):
    n: int
    entry_id: str
    term: str
    url: str


class RetrievedRef(_Value):
    entry_id: str
    term: str
    score: float
    section: str = ""
    cited: bool = False


class SentenceSupport(_Value):
    """How one answer sentence is tied to the retrieved entries."""

    text: str
    citation: int | None = Field(description="Citation number, or None when no retrieved entry supports it.")
    support: float = Field(description="Similarity of the sentence to its supporting entry (0-1).")


class Answer(_Value):
    """A finished answer. `text` carries `[n]` markers that all point into `citations`."""

    question: str
    standalone_query: str
    answer: str
    covered: bool
    instant: str = Field("", description="The matched entry's summary shown at once, if any.")
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[RetrievedRef, ...] = ()
    suggestions: tuple[RetrievedRef, ...] = Field((), description="Nearest entries when not covered.")
    sentences: tuple[SentenceSupport, ...] = ()
    unsupported: int = Field(0, description="Answer sentences no retrieved entry supports.")
    truncated: bool = False
    composition: Literal["quoted", "generated", "summary", "none"] = Field(
        "none",
        description="quoted: glossary sentences chosen for the question; generated: written by the "
        "chat model and checked; summary: the entry's summary alone; none: not covered.",
    )
    shape: str = Field("", description="Question shape the quoted answer follows (define, name, how, why, ...).")
    timings: dict[str, float] = Field(default_factory=dict)
    models: dict[str, str] = Field(default_factory=dict)


class InstantEvent(_Value):
    """The matched entry's summary, shown at once (cited) while the model works."""

    kind: Literal["instant"] = "instant"
    text: str
    citation: Citation


class DeltaEvent(_Value):
    """A piece of the model's raw answer text as it streams (not yet citation-checked)."""

    kind: Literal["delta"] = "delta"
    text: str


class FinalEvent(_Value):
    """The finished, citation-checked answer; replaces everything streamed before it."""

    kind: Literal["final"] = "final"
    answer: Answer


AnswerEvent = InstantEvent | DeltaEvent | FinalEvent
