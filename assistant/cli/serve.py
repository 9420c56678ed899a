"""`mi-glossary serve | mcp`: the chat UI with its HTTP API and MCP, or MCP over stdin/stdout."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from assistant.cli.common import CorpusOpt, IndexOpt, ProfileOpt, console, handle_errors, settings_from


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    profile: ProfileOpt = None,
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Start the chat UI on http://127.0.0.1:7860 (loopback only unless --host says otherwise)."""
    from assistant.cli.index import build
    from assistant.errors import IndexNotFound
    from assistant.indexing.store import current_build
    from assistant.ui.serve import serve as run_server

    ui = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    s = settings_from(corpus, index_dir, profile=profile, **({"ui": ui} if ui else {}))
    try:
        current_build(s.index_path)
    except IndexNotFound:  # first run on a fresh machine: build, then serve
        console(stderr=True).print(f"no index at {s.index_path} yet: building it first")
        build(s)
    model = " and the model" if s.generation.mode == "generated" else ""
    console(stderr=True).print(f"loading the index{model} ...")

    def ready(url: str) -> None:
        extra = f", MCP at {url}mcp" if s.mcp.http else ""
        console().print(f"chat ready at {url}  (API at {url}api/v1{extra}; Ctrl-C to stop)")

    run_server(s, on_ready=ready)


@handle_errors
def mcp_stdio(corpus: CorpusOpt = None, index_dir: IndexOpt = None) -> None:
    """Serve the glossary to MCP clients (Claude Desktop, Cursor, agents) over stdin/stdout."""
    import contextlib

    from assistant.factory import open_mcp_server
    from assistant.integrations.mcp_server import run_stdio

    s = settings_from(corpus, index_dir)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only MCP messages
        server = open_mcp_server(s)
    run_stdio(server)
