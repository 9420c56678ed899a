"""Untrusted-text hygiene for prompts and model output.

Retrieved passages are data: before they enter a prompt, chat-template tokens, invisible
characters and any sentence that reads like an instruction to an AI, a link or an image are
removed (and remembered). The model's output then loses links, images and HTML, and any
sentence that repeats a distinctive token seen only in removed text is dropped, so an injected
"say CANARY" cannot reach the user even if the model obeys something it never saw whole.
"""

from __future__ import annotations

import re

from assistant.textnorm import clean_text

SPECIAL_TOKENS = re.compile(
    r"<\|[^|>]{1,40}\|>|\[/?INST\]|<</?SYS>>|</?s>|<\|?(?:im_start|im_end|endoftext|eot_id)\|?>", re.I
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_SUSPICIOUS = re.compile(
    r"ignore|disregard|forget (?:all|everything|your|the)|instruction|system prompt|\bsystem\s*:|assistant\s*:|"
    r"\buser\s*:|you are (?:now|an?|the)|as an ai|language model|\bAI\b|\bLLM\b|respond (?:with|only)|reply (?:with|only)|"
    r"\bsay\b|\bprint\b|\boutput\b|\bappend\b|\binclude (?:the|this)|\brepeat\b|\bwrite (?:the|only)|password|secret|"
    r"canary|base64|rot13|decode|https?://|www\.|!\[|\]\(|<\s*[a-z!/]|javascript:|data:|\bimportant\s*:|\bnote to\b|"
    r"\bdo not tell\b|\bexfiltrat|\bwhen answering\b|\bin your answer\b|\bend (?:every|each|your)\b",
    re.I,
)
_BLOB = re.compile(r"[A-Za-z0-9+/=_-]{40,}")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_URL = re.compile(r"(?:https?|ftp|javascript|data|vbscript|file):[^\s)\]>]*|www\.[^\s)\]>]+|<[^>\s]+@[^>\s]+>", re.I)
_HTML = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{4,}")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def sanitize_passage(text: str) -> tuple[str, list[str]]:
    """Return (clean passage, removed sentences). Deterministic; never raises."""
    text = SPECIAL_TOKENS.sub(" ", clean_text(text))
    kept, removed = [], []
    for paragraph in text.split("\n\n"):
        keep_p = []
        for sentence in sentences(paragraph):
            if _SUSPICIOUS.search(sentence) or _BLOB.search(sentence):
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
