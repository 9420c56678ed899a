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
    """A piece of an entry, a source summary or a fetched source text, small enough for the embedder's window."""

    chunk_id: str = Field(description="`<doc_id>#<n>`; deterministic.")
    doc_id: str = Field(
        description="Entry id, `source:<id>` for a source summary, `passage:<id>` for its fetched text."
    )
    kind: Literal["entry", "source", "passage"]
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


class CoverageSignals(_Value):
    """What retrieval measured about a question for the coverage decision (answer.coverage); no
    rule lives here, only the figures the rules read."""

    query: str = Field(description="The query as searched (normalised, follow-up rewritten).")
    hits: int = Field(0, description="Entries retrieved.")
    named: tuple[tuple[str, str], ...] = Field((), description="(entry id, how) of terms the question names.")
    contained: tuple[str, ...] = Field((), description="Entries whose term appears inside the question.")
    strong: tuple[str, ...] = Field((), description="Contained terms that are clearly named (multi-word, acronym).")
    followup: bool = Field(False, description="The query was rewritten from a follow-up.")
    best_dense: float = Field(0.0, description="Best cosine of any chunk.")
    summary_best: float = Field(0.0, description="Best cosine of any entry's 'term: summary' vector.")
    off_topic: str = Field("", description="The nearest topic the glossary does not cover.")
    off_topic_score: float = Field(0.0, description="Its cosine with the query.")
    unknown_words: tuple[str, ...] = Field((), description="Query words the glossary never uses.")
    foreign_words: tuple[str, ...] = Field((), description="Rare topic words the glossary never uses.")
    missing_rare: tuple[str, ...] = Field((), description="Very rare words no top entry uses.")
    adapter_top: float = Field(0.0, description="The entry adapter's highest probability.")
    unnamed_lead: str = Field(
        "",
        description="Subject of the first of joined questions ('what is X and why ...'), or X of a short "
        "'what is X in Y', when it names no entry.",
    )

    @property
    def glossary_best(self) -> float:
        return max(self.best_dense, self.summary_best)


class Coverage(_Value):
    """The coverage decision with its reason: which rule decided, and the figures it looked at."""

    covered: bool
    rule: str = Field(description="The deciding rule (answer.coverage.RULES).")
    detail: str = Field(description="What that rule saw, in words (figures included).")


class SourcePassage(_Value):
    """A passage of a fetched source text: the second tier, shown and cited as that source."""

    rank: int
    chunk_id: str
    source_id: str
    title: str = Field(description="The source's title.")
    section: str = Field(description="Section heading inside the source ('' before the first heading).")
    text: str = Field(description="The passage, extracted from someone else's page: untrusted plain text.")
    url: str = Field(description="Link to the original (the source's url, http/https).")
    entry_ids: tuple[str, ...] = Field(description="Entries that link this source.")
    score: float = Field(description="Fused score within the passage tier (higher is better).")
    dense_score: float = Field(description="Cosine similarity of the passage to the query.")


class ChatMessage(_Value):
    role: Literal["system", "user", "assistant"]
    content: str


class Citation(_Value):
    n: int
    entry_id: str
    term: str
    url: str
    passages: tuple[SourcePassage, ...] = Field(
        (),
        description="Passages of fetched sources this entry links that support the sentences cited [n] "
        "(left out of the JSON when empty).",
        exclude_if=lambda v: not v,
    )


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
    passage: str | None = Field(
        None, description="chunk_id of a fetched-source passage that also supports it.", exclude_if=lambda v: v is None
    )


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
    coverage: Coverage | None = Field(None, description="The coverage decision: its rule and what it saw.")
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
