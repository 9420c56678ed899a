"""Quoted answers: every sentence is the glossary's own, cited to the entry it comes from."""

from __future__ import annotations

import re

import pytest

from assistant.answer.quotes import entry_quotes, split_sentences
from assistant.answer.shapes import classify
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
        ("Why do researchers use activation patching instead of probing?", 2, "why"),  # its value, not a cause
        ("Why is pre-LN more convenient than post-LN for interpretability?", 1, "why"),
        ("What are the pitfalls of the logit lens?", 1, "limits"),
        ("When does attribution patching break down?", 1, "limits"),
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
    return _doc(eid, term, "## What it is\nIt does work in a specific way, as described here.", aliases, related)


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


@pytest.mark.parametrize(
    ("question", "named", "shape"),
    [
        ("Why does the logit lens fail on early layers?", 1, "cause"),  # a why about a failure asks its cause
        ("Why does tying the embeddings cause problems?", 1, "cause"),
        ("Why do interp people use Pythia so much?", 1, "why"),
        ("Is a crosscoder just an SAE?", 2, "compare"),
        ("Mean ablation or zero ablation: which should I use?", 2, "compare"),
        ("what's the technique called where you patch in an activation from a different prompt?", 1, "name"),
        ("How do you patch an activation from a different prompt?", 1, "how"),  # "different" alone compares nothing
        ("Which classes of heads make up the IOI circuit?", 1, "list"),
        ("What are the three phases of grokking?", 1, "list"),
    ],
)
def test_more_question_shapes(question, named, shape):
    assert classify(question, named) == shape


def _doc(eid, term, body, aliases=(), related=()):
    from assistant.types import Entry

    return Entry(
        id=eid,
        term=term,
        aliases=aliases,
        section="s",
        summary=f"{term} is the thing this entry defines.",
        related=related,
        body=body,
        path="x",
    )


LENS = _doc(
    "lens",
    "Logit lens",
    "## What it is\nApply the final unembedding after any layer to read a prediction. Stacking the readings shows "
    "how the guess develops.\n\n"
    "## The recipe\n1. Cache the residual stream after each layer of the model.\n2. Multiply every cached vector by "
    "the unembedding matrix.\n3. Inspect the top tokens of each layer in turn.\n\n"
    "## Why it fails in early layers\nThe unembedding was trained to read the final stream only. So early decodings "
    "are mostly noise, or the current token again.\n\n"
    "## Pitfalls\nA token seen under the lens is not proof that the layer computed it.",
)


def _composer(*entries):
    from assistant.answer.compose import Composer

    return Composer({e.id: e for e in entries})


def test_a_heading_that_shares_the_questions_words_answers_it():
    comp = _composer(LENS).compose(
        "Why does the logit lens give junk on early layers?", ["lens"], ["lens"], pinned=True
    )
    texts = [q.text for q in comp.quotes]
    assert comp.shape == "cause"
    assert "The unembedding was trained to read the final stream only." in texts
    # "So early decodings ..." leans on the sentence before it, which comes along, in entry order
    i = texts.index("The unembedding was trained to read the final stream only.")
    assert texts[i + 1].startswith("So early decodings")


def test_a_step_of_a_list_brings_the_whole_list_in_order():
    comp = _composer(LENS).compose("How do you run the logit lens step by step?", ["lens"], ["lens"], pinned=True)
    steps = [q.text for q in comp.quotes if q.bullet]
    assert comp.shape == "how" and len(steps) == 3 and steps[0].startswith("Cache") and steps[2].startswith("Inspect")


def test_a_second_named_entry_speaks_only_where_it_names_the_first():
    tuned = _doc(
        "tuned",
        "Tuned lens",
        "## What it is\nThe tuned lens trains one affine map per layer before decoding early layers. "
        "It fixes the early-layer noise of the logit lens. Training takes an hour on early layers of a big model.",
    )
    comp = _composer(LENS, tuned).compose(
        "How does the tuned lens fix the logit lens on early layers?", ["lens", "tuned"], ["lens", "tuned"], pinned=True
    )
    from_tuned = [q.text for q in comp.quotes if q.entry_id == "tuned" and q.heading]
    assert "It fixes the early-layer noise of the logit lens." in from_tuned  # names the first entry
    assert from_tuned[0].startswith("The tuned lens trains")  # the sentence "It" leans on, before it
    assert not any(t.startswith("Training takes") for t in from_tuned)  # names nothing: stays out


def test_kinds_of_a_named_entry_win_over_a_ranked_kind():
    entries = [
        _entry("ablation", "Ablation", related=("zero-ablation",)),
        _entry("mean-ablation", "Mean ablation"),
        _entry("zero-ablation", "Zero ablation"),
    ]
    comp = _composer(*entries).compose("What types of ablation are there?", ["zero-ablation", "ablation"], ["ablation"])
    assert comp.shape == "list" and [q.entry_id for q in comp.quotes] == ["ablation", "zero-ablation", "mean-ablation"]


def test_two_names_of_one_entry_are_explained_from_that_entry():
    norm = _doc(
        "post-ln",
        "Post-LayerNorm",
        "## What it is\nPost-LN normalises after each residual addition. Pre-LN normalises only the input of each "
        "sublayer, leaving the residual stream a plain sum.",
        aliases=("pre-LayerNorm", "pre-LN", "post-LN"),
    )
    other = _doc("other", "LayerNorm", "## What it is\nIt normalises a vector and rescales it with a gain.")
    comp = _composer(norm, other).compose("pre-LN vs post-LN?", ["post-ln", "other"], ["post-ln"])
    assert comp.shape == "compare" and {q.entry_id for q in comp.quotes} == {"post-ln"} and len(comp.quotes) >= 2


def test_a_three_way_comparison_quotes_all_three():
    entries = [
        _entry(e, t)
        for e, t in [("zero", "Zero ablation"), ("mean", "Mean ablation"), ("resample", "Resample ablation")]
    ]
    comp = _composer(*entries).compose(
        "zero vs mean vs resample ablation?", ["mean", "zero", "resample"], ["zero", "mean", "resample"]
    )
    assert comp.shape == "compare" and {q.entry_id for q in comp.quotes} == {"zero", "mean", "resample"}


def test_a_terms_own_words_do_not_set_the_shape():
    diff = _doc(
        "logit-diff",
        "Logit difference",
        "## Why it is a good metric\nIt equals a log-probability ratio of two answers.",
    )
    comp = _composer(diff).compose(
        "Why is the logit difference so popular?", ["logit-diff"], ["logit-diff"], pinned=True
    )
    assert comp.shape == "why"  # not "compare" for the word "difference" in the term
    assert any(q.heading == "why it is a good metric" for q in comp.quotes)


def test_bold_run_in_labels_split_from_their_sentence():
    entry = _doc("x", "Thing", "## Pitfalls\n- **Cost.** One forward pass per component and position is needed.")
    texts = [q.text for q in entry_quotes(entry)]
    assert "One forward pass per component and position is needed." in texts


def test_a_joined_how_after_a_name_question_is_answered_too():
    comp = _composer(LENS).compose(
        "what is it called when you decode a middle layer with the unembedding, and how do you run it?", ["lens"], []
    )
    assert comp.shape == "name" and comp.lead.startswith("The closest glossary entry is Logit lens")
    assert any(q.bullet and q.text.startswith("Cache the residual stream") for q in comp.quotes)  # the recipe


def test_an_entry_is_recognised_by_its_bare_term_and_its_capital_prefix():
    ccs = _doc("ccs", "Contrast-consistent search (CCS)", "## What it is\nIt finds a truth direction without labels.")
    ov = _doc("ov", "OV-circuit", "## What it is\nIt decides what moves.")
    qk = _doc(
        "qk",
        "QK-circuit",
        "## Why it matters\nSplitting a head into where to look (QK) and what to move (OV) is basic.",
    )
    comp = _composer(ccs).compose("How does contrast-consistent search find a truth direction?", ["ccs"], ["ccs"])
    assert comp.shape == "how"  # "contrast" is the term's word, not a comparison
    pair = _composer(qk, ov).compose("QK circuit vs OV circuit?", ["qk", "ov"], ["qk", "ov"])
    assert any(q.text.startswith("Splitting a head") for q in pair.quotes)  # "(OV)" names the other side


@pytest.mark.parametrize(
    ("close", "lead"),
    [
        ((), "The closest glossary entry is Logit lens."),
        (("tuned",), "The closest glossary entries are Logit lens and Tuned lens."),
    ],
)
def test_a_description_names_as_many_entries_as_retrieval_can_tell_apart(close, lead):
    tuned = _doc("tuned", "Tuned lens", "## What it is\nIt trains one affine map per layer.")
    comp = _composer(LENS, tuned).compose(
        "what is it called when you decode a middle layer?", ["lens", "tuned"], [], close=close
    )
    assert comp.lead == lead
    summaries = [q.entry_id for q in comp.quotes if q.heading == ""]
    assert summaries == ["lens", *close]  # every entry the lead names is defined, in the lead's order
    assert comp.lead_cites == (("lens", *close) if close else ())


def test_is_x_just_y_says_the_glossary_keeps_them_apart():
    entries = [_entry("crosscoder", "Crosscoder"), _entry("sae", "Sparse autoencoder", aliases=("SAE",))]
    comp = _composer(*entries).compose("Is a crosscoder just an SAE?", ["crosscoder", "sae"], ["crosscoder", "sae"])
    assert comp.shape == "compare"
    assert comp.lead == "The glossary has separate entries for Crosscoder and Sparse autoencoder."
    assert comp.lead_cites == ("crosscoder", "sae")
    plain = _composer(*entries).compose("crosscoder vs SAE?", ["crosscoder", "sae"], ["crosscoder", "sae"])
    assert plain.lead == ""  # no identity question, no claim


def test_each_part_of_a_joined_how_and_why_question_is_explained():
    question = "Why does the logit lens give junk on early layers, and how do you run it step by step?"
    comp = _composer(LENS).compose(question, ["lens"], ["lens"], pinned=True)
    texts = [q.text for q in comp.quotes]
    assert "The unembedding was trained to read the final stream only." in texts  # the why
    assert sum(q.bullet for q in comp.quotes) == 3  # and the recipe


def test_a_how_question_joined_to_a_when_does_it_break_down_gets_both():
    """Each part in its own shape: the recipe for the how, the pitfalls for the breakdown (the
    whole question read as one would be a limits question and lose the recipe)."""
    question = "How do you run the logit lens, and when does it break down?"
    comp = _composer(LENS).compose(question, ["lens"], ["lens"], pinned=True)
    texts = [q.text for q in comp.quotes]
    assert comp.shape == "limits"
    assert sum(q.bullet for q in comp.quotes) == 3  # the how
    assert "A token seen under the lens is not proof that the layer computed it." in texts  # the breakdown


def test_the_two_sides_of_a_comparison_are_the_named_entries_retrieval_ranks_highest():
    entries = [_entry("fs", "Feature splitting"), _entry("sae", "SAE"), _entry("ns", "Neuron splitting")]
    comp = _composer(*entries).compose(
        "Is feature splitting in SAEs the same thing as neuron splitting?", ["fs", "ns", "sae"], ["fs", "sae", "ns"]
    )
    assert {q.entry_id for q in comp.quotes} == {"fs", "ns"} and comp.lead_cites == ("fs", "ns")


def test_a_question_that_names_its_top_entry_is_no_description():
    tuned = _doc("tuned", "Tuned lens", "## What it is\nIt trains one affine map per layer.")
    comp = _composer(LENS, tuned).compose(
        "what does logit lens mean in papers?", ["lens", "tuned"], ["lens"], close=["tuned"]
    )
    assert comp.lead == "" and {q.entry_id for q in comp.quotes} == {"lens"}  # no runner-up offered


def test_how_does_x_work_gets_the_mechanism_sections():
    post = _doc(
        "post",
        "Interpreting GPT (post)",
        "## What it is\nThe 2020 LessWrong post by nostalgebraist on GPT-2 introduced the logit lens to the field. "
        "The post by nostalgebraist showed logit lens plots of GPT-2 predictions layer by layer on many prompts. "
        "The nostalgebraist post on the logit lens was widely shared and discussed on LessWrong in 2020.",
    )
    question = "How does the logit lens from the nostalgebraist LessWrong post on GPT-2 work step by step?"
    comp = _composer(LENS, post).compose(question, ["lens", "post"], ["lens", "post"], pinned=True)
    # the post's sentences match the qualifiers; "work step by step" still gets the recipe, whole
    assert comp.shape == "how" and sum(q.bullet for q in comp.quotes) == 3
