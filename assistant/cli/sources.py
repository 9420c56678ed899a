"""`mi-glossary sources ...`: fetch the texts of the sources the glossary links.

Errors go through the CLI's one translator (`common.handle_errors`): `error: problem; fix` on
stderr and the error's exit code (2 usage, 3 data, 5 network); a traceback only with --debug.
What was fetched before an interruption is kept: the same command resumes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import console, handle_errors, progress, safe_terminal_text, settings_from
from assistant.errors import NetworkError, UsageError

app = typer.Typer(help="Fetch the texts of the linked sources (papers, posts, docs).", no_args_is_help=True)


@app.command("fetch")
@handle_errors
def fetch(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Fetch only this source id (repeat for more).")
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch again what is already stored.")] = False,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: ./corpus).")] = None,
) -> None:
    """Download each source's url, extract its main text and store it under the cache folder.

    Polite (robots.txt, one request per host every few seconds) and safe (http(s) only, timeouts,
    size cap, content-type check, capped redirects). Run it again to resume. Then run
    `mi-glossary index build` to index the texts.
    """
    from assistant.corpus import load_corpus
    from assistant.sources.fetch import fetch_all
    from assistant.sources.library import clean_temporaries

    s = settings_from(corpus)
    loaded = load_corpus(s.paths.corpus_dir)
    wanted = list(dict.fromkeys(only or []))
    unknown = [sid for sid in wanted if sid not in loaded.sources]
    if unknown:
        raise UsageError(
            f"unknown source id(s): {', '.join(unknown)}", f"use ids from {s.paths.corpus_dir / 'sources'}/*.md"
        )
    sources = [loaded.sources[sid] for sid in (wanted or sorted(loaded.sources))]
    store = s.sources_path
    clean_temporaries(store)
    console(stderr=True).print(f"fetching {len(sources)} source(s) into {store}")
    done = 0
    with progress("fetching sources") as report:
        report(0, len(sources))

        def one_done(_outcome: object) -> None:
            nonlocal done
            done += 1
            report(done, len(sources))

        outcomes = fetch_all(sources, store, s.sources, refresh=refresh, on_done=one_done)
    counts = Counter(o.status for o in outcomes)
    out = console()
    for o in outcomes:
        if o.status != "fetched" and not o.reason.startswith("already fetched"):
            out.print(safe_terminal_text(f"  {o.status}: {o.source_id}: {o.reason}"))
    kept = sum(1 for o in outcomes if o.reason.startswith("already fetched"))
    out.print(
        f"fetched {counts['fetched']}, skipped {counts['skipped']} ({kept} already stored), "
        f"failed {counts['failed']}; texts in {store}"
    )
    if counts["fetched"]:
        out.print("next: run `mi-glossary index build` to index them")
    if counts["failed"] and not counts["fetched"] and not kept:  # partial success is a success, with its list
        raise NetworkError(
            f"none of {counts['failed']} source(s) could be fetched (listed above)",
            "check the network and run `mi-glossary sources fetch` again",
        )
