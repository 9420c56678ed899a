"""`mi-glossary ask | search`: a cited answer, or ranked entries with their best passage.

Text from the corpus and the model is untrusted: it reaches the terminal only through
`safe_terminal_text` (no control or bidi characters) and a console with markup off.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli.common import (
    CorpusOpt,
    IndexOpt,
    ProfileOpt,
    SearchMode,
    console,
    handle_errors,
    progress,
    safe_terminal_text,
    settings_from,
    write_json,
)


@handle_errors
def search(
    query: Annotated[str, typer.Argument(help="What to look up.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Entries to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
    mode: Annotated[SearchMode, typer.Option(help="Which rankers: hybrid, dense or bm25.")] = SearchMode.hybrid,
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Search the glossary: ranked entries with their best passage."""
    from assistant.factory import open_retriever

    s = settings_from(corpus, index_dir)
    result = open_retriever(s).search(query, k, mode=mode.value)
    if as_json:
        from assistant.contracts import SearchResponse

        write_json(SearchResponse.from_result(result))
        return
    from rich.table import Table

    table = Table(title=f"{len(result.hits)} entries for: {safe_terminal_text(result.query)}")
    for col in ("#", "entry", "section", "score", "passage"):
        table.add_column(col)
    for h in result.hits:
        passage = safe_terminal_text(h.text.replace("\n", " "))
        table.add_row(
            str(h.rank),
            safe_terminal_text(h.term) + (" *" if h.matched_term else ""),
            h.section,
            f"{h.score:.4f}",
            passage[:160] + ("..." if len(passage) > 160 else ""),
        )
    console().print(table)
    for sp in result.passages:  # the second tier, only after `mi-glossary sources fetch`
        where = f" § {sp.section}" if sp.section else ""
        console().print(
            safe_terminal_text(
                f"source passage {sp.rank}: {sp.title}{where} <{sp.url}> (linked by {', '.join(sp.entry_ids)})"
            )
        )
        console().print("  " + safe_terminal_text(" ".join(sp.text.split())))


@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="Your question about mechanistic interpretability.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
    profile: ProfileOpt = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Answer from retrieval only (cited summary).")] = False,
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Answer a question with citations to the glossary entries used."""
    from assistant.factory import open_assistant

    s = settings_from(corpus, index_dir, profile=profile)
    if no_llm or s.generation.mode != "generated":  # quoted answers need no model: no "preparing" bar
        assistant = open_assistant(s, use_llm=False)
    else:
        with progress("preparing the model") as report:
            assistant = open_assistant(s, progress=report)
    answer = assistant.ask(question)
    if as_json:
        from assistant.contracts import AskResponse

        write_json(AskResponse.from_answer(answer))
        return
    out = console()
    out.print(safe_terminal_text(answer.answer))
    if answer.citations:
        out.print("\nCitations:")
        for c in answer.citations:
            out.print(f"  [{c.n}] {safe_terminal_text(c.term)} ({c.entry_id}) {safe_terminal_text(c.url)}")
            for sp in c.passages:  # a fetched source this entry links, supporting a sentence cited [n]
                where = f" § {sp.section}" if sp.section else ""
                out.print(safe_terminal_text(f"      source: {sp.title}{where} <{sp.url}>"))
    if not answer.covered and answer.coverage is not None:
        out.print(safe_terminal_text(f"Why: {answer.coverage.detail} (rule {answer.coverage.rule})"))
    if answer.suggestions:
        out.print("\nYou may mean: " + ", ".join(safe_terminal_text(r.term) for r in answer.suggestions))
    out.print(
        "\nRetrieved: "
        + ", ".join(f"{safe_terminal_text(r.term)}{' *' if r.cited else ''} ({r.score:.3f})" for r in answer.retrieved)
    )
