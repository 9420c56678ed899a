"""`mi-glossary corpus check`: every problem of the glossary files, one `path:line: problem (fix)` a line."""

from __future__ import annotations

import sys

import typer

from assistant.cli.common import CorpusOpt, console, handle_errors, safe_terminal_text, settings_from

app = typer.Typer(help="Check the glossary files.", no_args_is_help=True)


@app.command("check")
@handle_errors
def corpus_check(corpus: CorpusOpt = None) -> None:
    """Validate every entry and source; print ALL problems as path:line: problem (fix)."""
    from assistant.corpus import check_corpus

    s = settings_from(corpus)
    found, problems = check_corpus(s.paths.corpus_dir)
    for line in problems:  # one problem per line, never wrapped: editors and CI parse path:line
        sys.stdout.write(safe_terminal_text(line) + "\n")
    if problems or found is None:
        console(stderr=True).print(f"{len(problems)} problem(s) found")
        raise typer.Exit(3)
    console().print(
        f"ok: {len(found.entries)} entries, {len(found.sources)} sources, {len(found.sections)} sections, "
        f"{len(found.off_topics)} off-topics"
    )
