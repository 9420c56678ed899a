"""Content checks on one file's text: invisible characters, instruction-like text, formulas, sizes.

Our own glossary never needs chat-template tokens, role headers or "ignore previous
instructions"; finding one means the file was tampered with or pasted from somewhere unsafe.
"""

from __future__ import annotations

from assistant.corpus import formulas
from assistant.injection import sentences, suspicious
from assistant.textnorm import find_invisible

MAX_FILE_BYTES = 20_000
ENTRY_WORDS = (120, 400)
SOURCE_WORDS = (40, 400)
SUMMARY_MAX_WORDS = 50


def content_problems(text: str, body: str, body_line: int) -> list[tuple[int, str]]:
    """Return (line, 'problem (fix)') for the whole file text and its body."""
    problems: list[tuple[int, str]] = []
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        problems.append((1, f"file is over {MAX_FILE_BYTES:,} bytes (split the entry or trim it)"))
    for line, col, cp in find_invisible(text):
        problems.append((line, f"invisible or control character {cp} at column {col} (delete it)"))
    for n, body_row in enumerate(body.split("\n")):
        for sentence in sentences(body_row):
            found = suspicious(sentence)
            if found:
                fix = "rephrase it: no chat tokens, role headers, orders to an AI, links, images or HTML"
                problems.append((body_line + n, f"instruction-like or unsafe text '{found[:40]}' ({fix})"))
    for offset, problem in formulas.problems(body):
        problems.append((body_line + offset, f"{problem} (write LaTeX that latex2mathml parses, e.g. $W_{{QK}}$)"))
    return problems


def word_count_problem(body: str, low: int, high: int, what: str) -> str | None:
    n = len(body.split())
    if n == 0:
        return f"empty body (write the {what} text under the front matter)"
    if n < low:
        return f"body has {n} words; {what} bodies need at least {low} (expand it)"
    if n > high:
        return f"body has {n} words; {what} bodies may have at most {high} (trim it)"
    return None
