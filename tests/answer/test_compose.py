"""Quoted answers: every sentence is the glossary's own, cited to the entry it comes from."""

from __future__ import annotations

import re

import pytest

from assistant.answer.compose import classify, entry_quotes, split_sentences
from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.doubles import ScriptedChatModel


@pytest.mark.parametrize(
    ("question", "named", "shape"),
    [
        ("What is an induction head?", 1, "define"),
        ("what is it called when one neuron fires for several unrelated things", 0, "name"),
        ("Is there a term for heads that copy the next token?", 0, "name"),
        ("What do you call an attention head that copies the next token?", 1, "name"),  # mentions a term, not pinned
        ("How does activation patching work?", 1, "how"),
        ("Why does superposition happen?", 1, "cause"),
        ("Why do induction heads matter?", 1, "why"),
        ("What are the pitfalls of the logit lens?", 1, "limits"),
        ("What is the difference between the QK and the OV circuit?", 2, "compare"),
        ("How do RMSNorm and LayerNorm differ?", 2, "compare"),
        ("Is activation patching the same as causal tracing?", 2, "compare"),
        ("What kinds of sparse autoencoders are there?", 1, "list"),
    ],
)
def test_question_shapes(question, named, shape):
    assert classify(question, named) == shape


def test_sentences_keep_code_quotes_and_abbreviations_whole():
    text = 'It implements `[A][B] ... [A] -> [B]`. Olsson et al. define it (see Fig. 2). At "John gave. A drink" it stops. End.'
    assert split_sentences(text) == [
        "It implements `[A][B] ... [A] -> [B]`.",
        "Olsson et al. define it (see Fig. 2).",
        'At "John gave. A drink" it stops.',
        "End.",
    ]


def _plain(entry) -> str:
    raw = f"{entry.summary} {entry.body}"
    raw = re.sub(r"\*\*([^*]+)\*\*", r"\1", raw)
    raw = re.sub(r"(?<![\w`])\*([^*\n]+)\*(?![\w`])", r"\1", raw)  # emphasis marks only
    return " ".join(raw.split())


def test_entry_quotes_are_verbatim_and_stand_alone(fixture_corpus):
    for entry in fixture_corpus.entries.values():
        quotes = entry_quotes(entry)
        assert quotes and quotes[0].heading == "" and quotes[0].text == " ".join(entry.summary.split())
        for q in quotes:
            assert q.text in _plain(entry), (entry.id, q.text)
            assert not re.search(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]", q.text)  # never mistaken for a citation
            assert not q.text.endswith(":") and len(q.text.split()) >= 5


QUESTIONS = [
    "What is an induction head?",
    "What kinds of attention heads are there?",
    "How do induction heads and residual streams relate?",
    "How does an induction head work?",
    "Why do induction heads matter?",
    "what is it called when a head copies a token that followed an earlier copy of the current one",
    "How do induction heads and previous-token heads relate?",
    "What is superposition?",
    "How does superposition relate to polysemanticity?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_quoted_answers_only_say_what_their_entries_say(retriever, question):
    model = ScriptedChatModel("should never be called")
    assistant = Assistant(retriever, model, Settings())
    answer = assistant.ask(question)
    assert model.calls == []  # no model text in a quoted answer
    assert answer.covered and answer.composition == "quoted" and answer.shape
    entries = retriever.index.entries
    by_n = {c.n: c.entry_id for c in answer.citations}
    assert set(by_n.values()) <= {r.entry_id for r in answer.retrieved}
    assert [c.n for c in answer.citations] == list(range(1, len(by_n) + 1))
    for s in answer.sentences:
        assert s.citation in by_n and s.text in _plain(entries[by_n[s.citation]]), s.text
    texts = [" ".join(s.text.casefold().split()) for s in answer.sentences]
    assert len(texts) == len(set(texts))  # never says a sentence twice
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert numbers == set(by_n)


def test_a_compare_answer_quotes_both_sides(retriever):
    answer = Assistant(retriever, None, Settings()).ask("How do induction heads and previous-token heads relate?")
    assert answer.shape == "compare"
    assert {c.entry_id for c in answer.citations} >= {"induction-head", "previous-token-head"}


def test_a_name_question_names_the_term_first(retriever):
    answer = Assistant(retriever, None, Settings()).ask(
        "what is it called when a head copies a token that followed an earlier copy of the current one"
    )
    assert answer.shape == "name"
    term = retriever.index.entries[answer.citations[0].entry_id].term
    assert answer.answer.startswith(f"The closest glossary entry is {term}")


def _entry(eid, term, related=(), aliases=()):
    from assistant.types import Entry

    return Entry(
        id=eid,
        term=term,
        aliases=aliases,
        section="s",
        summary=f"{term} is a thing that does work well.",
        related=related,
        body="## What it is\nIt does work in a specific way, as described here.",
        path="x",
    )


def test_kinds_are_entries_named_after_the_entry_linked_first():
    from assistant.answer.compose import Composer

    entries = {
        e.id: e
        for e in [
            _entry("ablation", "Ablation", related=("zero-ablation",)),
            _entry("mean-ablation", "Mean ablation"),
            _entry("zero-ablation", "Zero ablation"),
            _entry("ablation-study", "Ablation study"),
            _entry("directional", "Direction", aliases=("directional ablation",)),
        ]
    }
    composer = Composer(entries)
    assert composer.kinds_of("ablation") == ["zero-ablation", "mean-ablation"]
    comp = composer.compose("What kinds of ablation are there?", ["ablation"], ["ablation"])
    assert comp.shape == "list" and [q.entry_id for q in comp.quotes] == ["ablation", "zero-ablation", "mean-ablation"]


def test_a_term_merely_mentioned_does_not_jump_ahead_of_retrieval(retriever):
    question = (
        "what do you call an attention head that attends to the token right after an earlier copy of the "
        "current token and copies it?"
    )
    answer = Assistant(retriever, None, Settings()).ask(question)
    assert any(m.entry_id == "attention-head" for m in retriever.search(question).matches)  # mentioned...
    assert answer.shape == "name"
    top = answer.retrieved[0].entry_id
    assert top != "attention-head" and answer.citations[0].entry_id == top  # ...not put before retrieval's pick
    assert answer.answer.startswith(f"The closest glossary entry is {retriever.index.entries[top].term}")
