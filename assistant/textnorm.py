"""Text hygiene shared by the corpus lint, queries and prompts.

One place decides what counts as an invisible or control character, so the lint that rejects
them in the corpus and the normaliser that strips them from queries agree.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import UsageError

# C0 (minus \t \n \r), DEL, C1, zero-width, bidi embeddings/overrides/isolates, word joiner,
# BOM, and the Unicode "tag" block used for ASCII smuggling.
_INVISIBLE = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
)
INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")


def find_invisible(text: str) -> list[tuple[int, int, str]]:
    """Return (line, column, 'U+XXXX') for every invisible/control character (1-based)."""
    found = []
    for m in INVISIBLE_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        found.append((line, col, f"U+{ord(m.group()):04X}"))
    return found


def clean_text(text: str) -> str:
    """NFC-normalise and drop invisible/control characters and lone surrogates; keep newlines."""
    text = _SURROGATE_RE.sub("", text)
    text = INVISIBLE_RE.sub("", text)  # first: an invisible char between base and accent blocks NFC
    return unicodedata.normalize("NFC", text)


def normalize_query(query: str, *, max_chars: int) -> str:
    """Validate and clean a user query.

    >>> normalize_query("  What is\\u200b an induction head?\\n", max_chars=2000)
    'What is an induction head?'

    Raises:
        UsageError: empty after cleaning, or longer than `max_chars` (never truncated silently).
    """
    if len(query) > max_chars:
        raise UsageError(
            f"question is {len(query):,} characters; the limit is {max_chars:,}",
            "shorten it (ask about one term or idea at a time)",
        )
    text = clean_text(query).replace("\n", " ")
    text = _SPACES_RE.sub(" ", text).strip()
    if not text:
        raise UsageError("the question is empty", "type a question, e.g. 'What is an induction head?'")
    return text


def fold(text: str) -> str:
    """Key for term matching: casefold, hyphens/underscores/punctuation to spaces, plurals cut.

    >>> fold("Induction-Heads")
    'induction head'
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\s_\-/]+", " ", text)
    text = re.sub(r"[^\w ]+", "", text).strip()
    words = [singular(w) for w in text.split()]
    return " ".join(words)


def singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word
