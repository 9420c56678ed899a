"""markdown-it-py's HTML renderer, narrowed to what `render.markdown` may emit.

markdown-it-py parses (CommonMark, raw HTML off, plus tables); this renderer decides the HTML:
- no attributes on any tag (no `style` from table alignment, no `start`, no `class` from a fence);
- text, code and alt text go through `render.text` (HTML- and Markdown-escaped);
- links and images show their text only (a URL in an entry body never becomes a link);
- glossary terms are linked in text tokens, with one `Scope` per paragraph, list item or table
  cell, and never in headings (`env["heading"]`) or code;
- headings are shifted by `env["offset"]` levels (an entry's `##` is an `<h3>` on its page);
- formula tokens (from `render`'s inline rule) become MathML via `render.formula`.
Line breaks render as spaces; block newlines are removed by the caller. The escaping, linking
and formula functions are `render`'s, passed in, so this module imports nothing of the UI.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

Env = MutableMapping[str, Any]


class SafeRenderer(RendererHTML):
    """Token -> HTML rules; every method named after a token type replaces markdown-it's rule.

    `escape(text)` escapes text, `link_terms(text, scope)` escapes it with glossary terms linked,
    `formula(latex, display)` renders a formula; each returns HTML."""

    def __init__(
        self,
        escape: Callable[[str], str],
        link_terms: Callable[[str, Any], str],
        formula: Callable[[str, bool], str],
    ) -> None:
        super().__init__()
        self._escape, self._link_terms, self._formula = escape, link_terms, formula

    @staticmethod
    def renderAttrs(token: Token) -> str:  # markdown-it names its hooks in camelCase
        return ""

    def renderInline(self, tokens: Sequence[Token], options: OptionsDict, env: Env) -> str:
        base = env.get("scope")
        saved = env.get("current")
        env["current"] = None if env.get("heading") or base is None else base.paragraph()
        try:
            return super().renderInline(tokens, options, env)
        finally:
            env["current"] = saved

    def text(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return self._link_terms(tokens[idx].content, env.get("current"))

    def code_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return f"<code>{self._escape(tokens[idx].content)}</code>"

    def code_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        code = tokens[idx].content.removesuffix("\n")
        # newlines as entities: the output stays one line and the code keeps its lines
        body = "&#10;".join(self._escape(line) for line in code.split("\n"))
        return f"<pre><code>{body}</code></pre>"

    fence = code_block

    def formula(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return self._formula(tokens[idx].content, tokens[idx].info == "display")

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return self._escape(tokens[idx].content)  # the alt text, never the URL

    def link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return ""

    link_close = link_open

    def softbreak(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return " "

    hardbreak = softbreak

    def html_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        return self._escape(tokens[idx].content)  # unreachable with html off; shown as text all the same

    html_block = html_inline

    def heading_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        env["heading"] = True
        return f"<h{self._level(tokens[idx], env)}>"

    def heading_close(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Env) -> str:
        env["heading"] = False
        return f"</h{self._level(tokens[idx], env)}>"

    @staticmethod
    def _level(token: Token, env: Env) -> int:
        return min(6, int(token.tag[1:]) + int(env.get("offset", 0)))
