"""Find mentions of glossary terms in prose, so the renderer can link them to their entries.

The rules are the resolver's (`assistant.retrieval.resolver.TermResolver`), reused rather than
copied: its key table (terms win over aliases), its "specific enough to count when contained"
set (several words, an acronym or notation, or a long single-word term) and its cased acronyms
(CLIP only in capitals). On top of those, for reading rather than for questions:

- longest match first: overlapping candidates are taken by (words, characters), like `resolve`;
- once per paragraph: an entry is linked at its first mention in a paragraph (`Scope`);
- never the entry's own term: the page's own entry still *claims* its mentions, so "induction
  head" on the Induction head page is neither linked nor split into a link for "head";
- never inside code: the renderer only offers plain text segments to `find`.

Matching is on words: each word is folded like `textnorm.fold` (casefold, plural cut), and the
words of a multi-word term may be separated only by spaces, hyphens, underscores or slashes,
so a match never spans a sentence boundary. This module returns spans; escaping and markup are
`render.py`'s job. Compromise: a term written with punctuation inside a word ("Nanda's") is
matched on its words, so possessives of single-word terms are not linked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.textnorm import singular
from assistant.types import Entry

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # fold splits at underscores too
_JOINER = re.compile(r"[\s_\-/]+")  # what may separate the words of one term (fold's separators)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    entry_id: str


def _word_key(word: str) -> str:
    return singular(re.sub(r"['’]", "", unicodedata.normalize("NFKC", word).casefold()))


class TermLinker:
    """Spans of `text` that name a glossary entry.

    >>> # linker.find("Superposition explains polysemantic neurons.", own="superposition")
    >>> # -> [Mention(start=23, end=43, entry_id="neuron-polysemanticity")]
    """

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        from assistant.retrieval.resolver import TermResolver  # the matching rules live there

        resolver = TermResolver(dict(entries), frozenset())
        self.entries = entries
        self.cased = dict(resolver.cased)
        # first folded word -> [(words of the key, key)], longest first
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._table: dict[str, str] = {}
        for key in resolver.specific:
            words = tuple(key.split())
            if not words:
                continue
            self._table[key] = resolver.table[key]
            self._by_first.setdefault(words[0], []).append((words, key))
        for cands in self._by_first.values():
            cands.sort(key=lambda wk: (-len(wk[0]), -len(wk[1])))

    def find(self, text: str, *, own: str = "") -> list[Mention]:
        """Every non-overlapping mention (longest first), in order; `own`'s mentions are left out."""
        words = [(m.start(), m.end(), _word_key(m.group())) for m in _WORD.finditer(text)]
        candidates: list[tuple[int, int, int, int, str]] = []  # (-n words, -len, first, last, key)
        for i, (_, _, w) in enumerate(words):
            for key_words, key in self._by_first.get(w, ()):
                n = len(key_words)
                if i + n > len(words):
                    continue
                if any(words[i + j][2] != key_words[j] for j in range(1, n)):
                    continue
                if any(not _JOINER.fullmatch(text[words[i + j - 1][1] : words[i + j][0]]) for j in range(1, n)):
                    continue
                start, end = words[i][0], words[i + n - 1][1]
                if key in self.cased and not text[start:end].startswith(self.cased[key]):
                    continue
                candidates.append((-n, -len(key), i, i + n - 1, key))
        candidates.sort()
        taken = [False] * len(words)
        chosen: list[Mention] = []
        for _, _, first, last, key in candidates:
            if any(taken[first : last + 1]):
                continue
            for j in range(first, last + 1):
                taken[j] = True
            entry_id = self._table[key]
            if entry_id != own:
                chosen.append(Mention(words[first][0], words[last][1], entry_id))
        return sorted(chosen, key=lambda m: m.start)

    def card(self, entry_id: str) -> tuple[str, str]:
        """(term, summary) for the hover card."""
        entry = self.entries[entry_id]
        return entry.term, entry.summary

    def keys_for(self, entry_id: str) -> list[str]:
        """The folded keys that link to `entry_id` (for tests and diagnostics)."""
        return sorted(k for k, v in self._table.items() if v == entry_id)


@dataclass
class Scope:
    """One rendering's linking state: the linker, the page's own entry, and the entries already
    linked in the current paragraph (`paragraph()` starts a new one)."""

    linker: TermLinker
    own: str = ""
    seen: set[str] = field(default_factory=set)

    def paragraph(self) -> Scope:
        return Scope(self.linker, self.own)

    def take(self, text: str) -> list[Mention]:
        """Mentions in `text` to link now: the first of each entry not yet linked in this paragraph."""
        out = []
        for m in self.linker.find(text, own=self.own):
            if m.entry_id not in self.seen:
                self.seen.add(m.entry_id)
                out.append(m)
        return out
