"""An entry as quotable sentences: the summary, then each body sentence under its heading.

Only sentences that can stand alone are kept (no fragments, list lead-ins, instruction-like text,
links or bracketed numbers that would read as our citations). Each remembers its heading, its
paragraph (`block`) and whether it is a list item, so a composer can keep a step list together
and bring along the sentence another one leans on ("This ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.guard import clean_output, sanitize_passage

if TYPE_CHECKING:
    from assistant.types import Entry

_MIN_WORDS = 5
_BOLD = re.compile(r"\*\*([^*]+)\*\*|__([^_]+)__")
_LOOKS_CITED = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")


@dataclass(frozen=True)
class Quote:
    """One sentence of an entry, with the heading it sits under (`""` for the summary)."""

    entry_id: str
    heading: str
    text: str
    position: int
    bullet: bool = False  # from a list item of the entry
    block: int = 0  # its paragraph or list, counted through the entry (the summary is 0)


def _clean(sentence: str) -> str:
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", sentence)
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2), text)
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
    for n_block, block in enumerate(re.split(r"\n(?=#{1,6} )|\n{2,}", body), start=1):
        block = block.strip()
        if block.startswith("#"):
            first, _, block = block.partition("\n")
            heading = first.lstrip("#").strip().lower()
        for line in re.split(r"\n(?=\s*(?:[-*+]|\d+[.)])\s)", block):
            bullet = bool(re.match(r"\s*(?:[-*+]|\d+[.)])\s", line))
            clean, _removed = sanitize_passage(" ".join(line.split()))
            clean = _BOLD.sub(lambda m: m.group(1) or m.group(2), clean)  # "**Cost.** One ..." is two sentences
            for piece in split_sentences(" ".join(clean.split())):
                text = _clean(piece)
                if (
                    len(text.split()) >= _MIN_WORDS
                    and text[-1:] in ".!?)\"'`"
                    and not text.endswith("..")
                    and not text[:1].islower()  # a lower-case start continues something left out
                    and not _LOOKS_CITED.search(text)
                ):  # "[1, 10]" would read as our citation markers
                    out.append(Quote(entry.id, heading, text, len(out), bullet, n_block))
    return out


# A sentence that opens on a word pointing back ("This is why ...", "So ...", "It ...") or names
# "that X" after a preposition reads wrongly without the sentence before it.
_LEANS_BACK = re.compile(
    r"^(?:this|that|these|those|it|its|they|their|them|such|so|thus|hence|then|here|both|instead|"
    r"otherwise|therefore|together|in turn|as a result|the result|the same|the other|the two|the latter|"
    r"the former|in that|in this|with this|for this|by contrast)\b"
    r"|\b(?:of|from|to|by|with|on|in|for|against|counteracting|undoing) (?:that|this|these|those|such) [a-z]",
    re.I,
)
# A sentence that sets up a case ("Suppose ...") says nothing until the sentence after it.
_SETS_UP = re.compile(r"^(?:suppose|imagine|consider|say|take)\b", re.I)


def leans_back(text: str) -> bool:
    """True when `text` needs the sentence before it to be understood.

    Example:
        >>> leans_back("So the apparent jump is the visible end of a gradual process.")
        True
        >>> leans_back("Weight decay removes the memorization weights.")
        False
    """
    return bool(_LEANS_BACK.search(text))


def sets_up(text: str) -> bool:
    """True when `text` only sets up what the next sentence says ("Suppose a head's output ...")."""
    return bool(_SETS_UP.search(text))
