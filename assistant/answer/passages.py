"""Tie answer sentences to fetched-source passages, cited as that source next to the entry.

Entries stay the primary citation: a sentence cited [n] to an entry may also be supported by
a passage of a source that entry links (support = 0.6 * cosine + 0.4 * share of the sentence's
content words in the passage, the same measure and bar as entry citations). The passage is then
listed under citation [n] with its source's title, section and link, and the sentence records
the passage's chunk id. Passages never add citation numbers of their own, never change the
answer text, and nothing runs when no passage was retrieved (no source was fetched).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answer.citations import MIN_SUPPORT, content_set, support
from assistant.embedding import Embedder
from assistant.types import Citation, SentenceSupport, SourcePassage

MAX_PER_CITATION = 2


def cite_passages(
    sentences: Sequence[SentenceSupport],
    citations: Sequence[Citation],
    passages: Sequence[SourcePassage],
    embedder: Embedder,
) -> tuple[tuple[SentenceSupport, ...], tuple[Citation, ...]]:
    """(sentences, citations) with supporting passages attached; unchanged when none supports."""
    entry_of = {c.n: c.entry_id for c in citations}
    pairs = [
        (i, j)
        for i, s in enumerate(sentences)
        if s.citation in entry_of
        for j, p in enumerate(passages)
        if entry_of[s.citation] in p.entry_ids
    ]
    if not pairs:
        return tuple(sentences), tuple(citations)
    vecs = embedder.embed([s.text for s in sentences] + [p.text for p in passages])
    sent_vecs, pass_vecs = vecs[: len(sentences)], vecs[len(sentences) :]
    words = [content_set(p.text) for p in passages]
    best: dict[int, tuple[float, int]] = {}
    for i, j in pairs:
        score = support(float(np.dot(sent_vecs[i], pass_vecs[j])), sentences[i].text, words[j])
        if score >= MIN_SUPPORT and score > best.get(i, (0.0, -1))[0]:
            best[i] = (score, j)
    out_sentences = []
    attached: dict[int, list[SourcePassage]] = {}
    for i, s in enumerate(sentences):
        if i in best:
            p = passages[best[i][1]]
            s = s.model_copy(update={"passage": p.chunk_id})
            shown = attached.setdefault(s.citation or 0, [])
            if p not in shown and len(shown) < MAX_PER_CITATION:
                shown.append(p)
        out_sentences.append(s)
    out_citations = tuple(c.model_copy(update={"passages": tuple(attached.get(c.n, ()))}) for c in citations)
    return tuple(out_sentences), out_citations
