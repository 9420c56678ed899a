"""`mi-glossary index build | info`: build the search index into a new generation, show the current one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from assistant.cli.common import CorpusOpt, IndexOpt, console, handle_errors, progress, settings_from

if TYPE_CHECKING:
    from assistant.settings import Settings

app = typer.Typer(help="Build and inspect the search index.", no_args_is_help=True)


def build(s: Settings) -> None:
    """Build the index `s` points at, with a progress bar; also used by `serve` on a fresh machine."""
    from assistant import factory
    from assistant.indexing.store import verify_build

    started = time.perf_counter()
    corpus = factory.open_corpus(s)
    console(stderr=True).print(
        f"corpus: {len(corpus.entries)} entries, {len(corpus.sources)} sources; loading the embedder"
    )
    with progress("embedding chunks and adapter examples") as report:
        path = factory.build_index(s, corpus=corpus, progress=report)
    manifest = verify_build(path)
    tier = manifest.passages  # fetched source texts, when `mi-glossary sources fetch` stored some
    extra = f", {tier.n_chunks} passages of {len(tier.sources)} fetched sources ({tier.index_type})" if tier else ""
    console().print(
        f"built {path} ({manifest.n_chunks} chunks, {manifest.n_entries} entries{extra}) "
        f"in {time.perf_counter() - started:.1f} s; CURRENT -> {path.name}"
    )


@app.command("build")
@handle_errors
def index_build(corpus: CorpusOpt = None, index_dir: IndexOpt = None) -> None:
    """Chunk, embed and index the corpus into a new build, then make it current."""
    build(settings_from(corpus, index_dir))


@app.command("info")
@handle_errors
def index_info(index_dir: IndexOpt = None) -> None:
    """Show the current build's manifest (verified)."""
    from assistant.indexing.store import current_build, verify_build

    s = settings_from(index_dir=index_dir)
    manifest = verify_build(current_build(s.index_path))
    console().print(manifest.model_dump_json(indent=1, exclude={"corpus_files", "files", "sizes"}))
