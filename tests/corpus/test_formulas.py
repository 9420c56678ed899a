"""Formulas in corpus text: where they are found, what parses, and that the real glossary's all do."""

from __future__ import annotations

import pytest

from assistant.corpus import formulas
from tests.conftest import REPO


def test_find_skips_code_money_and_escaped_dollars():
    text = r"Inline $W_{QK}$, display $$a + b$$, code `$x$`, costs $5 and $6, \$y\$, a $ b, $1 - x$."
    assert [(f.latex, f.display) for f in formulas.find(text)] == [("W_{QK}", False), ("a + b", True), ("1 - x", False)]


@pytest.mark.parametrize(
    "latex",
    [
        r"W_{QK} = W_Q^T W_K",
        r"\operatorname{softmax}(x)_i = \exp(x_i) / \sum_j \exp(x_j)",
        r"\lVert x - \hat{x} \rVert^2 + \lambda \sum_i f_i \lVert d_i \rVert",
        r"\text{score} = \lVert W_A W_B \rVert_F / (\lVert W_A \rVert_F \lVert W_B \rVert_F)",
    ],
)
def test_real_formulas_parse_to_allowlisted_mathml(latex):
    root = formulas.parse(latex)
    assert root.tag == "math" and root.attrib == {"display": "inline"}
    assert {el.tag for el in root.iter()} <= formulas.MATH_TAGS


@pytest.mark.parametrize(
    "latex,needle",
    [
        (r"\frac{1", "unbalanced braces"),
        (r"a}{b", "unbalanced braces"),
        (r"x^", "does not parse"),
        (r"\left( x", "does not parse"),
        (r"\nosuchcommand{x}", "unknown command"),
        (r"\href{javascript:alert(1)}{x}", "not allowed"),
        (r"\style{position:fixed}{x}", "not allowed"),
        (r"\color{red} x", "not allowed"),
        (r"\text{<script>alert(1)</script>}", "not allowed|MathML"),  # latex2mathml copies it unescaped
        (r"\text{<img src=x onerror=alert(1)>}", "not allowed|MathML"),
        ("", "empty"),
    ],
)
def test_broken_or_unsafe_formulas_are_refused(latex, needle):
    with pytest.raises(formulas.FormulaError, match=needle):
        formulas.parse(latex)


def test_every_formula_in_the_glossary_parses_and_the_listed_kinds_are_math():
    from assistant.corpus import load_corpus

    corpus = load_corpus(REPO / "corpus")
    found = {eid: formulas.find(e.body) for eid, e in corpus.entries.items()}
    for spans in found.values():
        for f in spans:
            formulas.parse(f.latex, display=f.display)
    bodies = {eid: corpus.entries[eid].body for eid in found}
    for eid, needle in [
        ("qk-circuit", "W_{QK} = W_Q^T W_K"),
        ("ov-circuit", "W_{OV} = W_O W_V"),
        ("softmax", r"\operatorname{softmax}(x)_i"),
        ("rmsnorm", r"\operatorname{RMSNorm}(x)"),
        ("layernorm", r"\operatorname{mean}(x)"),
        ("attention-pattern", r"\operatorname{softmax}"),
        ("sparsity-penalty", r"\lambda \sum_i"),
        ("composition-score", r"\lVert W_A W_B \rVert_F"),
    ]:
        assert f"${needle}" in bodies[eid] or needle in bodies[eid], eid
        assert found[eid], eid
