"""Formulas in corpus text: find `$...$` / `$$...$$` spans and parse their LaTeX into a checked
MathML tree (latex2mathml), for `corpus check` (every formula must parse) and the renderer.

`parse` is strict where latex2mathml is lenient: it accepts `\\frac{1` or `\\foo` and emits an
incomplete `<mfrac>` or an `<mi>\\foo</mi>`; it also copies `\\href`, `\\style` and `\\color`
into attributes and `\\text{...}` unescaped. So `parse` refuses unbalanced braces, unknown
commands, the commands that carry URLs, styles or colours, any element outside a MathML Core
allowlist and any wrong child count; attributes outside a small allowlist are dropped. The
renderer (`ui/render.py`) serialises the tree it returns, escaping every text node itself.

Delimiters: `$$...$$` is a display formula, `$...$` an inline one; `\\$` is a literal dollar.
Pandoc's rule tells money from math: the opening `$` has no space after it, the closing one no
space before it and no digit or letter after it, so "costs $5 and $6" is text. Code spans are
never math. Compromise: a formula cannot contain a literal `$`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # parses latex2mathml's output for checked input
from dataclasses import dataclass

MATH_TAGS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mo",
        "mn",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
    }
)
ATTRS = frozenset(
    {
        "display",
        "mathvariant",
        "stretchy",
        "fence",
        "form",
        "accent",
        "accentunder",
        "separator",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "movablelimits",
        "symmetric",
        "largeop",
        "width",
        "columnalign",
        "linethickness",
        "displaystyle",
        "scriptlevel",
    }
)
_ATTR_VALUE = re.compile(r"^[A-Za-z0-9.%+-]{0,20}$")
_CHILDREN = {"mfrac": 2, "msub": 2, "msup": 2, "msubsup": 3, "mroot": 2, "mover": 2, "munder": 2, "munderover": 3}
REFUSED_COMMANDS = (
    "\\href",
    "\\url",
    "\\style",
    "\\color",
    "\\class",
    "\\cssId",
    "\\html",
    "\\require",
    "\\textcolor",
    "\\colorbox",
    "\\includegraphics",
)
MAX_FORMULA_CHARS = 400

# Order matters: code spans first (skipped), then display, then inline formulas.
_SPANS = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?<!\\)\$\$(?P<display>[^$]+?)(?<!\\)\$\$"
    r"|(?<![\\$\w])\$(?![\s$])(?P<inline>[^$\n]+?)(?<![\s\\])\$(?![\w$])"
)


class FormulaError(ValueError):
    """A formula that does not parse; the message says what is wrong."""


@dataclass(frozen=True)
class Formula:
    start: int
    end: int
    latex: str
    display: bool


def find(text: str) -> list[Formula]:
    """Formula spans in `text`, outside code spans.

    >>> [(f.latex, f.display) for f in find("Here $W_{QK}$, not `$x$`, and $$a+b$$; costs $5.")]
    [('W_{QK}', False), ('a+b', True)]
    """
    out = []
    for m in _SPANS.finditer(text):
        if m["code"] is not None:
            continue
        display = m["display"] is not None
        out.append(Formula(m.start(), m.end(), (m["display"] if display else m["inline"]).strip(), display))
    return out


def parse(latex: str, *, display: bool = False) -> ET.Element:
    """A checked `<math>` tree for `latex`, or `FormulaError`.

    >>> parse("W_{QK} = W_Q^T W_K").tag
    'math'
    """
    from latex2mathml.converter import convert

    if not latex.strip():
        raise FormulaError("empty formula")
    if len(latex) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula is over {MAX_FORMULA_CHARS} characters")
    for cmd in REFUSED_COMMANDS:
        if re.search(re.escape(cmd) + r"(?![A-Za-z])", latex):
            raise FormulaError(f"{cmd} is not allowed in formulas")
    depth = 0
    for m in re.finditer(r"(?<!\\)[{}]", latex):
        depth += 1 if m.group() == "{" else -1
        if depth < 0:
            raise FormulaError("unbalanced braces: '}' without '{'")
    if depth:
        raise FormulaError("unbalanced braces: '{' without '}'")
    try:
        markup = convert(latex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many types, all "this does not parse"
        raise FormulaError(
            f"LaTeX does not parse ({type(exc).__name__}{': ' + str(exc) if str(exc) else ''})"
        ) from None
    try:
        root = ET.fromstring(markup)  # noqa: S314 - latex2mathml's output for checked input
    except ET.ParseError as exc:
        raise FormulaError(f"LaTeX gives malformed MathML ({exc})") from None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        el.tag = tag
        if tag not in MATH_TAGS:
            raise FormulaError(f"<{tag}> is not allowed in formulas")
        for name in list(el.attrib):
            if name not in ATTRS or not _ATTR_VALUE.match(el.attrib[name]):
                del el.attrib[name]
        if tag in _CHILDREN and len(el) != _CHILDREN[tag]:
            raise FormulaError(f"incomplete {tag[1:]} (a missing argument: check the braces)")
        if tag in ("mi", "mo") and (el.text or "").startswith("\\"):
            raise FormulaError(f"unknown command {el.text}")
    return root


def problems(text: str) -> list[tuple[int, str]]:
    """(line offset in `text`, problem) for each formula in `text` that does not parse."""
    out = []
    for f in find(text):
        try:
            parse(f.latex, display=f.display)
        except FormulaError as exc:
            out.append((text.count("\n", 0, f.start), f"formula ${f.latex[:40]}$ {exc}"))
    return out
