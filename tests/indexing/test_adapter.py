"""The entry adapter: its training data, its training, its file, and what it does to the ranking.

Real parts: the MiniLM embedder, the fixture index built by `build_index` (which trains the
adapter), the real retriever. No doubles.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import IndexCorrupt
from assistant.indexing.adapter import (
    ADAPTER_FILE,
    AdapterConfig,
    EntryAdapter,
    mask_names,
    train_adapter,
    training_examples,
)
from assistant.indexing.store import BUILD_CMD, current_build, load_index
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import RetrievalSettings
from tests.indexing.test_store import reseal


def test_masking_hides_the_term_its_aliases_and_plurals_but_not_other_words(fixture_corpus):
    entry = fixture_corpus.entries["sparse-autoencoder"]
    names = [entry.term, *entry.aliases]
    text = " ".join(f"{n} and {n}s," for n in names) + " a disease of encoders"
    masked = mask_names(text, entry)
    for name in names:
        assert name.lower() not in masked.lower()
    assert "disease" in masked and "encoders" in masked


def test_masked_examples_never_name_their_own_entry(fixture_corpus):
    entries = sorted(fixture_corpus.entries.values(), key=lambda e: e.id)
    examples = training_examples(entries)
    assert {j for _, j in examples} == set(range(len(entries)))  # every entry has examples
    for text, j in examples:
        entry = entries[j]
        if text.startswith(f"{entry.term}: ") or text.rstrip("?").removeprefix("what is ") in {
            entry.term,
            *entry.aliases,
        }:
            continue  # the unmasked name examples, there on purpose
        assert entry.term.lower() not in text.lower(), text


def test_training_is_deterministic_and_learns_its_examples(fixture_corpus, embedder):
    entries = sorted(fixture_corpus.entries.values(), key=lambda e: e.id)
    examples = training_examples(entries)
    x = embedder.embed([t for t, _ in examples])
    y = np.array([j for _, j in examples])
    summaries = embedder.embed([f"{e.term}: {e.summary}" for e in entries])
    config = AdapterConfig(epochs=5)
    a, info = train_adapter(x, y, summaries, config)
    b, _ = train_adapter(x, y, summaries, config)
    assert np.array_equal(a.query_map, b.query_map) and np.array_equal(a.entries, b.entries)
    untrained = float(np.mean((x @ summaries.T).argmax(axis=1) == y))
    assert info.train_accuracy > untrained, (info.train_accuracy, untrained)
    assert info.examples == len(examples) + len(entries) and info.epochs == 5  # + each "term: summary"


def test_the_built_index_carries_a_sealed_adapter(built_index, embedder):
    index = load_index(built_index, expected_embedder=embedder.model_id)
    assert index.adapter is not None and ADAPTER_FILE in index.manifest.files
    assert index.adapter.entries.shape == (len(index.entries), embedder.dim)
    assert index.manifest.adapter is not None and index.manifest.adapter.train_accuracy > 0.9
    p = index.adapter.probabilities(embedder.embed(["anything at all"])[0])
    assert p.shape == (len(index.entries),) and abs(float(p.sum()) - 1) < 1e-5


def test_an_adapter_of_the_wrong_shape_is_refused_with_the_fix(index_copy, embedder):
    build = current_build(index_copy)
    wrong = EntryAdapter(np.eye(4, dtype=np.float32), np.ones((2, 4), dtype=np.float32), 0.05)
    wrong.save(build / ADAPTER_FILE)
    reseal(build)  # checksums match, so the check behind them runs
    with pytest.raises(IndexCorrupt) as err:
        load_index(index_copy, expected_embedder=embedder.model_id)
    assert "shapes" in str(err.value) and BUILD_CMD in str(err.value)


DESCRIPTIONS = [  # each describes one entry while naming another (the failure the adapter is for)
    (
        "which part of an attention head picks the positions it attends to, by scoring query-key pairs?",
        "qk-circuit",
        "attention-head",
    ),
    (
        "the matrix that decides what an attention head writes once the attention pattern is fixed",
        "ov-circuit",
        "attention-head",
    ),
]


@pytest.mark.parametrize(("query", "described", "mentioned"), DESCRIPTIONS)
def test_the_adapter_prefers_the_described_entry_to_the_mentioned_one(retriever, query, described, mentioned):
    p = retriever.index.adapter.probabilities(retriever.embedder.embed([query])[0])
    rows = {eid: i for i, eid in enumerate(retriever.index.entries)}
    assert p[rows[described]] > p[rows[mentioned]]
    assert retriever.search(query, 5).hits[0].entry_id == described


def test_reordering_only_moves_unpinned_hits_and_keeps_scores_monotonic(retriever):
    off = HybridRetriever(retriever.index, retriever.embedder, RetrievalSettings(rerank_depth=0))
    for query in ("induction head vs previous token head", "a head that copies the token after an earlier copy"):
        on_hits, off_hits = retriever.search(query, 8).hits, off.search(query, 8).hits
        assert [h.rank for h in on_hits] == list(range(1, len(on_hits) + 1))
        unpinned = [h.score for h in on_hits if not h.matched_term]  # pinned ones keep the resolver's order
        assert unpinned == sorted(unpinned, reverse=True)
        assert all(h.score > max(unpinned) for h in on_hits if h.matched_term)
        assert [h.entry_id for h in on_hits if h.matched_term] == [h.entry_id for h in off_hits if h.matched_term]
        assert {h.entry_id for h in on_hits} == {h.entry_id for h in off_hits}  # reordered, not replaced
