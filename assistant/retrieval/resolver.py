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
from rapidfuzz.distance import Levenshtein

from assistant.retrieval.lexicon import expand_shorthand, zipf
from assistant.textnorm import fold
from assistant.types import Entry

WHAT = r"(?:what|wat|wht|waht|whta)"  # and its common typos
_LEAD = re.compile(
    r"^(?:so|ok|okay|and|but|hi|hey|hello|please|pls|um|quick question|question)\b[,:]?\s*"
    r"|^(?:can|could|would|will) you (?:please )?(?:briefly )?(?:explain|tell me|describe|define|clarify)(?: to me)?\s*"
    r"|^(?:i (?:want|would like|'d like) to (?:know|understand)|help me understand|i don'?t (?:get|understand))\s*"
    rf"|^(?:{WHAT}(?:'s|’s|s)?(?: is| are| was| does| do)?(?: meant by| the meaning of)?|who(?:'s| is| are)?|whats|"
    r"define|definition of|explain|describe|meaning of|tell me about|tell me what|give me|eli5|"
    r"how (?:does|do|is|are)|why (?:is|are|do|does)|what do (?:you|people|we|they) mean by)\b\s*"
    r"|^(?:the )?(?:term|concept|idea|notion|word|phrase)(?: of)?\b\s*"
    r"|^(?:a|an|the)\s+",
    re.I,
)
_TRAIL = re.compile(
    r"\s*[?.!,;:]+$"
    r"|\s*[:;]\s*(?:what|how|why|which|when|is|are|does|do|can|should)\b.*$"  # "Adam vs AdamW: what changes?"
    r"|\s+(?:is|are|means?|stands? for|refers? to|is used for|are used for|used for|for|do|does|work|works|exactly|"
    r"actually|again|briefly|please|in simple terms|in plain english|for (?:a )?beginners?|"
    r"in (?:a |the )?(?:mech(?:anistic)? ?interp(?:retability)?|mi|transformers?|interpretability|ml|"
    r"machine learning|neural networks?|llms?|language models?))$",
    re.I,
)
COMMON_ZIPF = 3.8  # an acronym spelled like a common word is only matched in capitals
# "how does ROME rewrite a fact", "why is mean ablation preferred", "what are the phases of
# grokking": the words right after such a frame are what the question is about.
_PARTS = (
    "phases|stages|steps|kinds|types|classes|families|parts|components|limitations|weaknesses|pitfalls|"
    "failure modes|fixes"
)
_SUBJECT_FRAME = re.compile(
    r"^(?:so |and |but )?(?:how|why) (?:does|do|did|is|are|was|were|can|could|would|should|has|have)"
    r"(?: an?| the)?\s+"
    rf"|^(?P<parts>{WHAT}(?:'s|’s| is| are| were)?(?: the)?(?: \w+)? (?:{_PARTS}) of(?: an?| the)?\s+)",
    re.I,
)
# an entry whose name is itself "kinds of X" (matched on fold() keys, so "phase", "classe")
_PART_OF = re.compile(rf"(?:{'|'.join(fold(p) for p in _PARTS.split('|'))}) of ")
VERB_ZIPF = 4.0  # "ROME actually rewrites", not "attention rollout": the subject ends at a common word
_PAREN = re.compile(r"^(.*?)\s*\(([^()]{1,40})\)\s*$")
_SPLIT = re.compile(r"\s+(?:vs\.?|versus|and|or|compared to|compared with)\s+|\s*,\s*|\s*/\s*", re.I)
_BETWEEN = re.compile(r"^(?:the )?differences? between\s+", re.I)
# "weights of a model", "basis in linear algebra", "Garcon at Anthropic": a term, then where it lives.
_QUALIFIER = re.compile(r"^(.+?)\s+(?:of|in|at|for|from|inside|within|on)\s+(?:\S+\s*){1,4}$", re.I)


def subject_of(query: str) -> str:
    """Strip question framing. `subject_of("What is an induction head?") == "induction head"`."""
    text = query.strip()
    for _ in range(8):
        before = text
        text = _TRAIL.sub("", _LEAD.sub("", text, count=1)).strip(" \"'`")
        if text == before:
            break
    return text


# "what is dropout and why does it reduce overfitting": a second question joined to the first.
_NEXT_CLAUSE = re.compile(
    r",?\s+and\s+(?=(?:why|how|what|when|where|which|is|are|does|do|can|should)\b)|[?;]\s+(?=\w)", re.I
)


# "how does attention rollout work for explaining ...", "how does dropout help prevent ...": the
# subject ends at the verb.
_HOW_WORKS = re.compile(
    r"^\s*(how (?:does|do|is|are|can) .{2,60}?) "
    r"(?:work|works|function|operate|help|helps|prevent|prevents|reduce|reduces|improve|improves|affect|affects)\b",
    re.I,
)


def first_clause(query: str) -> str:
    """The first of several joined questions, or the query itself.

    Example:
        >>> first_clause("what is dropout and why does it reduce overfitting?")
        'what is dropout'
    """
    return _NEXT_CLAUSE.split(query.strip(), maxsplit=1)[0]


def lead_subject_clause(query: str) -> str:
    """The part of the query that names what it asks about first: the first of joined questions,
    cut at the verb in "how does X work / help ...".

    Example:
        >>> lead_subject_clause("How does attention rollout work for explaining attention?")
        'How does attention rollout'
        >>> lead_subject_clause("how does dropout help prevent overfitting?")
        'how does dropout'
    """
    first = first_clause(query)
    works = _HOW_WORKS.match(first)
    return works.group(1) if works else first


# "what is a KV cache in transformer inference": the thing asked about, then where it is used.
# A short question only: a long one describes ("what is the phenomenon in which a network ...").
_IN_CONTEXT = re.compile(
    rf"^\s*{WHAT}(?:'s|’s| is| are)\s+((?:an?\s+|the\s+)?[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?:in|inside|within|during)"
    r"(?:\s+[\w-]+){1,3}\s*\??\s*$",
    re.I,
)


def in_context_head(query: str) -> str:
    """What a short "what is X in Y" question asks about, or ''.

    Example:
        >>> in_context_head("What is a KV cache in transformer inference?")
        'a KV cache'
    """
    context = _IN_CONTEXT.match(query)
    return context.group(1) if context else ""


@dataclass(frozen=True)
class TermMatch:
    entry_id: str
    key: str
    how: str  # "exact" | "contained" | "fuzzy" | "subject" (the term a how/why/list frame is about)
    strong: bool = False  # a contained multi-word term or acronym ("attention head", "SAE"): clearly named


class TermResolver:
    def __init__(self, entries: dict[str, Entry], vocabulary: frozenset[str]) -> None:
        """`vocabulary`: the words the entries use (`Lexicon.entry_words`), for qualifier checks."""
        self.table: dict[str, str] = {}
        self.specific: set[str] = set()
        self.acronyms: set[str] = set()
        self.cased: dict[str, str] = {}  # acronyms that are also English words: CLIP, not "clip gradients"
        self.vocabulary = vocabulary
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
        specific = len(words) >= 2 or re.search(r"[A-Z]{2,}|\d|_", raw) or (is_term and len(key) >= 7)
        if specific and len(key) >= 3:
            self.specific.add(key)
        if re.fullmatch(r"[A-Z]{2,}", raw) and zipf(key) >= COMMON_ZIPF:
            self.cased[key] = raw
        if re.fullmatch(r"[A-Z][A-Za-z]*[A-Z][A-Za-z0-9-]*|[A-Za-z]+-?\d[\w.-]*", raw):  # SAE, TransformerLens, GPT-2
            self.acronyms.add(key)

    def _named(self, subject: str) -> list[TermMatch]:
        """Exact matches of the whole subject (shorthand expanded, or without a trailing 'of/in/at
        ...' qualifier), of 'X (ABBR)' parts, or of every part of 'X vs Y'."""
        for candidate in dict.fromkeys((subject, expand_shorthand(subject))):
            key = fold(candidate)
            if key in self.table:
                return [TermMatch(self.table[key], key, "exact")]
            head = self._qualified_head(candidate)
            if head and fold(head) in self.table:
                key = fold(head)
                return [TermMatch(self.table[key], key, "exact")]
        m = _PAREN.match(subject)
        if m:
            for part in (m.group(1), m.group(2)):
                if fold(part) in self.table:
                    return [TermMatch(self.table[fold(part)], fold(part), "exact")]
        parts = [p for p in _SPLIT.split(_BETWEEN.sub("", subject)) if p.strip()]
        if len(parts) >= 2:
            keys = [fold(_LEAD.sub("", p.strip())) for p in parts]
            if all(k in self.table for k in keys):
                out: list[TermMatch] = []
                for k in keys:
                    if all(x.entry_id != self.table[k] for x in out):
                        out.append(TermMatch(self.table[k], k, "exact"))
                return out
        return []

    def resolve(self, query: str, *, fuzzy_cutoff: int = 88) -> list[TermMatch]:
        """Matches in order of appearance; the exact subject match first."""
        raw_subject = subject_of(query)
        named = self._named(raw_subject)
        if named:
            return named
        subject = fold(raw_subject)
        folded = f" {fold(query)} "
        found: list[tuple[int, TermMatch]] = []
        taken: list[tuple[int, int]] = []
        for key in self._by_len:
            start = folded.find(f" {key} ")
            if start < 0 or (key in self.cased and not re.search(rf"\b{self.cased[key]}", query)):
                continue
            span = (start, start + len(key) + 1)
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            entry_id = self.table[key]
            if all(m.entry_id != entry_id for _, m in found):
                strong = len(key.split()) >= 2 or key in self.acronyms
                found.append((start, TermMatch(entry_id, key, "contained", strong)))
        contained = [m for _, m in sorted(found, key=lambda x: x[0])]
        lead = self._framed_subject(query, contained, fuzzy_cutoff)
        if lead:
            return [lead, *(m for m in contained if m.entry_id != lead.entry_id)]
        head = self._qualified_head(subject)  # "copy supression in gpt-2": the typo is in the head
        for candidate in ([] if found else [subject]) + ([head] if head else []):
            typo = self._typo(candidate, fuzzy_cutoff)
            if typo:
                return [typo, *(m for m in contained if m.entry_id != typo.entry_id)]
        return contained

    def _framed_subject(self, query: str, contained: list[TermMatch], fuzzy_cutoff: int) -> TermMatch | None:
        """The term that opens a how/why/list question's subject ("how does ROME decide ..."), typo
        forgiven, when the word after it ends the noun phrase (a common word, not "attention rollout").
        A list question that ends with the term ("what are the phases of grokking?") names it: exact."""
        frame = _SUBJECT_FRAME.match(query.strip())
        if not frame or any(_PART_OF.match(m.key) for m in contained):  # "kinds of phase transitions" is an entry
            return None
        rest = fold(query.strip()[frame.end() :])
        words = rest.split()
        for n in range(min(4, len(words)), 0, -1):
            head, after = " ".join(words[:n]), words[n] if len(words) > n else ""
            if after and after not in self.vocabulary and zipf(after) < VERB_ZIPF:
                continue
            hit = next((m for m in contained if m.key == head), None)
            if hit is None and head not in self.table:
                hit = self._typo(head, fuzzy_cutoff) if len(head) >= 6 else None
            elif hit is None and head in self.specific:
                hit = TermMatch(self.table[head], head, "contained", n >= 2 or head in self.acronyms)
            if hit and frame.group("parts") and not after:  # "what are the phases of grokking?": names it
                return TermMatch(hit.entry_id, hit.key, "exact")
            if hit:
                return TermMatch(hit.entry_id, hit.key, "subject", strong=hit.strong)
        return None

    def _qualified_head(self, subject: str) -> str:
        """'X' of 'X of/in/at ...' when the qualifier is in the glossary's own words ("of a model"),
        not "of Gemini 1.5 Pro"; else ''."""
        q = _QUALIFIER.match(subject)
        if q and all(w in self.vocabulary for w in re.findall(r"[a-z0-9]+", subject[q.end(1) :].casefold())):
            return q.group(1)
        return ""

    def _typo(self, subject: str, fuzzy_cutoff: int) -> TermMatch | None:
        """The term `subject` misspells: at most 2 edits (1 for short keys), so a typo and not a
        different phrase."""
        if not (4 <= len(subject) <= 60 and len(subject.split()) <= 6):
            return None
        best = process.extractOne(subject, self._keys, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff)
        if best and Levenshtein.distance(subject, best[0]) <= (1 if len(best[0]) <= 6 else 2):
            return TermMatch(self.table[best[0]], best[0], "fuzzy")
        return None
