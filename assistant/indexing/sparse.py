"""BM25 (bm25s) over chunk texts; saved as .npy + JSON, loaded with allow_pickle=False."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from assistant.errors import IndexCorrupt

STOPWORDS = "en"


def _bm25s():
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def write_sparse(texts: list[str], folder: Path) -> None:
    bm25s = _bm25s()
    retriever = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords=STOPWORDS, show_progress=False)
    retriever.index(tokens, show_progress=False)
    retriever.save(str(folder), show_progress=False)


class SparseIndex:
    def __init__(self, folder: Path) -> None:
        bm25s = _bm25s()
        self._bm25s = bm25s
        try:
            self._retriever = bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False, load_corpus=False)
            self.ntotal = int(self._retriever.scores["num_docs"])
        except (OSError, ValueError, KeyError, EOFError) as exc:  # checksums passed: written wrong
            raise IndexCorrupt(
                f"{folder} cannot be read by bm25s ({exc})", "rebuild: `mi-glossary index build`"
            ) from None

    def search(self, query: str, k: int) -> tuple[list[int], list[float]]:
        tokens = self._bm25s.tokenize([query], stopwords=STOPWORDS, show_progress=False)
        if not tokens.vocab or not any(len(t) for t in tokens.ids):
            return [], []
        k = min(k, self.ntotal)
        try:
            docs, scores = self._retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        except (ValueError, KeyError):
            return [], []
        rows = [(int(d), float(s)) for d, s in zip(np.asarray(docs[0]), np.asarray(scores[0]), strict=True) if s > 0]
        return [d for d, _ in rows], [s for _, s in rows]
