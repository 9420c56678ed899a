"""Decide whether the glossary covers a question, from retrieval alone (no model call).

Rules, in order; thresholds in `RetrievalSettings`, swept with `mi-glossary eval calibrate`:
1. A question that names a glossary term (its subject matches a term or alias, typos allowed)
   is covered.
2. A request for writing rather than explaining ("tell me a joke about attention heads", "write a
   cover letter ...") is not covered.
3. A definitional question about a short subject that names no entry ("what is speculative
   decoding?") is not covered: the user asked for a term we do not have, however close its
   neighbours are in embedding space. A follow-up is exempt: its subject is in the history.
4. A question nearer to a topic of `corpus/out_of_scope.yaml` (~740 near-miss and unrelated
   topics, each checked against the glossary) than to any glossary chunk or entry summary, by
   `off_topic_margin`, is not covered: "how does dropout prevent overfitting" embeds close to the
   overfitting entry, but closer still to "dropout".
5. A question whose topic rests on a rare word the glossary never uses ("word2vec", "Shapley"),
   or on a very rare one that none of the top entries uses ("RNNs" when the hits are about
   attribution), is not covered (`assistant.retrieval.lexicon`). Exempt: a description at least
   `description_words` long that the entry adapter assigns to one entry with probability
   `adapter_confident` or more: one unusual word in a 30-word definition is not its topic.
6. A question that clearly names a term inside a longer sentence (a multi-word term or an
   acronym: "my SAE has units that never fire") is covered.
7. Otherwise the best cosine of any chunk or entry summary must reach `coverage_threshold`,
   raised by `UNKNOWN_WORD_MARGIN` when the question uses words the glossary never does.

Measured (retrieval only; out-of-scope abstention / false refusals): rules 2, 4, 5 and 6 took
the test split from 0.86 / 0.025 to 0.93 / 0.015, and held-out questions written by other
sessions from 0.84 to 0.96 / 0.019 (evals/README.md has the commands and the caveats).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from assistant.retrieval.resolver import subject_of

if TYPE_CHECKING:
    from assistant.retrieval.retriever import SearchResult
    from assistant.settings import RetrievalSettings

SHORT_SUBJECT_WORDS = 5
UNKNOWN_WORD_MARGIN = 0.05
_DEFINITIONAL = re.compile(
    r"^\s*(?:what(?:'s|’s|s| is| are)|whats|define|definition of|explain|describe|meaning of|tell me about|"
    r"how (?:does|do)|can you explain|could you explain)\b",
    re.I,
)


# Asking for writing, not for an explanation: "tell me a joke about attention heads".
_REQUEST = re.compile(
    r"\b(?:write|compose|draft|tell|give|make up|generate)\s+(?:me\s+|us\s+)?(?:a|an|some|another)\s+"
    r"(?:\w+\s+){0,2}?(?:poem|joke|story|song|limerick|haiku|rap|essay|cover letter|email|tweet|speech|lyrics|"
    r"sonnet|riddle|pun)s?\b",
    re.I,
)


RULES = (
    "no-hits",
    "named-term",
    "writing-request",
    "unknown-short-subject",
    "off-topic",
    "rare-word",
    "contained-term",
    "cosine",
)


class Coverage(BaseModel):
    """The coverage decision with its reason: which rule decided, and the figures it looked at."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    covered: bool
    rule: str = Field(description="The deciding rule: " + ", ".join(RULES) + ".")
    detail: str = Field(description="What that rule saw, in words (figures included).")


def decide(result: SearchResult, settings: RetrievalSettings) -> Coverage:
    """Rules 1-7 of the module docstring, in order; the first that applies decides."""
    if not result.hits:
        return Coverage(covered=False, rule="no-hits", detail="retrieval returned no entries")
    named = [m for m in result.matches if m.how in ("exact", "fuzzy")]
    if named:
        return Coverage(
            covered=True, rule="named-term", detail="names " + ", ".join(f"{m.entry_id} ({m.how})" for m in named)
        )
    if found := _REQUEST.search(result.query):
        return Coverage(covered=False, rule="writing-request", detail=f"asks for writing: '{found.group(0)}'")
    subject = subject_of(result.query)
    if (
        _DEFINITIONAL.match(result.query)
        and len(subject.split()) <= SHORT_SUBJECT_WORDS
        and not result.matches
        and not result.followup
    ):
        return Coverage(
            covered=False, rule="unknown-short-subject", detail=f"asks what '{subject}' is, and no entry has that name"
        )
    glossary_best = max(result.best_dense, result.summary_best)
    if result.off_topic and result.off_topic_score - glossary_best >= settings.off_topic_margin:
        return Coverage(
            covered=False,
            rule="off-topic",
            detail=f"nearer to the uncovered topic '{result.off_topic}' ({result.off_topic_score:.3f}) "
            f"than to any entry ({glossary_best:.3f}) by at least {settings.off_topic_margin:.3f}",
        )
    described = (
        len(result.query.split()) >= settings.description_words and result.adapter_top >= settings.adapter_confident
    )
    rare = [*result.foreign_words, *result.missing_rare]
    if rare and not described:
        kind = "the glossary never uses" if result.foreign_words else "no top entry uses"
        return Coverage(covered=False, rule="rare-word", detail=f"rests on rare words {kind}: {', '.join(rare)}")
    strong = [m.entry_id for m in result.matches if m.strong]
    if strong:
        return Coverage(covered=True, rule="contained-term", detail="clearly names " + ", ".join(strong))
    threshold = settings.coverage_threshold + (UNKNOWN_WORD_MARGIN if result.unknown_words else 0.0)
    sign = ">=" if glossary_best >= threshold else "<"
    raised = f" (raised for unknown words {', '.join(result.unknown_words)})" if result.unknown_words else ""
    note = f"; rare words {', '.join(rare)} excused: a description the adapter is sure of" if rare else ""
    return Coverage(
        covered=glossary_best >= threshold,
        rule="cosine",
        detail=f"best cosine {glossary_best:.3f} {sign} threshold {threshold:.3f}{raised}{note}",
    )


def is_covered(result: SearchResult, settings: RetrievalSettings) -> bool:
    return decide(result, settings).covered
