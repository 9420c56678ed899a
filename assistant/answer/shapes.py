"""What kind of answer a question asks for: its shape (definition, name, mechanism, cause, ...).

`classify` reads the question's wording only (no model): a few patterns in a fixed order, the
first that matches wins. `SECTIONS` says which headings of our entries answer each shape.
"""

from __future__ import annotations

import re
from typing import Literal

Shape = Literal["define", "name", "how", "why", "cause", "limits", "compare", "list"]
SHAPES: tuple[Shape, ...] = ("define", "name", "how", "why", "cause", "limits", "compare", "list")

_COMPARE = re.compile(
    r"\b(?:vs\.?|versus|differ(?:s|ence|ences)?\b|different (?:from|to|than)|compare[ds]?|comparison|contrast|"
    r"same (?:thing )?as|"
    r"relate[sd]?|relation(?:ship)?|related to|distinguish|unlike|in common|the same\b|"
    r"(?:just|basically|simply|really) (?:an?|the) )",
    re.I,
)
_CHOOSE = re.compile(r"\b(?:which|better|prefer\w*|should i|when to|choose)\b", re.I)
_NAME = re.compile(
    r"\b(?:what(?:'s| is| are)? (?:it|this|that|they) called|what do (?:you|we|people|researchers) call|"
    r"(?:what|which) (?:is|'s) the (?:name|term|word)|(?:is there|what is) a (?:name|term|word)|"
    r"(?:name|term|word) for|called (?:when|where|if)|is called|known as|what concept|which concept|which term|"
    r"what term|the name of)\b",
    re.I,
)
_LIST = re.compile(
    r"\b(?:what (?:kinds|types|sorts|forms|variants|examples) of|(?:kinds|types|variants|examples) of|"
    r"(?:classes|categories|families|groups|stages|phases) of|list (?:the|some)|name (?:the|some|a few)|"
    r"which .{1,40} are there|what are the (?:parts|components|steps|stages|phases|classes)|make up|made up of)\b",
    re.I,
)
_WHY = re.compile(
    r"^\s*why\b|\bwhy (?:do|does|is|are|did|would|should|can)\b|\bwhy it matters\b|"
    r"\bwhat is the point\b|\bwhat (?:is|are) .{1,40} (?:good|useful) for\b|\bmatter\b",
    re.I,
)
_LIMITS = re.compile(
    r"\b(?:limitations?|pitfalls?|problems?|drawbacks?|weakness(?:es)?|caveats?|mislead\w*|fails?|"
    r"failure modes?|go wrong|goes wrong|breaks? down|downsides?|gotchas?|careful)\b",
    re.I,
)
# "why does X matter" asks for significance; "why does X happen" for a cause (the mechanism).
_MATTERS = re.compile(
    r"\b(?:matter|matters|important|useful|care|point|significan\w*|good for|worth|popular|so much|"
    r"(?:use|used|using|choose|pick|prefer) (?:it|them|this|that)\b|convenient|"
    r"(?:people|we|researchers|you) (?:use|prefer|choose|pick)\b)",
    re.I,
)
_HOW = re.compile(
    r"^\s*how\b|\bhow (?:do|does|is|are|can|did|would)\b|\bwhat happens\b|\bwhat does .{1,60} do\b|"
    r"\bused for\b|\bmechanism\b|\bwork(?:s)?\b\??$|\bstep by step\b",
    re.I,
)


def classify(question: str, n_named: int, pinned: bool = False) -> Shape:
    """The shape an answer to `question` should take.

    `n_named` = distinct entries it mentions; `pinned` = one of them is its subject ("what is X").

    Example:
        >>> classify("What is the difference between a QK and an OV circuit?", 2)
        'compare'
        >>> classify("what is it called when one neuron fires for unrelated things", 0)
        'name'
    """
    if _NAME.search(question) and not pinned:  # "what do you call a head that ..." mentions "head"
        return "name"
    if _COMPARE.search(question) and n_named >= 1:
        return "compare"
    if n_named >= 2 and re.search(r"\bor\b", question, re.I) and _CHOOSE.search(question):
        return "compare"  # "mean ablation or zero ablation: which should I use?"
    if _LIMITS.search(question) and not re.match(r"\s*why\b", question, re.I):  # "why does X fail" asks a cause
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


# Headings of our entries that answer each shape, best first: regexes matched at the start of the
# lower-cased heading. The corpus has What it is (311 entries), Pitfalls (303), Why it matters
# (261), Intuition (152), Example (129), and about 90 headings of one entry each ("Why it fails
# in early layers", "What is going on inside", "The recipe"); a heading that shares words with the
# question counts on top of these (`Composer`).
_SECTION_PATTERNS: dict[Shape, tuple[str, ...]] = {
    "define": ("what it is", "intuition"),
    "how": (
        "how it works|how to|(?:the )?recipe|the algorithm|the key moves|making it work|what is going on",
        "in practice|the standard test|what it is",
        "example|intuition",
    ),
    "cause": (
        r"why (?!it matters|it is |use|people|do it|an interp)|how it works|what is going on|the algorithm",
        "intuition|what it is",
        "why it matters|pitfalls|when it misleads|why it misleads",
    ),
    "why": (
        r"why\b",
        "uses|in practice|what it shows|what it is for|what it offers|what it found",
        "what it is",
    ),
    "limits": ("pitfalls|when it misleads|why it misleads|quirks", "fixes|what helps", "why it matters"),
    "list": ("kinds|types|variants|examples|two families|three kinds", "what it is"),
    "compare": ("how it differs|relation to|why the distinction|what it is", "why it matters|intuition"),
    "name": (),
}
SECTIONS: dict[Shape, tuple[re.Pattern[str], ...]] = {
    shape: tuple(re.compile(p) for p in patterns) for shape, patterns in _SECTION_PATTERNS.items()
}


def section_rank(shape: Shape, heading: str) -> int | None:
    """How well a heading answers `shape`: 0 best, None not at all.

    Example:
        >>> section_rank("cause", "why it fails in early layers"), section_rank("cause", "why it matters")
        (0, 2)
    """
    return next((i for i, p in enumerate(SECTIONS[shape]) if p.match(heading)), None)
