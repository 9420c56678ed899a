"""Fetched texts become a second tier of the index: chunked by section, cited as their source,
recorded in the manifest; an index built without them is unchanged."""

from __future__ import annotations

import json

import pytest

from assistant.indexing.passages import TierOptions, choose_index_type
from assistant.sources.library import FetchedText, text_digest, write_record

pytestmark = pytest.mark.slow

SENTENCE = "The vermilion okapi head moves the indirect object's name into the final residual position."
LINKED = ("activation-patching",)  # the fixture entry that links ioi-paper
QUERIES = [
    "induction head",
    "what does the residual stream carry",
    "name mover heads in the IOI circuit",
    "superposition",
]


def _record(source, text: str) -> FetchedText:
    return FetchedText(
        source_id=source.id,
        url=source.url,
        fetched_url=source.url,
        final_url=source.url,
        fetched_at="2026-01-01T00:00:00+00:00",
        content_type="text/html",
        sha256="ab" * 32,
        n_bytes=len(text),
        extractor="test",
        text_sha256=text_digest(text),
        text=text,
    )


TEXT = (
    "Interpretability in the wild.\n\n## 3 Discovering the circuit\n\n"
    + "We patch activations along paths from the logits back to the embeddings. " * 12
    + f"\n\n## 3.2 Name mover heads\n\n{SENTENCE} Heads 9.9, 9.6 and 10.0 attend to the name and copy it.\n"
)


@pytest.fixture(scope="module")
def tier_index(tmp_path_factory, fixture_corpus, embedder, counter):
    from assistant.indexing.store import build_index

    store = tmp_path_factory.mktemp("store")
    source = fixture_corpus.sources["ioi-paper"]
    write_record(store, _record(source, TEXT))
    gone = source.model_copy(update={"id": "not-in-the-corpus"})
    write_record(store, _record(gone, "## Intro\n\n" + "Never indexed: the corpus has no such source. " * 5))
    stale = fixture_corpus.sources["tms"]
    write_record(store, _record(stale, "x").model_copy(update={"url": "https://example.org/old"}))
    path = tmp_path_factory.mktemp("index") / "default"
    build_index(fixture_corpus, embedder, counter, path, passages=TierOptions(store))
    return path, store


def _retriever(path, embedder):
    from assistant.indexing.store import load_index
    from assistant.retrieval.retriever import HybridRetriever

    return HybridRetriever(load_index(path), embedder)


def test_the_manifest_records_the_included_sources_and_their_hashes(tier_index):
    from assistant.indexing.store import current_build, verify_build

    path, _ = tier_index
    build = current_build(path)
    manifest = verify_build(build)
    assert manifest.passages is not None
    assert manifest.passages.sources == {"ioi-paper": "ab" * 32}  # not the unknown one, not the stale one
    assert manifest.passages.text_sha256 == {"ioi-paper": text_digest(TEXT)}
    assert manifest.passages.index_type == "flat" and "auto" in manifest.passages.index_choice
    assert {"passages.jsonl", "passages.faiss", "passage_sources.jsonl"} <= set(manifest.files)
    chunks = [json.loads(line) for line in (build / "passages.jsonl").read_text().splitlines()]
    assert {c["kind"] for c in chunks} == {"passage"}
    assert all(tuple(c["entry_ids"]) == LINKED for c in chunks)
    assert all(c["n_tokens"] <= 200 for c in chunks)  # the entries' window rules


def test_search_returns_the_passage_as_its_source_with_section_and_linking_entries(
    tier_index, embedder, fixture_corpus
):
    path, _ = tier_index
    result = _retriever(path, embedder).search(SENTENCE)
    top = result.passages[0]
    assert SENTENCE in top.text
    assert top.source_id == "ioi-paper" and top.title == fixture_corpus.sources["ioi-paper"].title
    assert top.section == "3.2 Name mover heads"
    assert top.url == fixture_corpus.sources["ioi-paper"].url
    assert top.entry_ids == fixture_corpus.linked_by("ioi-paper")
    assert result.hits and all(h.chunk_id.split("#")[0] in fixture_corpus.entries for h in result.hits)


def test_entry_results_do_not_change_when_sources_were_fetched(tier_index, retriever, embedder):
    """`retriever` (conftest) is the same corpus built without any fetched text."""
    path, _ = tier_index
    with_tier = _retriever(path, embedder)
    assert retriever.index.passages is None and retriever.index.manifest.passages is None
    for q in QUERIES:
        a, b = retriever.search(q), with_tier.search(q)
        assert [(h.entry_id, h.score, h.chunk_id) for h in a.hits] == [
            (h.entry_id, h.score, h.chunk_id) for h in b.hits
        ]
        assert a.signals.best_dense == b.signals.best_dense  # coverage reads the entry tier only
        assert a.passages == []


def test_a_damaged_passage_file_is_refused_before_parsing(tier_index, tmp_path):
    import shutil

    from assistant.errors import IndexCorrupt
    from assistant.indexing.store import current_build, load_index

    path, _ = tier_index
    copy = tmp_path / "default"
    shutil.copytree(path, copy)
    target = current_build(copy) / "passages.jsonl"
    target.write_bytes(target.read_bytes().replace(b"okapi", b"okapo"))
    with pytest.raises(IndexCorrupt, match=r"passages\.jsonl"):
        load_index(copy)


def test_the_index_type_is_chosen_from_the_size():
    assert choose_index_type(5_000, "auto", 40_000)[0] == "flat"
    assert choose_index_type(60_000, "auto", 40_000)[0] == "ivf"
    assert choose_index_type(10, "hnsw", 40_000)[0] == "hnsw"


def test_an_answer_cites_the_passage_next_to_the_entry_that_links_it(tier_index, embedder):
    from assistant.answer.passages import cite_passages
    from assistant.types import Citation, SentenceSupport

    path, _ = tier_index
    result = _retriever(path, embedder).search("which heads move the indirect object's name?")
    sentence = SentenceSupport(
        text="Name mover heads move the indirect object's name to the final position.", citation=1, support=1.0
    )
    other = SentenceSupport(text="A transformer has layers.", citation=2, support=1.0)
    cites = (
        Citation(n=1, entry_id="activation-patching", term="Activation patching", url=""),
        Citation(n=2, entry_id="tokenization", term="Tokenization", url=""),
    )
    sents, out = cite_passages([sentence, other], cites, result.passages, embedder)
    assert sents[0].passage is not None and sents[0].passage.startswith("passage:ioi-paper#")
    assert sents[1].passage is None  # tokenization does not link the IOI paper
    assert [p.source_id for p in out[0].passages] == ["ioi-paper"] and out[1].passages == ()
    dumped = out[1].model_dump(mode="json")
    assert "passages" not in dumped  # nothing changes in the JSON without a passage
