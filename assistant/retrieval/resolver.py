"""Find the glossary terms a query names: exact, contained, or slightly misspelled.

Matching is on `fold()` keys (case-, plural-, hyphen-insensitive). A whole question reduced to
its subject ("what is an induction head?" -> "induction head") may match any term or alias; a
term merely contained in a longer question must be specific enough (several words, an acronym
or notation, or a long single-word term), so that "key" in "the key difference" does not pin
the Key entry. Typos are forgiven only for the whole subject, via rapidfuzz.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from assistant.textnorm import fold
from assistant.types import Entry

_FRAMING = re.compile(
    r"^(?:(?:so|ok|okay|and|but|hi|hey|please|pls)[, ]+)*"
    r"(?:what(?:'s|’s|s| is| are| does| do)?|who(?:'s| is| are)?|define|definition of|explain|describe|meaning of|"
    r"tell me about|tell me what|can you explain|could you explain|give me|eli5|how do(?:es)?|why (?:is|are|do|does))?\b\s*"
    r"(?:(?:you|me|us)\s+)?(?:by\s+)?(?:(?:a|an|the)\s+)?",
    re.I,
)
_TRAILING = re.compile(
    r"\s*(?:mean|means|stand for|refer to|in (?:mech(?:anistic)? ?interp(?:retability)?|mi|transformers?|"
    r"interpretability|ml|machine learning)|work|do|exactly|actually|again|briefly|please)?\s*[?.!]*\s*$",
    re.I,
)


@dataclass(frozen=True)
class TermMatch:
    entry_id: str
    key: str
    how: str  # "exact" | "contained" | "fuzzy"


def subject_of(query: str) -> str:
    """Strip question framing. `subject_of("What is an induction head?") == "induction head"`."""
    text = query.strip()
    for _ in range(2):
        text = _TRAILING.sub("", _FRAMING.sub("", text, count=1)).strip(" \"'`")
    return text


class TermResolver:
    def __init__(self, entries: dict[str, Entry]) -> None:
        self.table: dict[str, str] = {}
        self.specific: set[str] = set()
        for entry in sorted(entries.values(), key=lambda e: e.id):  # terms win over aliases
            self._add(fold(entry.term), entry.id, entry.term, is_term=True)
        for entry in sorted(entries.values(), key=lambda e: e.id):
            for alias in entry.aliases:
                self._add(fold(alias), entry.id, alias, is_term=False)
        self._keys = list(self.table)
        self._by_len = sorted((k for k in self.specific), key=lambda k: (-len(k.split()), -len(k)))

    def _add(self, key: str, entry_id: str, raw: str, *, is_term: bool) -> None:
        if not key or key in self.table:
            return
        self.table[key] = entry_id
        words = key.split()
        if len(words) >= 2 or re.search(r"[A-Z]{2,}|\d|_", raw) or (is_term and len(key) >= 7):
            if len(key) >= 3:
                self.specific.add(key)

    def resolve(self, query: str, *, fuzzy_cutoff: int = 88) -> list[TermMatch]:
        """Matches in order of appearance; the exact subject match first."""
        subject = fold(subject_of(query))
        if subject in self.table:
            return [TermMatch(self.table[subject], subject, "exact")]
        folded = f" {fold(query)} "
        found: list[tuple[int, TermMatch]] = []
        taken: list[tuple[int, int]] = []
        for key in self._by_len:
            start = folded.find(f" {key} ")
            if start < 0:
                continue
            span = (start, start + len(key) + 1)
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            entry_id = self.table[key]
            if all(m.entry_id != entry_id for _, m in found):
                found.append((start, TermMatch(entry_id, key, "contained")))
        if found:
            return [m for _, m in sorted(found, key=lambda x: x[0])]
        if 4 <= len(subject) <= 60 and len(subject.split()) <= 6:
            best = process.extractOne(subject, self._keys, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff)
            if best:
                return [TermMatch(self.table[best[0]], best[0], "fuzzy")]
        return []
