"""Citations are code, not trust: tie each answer sentence to the retrieved entry supporting it.

Support of a sentence by an entry = 0.6 * cosine(sentence, entry passage) + 0.4 * share of the
sentence's content words found in the passage. A sentence that asserts a number, a name such as
GPT-4 or an acronym that no retrieved entry contains, or a word the glossary never uses, has no
support whatever its similarity: small models fill gaps with plausible inventions. A marker the model wrote is kept only when it
names a retrieved entry whose support clears the bar; otherwise the best-supporting entry is
cited, or the sentence is flagged unsupported and left out of the answer text (it stays in
`sentences`, uncited). Numbers are per entry and assigned by first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer.guard import sentences as split_sentences
from assistant.answer.prompt import ContextEntry
from assistant.embedding import Embedder
from assistant.types import SentenceSupport

MIN_SUPPORT = 0.33
_MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_WORD = re.compile(r"[a-z0-9_]+")
_STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "with",
        "as",
        "by",
        "at",
        "from",
        "into",
        "than",
        "then",
        "so",
        "such",
        "can",
        "could",
        "may",
        "might",
        "will",
        "would",
        "should",
        "do",
        "does",
        "did",
        "not",
        "no",
        "yes",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "their",
        "there",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "you",
        "your",
        "our",
        "i",
        "if",
        "also",
        "just",
        "about",
        "over",
        "under",
        "more",
        "most",
        "less",
        "very",
        "each",
        "other",
        "some",
        "any",
        "all",
        "both",
        "one",
        "two",
        "only",
        "same",
        "own",
        "like",
    ]
)


@dataclass
class Attribution:
    text: str  # the supported sentences, each with our marker
    sentences: list[SentenceSupport]
    cited: list[tuple[int, str]]  # (n, entry_id) in order of first use
    unsupported: int
    dropped_markers: int  # model markers removed (outside the retrieved set or unsupported)


def content_set(text: str) -> set[str]:
    """The words of `text` that can carry support (no stop words, longer than two letters)."""
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 2}


def _lexical(sentence: str, passage_words: set[str]) -> float:
    words = content_set(sentence)
    return len(words & passage_words) / len(words) if words else 0.0


def support(cosine: float, sentence: str, passage_words: set[str]) -> float:
    """How well a passage supports a sentence: 0.6 * their cosine + 0.4 * the share of the
    sentence's content words the passage has (`passage_words = content_set(passage)`)."""
    return 0.6 * cosine + 0.4 * _lexical(sentence, passage_words)


def _with_marker(sentence: str, n: int) -> str:
    """'A is B.' -> 'A is B [1].'"""
    if sentence[-1] in ".!?":
        return f"{sentence[:-1].rstrip()} [{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


_DISTINCT = re.compile(r"\b(?:[A-Za-z]*\d[\w.-]*|[A-Z]{2,}[a-z]?)\b")


def ungrounded(sentence: str, context_text: str, foreign: set[str]) -> list[str]:
    """Tokens a sentence asserts that no retrieved entry contains: numbers, names like GPT-4 or
    70B, acronyms, and words the glossary never uses at all (`foreign`, e.g. 'word2vec')."""
    low = context_text.casefold()
    out = [t for t in _DISTINCT.findall(sentence) if t.casefold() not in low]
    out += [w for w in _WORD.findall(sentence.casefold()) if w in foreign]
    return out


def attribute(
    answer: str,
    context: list[ContextEntry],
    embedder: Embedder,
    *,
    min_support: float = MIN_SUPPORT,
    foreign: set[str] | frozenset[str] = frozenset(),
) -> Attribution:
    raw_sentences = split_sentences(answer)
    if not raw_sentences or not context:
        return Attribution("", [], [], len(raw_sentences), 0)
    plain, proposed = [], []
    for s in raw_sentences:
        numbers = [int(x) for m in _MARKER.finditer(s) for x in m.group(1).split(",")]
        proposed.append(numbers)
        plain.append(_MARKER.sub("", s).strip())
    vectors = embedder.embed([*plain, *(c.text for c in context)])
    sent_v, ctx_v = vectors[: len(plain)], vectors[len(plain) :]
    cosine = np.clip(sent_v @ ctx_v.T, 0, 1)
    words = [content_set(f"{c.term} {c.text}") for c in context]
    context_text = " ".join(f"{c.term} {c.text}" for c in context)
    numbering: dict[str, int] = {}
    out_sentences, parts = [], []
    unsupported = dropped = 0
    for i, sentence in enumerate(plain):
        if not sentence:
            continue
        scores = [support(float(cosine[i, j]), sentence, words[j]) for j in range(len(context))]
        chosen: int | None = None
        for n in proposed[i]:
            j = n - 1
            if 0 <= j < len(context) and scores[j] >= min_support:
                chosen = j if chosen is None or scores[j] > scores[chosen] else chosen
            else:
                dropped += 1
        if chosen is None:
            best = int(np.argmax(scores))
            chosen = best if scores[best] >= min_support else None
        if ungrounded(sentence, context_text, set(foreign)):
            chosen = None  # it states something (a number, a name) the entries do not contain
        if chosen is None:  # flagged in `sentences`, left out of the answer text
            unsupported += 1
            out_sentences.append(SentenceSupport(text=sentence, citation=None, support=round(max(scores), 3)))
            continue
        entry_id = context[chosen].entry_id
        n = numbering.setdefault(entry_id, len(numbering) + 1)
        out_sentences.append(SentenceSupport(text=sentence, citation=n, support=round(scores[chosen], 3)))
        parts.append(_with_marker(sentence, n))
    cited = [(n, eid) for eid, n in numbering.items()]
    return Attribution(" ".join(parts), out_sentences, cited, unsupported, dropped)
