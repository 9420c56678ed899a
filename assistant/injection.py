"""What instruction-like text looks like: one definition for the corpus lint and the prompt guard.

Our glossary never needs chat-template tokens, role headers, "ignore previous instructions",
links, images or HTML, so a sentence with any of them is treated as an attack: the lint rejects
the file, and the prompt builder drops the sentence from retrieved text. Tuned on the real
corpus: under 0.2% of its sentences match (mostly "Say which you mean.").
"""

from __future__ import annotations

import re

SPECIAL_TOKENS = re.compile(
    r"<\|[^|>]{1,40}\|>|\[/?INST\]|<</?SYS>>|</?s>|<\|?(?:im_start|im_end|endoftext|eot_id)\|?>", re.I
)
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_CODE = r"(?-i:[A-Z0-9]{3,}[-_][A-Z0-9_-]{2,})"  # an all-caps code word such as ABC-123
_SUSPICIOUS = re.compile(
    "|".join(
        [
            r"\b(?:ignore|disregard|forget|override)\b[^.]{0,40}\b(?:instructions?|rules|prompts?|context|glossary|above|previous|prior|everything)\b",
            r"\b(?:new|following|these|my|system|hidden|secret|updated|real|special) instructions?\b",
            r"\binstructions? (?:above|below|to (?:the )?(?:ai|assistant|model|llm))\b",
            r"\b(?:reveal|print|show|repeat|output|leak)\b[^.]{0,20}\bsystem prompt\b|\bdeveloper message\b|\bDAN\b",
            r"^\W*(?:system|assistant|user|human|ai)\s*:",
            r"\byou are (?:now|no longer)\b|\bas an ai\b",
            r"\bnote to (?:the )?(?:ai|assistant|model|llm|chatbot)s?\b",
            r"\b(?:respond|reply)\s+(?:with|only|in)\b|\banswer (?:with|only)\b|\bin your (?:answer|response|reply|output)\b",
            r"\byour (?:answer|response|reply)\b|\bend (?:every|each|all) (?:answers?|responses?|replies)\b",
            r"\bthe user (?:asked|wants|requested|said)\b",
            r"\b(?:say|print|output|write|repeat|append|add|include|mention|type|reply|respond|insert)\b[^.]{0,60}"
            + _CODE,
            r"\bcanary\b|\bpassword\b|\bsecret (?:code|word|key)\b|exfiltrat|\bdecode\b[^.]{0,30}\bbase64\b|\bbase64[- ]encoded\b|\brot13\b|\bdecode (?:this|the following)\b",
            r"https?://|\bwww\.|!\[|\]\(|<!--|</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>",
            r"\b(?:javascript|vbscript):|\bdata:[a-z]+/",
        ]
    ),
    re.I | re.M,
)
# Sentences opening with an imperative aimed at a writer ("Say ...", "Print ...") are
# instructions, not glossary prose.
_IMPERATIVE = re.compile(
    r"^\W*(?:please\s+)?(?:say|print|append|reply|respond|repeat|ignore|disregard|forget|obey|pretend|reveal|"
    r"translate|insert)\b",
    re.I,
)
_BLOB = re.compile(r"[A-Za-z0-9+/=_-]{40,}")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_SPLIT.split(text) if s and s.strip()]


def suspicious(sentence: str) -> str | None:
    """The matched text if the sentence looks like an instruction, link, tag or blob, else None."""
    for pattern in (SPECIAL_TOKENS, _SUSPICIOUS, _IMPERATIVE, _BLOB):
        m = pattern.search(sentence)
        if m:
            return m.group()
    return None
