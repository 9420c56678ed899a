"""The `mi-glossary` command line: one typer app, one module per command group.

`common` holds what every command shares (consoles, progress bar, error translator, choices);
`corpus`, `index`, `model`, `ask` (ask, search), `serve` (serve, mcp) and `eval` hold the commands.
Heavy libraries are imported inside commands, never at import, so `--help` stays fast.
Exit codes: 0 ok, 1 an eval gate failed, 2 usage, 3 data (corpus/index), 4 model/back end, 5 network.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli import ask, corpus, index, model, serve
from assistant.cli import eval as eval_commands
from assistant.cli.common import STATE
from assistant.cli.sources import app as sources_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="Cited answers about mechanistic interpretability from our glossary.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(corpus.app, name="corpus")
app.add_typer(index.app, name="index")
app.add_typer(model.app, name="model")
app.add_typer(eval_commands.app, name="eval")
app.add_typer(sources_app, name="sources")
app.command("search")(ask.search)
app.command("ask")(ask.ask)
app.command("serve")(serve.serve)
app.command("mcp")(serve.mcp_stdio)


@app.callback()
def main_callback(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    STATE["debug"] = debug


def main() -> None:
    """The console script: run the app (click exits 2 on usage errors)."""
    app()
