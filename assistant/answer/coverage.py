"""Decide whether the glossary covers a question, from retrieval alone (no model call).

A question that names a glossary term (exact or typo-tolerant match of its subject) is covered.
Otherwise the best dense cosine of any chunk must reach `coverage_threshold`, calibrated on
the dev eval set; a term merely contained in a longer question lowers the bar a little
(`contained_margin`), because "how do I fine-tune with LoRA" names "fine-tuning" but asks
about something we do not cover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.retrieval.retriever import SearchResult
    from assistant.settings import RetrievalSettings

CONTAINED_MARGIN = 0.08


def is_covered(result: SearchResult, settings: RetrievalSettings) -> bool:
    if not result.hits:
        return False
    if any(m.how in ("exact", "fuzzy") for m in result.matches):
        return True
    threshold = settings.coverage_threshold
    if result.matches:
        threshold -= CONTAINED_MARGIN
    return result.best_dense >= threshold
