"""Answers composed from the glossary's own sentences: the verified text carries every fact.

A small local model paraphrasing correct entries makes about one answer in four false (a swapped
role, a wrong yes/no, the neighbouring concept). So the default answer quotes: it picks sentences
of the retrieved entries for the question and puts them in a shape that fits what was asked.
No sentence is written by a model; the only words of ours are fixed connectives ("The closest
glossary entry is X.", "X:" before its definition) that claim no more than retrieval knows.

Shapes (`classify`):
- `define`  what is X: X's summary, then the closest sentences of its "What it is" part.
- `name`    what is it called when ...: "The closest glossary entry is X." then X's summary.
- `how` / `cause` / `why`  the summary, then the sentences of the matching section ("How it
  works" for how X works and why X happens, "Why it matters" for why X matters), best first.
- `compare` X vs Y, how do X and Y relate: both summaries, then the sentences of either entry
  that mention the other.
- `limits`  pitfalls of X, when does X mislead: the summary, then its "Pitfalls".
- `list`    kinds of X: the summary, then what each kind is when the glossary has entries
  named after X ("Zero ablation", "Mean ablation" for ablation), else X's enumerations.

Compromise: a quoted sentence can lean on its neighbours ("It ..."); sentences are kept in entry
order after that entry's summary so the antecedent stays close. Yes/no questions get the facts
that decide them, not a yes or no we cannot check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assistant.answer.guard import clean_output, sanitize_passage
from assistant.retrieval.lexicon import content_words, stem

if TYPE_CHECKING:
    from assistant.types import Entry

Shape = Literal["define", "name", "how", "why", "cause", "limits", "compare", "list"]
SHAPES: tuple[Shape, ...] = ("define", "name", "how", "why", "cause", "limits", "compare", "list")

_COMPARE = re.compile(
    r"\b(?:vs\.?|versus|differ(?:s|ent|ence|ences)?|compare[ds]?|comparison|contrast|same (?:thing )?as|"
    r"relate[sd]?|relation(?:ship)?|related to|distinguish|unlike|in common|the same\b)",
    re.I,
)
_NAME = re.compile(
    r"\b(?:what(?:'s| is| are)? (?:it|this|that|they) called|what do (?:you|we|people|researchers) call|"
    r"(?:what|which) (?:is|'s) the (?:name|term|word)|(?:is there|what is) a (?:name|term|word)|"
    r"(?:name|term|word) for|called when|is called|known as|what concept|which concept|which term|"
    r"what term|the name of)\b",
    re.I,
)
_LIST = re.compile(
    r"\b(?:what (?:kinds|types|sorts|forms|variants|examples) of|(?:kinds|types|variants|examples) of|"
    r"list (?:the|some)|name (?:the|some|a few)|which .{1,40} are there|what are the (?:parts|components|steps))\b",
    re.I,
)
_WHY = re.compile(
    r"^\s*why\b|\bwhy (?:do|does|is|are|did|would|should|can)\b|\bwhy it matters\b|"
    r"\bwhat is the point\b|\bwhat (?:is|are) .{1,40} (?:good|useful) for\b|\bmatter\b",
    re.I,
)
_LIMITS = re.compile(
    r"\b(?:limitations?|pitfalls?|problems?|drawbacks?|weakness(?:es)?|caveats?|mislead\w*|fails?|"
    r"failure modes?|go wrong|goes wrong|downsides?|gotchas?|careful)\b",
    re.I,
)
# "why does X matter" asks for significance; "why does X happen" for a cause (the mechanism).
_MATTERS = re.compile(r"\b(?:matter|matters|important|useful|care|point|significan\w*|good for|worth)\b", re.I)
_HOW = re.compile(
    r"^\s*how\b|\bhow (?:do|does|is|are|can|did|would)\b|\bwhat happens\b|\bwhat does .{1,60} do\b|"
    r"\bused for\b|\bmechanism\b|\bwork(?:s)?\b\??$|\bstep by step\b",
    re.I,
)

# Section headings of our entries that answer each shape (lower-cased prefixes), best first. The
# corpus's headings: What it is (311 entries), Pitfalls (303), Why it matters (261), Intuition
# (152), Example (129), and a few Recipe / In practice / How it works / When it misleads.
_SECTIONS: dict[Shape, tuple[str, ...]] = {
    "define": ("what it is", "intuition"),
    "how": ("how it works", "recipe", "the recipe", "in practice", "what it is", "example", "intuition"),
    "cause": ("how it works", "intuition", "what it is", "why it matters"),
    "why": ("why it matters", "uses", "in practice", "what it shows", "what it is"),
    "limits": ("pitfalls", "when it misleads", "fixes", "why it matters"),
    "list": ("kinds", "types", "variants", "examples", "what it is"),
    "compare": (),
    "name": (),
}
_MIN_WORDS = 5
_LOOKS_CITED = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
_MAX_KINDS = 6
_EXTRA = {"define": 2, "how": 3, "why": 3, "cause": 3, "limits": 3, "list": 3, "compare": 2, "name": 1}


def classify(question: str, n_named: int, pinned: bool = False) -> Shape:
    """The shape an answer to `question` should take.

    `n_named` = distinct entries it mentions; `pinned` = one of them is its subject ("what is X").

    Example:
        >>> classify("What is the difference between a QK and an OV circuit?", 2)
        'compare'
        >>> classify("what is it called when one neuron fires for unrelated things", 0)
        'name'
    """
    if _COMPARE.search(question) and n_named >= 1:
        return "compare"
    if _NAME.search(question) and not pinned:  # "what do you call a head that ..." mentions "head"
        return "name"
    if _LIMITS.search(question):
        return "limits"
    if _LIST.search(question):
        return "list"
    if _WHY.search(question):
        return "why" if _MATTERS.search(question) else "cause"
    if _HOW.search(question):
        return "how"
    if n_named >= 2 and re.search(r"\band\b", question, re.I) and re.match(r"\s*(?:how|what)\b", question, re.I):
        return "compare"
    return "define"


@dataclass(frozen=True)
class Quote:
    """One sentence of an entry, with the heading it sits under (`""` for the summary)."""

    entry_id: str
    heading: str
    text: str
    position: int
    bullet: bool = False  # from a list item of the entry


@dataclass(frozen=True)
class Composition:
    """The answer as (entry id, sentence) pairs in order, plus the shape chosen."""

    shape: Shape
    lead: str
    quotes: tuple[Quote, ...]


def _clean(sentence: str) -> str:
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", sentence)
    text = re.sub(r"\*\*([^*]+)\*\*|__([^_]+)__", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"(?<![\w`])\*([^*\n]+)\*(?![\w`])", r"\1", text)
    return " ".join(clean_output(text).split())


# Sentence ends: . ! ? followed by space and a capital, a quote, a parenthesis or a backtick; not
# after common abbreviations, initials or inside `code`.
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|cf|etc|Fig|Eq|Sec|approx|resp|al|Dr|Mr|Ms|No)|\b[A-Z])\.$")
_END = re.compile(r"[.!?](?=\s+[\"'(`A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, leaving `code spans` and abbreviations whole.

    Example:
        >>> split_sentences("It implements `[A][B] ... [A] -> [B]`. Olsson et al. define it. Done.")
        ['It implements `[A][B] ... [A] -> [B]`.', 'Olsson et al. define it.', 'Done.']
    """
    spans = [m.span() for m in re.finditer(r"`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|\([^()\n]*\)", text)]
    out, begin = [], 0
    for m in _END.finditer(text):
        at = m.end()
        if any(a < at < b for a, b in spans) or _ABBREV.search(text[begin:at]):
            continue
        out.append(text[begin:at].strip())
        begin = at
    out.append(text[begin:].strip())
    return [x for x in out if x]


def entry_quotes(entry: Entry) -> list[Quote]:
    """The entry's summary, then each sentence of its body under its `## heading`, cleaned.

    Sentences that cannot stand alone are left out: fragments, list lead-ins ending in ':',
    anything the passage sanitiser removes (instruction-like text, links).
    """
    summary = _clean(sanitize_passage(entry.summary)[0])
    out = [Quote(entry.id, "", summary, 0)] if summary else []
    heading = ""
    body = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", entry.body, flags=re.S | re.M)  # code blocks do not read as prose
    for block in re.split(r"\n(?=#{1,6} )|\n{2,}", body):
        block = block.strip()
        if block.startswith("#"):
            first, _, block = block.partition("\n")
            heading = first.lstrip("#").strip().lower()
        for line in re.split(r"\n(?=\s*(?:[-*+]|\d+[.)])\s)", block):
            bullet = bool(re.match(r"\s*(?:[-*+]|\d+[.)])\s", line))
            clean, _removed = sanitize_passage(" ".join(line.split()))
            for piece in split_sentences(" ".join(clean.split())):
                text = _clean(piece)
                if (
                    len(text.split()) >= _MIN_WORDS
                    and text[-1:] in ".!?)\"'`"
                    and not text.endswith("..")
                    and not text[:1].islower()  # a lower-case start continues something left out
                    and not _LOOKS_CITED.search(text)
                ):  # "[1, 10]" would read as our citation markers
                    out.append(Quote(entry.id, heading, text, len(out), bullet))
    return out


class Composer:
    """Chooses and orders quoted sentences for a question (lexical, instant; no model, no embedding).

    A sentence scores by the IDF-weighted stems it shares with the question (the entry's own term
    words excluded: every sentence of the entry has them), plus a bonus when it sits in the
    section that answers the question's shape, minus a little for lying deep in the entry.
    """

    def __init__(self, entries: dict[str, Entry]) -> None:
        self._entries = entries
        self._cache: dict[str, list[tuple[Quote, frozenset[str]]]] = {}
        self._idf: dict[str, float] | None = None

    def _quotes(self, entry_id: str) -> list[tuple[Quote, frozenset[str]]]:
        if entry_id not in self._cache:
            self._cache[entry_id] = [(q, _stems(q.text)) for q in entry_quotes(self._entries[entry_id])]
        return self._cache[entry_id]

    def _weights(self) -> dict[str, float]:
        if self._idf is None:
            df: dict[str, int] = {}
            for entry in self._entries.values():
                for stem_ in _stems(f"{entry.term} {entry.summary} {entry.body}"):
                    df[stem_] = df.get(stem_, 0) + 1
            n = len(self._entries)
            self._idf = {w: math.log(1 + n / c) for w, c in df.items()}
        return self._idf

    def compose(
        self, question: str, entry_ids: Sequence[str], named: Sequence[str], *, pinned: bool = False
    ) -> Composition:
        """Quote the entries `entry_ids` (best first) for `question`; `named` = entries it mentions,
        `pinned` = the first of `entry_ids` is the question's subject."""
        shape = classify(question, len(named), pinned)
        if not entry_ids:
            return Composition(shape, "", ())
        if shape == "compare":
            pair = list(dict.fromkeys([*named, *entry_ids]))[:2]
            return Composition(shape, "", tuple(self._compare(pair, question)))
        main = entry_ids[0]
        quotes = self._quotes(main)
        if not quotes:
            return Composition(shape, "", ())
        chosen = [quotes[0][0]] if quotes[0][0].heading == "" else []
        kinds = self.kinds_of(main) if shape == "list" else []
        if kinds:  # "TopK SAE", "Gated SAE" ... are kinds of "SAE": quote what each one is
            kind_quotes = [self._quotes(k)[0][0] for k in kinds[:_MAX_KINDS] if self._quotes(k)]
            return Composition(shape, "", tuple(chosen + kind_quotes))
        chosen += self._best(main, question, shape, _EXTRA[shape], exclude=chosen)
        lead = ""
        if shape == "name":
            entry = self._entries[main]
            aliases = [a for a in entry.aliases if a.casefold() != entry.term.casefold()][:2]
            also = f" (also: {', '.join(aliases)})" if aliases else ""
            # Retrieval knows the nearest entry, not that the description means it: say exactly that
            # (a fresh audit counted "The term for this is X" as false when retrieval picked wrong).
            lead = f"The closest glossary entry is {entry.term}{also}."
        chosen.sort(key=lambda q: q.position)
        return Composition(shape, lead, tuple(chosen))

    def kinds_of(self, entry_id: str) -> list[str]:
        """Entries whose term ends in this entry's term or an alias ("Zero ablation" for "Ablation"),
        the ones it links first. Example: kinds_of("ablation") -> ["zero-ablation", "mean-ablation", ...]."""
        main = self._entries[entry_id]
        names = {n.casefold() for n in (main.term, *main.aliases) if len(n) >= 3}
        out = []
        for eid, e in self._entries.items():
            if eid == entry_id:
                continue
            term = e.term.casefold()
            if any(term.endswith(" " + n) for n in names) and term not in names:
                out.append(eid)
        linked = set(main.related)
        return sorted(out, key=lambda eid: (eid not in linked, self._entries[eid].term.casefold()))

    def _scores(self, entry_id: str, question: str, shape: Shape) -> list[tuple[float, Quote]]:
        entry = self._entries[entry_id]
        own = _stems(" ".join([entry.term, *entry.aliases]))
        asked = _stems(question) - own - _QUESTION_WORDS
        idf = self._weights()
        preferred = _SECTIONS[shape]
        out = []
        for q, stems_ in self._quotes(entry_id):
            if q.heading == "":
                continue
            overlap = sum(idf.get(w, 1.0) for w in asked & stems_)
            rank = next((i for i, p in enumerate(preferred) if q.heading.startswith(p)), None)
            bonus = 0.0 if rank is None else 2.0 * (1 - rank / len(preferred))
            if shape == "list" and (q.bullet or q.text.count(",") >= 2):
                bonus += 1.5  # a list question wants the entry's enumerations
            out.append((overlap + bonus - 0.05 * q.position, q))
        return out

    def _best(self, entry_id: str, question: str, shape: Shape, n: int, exclude: Sequence[Quote] = ()) -> list[Quote]:
        scored = [(sc, q) for sc, q in self._scores(entry_id, question, shape) if sc > 0 and q not in exclude]
        scored.sort(key=lambda t: -t[0])
        picked: list[Quote] = []
        stems_of = dict(self._quotes(entry_id))  # computed once per entry, when it was first quoted
        taken = [stems_of.get(q) or _stems(q.text) for q in exclude]
        for _, q in scored:
            stems_ = stems_of[q]
            if any(len(stems_ & t) > 0.8 * max(1, min(len(stems_), len(t))) for t in taken):
                continue  # says nearly what an earlier quote said
            picked.append(q)
            taken.append(stems_)
            if len(picked) == n:
                break
        return picked

    def _compare(self, pair: list[str], question: str) -> list[Quote]:
        out: list[Quote] = []
        for i, eid in enumerate(pair):
            quotes = self._quotes(eid)
            if not quotes:
                continue
            group = [quotes[0][0]] if quotes[0][0].heading == "" else []
            if len(pair) == 2:
                other = self._entries[pair[1 - i]]
                names = sorted({other.term, *other.aliases}, key=len, reverse=True)
                pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
                scored = [(sc, q) for sc, q in self._scores(eid, question, "compare") if pattern.search(q.text)]
                scored.sort(key=lambda t: -t[0])
                group += sorted((q for _, q in scored[: _EXTRA["compare"]]), key=lambda q: q.position)
            out.extend(group)
        return out


_QUESTION_WORDS = frozenset(
    stem(w)
    for w in (
        "what",
        "which",
        "how",
        "why",
        "does",
        "work",
        "mean",
        "called",
        "name",
        "term",
        "difference",
        "differ",
        "relate",
        "relation",
        "compare",
        "same",
        "thing",
        "kind",
        "type",
        "example",
        "explain",
        "describe",
    )
)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(text))
