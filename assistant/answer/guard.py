"""Untrusted-text hygiene for prompts and model output.

Retrieved passages are data: before they enter a prompt, chat-template tokens, invisible
characters and any sentence that reads like an instruction to an AI, a link or an image are
removed (and remembered). The model's output then loses links, images and HTML, and any
sentence that repeats a distinctive token seen only in removed text is dropped, so an injected
"say CANARY" cannot reach the user even if the model obeys something it never saw whole.
"""

from __future__ import annotations

import re

from assistant.injection import SPECIAL_TOKENS, sentences, suspicious
from assistant.textnorm import clean_text

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_URL = re.compile(r"(?:https?|ftp|javascript|data|vbscript|file):[^\s)\]>]*|www\.[^\s)\]>]+|<[^>\s]+@[^>\s]+>", re.I)
_HTML = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{4,}")


def sanitize_passage(text: str) -> tuple[str, list[str]]:
    """Return (clean passage, removed sentences). Deterministic; never raises."""
    text = SPECIAL_TOKENS.sub(" ", clean_text(text))
    kept, removed = [], []
    for paragraph in text.split("\n\n"):
        keep_p = []
        for sentence in sentences(paragraph):
            if suspicious(sentence):
                removed.append(sentence)
            else:
                keep_p.append(sentence)
        if keep_p:
            kept.append(" ".join(keep_p))
    return "\n\n".join(kept), removed


def suspicious_tokens(removed: list[str], clean_context: str) -> set[str]:
    """Distinctive tokens that occur only in removed text (never in what the model saw)."""
    seen = {w.casefold() for w in _WORD.findall(clean_context)}
    out = set()
    for sentence in removed:
        for word in _WORD.findall(sentence):
            w = word.casefold()
            if w not in seen and (any(c.isdigit() for c in w) or "-" in w or "_" in w or word.isupper() or len(w) >= 9):
                out.add(w)
    return out


def clean_output(text: str) -> str:
    """Strip images, links (keep their text), bare URLs, HTML tags and special tokens."""
    text = SPECIAL_TOKENS.sub("", clean_text(text))
    text = _MD_IMAGE.sub("", text)
    text = _REF_DEF.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _HTML.sub("", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()


def leaks(sentence: str, tokens: set[str]) -> bool:
    return any(w.casefold() in tokens for w in _WORD.findall(sentence))
