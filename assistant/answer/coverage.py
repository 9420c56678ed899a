"""Decide whether the glossary covers a question, from retrieval alone (no model call).

Three rules, calibrated on the dev eval set (`mi-glossary eval calibrate`):
1. A question that names a glossary term (its subject matches a term or alias, typos allowed)
   is covered.
2. A definitional question about a short subject that names no entry ("what is speculative
   decoding?") is not covered: the user asked for a term we do not have, however close its
   neighbours are in embedding space.
3. Otherwise the best dense cosine of any chunk must reach `coverage_threshold`, raised by
   `UNKNOWN_WORD_MARGIN` when the question uses words the glossary never does ("word2vec",
   "parallelism"): near misses about other topics often share our vocabulary but for those words.
   On dev this took abstention from 0.93 to 0.97 for +0.5 points of false refusals.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

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


def is_covered(result: SearchResult, settings: RetrievalSettings) -> bool:
    if not result.hits:
        return False
    if any(m.how in ("exact", "fuzzy") for m in result.matches):
        return True
    subject = subject_of(result.query)
    if _DEFINITIONAL.match(result.query) and len(subject.split()) <= SHORT_SUBJECT_WORDS and not result.matches:
        return False
    threshold = settings.coverage_threshold + (UNKNOWN_WORD_MARGIN if result.unknown_words else 0.0)
    return result.best_dense >= threshold
