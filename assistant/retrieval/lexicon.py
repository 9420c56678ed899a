"""What the glossary's words say about a question: the lexical half of the coverage decision.

Near-miss questions ("how does word2vec learn embeddings", "why do vanishing gradients happen in
RNNs") share most of their words with the glossary and embed close to it; what gives them away is
the one rare, specific word the glossary never explains. Two signals, both cheap:

- *foreign* words: rare in English (wordfreq Zipf frequency below `foreign_zipf`), not a word the
  glossary uses (compared by Snowball stem), and not a one-edit typo of one. Everyday
  words ("relationship", "weird") never count, however absent from the glossary.
- *missing rare* words: a very rare word (Zipf below `rare_zipf`) that the glossary does use
  somewhere, but none of the retrieved entries does ("dropout" asked about, "rnns" retrieved for).

Instruction-like sentences (the same definition the corpus lint and prompt guard use) are left
out first, so an injected payload's words never decide what the question is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

from assistant.injection import sentences, suspicious
from assistant.textnorm import singular
from assistant.types import Entry, Source

WORDS = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    "what is are the a an of to in on for and or how does do why which who when where can could would should i you "  # noqa: SIM905
    "we it its this that with from by as be been use used using about between difference explain define tell me "
    "work works mean means".split()
)
_STEMMER = Stemmer.Stemmer("english")
# Shorthand people write for words the glossary spells out.
_SHORTHAND = {
    "interp": "interpretability",
    "mech": "mechanistic",
    "attn": "attention",
    "nn": "neural network",
    "nns": "neural networks",
}
_SHORTHAND_RE = re.compile(r"\b(" + "|".join(_SHORTHAND) + r")\b", re.I)


def expand_shorthand(text: str) -> str:
    """`expand_shorthand("white box interp") == "white box interpretability"`."""
    return _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1).lower()], text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(singular(word))


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    return zipf_frequency(word, "en")


def words(text: str) -> list[str]:
    return WORDS.findall(text.casefold())


def topic_text(query: str) -> str:
    """The query without its instruction-like sentences (all of it if every sentence is one)."""
    parts = sentences(query)
    kept = [s for s in parts if not suspicious(s)]
    return " ".join(kept) if kept else query


@lru_cache(maxsize=256)
def _topic_words(query: str) -> tuple[str, ...]:
    """Content words of the question's topic, shorthand expanded ("interp" is not a rare word).
    Cached: one search asks for the foreign and the missing rare words of the same query."""
    return tuple(content_words(expand_shorthand(topic_text(query))))


def content_words(text: str) -> list[str]:
    """Distinct words that can carry a topic: no stop words, no one- or two-letter tokens, no numbers."""
    return [w for w in dict.fromkeys(words(text)) if w not in STOP and len(w) > 2 and not w.isdigit()]


class Lexicon:
    """The glossary's vocabulary: raw words, stems, and the stems of each entry."""

    def __init__(
        self,
        entries: dict[str, Entry],
        sources: dict[str, Source],
        *,
        foreign_zipf: float,
        rare_zipf: float,
        generic_share: float,
    ) -> None:
        """The thresholds are `RetrievalSettings.foreign_zipf`, `rare_zipf` and `generic_share`."""
        self.foreign_zipf, self.rare_zipf = foreign_zipf, rare_zipf
        self.entry_stems: dict[str, frozenset[str]] = {}
        raw: set[str] = set()
        for e in entries.values():
            ws = words(" ".join([e.term, *e.aliases, e.summary, e.body]))
            raw.update(ws)
            self.entry_stems[e.id] = frozenset(stem(w) for w in ws)
        self.entry_words = frozenset(raw)  # the entries' own words (sources below add to `raw`)
        for src in sources.values():
            raw.update(words(f"{src.title} {src.body}"))
        df: dict[str, int] = {}
        for stems in self.entry_stems.values():
            for s in stems:
                df[s] = df.get(s, 0) + 1
        # the field's own everyday words ("interpretability", "transformer"): never a missing topic
        self.generic = frozenset(s for s, n in df.items() if n >= max(3, generic_share * len(entries)))
        self.raw = frozenset(raw)
        self.stems = frozenset(stem(w) for w in raw)
        self._by_len: dict[int, list[str]] = {}
        for w in raw:
            self._by_len.setdefault(len(w), []).append(w)

    def known(self, word: str) -> bool:
        return word in self.raw or stem(word) in self.stems

    def typo_of_known(self, word: str) -> bool:
        """One edit away from a glossary word ("superpositon"; "interpretml" is not "interpreted").

        A swap of two neighbouring letters counts as one edit ("rmsnrom" for "rmsnorm"): optimal
        string alignment distance, not plain Levenshtein (which counts a swap as two)."""
        for n in range(len(word) - 1, len(word) + 2):
            pool = self._by_len.get(n)
            if pool and process.extractOne(word, pool, scorer=OSA.distance, score_cutoff=1):
                return True
        return False

    def unknown(self, query: str) -> list[str]:
        """Content words the glossary never uses in exactly this form."""
        return [w for w in content_words(query) if w not in self.raw]

    def foreign(self, query: str) -> list[str]:
        """Rare words of the question's topic that the glossary never uses (typos excluded)."""
        return [
            w
            for w in _topic_words(query)
            if zipf(w) < self.foreign_zipf and not self.known(w) and not self.typo_of_known(w)
        ]

    def missing_rare(self, query: str, entry_ids: Sequence[str]) -> list[str]:
        """Very rare glossary words of the question that none of `entry_ids` uses."""
        stems = [self.entry_stems.get(e, frozenset()) for e in entry_ids]
        return [
            w
            for w in _topic_words(query)
            if zipf(w) < self.rare_zipf
            and self.known(w)
            and stem(w) not in self.generic
            and not any(stem(w) in s for s in stems)
        ]
