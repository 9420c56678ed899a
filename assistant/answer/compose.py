"""Answers composed from the glossary's own sentences: the verified text carries every fact.

A small local model paraphrasing correct entries makes about one answer in four false (a swapped
role, a wrong yes/no, the neighbouring concept). So the default answer quotes: it picks sentences
of the retrieved entries for the question and puts them in a shape that fits what was asked
(`shapes.classify`). No sentence is written by a model; the only words of ours are fixed
connectives ("The closest glossary entry is X.", "X:" before its definition) that claim no more
than retrieval knows.

Shapes:
- `define`  what is X: X's summary, then the closest sentences of its "What it is" part.
- `name`    what is it called when ...: "The closest glossary entry is X." then X's summary.
- `how` / `cause` / `why` / `limits`  the summary, then an explanation: the sentences that share
  most with the question (a heading that shares words with it counts for all its sentences),
  favouring the sections that answer the shape ("Why it fails in early layers" for a why-happens
  question, "The recipe" for how, "Pitfalls" for limits). A sentence that leans on the one
  before it ("So ...") brings that one along, and a step of a list brings its list. When the
  question names two entries, the second one's sentences compete too ("how do cross-layer
  transcoders make attribution graphs simpler" is answered in the transcoder's entry).
- `compare` X vs Y, how do X and Y relate: both summaries, then the sentences of either entry
  that mention the other.
- `list`    kinds of X: the summary, then what each kind is when the glossary has entries
  named after X ("Zero ablation", "Mean ablation" for ablation), else X's enumerations.

Compromise: sentences are kept in entry order after that entry's summary, so an antecedent stays
close. Yes/no questions get the facts that decide them, not a yes or no we cannot check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.quotes import Quote, entry_quotes, leans_back, sets_up
from assistant.answer.shapes import SECTIONS as SECTIONS_OF
from assistant.answer.shapes import Shape, classify, section_rank
from assistant.retrieval.lexicon import content_words, stem
from assistant.retrieval.resolver import lead_subject_clause

if TYPE_CHECKING:
    from assistant.types import Entry

_MAX_KINDS = 6
_EXTRA = {"define": 2, "how": 3, "why": 3, "cause": 3, "limits": 3, "list": 3, "compare": 2, "name": 1}
# "Is X the same as Y", "is X just Y": a yes/no about identity, which separate entries answer.
_SAME = re.compile(
    r"\b(?:same|just|basically|simply|identical|equivalent|synonyms?|another name|interchangeabl\w*)\b", re.I
)
_JOINED_SHARE = 0.6  # of its budget, for each part of a joined question
# Shapes answered by an explanation, and the words it may spend beyond the summary: enough for a
# mechanism of three or four sentences, short enough to read at a glance. A list (of steps, of
# kinds) is brought whole when it fits the budget.
_EXPLAIN_WORDS: dict[Shape, int] = {"how": 150, "cause": 130, "why": 100, "limits": 100, "list": 170, "compare": 120}


@dataclass(frozen=True)
class Composition:
    """The answer as (entry id, sentence) pairs in order, plus the shape chosen."""

    shape: Shape
    lead: str
    quotes: tuple[Quote, ...]
    lead_cites: tuple[str, ...] = ()  # the entries the lead names (default: the first quote's)


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
        self._stems_by_quote: dict[Quote, frozenset[str]] = {}
        self._name_patterns: dict[str, re.Pattern[str]] = {}

    def _quotes(self, entry_id: str) -> list[tuple[Quote, frozenset[str]]]:
        if entry_id not in self._cache:
            self._cache[entry_id] = [(q, _stems(q.text)) for q in entry_quotes(self._entries[entry_id])]
            self._stems_by_quote.update(self._cache[entry_id])
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
        self,
        question: str,
        entry_ids: Sequence[str],
        named: Sequence[str],
        *,
        pinned: bool = False,
        close: Sequence[str] = (),
    ) -> Composition:
        """Quote the entries `entry_ids` (best first) for `question`; `named` = entries it mentions,
        `pinned` = the first of `entry_ids` is the question's subject, `close` = entries retrieval
        could not tell from the first (a description question then names and defines them too)."""
        # The shape is read from the question's own words, not its terms' ("logit difference",
        # "contrast-consistent search" are no comparisons).
        wording = self._unnamed(question, named)
        shape = classify(wording, len(named), pinned)
        if not entry_ids:
            return Composition(shape, "", ())
        sides = list(dict.fromkeys(e for e in named if e in self._entries))
        one_entry = (
            len(sides) == 1 and len({m.group(0).casefold() for m in self._names(sides[0]).finditer(question)}) > 1
        )
        if shape == "compare" and not one_entry:  # "pre-LN vs post-LN" are one entry: explained below
            return self._comparison(question, wording, sides, entry_ids)
        main = sides[0] if shape == "compare" else entry_ids[0]
        if shape == "list":  # "what kinds of ablation": the entry named right after "kinds of", if it has kinds
            main = next((e for e in named if self._listed(e, question) and self.kinds_of(e)), main)
        quotes = self._quotes(main)
        if not quotes:
            return Composition(shape, "", ())
        chosen = [quotes[0][0]] if quotes[0][0].heading == "" else []
        kinds = self.kinds_of(main) if shape == "list" else []
        if kinds:  # "TopK SAE", "Gated SAE" ... are kinds of "SAE": quote what each one is
            kind_quotes = [self._quotes(k)[0][0] for k in kinds[:_MAX_KINDS] if self._quotes(k)]
            return Composition(shape, "", tuple(chosen + kind_quotes))
        # A joined question ("why do dead latents stay dead, and how are they fixed?", "what is it
        # called, and how is it found?") gets each part explained, sharing the words; so does "how
        # does X <qualifiers> work step by step": X's sentences for the first part, then the
        # mechanism for "work step by step" (the sections that answer "how").
        first = lead_subject_clause(question)
        then = question[len(first) :]
        then_shape = classify(then, 1, True) if then.strip() else None
        joined = then_shape in _EXPLAIN_WORDS
        if shape in _EXPLAIN_WORDS:
            others = [e for e in named if e != main and e in self._entries][:1]
            share = _JOINED_SHARE if joined else 1.0
            # "how does X estimate ..., and when does it break down?": each part in its own shape
            lead_shape = classify(self._unnamed(first, named), len(named), pinned) if joined else shape
            lead_shape = lead_shape if lead_shape in _EXPLAIN_WORDS else shape
            chosen += self._explain([main, *others], first if joined else question, lead_shape, chosen, share)
        else:
            chosen += self._best(main, question, shape, _EXTRA[shape], exclude=chosen)
        if joined and then_shape is not None:
            share = _JOINED_SHARE if shape in _EXPLAIN_WORDS else 1.0
            chosen += self._explain([main], then, then_shape, chosen, share)
        cites: tuple[str, ...] = ()
        if shape in ("name", "define") and not pinned and main not in named:  # a description, not "what is DLA"
            lead, cites = self._lead(shape, main, close)
            chosen += [self._quotes(e)[0][0] for e in cites[1:]]
        else:
            lead = self._lead(shape, main, ())[0] if shape == "name" else ""
        order = {e: i for i, e in enumerate(dict.fromkeys([main, *cites, *named]))}
        chosen.sort(key=lambda q: (order.get(q.entry_id, len(order)), q.position))
        return Composition(shape, lead, tuple(chosen), cites)

    def _comparison(self, question: str, wording: str, sides: list[str], entry_ids: Sequence[str]) -> Composition:
        """X vs Y (vs Z): the sides are the named entries; of more than two, the two retrieval ranks
        highest ("feature splitting in SAEs vs neuron splitting" compares the splittings, not
        SAEs), unless the question lists three ("X vs Y vs Z")."""
        three = len(sides) >= 3 and len(re.findall(r"\b(?:vs\.?|versus|or)\b|,", question)) >= 2
        rank = {e: i for i, e in enumerate(entry_ids)}
        ranked_sides = sorted(sides, key=lambda e: rank.get(e, len(rank)))
        group = sides[:3] if three else list(dict.fromkeys([*ranked_sides, *entry_ids]))[:2]
        said = tuple(self._compare(group, question))
        if len(group) > 1 and len(sides) > 1 and _SAME.search(wording):  # "is X just Y?": what we know for sure
            terms = [self._entries[e].term for e in group]
            lead = f"The glossary has separate entries for {', '.join(terms[:-1])} and {terms[-1]}."
            return Composition("compare", lead, said, tuple(group))
        return Composition("compare", "", said)

    def _lead(self, shape: Shape, main: str, close: Sequence[str]) -> tuple[str, tuple[str, ...]]:
        """The sentence of ours before a description question's quotes, and the entries it names.

        Retrieval knows the nearest entry, not that the description means it: the lead says exactly
        that (an audit counted "The term for this is X" as false when retrieval picked wrong). When
        a second entry is as near, or the entry adapter is unsure (`close`), both are named and
        defined: in dev, 26 of 158 descriptions had a second entry within 0.8 of the first, and the
        second was the right one in 10 of them."""
        runner = next((e for e in close if e != main and e in self._entries and self._quotes(e)), None)
        if runner is None:
            if shape != "name":
                return "", ()
            entry = self._entries[main]
            aliases = [a for a in entry.aliases if a.casefold() != entry.term.casefold()][:2]
            also = f" (also: {', '.join(aliases)})" if aliases else ""
            return f"The closest glossary entry is {entry.term}{also}.", ()
        first, second = self._entries[main].term, self._entries[runner].term
        return f"The closest glossary entries are {first} and {second}.", (main, runner)

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
        n_ranks = max(1, len(SECTIONS_OF[shape]))
        heading_weight: dict[str, float] = {}
        out = []
        for q, stems_ in self._quotes(entry_id):
            if q.heading == "":
                continue
            if q.heading not in heading_weight:  # "why it fails in early layers" for "... on early layers?"
                heading_weight[q.heading] = sum(idf.get(w, 1.0) for w in asked & (_stems(q.heading) - _HEADING_WORDS))
            overlap = sum(idf.get(w, 1.0) for w in asked & stems_) + heading_weight[q.heading]
            rank = section_rank(shape, q.heading)
            bonus = 0.0 if rank is None else 2.0 * (1 - rank / n_ranks)
            if shape == "list" and (q.bullet or q.text.count(",") >= 2):
                bonus += 1.5  # a list question wants the entry's enumerations
            out.append((overlap + bonus - 0.05 * q.position, q))
        return out

    def _best(self, entry_id: str, question: str, shape: Shape, n: int, exclude: Sequence[Quote] = ()) -> list[Quote]:
        scored = [(sc, q) for sc, q in self._scores(entry_id, question, shape) if sc > 0 and q not in exclude]
        scored.sort(key=lambda t: -t[0])
        picked: list[Quote] = []
        taken = [self._stems_of(q) for q in exclude]
        for _, q in scored:
            if self._repeats(q, taken):
                continue
            picked.append(q)
            taken.append(self._stems_of(q))
            if len(picked) == n:
                break
        return picked

    def _explain(
        self, entry_ids: Sequence[str], question: str, shape: Shape, exclude: Sequence[Quote], share: float = 1.0
    ) -> list[Quote]:
        """The best sentences of `entry_ids` for a how/why/limits/list question, within a word
        budget. Each brings what it leans on (`_with_context`); a whole list may use up what is
        left. Entries after the first speak only in sentences that name the first. `share`: of the
        shape's budget (each part of a joined question gets some)."""
        main, *others = entry_ids
        scored = self._scores(main, question, shape)
        names = self._names(main)
        for eid in others:
            scored += [(sc, q) for sc, q in self._scores(eid, question, shape) if names.search(q.text)]
        scored = sorted(((sc, q) for sc, q in scored if sc > 0), key=lambda t: -t[0])
        budget = round(_EXPLAIN_WORDS[shape] * share)
        picked: list[Quote] = []
        taken = [self._stems_of(q) for q in exclude]
        for _, q in scored:
            if budget < 15 or len(picked) >= _EXTRA[shape] + 2:
                break
            if q in picked or q in exclude or self._repeats(q, taken):
                continue
            group = [x for x in self._with_context(q, _EXPLAIN_WORDS[shape]) if x not in picked and x not in exclude]
            words = sum(len(x.text.split()) for x in group)
            whole_list = len(group) > 1 and all(x.bullet for x in group)
            if words > budget and picked and not whole_list:
                continue
            if words > budget and not picked:
                group, words = [q], len(q.text.split())  # the best sentence, even when long
            picked += group
            taken += [self._stems_of(x) for x in group]
            budget -= words  # a whole list may overrun what is left (it fits the full budget): then stop
        return picked

    def _with_context(self, q: Quote, max_words: int) -> list[Quote]:
        """`q` with what it needs to be read: its whole list when it is an item of a list of at
        most `max_words`; the sentence before it when it leans back ("So ...", "that bias"); the
        sentence after it when it only sets a case up ("Suppose ...")."""
        quotes = [x for x, _ in self._quotes(q.entry_id)]
        if q.bullet:
            items = [x for x in quotes if x.block == q.block and x.bullet]
            fits = 1 < len(items) <= 8 and sum(len(x.text.split()) for x in items) <= max_words
            return items if fits else [q]
        i = q.position  # a quote's position is its index among its entry's quotes
        out = [q]
        if leans_back(q.text) and i > 1 and quotes[i - 1].heading == q.heading:
            out.insert(0, quotes[i - 1])
        if sets_up(q.text) and i + 1 < len(quotes) and quotes[i + 1].block == q.block:
            out.append(quotes[i + 1])
        return out

    def _listed(self, entry_id: str, question: str) -> bool:
        """The question asks for kinds of this entry ("what types of ablation are there")."""
        of = re.search(
            r"\b(?:kinds|types|sorts|forms|variants|classes|families|examples) of (?:an? |the )?(.+)", question, re.I
        )
        return bool(of and entry_id in self._entries and self._names(entry_id).match(of.group(1)))

    def _unnamed(self, text: str, named: Sequence[str]) -> str:
        """`text` without the names of the `named` entries (their words are not the question's)."""
        for eid in named:
            if eid in self._entries:
                text = self._names(eid).sub(" ", text)
        return text

    def _names(self, entry_id: str) -> re.Pattern[str]:
        """A pattern for the entry's term and aliases, as whole words."""
        if entry_id not in self._name_patterns:
            entry = self._entries[entry_id]
            bare = re.sub(r"\s*\([^()]*\)$", "", entry.term)  # "Contrast-consistent search (CCS)" is also written bare
            short = re.findall(r"^([A-Z]{2,})[- ]", entry.term)  # "OV-circuit" is "(OV)" in a sentence about both
            names = sorted({entry.term, bare, *short, *entry.aliases}, key=len, reverse=True)
            self._name_patterns[entry_id] = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
        return self._name_patterns[entry_id]

    def _stems_of(self, q: Quote) -> frozenset[str]:
        self._quotes(q.entry_id)
        return self._stems_by_quote[q]

    def _repeats(self, q: Quote, taken: Sequence[frozenset[str]]) -> bool:
        """`q` says nearly what one of the sentences already taken says."""
        stems_ = self._stems_of(q)
        return any(len(stems_ & t) > 0.8 * max(1, min(len(stems_), len(t))) for t in taken)

    def _compare(self, group: list[str], question: str) -> list[Quote]:
        """Each entry's summary, then its sentences that name another entry of the group."""
        out: list[Quote] = []
        for eid in group:
            quotes = self._quotes(eid)
            if not quotes:
                continue
            out += [quotes[0][0]] if quotes[0][0].heading == "" else []
            others = [self._names(o) for o in group if o != eid]
            scored = [
                (sc, q) for sc, q in self._scores(eid, question, "compare") if any(n.search(q.text) for n in others)
            ]
            scored.sort(key=lambda t: -t[0])
            out += sorted((q for _, q in scored[: _EXTRA["compare"]]), key=lambda q: q.position)
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
# Words of headings that say nothing about the topic ("Why it matters", "What it is").
_HEADING_WORDS = frozenset(
    stem(w)
    for w in (
        "matter",
        "matters",
        "work",
        "works",
        "interpretability",
        "practice",
        "example",
        "intuition",
        "pitfalls",
        "recipe",
        "shows",
        "use",
        "uses",
    )
)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(text))
