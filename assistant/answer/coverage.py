"""Decide whether the glossary covers a question, from retrieval alone (no model call).

One decision, `decide(signals, settings) -> Coverage(covered, rule, detail)`, from the ordered
table `RULES` over the `CoverageSignals` retrieval measured; the flow, the UI, the API and the eval
reports all read its rule and detail. Thresholds live in `RetrievalSettings`, swept with
`mi-glossary eval calibrate`. Rules, in order (0: no entry retrieved at all, not covered):
1. A question that names a glossary term (its subject matches a term or alias, typos allowed)
   is covered.
2. A request for writing rather than explaining ("tell me a joke about attention heads", "write a
   cover letter ...") is not covered.
3. A definitional question about a short subject that names no entry ("what is speculative
   decoding?") is not covered: the user asked for a term we do not have, however close its
   neighbours are in embedding space. A follow-up is exempt: its subject is in the history.
   The same holds for the first of joined questions ("what is dropout and why does it reduce
   overfitting?") and for X in "how does X work ...": the rest builds on a subject we do not have.
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
   raised by `unknown_word_margin` when the question uses words the glossary never does.

In the generated mode the model may still say the entries do not answer (`says_not_in_context`);
`after_model_refusal` then decides once more: a question that names an entry, or one whose best
cosine beats the threshold by `confident_margin`, gets the top entry's summary (rule
model-refusal-overruled), anything else is not covered (rule model-refusal). An answer none of
whose sentences the entries support is not covered either (rule model-unsupported).

Measured (retrieval only; out-of-scope abstention / false refusals): rules 2, 4, 5 and 6 took
the test split from 0.86 / 0.025 to 0.93 / 0.015, and held-out questions written by other
sessions from 0.84 to 0.96 / 0.019 (evals/README.md has the commands and the caveats).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from assistant.answer.prompt import NOT_IN_CONTEXT
from assistant.retrieval.resolver import WHAT, subject_of
from assistant.types import Coverage, CoverageSignals

if TYPE_CHECKING:
    from assistant.settings import RetrievalSettings

_DEFINITIONAL = re.compile(
    rf"^\s*(?:{WHAT}(?:'s|’s|s| is| are)|whats|define|definition of|explain|describe|meaning of|tell me about|"
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
# What a small model says instead of the sentinel when it declines.
_REFUSALS = (
    "not in the context",
    "entries do not",
    "do not contain",
    "does not contain",
    "not provided in",
    "no information",
    "cannot answer",
    "can't answer",
    "not mentioned",
    "don't know",
    "do not know",
    "not directly stated",
    "not stated",
    "not explicitly",
    "not specified",
)


def _no_hits(sig: CoverageSignals, _: RetrievalSettings) -> Coverage | None:
    if sig.hits:
        return None
    return Coverage(covered=False, rule="no-hits", detail="retrieval returned no entries")


def _named_term(sig: CoverageSignals, _: RetrievalSettings) -> Coverage | None:
    if not sig.named:
        return None
    return Coverage(
        covered=True, rule="named-term", detail="names " + ", ".join(f"{e} ({how})" for e, how in sig.named)
    )


def _writing_request(sig: CoverageSignals, _: RetrievalSettings) -> Coverage | None:
    found = _REQUEST.search(sig.query)
    if not found:
        return None
    return Coverage(covered=False, rule="writing-request", detail=f"asks for writing: '{found.group(0)}'")


def _unknown_short_subject(sig: CoverageSignals, s: RetrievalSettings) -> Coverage | None:
    subject = subject_of(sig.query)
    if (
        not _DEFINITIONAL.match(sig.query)
        or len(subject.split()) > s.short_subject_words
        or sig.contained
        or sig.followup
    ):
        return None
    return Coverage(
        covered=False, rule="unknown-short-subject", detail=f"asks what '{subject}' is, and no entry has that name"
    )


def _unknown_lead_subject(sig: CoverageSignals, s: RetrievalSettings) -> Coverage | None:
    lead = sig.unnamed_lead
    if not lead or sig.followup or len(lead.split()) > s.short_subject_words or not _DEFINITIONAL.match(sig.query):
        return None
    return Coverage(
        covered=False,
        rule="unknown-lead-subject",
        detail=f"asks first about '{lead}', and no entry has that name (the rest of the question builds on it)",
    )


def _off_topic(sig: CoverageSignals, s: RetrievalSettings) -> Coverage | None:
    best = sig.glossary_best
    if not sig.off_topic or sig.off_topic_score - best < s.off_topic_margin:
        return None
    return Coverage(
        covered=False,
        rule="off-topic",
        detail=f"nearer to the uncovered topic '{sig.off_topic}' ({sig.off_topic_score:.3f}) "
        f"than to any entry ({best:.3f}) by at least {s.off_topic_margin:.3f}",
    )


def _described(sig: CoverageSignals, s: RetrievalSettings) -> bool:
    """A long question the entry adapter assigns to one entry: a description, not a rare-word topic."""
    return len(sig.query.split()) >= s.description_words and sig.adapter_top >= s.adapter_confident


def _rare_word(sig: CoverageSignals, s: RetrievalSettings) -> Coverage | None:
    rare = [*sig.foreign_words, *sig.missing_rare]
    if not rare or _described(sig, s):
        return None
    kind = "the glossary never uses" if sig.foreign_words else "no top entry uses"
    return Coverage(covered=False, rule="rare-word", detail=f"rests on rare words {kind}: {', '.join(rare)}")


def _contained_term(sig: CoverageSignals, _: RetrievalSettings) -> Coverage | None:
    if not sig.strong:
        return None
    return Coverage(covered=True, rule="contained-term", detail="clearly names " + ", ".join(sig.strong))


def _cosine(sig: CoverageSignals, s: RetrievalSettings) -> Coverage:
    best = sig.glossary_best
    threshold = s.coverage_threshold + (s.unknown_word_margin if sig.unknown_words else 0.0)
    sign = ">=" if best >= threshold else "<"
    raised = f" (raised for unknown words {', '.join(sig.unknown_words)})" if sig.unknown_words else ""
    rare = [*sig.foreign_words, *sig.missing_rare]
    note = f"; rare words {', '.join(rare)} excused: a description the adapter is sure of" if rare else ""
    return Coverage(
        covered=best >= threshold,
        rule="cosine",
        detail=f"best cosine {best:.3f} {sign} threshold {threshold:.3f}{raised}{note}",
    )


class Rule(NamedTuple):
    name: str
    check: Callable[[CoverageSignals, RetrievalSettings], Coverage | None]  # None: the rule does not apply


RULES: tuple[Rule, ...] = (
    Rule("no-hits", _no_hits),
    Rule("named-term", _named_term),
    Rule("writing-request", _writing_request),
    Rule("unknown-short-subject", _unknown_short_subject),
    Rule("unknown-lead-subject", _unknown_lead_subject),
    Rule("off-topic", _off_topic),
    Rule("rare-word", _rare_word),
    Rule("contained-term", _contained_term),
    Rule("cosine", _cosine),
)
MODEL_RULES = ("model-refusal-overruled", "model-refusal", "model-unsupported")  # generated mode only, after the model


def decide(signals: CoverageSignals, settings: RetrievalSettings) -> Coverage:
    """The first rule of `RULES` that applies decides (the last, cosine, always applies)."""
    for rule in RULES:
        if (decision := rule.check(signals, settings)) is not None:
            return decision
    raise AssertionError("the cosine rule always decides")  # pragma: no cover


def says_not_in_context(text: str) -> bool:
    """The model's own "not covered": the sentinel, or a short reply made of a refusal phrase."""
    low = text.casefold()
    if NOT_IN_CONTEXT.casefold() in low.replace(" ", "_"):
        return True
    return len(low.split()) <= 30 and any(p in low for p in _REFUSALS)


def after_model_refusal(signals: CoverageSignals, settings: RetrievalSettings) -> Coverage:
    """The model declined (generated mode): overrule it when the question names an entry or
    retrieval is clearly confident, since small models refuse paraphrases they could answer."""
    bar = settings.coverage_threshold + settings.confident_margin
    if signals.named:
        return Coverage(
            covered=True, rule="model-refusal-overruled", detail="the model declined, but the question names an entry"
        )
    if signals.best_dense >= bar:
        return Coverage(
            covered=True,
            rule="model-refusal-overruled",
            detail=f"the model declined, but the best cosine {signals.best_dense:.3f} >= {bar:.3f}",
        )
    return Coverage(
        covered=False,
        rule="model-refusal",
        detail=f"the model declined and the best cosine {signals.best_dense:.3f} < {bar:.3f}",
    )
