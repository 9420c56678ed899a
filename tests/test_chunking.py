"""Chunking: every chunk fits the embedder's window, loses no words, and has a stable id (B6).

Measured with the real WordPieceCounter (the model's own tokenizer.json) on `embed_text(chunk)`,
the exact string that gets embedded.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest

from assistant.chunking import chunk_entry, chunk_source, embed_text
from assistant.types import Chunk, Entry
from tests.conftest import REPO

BUDGET = 200


def entry_chunks(corpus, budget, counter) -> dict[str, list[Chunk]]:
    return {e.id: chunk_entry(e, budget, counter) for e in corpus.entries.values()}


def source_chunks(corpus, budget, counter) -> dict[str, list[Chunk]]:
    return {
        s.id: chunk_source(s, corpus.linked_by(s.id), budget, counter)
        for s in corpus.sources.values()
        if corpus.linked_by(s.id)
    }


def body_words_and_headings(body: str) -> tuple[list[str], list[str]]:
    """Words of the body outside heading lines, and the heading titles, in order."""
    words, headings = [], []
    for line in body.splitlines():
        m = re.match(r"^#{2,6}\s+(.*)$", line)
        if m:
            headings.append(m.group(1).strip())
        else:
            words += line.split()
    return words, headings


def assert_lossless(chunks: list[Chunk], lead: str, body: str, term: str) -> None:
    """The chunks' words are exactly the lead's then the body's, in order: none lost, none doubled."""
    got = [w for c in chunks for w in c.text.split()]
    words, headings = body_words_and_headings(body)
    assert got == lead.split() + words
    seen = [c.heading for c in chunks]
    distinct = [h for i, h in enumerate(seen) if i == 0 or h != seen[i - 1]]
    assert distinct == [term] + [f"{term} > {h}" for h in headings]


def make_entry(body: str, **over) -> Entry:
    fields = dict(
        id="long-one",
        term="Long one",
        aliases=("lengthy",),
        section="toy/basics",
        summary="An entry made up by the tests.",
        body=body,
        path="entries/toy/long-one.md",
    )
    fields.update(over)
    return Entry(**fields)


# ---------------------------------------------------------------- budget


@pytest.mark.parametrize("budget", [64, BUDGET, 256])
def test_every_chunk_fits_the_budget(fixture_corpus, counter, budget):
    everything = [
        *(c for cs in entry_chunks(fixture_corpus, budget, counter).values() for c in cs),
        *(c for cs in source_chunks(fixture_corpus, budget, counter).values() for c in cs),
    ]
    assert len(everything) > len(fixture_corpus.entries)
    over = [(c.chunk_id, counter(embed_text(c))) for c in everything if counter(embed_text(c)) > budget]
    assert over == []
    assert all(c.n_tokens == counter(embed_text(c)) for c in everything)
    assert all(c.text.strip() for c in everything), "empty chunk"


def test_counter_counts_the_models_word_pieces(counter):
    assert counter("") == 2  # [CLS] [SEP]
    assert counter("induction head") == 4
    assert counter("superposition") == 4  # two word pieces
    assert counter("head " * 300) == 302, "the counter must not truncate at the model window"


def test_budget_is_measured_on_the_embedded_text(counter):
    """The heading path is part of what gets embedded, so it must count against the budget."""
    term = "A very long term name " * 6
    entry = make_entry(" ".join(f"Word{i}." for i in range(300)), term=term.strip())
    for c in chunk_entry(entry, 96, counter):
        assert counter(embed_text(c)) <= 96
        assert embed_text(c).startswith(c.heading + "\n")


# ---------------------------------------------------------------- ids


def test_chunk_ids_are_doc_id_and_sequence(fixture_corpus, counter):
    for doc_id, chunks in [
        *entry_chunks(fixture_corpus, BUDGET, counter).items(),
        *((f"source:{k}", v) for k, v in source_chunks(fixture_corpus, BUDGET, counter).items()),
    ]:
        assert [c.chunk_id for c in chunks] == [f"{doc_id}#{n}" for n in range(len(chunks))]
        assert all(c.doc_id == doc_id for c in chunks)


def _digest(corpus, counter) -> str:
    h = hashlib.sha256()
    for cs in [*entry_chunks(corpus, BUDGET, counter).values(), *source_chunks(corpus, BUDGET, counter).values()]:
        for c in cs:
            h.update(c.model_dump_json().encode())
    return h.hexdigest()


def test_chunking_is_deterministic_across_runs(fixture_corpus, counter):
    here = _digest(fixture_corpus, counter)
    assert _digest(fixture_corpus, counter) == here
    script = (
        "from tests.conftest import FIXTURE_CORPUS\nfrom assistant.corpus import load_corpus\n"
        "from assistant.embedding.local import WordPieceCounter\nfrom tests.test_chunking import _digest\n"
        "print(_digest(load_corpus(FIXTURE_CORPUS), WordPieceCounter()))\n"
    )
    for seed in ("1", "4242"):  # another process, another hash seed: same chunks, same ids
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here


def test_built_index_holds_the_same_chunks(fixture_corpus, counter, retriever):
    """The build uses this chunker, with the entries sorted, then the linked sources."""
    expected = [
        c for e in sorted(fixture_corpus.entries) for c in chunk_entry(fixture_corpus.entries[e], BUDGET, counter)
    ] + [
        c
        for s in sorted(fixture_corpus.sources)
        if fixture_corpus.linked_by(s)
        for c in chunk_source(fixture_corpus.sources[s], fixture_corpus.linked_by(s), BUDGET, counter)
    ]
    assert retriever.index.chunks == expected


# ---------------------------------------------------------------- content


def test_no_body_word_is_lost(fixture_corpus, counter):
    for entry in fixture_corpus.entries.values():
        aka = f" (also: {', '.join(entry.aliases)})" if entry.aliases else ""
        lead = f"{entry.term}{aka}: {entry.summary}"
        assert_lossless(chunk_entry(entry, BUDGET, counter), lead, entry.body, entry.term)
    for source in fixture_corpus.sources.values():
        year = f" ({source.year})" if source.year else ""
        lead = f"{source.title}{year}, {source.authors}."
        chunks = chunk_source(source, ("x",), BUDGET, counter)
        assert_lossless(chunks, lead, source.body, source.title)


def test_small_budget_still_loses_nothing(fixture_corpus, counter):
    entry = fixture_corpus.entries["induction-head"]
    chunks = chunk_entry(entry, 48, counter)
    assert len(chunks) > len(chunk_entry(entry, BUDGET, counter))
    aka = f" (also: {', '.join(entry.aliases)})"
    assert_lossless(chunks, f"{entry.term}{aka}: {entry.summary}", entry.body, entry.term)


def test_900_word_paragraph_is_split_not_truncated(counter):
    sentences = [f"Sentence S{i:03d} talks about toy feature F{i:03d} in layer L{i % 12} today." for i in range(90)]
    body = "## Details\n" + " ".join(sentences)
    assert len(body.split()) >= 900 and "\n\n" not in body
    entry = make_entry(body)
    chunks = chunk_entry(entry, BUDGET, counter)
    body_chunks = [c for c in chunks if c.heading == "Long one > Details"]
    assert len(body_chunks) >= 4
    assert all(counter(embed_text(c)) <= BUDGET for c in chunks)
    assert_lossless(chunks, "Long one (also: lengthy): An entry made up by the tests.", body, "Long one")
    # split at sentence ends when it can: every body chunk ends a sentence
    assert all(c.text.endswith("today.") for c in body_chunks)


def test_400_word_single_sentence_is_split_at_words(counter):
    body = "## One breath\nThis " + " ".join(f"w{i:03d}" for i in range(400)) + " ends here."
    entry = make_entry(body)
    chunks = chunk_entry(entry, BUDGET, counter)
    body_chunks = [c for c in chunks if c.heading == "Long one > One breath"]
    assert len(body_chunks) >= 2
    assert all(counter(embed_text(c)) <= BUDGET for c in chunks)
    assert_lossless(chunks, "Long one (also: lengthy): An entry made up by the tests.", body, "Long one")


def test_unsplittable_run_is_refused_not_truncated(counter):
    """One whitespace-free run longer than the window cannot be split: chunking says so."""
    entry = make_entry("## Noise\n" + "!" * 600)
    with pytest.raises(ValueError, match=r"long-one#\d+ has \d+ word pieces > 200"):
        chunk_entry(entry, BUDGET, counter)


def test_first_chunk_carries_term_aliases_and_summary(fixture_corpus, counter):
    for entry in fixture_corpus.entries.values():
        first = chunk_entry(entry, BUDGET, counter)[0]
        assert first.chunk_id == f"{entry.id}#0" and first.heading == entry.term
        assert first.text.startswith(entry.term)
        assert entry.summary in first.text
        for alias in entry.aliases:
            assert alias in first.text
        assert first.entry_ids == (entry.id,) and first.kind == "entry"
        assert (first.term, first.section) == (entry.term, entry.section)


def test_source_chunks_speak_for_the_linking_entries(fixture_corpus, counter, retriever):
    chunks = source_chunks(fixture_corpus, BUDGET, counter)
    assert chunks, "the fixture corpus links no sources"
    for sid, cs in chunks.items():
        linking = tuple(sorted(e.id for e in fixture_corpus.entries.values() if sid in e.sources))
        assert linking
        for c in cs:
            assert c.kind == "source" and c.section == "sources"
            assert c.entry_ids == linking
    framework = chunks["framework"][0].entry_ids
    assert {"induction-head", "qk-circuit", "ov-circuit"} <= set(framework)
    indexed = [c for c in retriever.index.chunks if c.kind == "source"]
    assert indexed and all(c.entry_ids == fixture_corpus.linked_by(c.doc_id.removeprefix("source:")) for c in indexed)
