"""Follow-ups: rewrite "and what composes with it?" into a standalone query before retrieval.

History arrives from the client and is capped here (turns and characters). If the new
question names no glossary term and looks like a follow-up (a pronoun, "and ...", "what about
...", "is there a ... version", or very short), the terms resolved from the previous user turns are appended. Cheap and
deterministic; no model call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.retrieval.resolver import TermMatch, TermResolver
from assistant.textnorm import clean_text
from assistant.types import ChatMessage, Entry

_FOLLOWUP = re.compile(
    r"^\s*(and|but|also|so|what about|how about|why|how|is there|are there|what happens|what if|then)\b"
    r"|\b(it|its|it's|they|them|their|this|that|these|those|he|she|one|ones|former|latter|same|"
    r"version|variant|alternative|opposite)\b",
    re.I,
)


def cap_history(history: Sequence[ChatMessage | dict], turns: int, chars: int) -> list[ChatMessage]:
    """Keep the last `turns` user/assistant pairs within `chars` characters, newest first kept."""
    msgs: list[ChatMessage] = []
    for m in history:
        if isinstance(m, dict):
            role, content = m.get("role"), m.get("content")
            if role not in ("user", "assistant") or not isinstance(content, str):
                continue
            m = ChatMessage(role=role, content=content)
        if m.role in ("user", "assistant"):
            msgs.append(ChatMessage(role=m.role, content=clean_text(m.content)[:chars]))
    msgs = msgs[-2 * turns :] if turns else []
    kept, total = [], 0
    for m in reversed(msgs):
        if total + len(m.content) > chars:
            break
        kept.append(m)
        total += len(m.content)
    return list(reversed(kept))


def standalone_query(
    question: str,
    own: Sequence[TermMatch],
    history: Sequence[ChatMessage],
    resolver: TermResolver,
    entries: dict[str, Entry],
) -> str:
    """`question`, or, for a follow-up that names no term, `question (Term, ...)` with the terms of
    the last user turn that named any. `own` is the question's own resolved terms (resolved once,
    by the caller, and reused for the search)."""
    if not history:
        return question
    if own and own[0].how in ("exact", "fuzzy"):
        return question
    if not (_FOLLOWUP.search(question) or len(question.split()) <= 4):
        return question
    terms: list[str] = []
    for m in reversed(history):
        if m.role != "user":
            continue
        for match in resolver.resolve(m.content):
            term = entries[match.entry_id].term
            if term not in terms:
                terms.append(term)
        if terms:
            break
    if not terms:
        return question
    return f"{question} ({', '.join(terms[:3])})"
