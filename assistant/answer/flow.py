"""One answer, as a stream of events: instant summary, model deltas, then the checked Answer.

Order of work: validate -> cap history -> standalone query -> retrieve -> coverage gate (no
model call when not covered) -> instant summary -> then, by `generation.mode`:
- "quoted" (default): compose the answer from the retrieved entries' own sentences, shaped for
  the question (`answer.compose`); every sentence is verbatim glossary text, cited to its entry.
- "generated" (for strong back ends): prompt -> generate under token and wall-clock caps ->
  clean output -> attribute citations; the Answer says `composition="generated"`.
Every exit path yields one FinalEvent whose citations all point into the retrieved set. This
module drives the steps and imports nothing above it (the Assistant only delegates here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence, Set
from functools import lru_cache
from typing import TYPE_CHECKING

from assistant.answer.citations import attribute
from assistant.answer.compose import Composer, Composition
from assistant.answer.coverage import after_model_refusal, decide, says_not_in_context
from assistant.answer.followup import cap_history, standalone_query
from assistant.answer.guard import clean_output, leaks, sanitize_passage, sentences
from assistant.answer.passages import cite_passages
from assistant.answer.prompt import build_prompt
from assistant.errors import BackendUnavailable, NetworkError
from assistant.retrieval.lexicon import topic_text
from assistant.textnorm import normalize_query
from assistant.types import (
    Answer,
    AnswerEvent,
    ChatMessage,
    Citation,
    Coverage,
    DeltaEvent,
    FinalEvent,
    InstantEvent,
    RetrievedRef,
    SentenceSupport,
)

if TYPE_CHECKING:
    from assistant.llm.base import ChatModel
    from assistant.retrieval.retriever import HybridRetriever, SearchResult
    from assistant.settings import Settings
    from assistant.types import Entry

NOT_COVERED = "The glossary does not cover this question."
CUT_SHORT = "(Answer cut short: the time or length limit was reached.)"


def _refs(result: SearchResult, cited: Set[str] = frozenset(), limit: int | None = None) -> tuple[RetrievedRef, ...]:
    hits = result.hits[:limit] if limit else result.hits
    return tuple(
        RetrievedRef(entry_id=h.entry_id, term=h.term, score=h.score, section=h.section, cited=h.entry_id in cited)
        for h in hits
    )


@lru_cache(maxsize=2048)
def safe_summary(summary: str) -> str:
    """An entry summary as shown without the model: same guards as model output (once per summary)."""
    return clean_output(sanitize_passage(summary)[0])


def retrieve(
    retriever: HybridRetriever, question: str, history: Sequence[ChatMessage], settings: Settings, k: int | None = None
) -> tuple[str, str, SearchResult]:
    """The retrieval step of an answer (also what the evals score): returns (question, query, result).

    Normalises the question (once), caps history server-side, resolves the question's own terms
    (once), rewrites a follow-up into a standalone query, and pins only the terms the question
    itself names.

    Raises:
        UsageError: empty or over-long question.
    """
    gen = settings.generation
    q = normalize_query(question, max_chars=settings.retrieval.max_query_chars)
    past = cap_history(history, gen.history_turns, gen.history_chars)
    # An injected "then append X to your answer" must not steer what gets retrieved.
    topic = topic_text(q)
    own = retriever.resolver.resolve(topic, fuzzy_cutoff=settings.retrieval.fuzzy_cutoff)
    query = standalone_query(topic, own, past, retriever.resolver, retriever.index.entries)
    result = retriever.search_normalized(query, k or settings.retrieval.k, matches=own, followup=query != topic)
    return q, query, result


def answer_stream(
    retriever: HybridRetriever,
    chat_model: ChatModel | None,
    composer: Composer,
    settings: Settings,
    question: str,
    history: Sequence[ChatMessage] = (),
) -> Iterator[AnswerEvent]:
    """Yield InstantEvent? then DeltaEvent* then exactly one FinalEvent (see the module docstring).

    `settings.generation.mode` picks the answer: "quoted" composes it from the entries' own
    sentences (no model text); "generated" lets the chat model write it (for strong back ends).
    """
    s = settings
    gen = s.generation
    entries = retriever.index.entries
    t0 = time.perf_counter()
    q, query, result = retrieve(retriever, question, history, s)
    t1 = time.perf_counter()
    generate = gen.mode == "generated" and chat_model is not None
    models = {"embedder": retriever.embedder.model_id}
    if generate and chat_model is not None:
        models["llm"] = chat_model.model_id
    timings = {"retrieve_s": round(t1 - t0, 4)}

    coverage = decide(result.signals, s.retrieval)

    def final(**kw) -> FinalEvent:
        if result.passages and kw.get("citations") and kw.get("sentences"):  # only after `sources fetch`
            kw["sentences"], kw["citations"] = cite_passages(
                kw["sentences"], kw["citations"], result.passages, retriever.embedder
            )
        timings["total_s"] = round(time.perf_counter() - t0, 4)
        kw.setdefault("coverage", coverage)
        return FinalEvent(answer=Answer(question=q, standalone_query=query, timings=timings, models=models, **kw))

    def not_covered(decision: Coverage) -> FinalEvent:
        return final(
            answer=NOT_COVERED,
            covered=False,
            coverage=decision,
            retrieved=_refs(result),
            suggestions=_refs(result, limit=3),
        )

    if not coverage.covered:
        yield not_covered(coverage)
        return

    named = [m for m in result.matches if m.how in ("exact", "fuzzy")]
    instant = ""
    top = result.hits[0]
    if named and safe_summary(entries[named[0].entry_id].summary):
        entry = entries[named[0].entry_id]
        instant = safe_summary(entry.summary)
        yield InstantEvent(
            text=instant, citation=Citation(n=1, entry_id=entry.id, term=entry.term, url=retriever.url(entry.id))
        )

    def fallback(note: str = "", truncated: bool = False) -> FinalEvent:
        """A grounded answer without the model: the best entry's summary, cited."""
        entry = entries[named[0].entry_id if named else top.entry_id]
        text = safe_summary(entry.summary).rstrip() or entry.term
        text = (text[:-1] + " [1]" + text[-1]) if text[-1:] in ".!?" else text + " [1]"
        if note:
            text += f" {note}"
        cite = Citation(n=1, entry_id=entry.id, term=entry.term, url=retriever.url(entry.id))
        return final(
            answer=text,
            covered=True,
            instant=instant,
            citations=(cite,),
            composition="summary",
            retrieved=_refs(result, {entry.id}),
            truncated=truncated,
        )

    if not generate:
        # Terms the question names, in its own order, pinned or merely contained ("RMSNorm vs LayerNorm").
        # Only a pinned one (the question's subject) goes first; a contained one is often just a
        # word used to describe something else, and retrieval already ranked it.
        mentioned = list(dict.fromkeys(m.entry_id for m in result.matches if m.entry_id in entries))
        pinned = [m.entry_id for m in named if m.entry_id in entries]
        ranked = list(dict.fromkeys([*pinned[:1], *(h.entry_id for h in result.hits)]))
        # A description that retrieval cannot pin on one entry (the adapter is unsure, or the second
        # entry scores nearly as high) gets the two nearest entries.
        hits, r = result.hits, s.retrieval
        sure = result.signals.adapter_top >= r.adapter_confident
        near = [h for h in hits[1:2] if not sure or h.score >= r.close_second * hits[0].score]
        near_ids = [] if pinned else [h.entry_id for h in near]
        composition = composer.compose(
            q if query == q else query, ranked, mentioned, pinned=bool(pinned), close=near_ids
        )
        text, citations, supports = quoted_text(composition, entries, retriever.url)
        if not citations:
            yield fallback()
            return
        timings["compose_s"] = round(time.perf_counter() - t1, 4)
        cited = {c.entry_id for c in citations}
        # Entries the composition drew on beyond the search hits (the kinds named after a listed
        # entry, the other side of a comparison) are listed after the hits: every citation points
        # into `retrieved`.
        found = {h.entry_id for h in result.hits}
        extra = tuple(
            RetrievedRef(entry_id=c.entry_id, term=c.term, score=0.0, section=entries[c.entry_id].section, cited=True)
            for c in citations
            if c.entry_id not in found
        )
        yield final(
            answer=text,
            covered=True,
            instant=instant,
            citations=citations,
            composition="quoted",
            shape=composition.shape,
            retrieved=_refs(result, cited) + extra,
            sentences=supports,
        )
        return

    assert chat_model is not None
    prompt = build_prompt(q if query == q else query, result.hits, entries, gen.max_context_entries)
    t2 = time.perf_counter()
    parts: list[str] = []
    truncated = False
    deadline = t2 + gen.deadline_s
    stream = chat_model.stream(prompt.messages, max_tokens=gen.max_new_tokens, temperature=gen.temperature)
    first = None
    try:
        for delta in stream:
            if first is None:
                first = time.perf_counter()
            parts.append(delta)
            yield DeltaEvent(text=delta)
            if time.perf_counter() > deadline:
                truncated = True
                break
    except (BackendUnavailable, NetworkError) as exc:
        # The model died or its server went away: the asker still gets the glossary's definition,
        # cited, and a plain note; the back end restarts (or is retried) for the next question.
        yield fallback(f"(The language model failed: {exc.problem}. Shown instead: the glossary's definition.)")
        return
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    t3 = time.perf_counter()
    timings.update({"first_token_s": round((first or t3) - t0, 4), "generate_s": round(t3 - t2, 4)})
    raw = "".join(parts)
    n_tokens_guess = len(raw.split())
    truncated = truncated or (n_tokens_guess >= gen.max_new_tokens * 0.7 and not raw.rstrip().endswith((".", "!", "?")))
    if says_not_in_context(raw):
        # The question names an entry, or retrieval is clearly confident (small models refuse
        # paraphrased questions they could answer): the top summary is a grounded answer.
        coverage = after_model_refusal(result.signals, s.retrieval)
        yield fallback() if coverage.covered else not_covered(coverage)
        return
    text = clean_output(raw)
    kept = [x for x in sentences(text) if not leaks(x, prompt.forbidden)]
    attribution = attribute(
        " ".join(kept), prompt.context, retriever.embedder, foreign=set(result.signals.unknown_words)
    )
    t4 = time.perf_counter()
    timings["cite_s"] = round(t4 - t3, 4)
    if not named and attribution.cited and says_not_in_context(attribution.text):
        attribution.cited.clear()  # what survived the checks is the model saying it does not know
    if not attribution.cited:
        if named:  # nothing the model said is grounded, but the question names an entry we have
            yield fallback(CUT_SHORT if truncated else "", truncated)
            return
        yield not_covered(
            Coverage(
                covered=False,
                rule="model-unsupported",
                detail="no sentence the model wrote is supported by the entries",
            )
        )
        return
    cited_ids = {eid for _, eid in attribution.cited}
    citations = tuple(
        Citation(n=n, entry_id=eid, term=entries[eid].term, url=retriever.url(eid)) for n, eid in attribution.cited
    )
    answer = attribution.text
    if attribution.unsupported:
        answer += f" ({attribution.unsupported} sentence(s) the glossary does not support were left out.)"
    if truncated:
        answer += f" {CUT_SHORT}"
    yield final(
        answer=answer,
        covered=True,
        instant=instant,
        citations=citations,
        composition="generated",
        retrieved=_refs(result, cited_ids),
        sentences=tuple(attribution.sentences),
        unsupported=attribution.unsupported,
        truncated=truncated,
    )


def quoted_text(
    composition: Composition, entries: dict[str, Entry], url: Callable[[str], str]
) -> tuple[str, tuple[Citation, ...], tuple[SentenceSupport, ...]]:
    """The composed answer as text with one `[n]` per quoted sentence, numbered by first use."""
    numbers: dict[str, int] = {}
    parts, supports = [], []
    if composition.lead and composition.quotes:
        named = composition.lead_cites or (composition.quotes[0].entry_id,)
        parts.append(_mark(composition.lead, *(numbers.setdefault(e, len(numbers) + 1) for e in named)))
    seen: set[str] = set()
    for quote in composition.quotes:
        key = " ".join(quote.text.casefold().split())
        if key in seen:
            continue  # never say the same sentence twice
        seen.add(key)
        n = numbers.setdefault(quote.entry_id, len(numbers) + 1)
        shown = quote.text
        if quote.heading == "" and not (composition.lead and n == 1 and len(composition.lead_cites) < 2):  # whose?
            shown = f"{entries[quote.entry_id].term}: {shown}"  # the summary's own capitals (names stay names)
        parts.append(_mark(shown, n))
        supports.append(SentenceSupport(text=quote.text, citation=n, support=1.0))
    citations = tuple(Citation(n=n, entry_id=eid, term=entries[eid].term, url=url(eid)) for eid, n in numbers.items())
    return " ".join(parts), citations, tuple(supports)


def _mark(sentence: str, *ns: int) -> str:
    """`sentence` with ` [n]` (or ` [1][2]`) before its final punctuation."""
    text = sentence.rstrip()
    marks = "".join(f"[{n}]" for n in ns)
    return (text[:-1] + f" {marks}" + text[-1]) if text[-1:] in ".!?" else f"{text} {marks}"
