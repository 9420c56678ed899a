"""Content checks on one file's text: invisible characters, instruction-like text, sizes.

Our own glossary never needs chat-template tokens, role headers or "ignore previous
instructions"; finding one means the file was tampered with or pasted from somewhere unsafe.
"""

from __future__ import annotations

import re

from assistant.textnorm import find_invisible

MAX_FILE_BYTES = 20_000
ENTRY_WORDS = (120, 400)
SOURCE_WORDS = (40, 400)
SUMMARY_MAX_WORDS = 50

_INJECTION = [
    (re.compile(r"ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts?|rules)", re.I),
     "instruction-like text ('ignore previous instructions')"),
    (re.compile(r"<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|</?s>", re.I), "chat-template token"),
    (re.compile(r"^\s*(system|assistant|user)\s*:", re.I | re.M), "fake role header ('system:')"),
    (re.compile(r"^\s*#{1,6}\s*(system|instruction|instructions)\b", re.I | re.M), "fake instruction header"),
    (re.compile(r"(you are now|new instructions|disregard (the|your))", re.I), "instruction-like text"),
    (re.compile(r"[A-Za-z0-9+/]{80,}={0,2}"), "long base64-like blob"),
    (re.compile(r"!\[[^\]]*\]\s*[\[(]"), "Markdown image (images are not allowed)"),
    (re.compile(r"<\s*(script|img|iframe|svg|style|link|meta|base|object|embed)\b", re.I), "HTML tag"),
    (re.compile(r"\b(javascript|vbscript)\s*:|\bdata:[a-z]+/[a-z]", re.I), "script/data URL"),
]


def _line_of(text: str, pos: int, offset: int) -> int:
    return offset + text.count("\n", 0, pos)


def content_problems(text: str, body: str, body_line: int) -> list[tuple[int, str]]:
    """Return (line, 'problem (fix)') for the whole file text and its body."""
    problems: list[tuple[int, str]] = []
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        problems.append((1, f"file is over {MAX_FILE_BYTES:,} bytes (split the entry or trim it)"))
    for line, col, cp in find_invisible(text):
        problems.append((line, f"invisible or control character {cp} at column {col} (delete it)"))
    for pattern, label in _INJECTION:
        for m in pattern.finditer(body):
            problems.append((_line_of(body, m.start(), body_line), f"{label}: '{m.group()[:40]}' (remove it)"))
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
