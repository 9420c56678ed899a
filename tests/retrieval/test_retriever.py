"""Hybrid retrieval over the real fixture index: FAISS parity, term resolver, query hygiene (D1-D3)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.chunking import embed_text
from assistant.errors import UsageError
from assistant.indexing.store import current_build
from assistant.textnorm import clean_text, normalize_query

QUERIES = [
    "What is an induction head?",
    "features stored as nearly orthogonal directions",
    "how does activation patching work",
    "reading the residual stream with the unembedding",
    "tokenizer byte pair encoding",
]


@pytest.fixture(scope="module")
def stored_vectors(built_index) -> np.ndarray:
    """The vectors as FAISS stored them, read back independently of DenseIndex."""
    import faiss

    index = faiss.read_index(str(current_build(built_index) / "dense.faiss"))
    return index.reconstruct_n(0, index.ntotal)


# ---------------------------------------------------------------- dense parity


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("k", [1, 10, 40])
def test_faiss_top_k_equals_numpy_brute_force(retriever, embedder, stored_vectors, query, k):
    q = embedder.embed([query])[0]
    rows, scores = retriever.index.dense.search(q, k)
    brute = stored_vectors @ q
    order = np.argsort(-brute, kind="stable")[:k]
    assert len(rows) == k
    assert scores == pytest.approx(brute[order].tolist(), abs=1e-5)
    # rows agree except where two scores tie (then either order is right)
    for got, want in zip(rows, order, strict=True):
        assert got == want or abs(brute[got] - brute[want]) < 1e-6


def test_stored_rows_are_the_chunks_in_order(retriever, embedder, stored_vectors):
    """Row i of the FAISS index is the embedding of chunks[i] (a shifted row would break citations)."""
    chunks = retriever.index.chunks
    assert stored_vectors.shape == (len(chunks), embedder.dim)
    picks = sorted(np.random.default_rng(7).choice(len(chunks), size=10, replace=False).tolist())
    fresh = embedder.embed([embed_text(chunks[i]) for i in picks])
    cosines = np.sum(fresh * stored_vectors[picks], axis=1)
    assert np.all(cosines > 0.9999), dict(zip(picks, cosines.round(5), strict=True))
    norms = np.linalg.norm(stored_vectors, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-3) and np.isfinite(stored_vectors).all()


def test_best_dense_is_the_top_cosine(retriever, embedder, stored_vectors):
    result = retriever.search("What is an induction head?")
    brute = stored_vectors @ embedder.embed([result.query])[0]
    assert result.signals.best_dense == pytest.approx(float(brute.max()), abs=1e-5)


# ---------------------------------------------------------------- term resolver


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("induction heds", "induction-head"),
        ("Induction-Heads", "induction-head"),
        ("INDUCTION HEAD", "induction-head"),
        ("what is an induction head?", "induction-head"),
        ("SAEs", "sparse-autoencoder"),
        ("sparse autoencoders", "sparse-autoencoder"),
        ("what is superposition?", "superposition"),
        ("superpositon", "superposition"),
        ("Attention-heads", "attention-head"),
        ("explain the qk circuit", "qk-circuit"),
        ("What does W_OV mean?", "ov-circuit"),
        ("prev-token head", "previous-token-head"),
    ],
)
def test_named_term_is_ranked_first(retriever, query, entry_id):
    hits = retriever.search(query).hits
    assert hits[0].entry_id == entry_id and hits[0].rank == 1
    assert hits[0].matched_term
    assert not any(h.matched_term for h in hits[1:] if h.entry_id != entry_id)


def test_terms_inside_a_longer_question_vote_but_are_not_pinned(retriever):
    result = retriever.search("how do induction heads use K-composition with earlier layers?")
    assert {h.entry_id for h in result.hits[:2]} == {"induction-head", "k-composition"}
    assert [(m.entry_id, m.how) for m in result.matches] == [
        ("induction-head", "subject"),
        ("k-composition", "contained"),
    ]
    assert not any(h.matched_term for h in result.hits)  # pins are for questions that NAME a term


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("How does an induction head decide which earlier token to copy?", "induction-head"),
        ("why does superpositon happen in small models?", "superposition"),  # typo forgiven
        ("What are the limitations of activation patching on big models?", "activation-patching"),
        ("Why is the QK circuit usually studied before the OV circuit?", "qk-circuit"),
    ],
)
def test_the_term_a_how_why_or_list_question_is_framed_around_is_its_subject(retriever, query, entry_id):
    first = retriever.resolver.resolve(query)[0]
    assert (first.entry_id, first.how) == (entry_id, "subject")


def test_a_list_question_that_ends_with_the_term_names_it(retriever):
    result = retriever.search("What are the pitfalls of activation patching?")
    assert [(m.entry_id, m.how) for m in result.matches] == [("activation-patching", "exact")]
    assert result.hits[0].entry_id == "activation-patching" and result.hits[0].matched_term


@pytest.mark.parametrize(
    "query",
    [
        "How does superposition rollout work?",  # the phrase goes on with a word the glossary never uses
        "how do people find an induction head?",  # the frame's subject is "people"
        "what is an induction head used for in practice",  # no how/why/list frame
    ],
)
def test_no_subject_when_the_frame_is_about_something_else(retriever, query):
    assert all(m.how != "subject" for m in retriever.resolver.resolve(query))


def test_the_subject_votes_twice_and_is_not_pinned(retriever):
    """The same question with its subject demoted to a plain contained term: the subject gains on
    the other term it names ("How does ROME rewrite a fact" then ranks ROME above MEMIT)."""
    from assistant.retrieval.resolver import TermMatch

    result = retriever.search("How does the logit lens read the residual stream at every layer?")
    assert [(m.entry_id, m.how) for m in result.matches] == [
        ("logit-lens", "subject"),
        ("residual-stream", "contained"),
    ]
    demoted = [TermMatch(m.entry_id, m.key, "contained", m.strong) for m in result.matches]
    plain = retriever.search_normalized(result.query, matches=demoted)

    def lead(hits) -> float:
        score = {h.entry_id: h.score for h in hits}
        return score["logit-lens"] - score["residual-stream"]

    assert lead(result.hits) > lead(plain.hits)
    assert not any(h.matched_term for h in result.hits)


@pytest.mark.parametrize(
    "query",
    [
        "the key difference between the two methods",
        "What is the key difference between them?",
        "the key difference between training and inference",
        "which head should I look at first?",
    ],
)
def test_common_words_do_not_pin_an_entry(retriever, query):
    """'key' (K-composition's 'key composition', the QK circuit) or 'head' inside prose pins nothing."""
    result = retriever.search(query)
    assert result.matches == []
    assert not any(h.matched_term for h in result.hits)


def test_pinning_can_be_switched_off(retriever):
    result = retriever.search("SAEs", pin_terms=False)
    assert result.matches == [] and not any(h.matched_term for h in result.hits)


# ---------------------------------------------------------------- query hygiene


@pytest.mark.parametrize("query", ["", " ", "\n\t  \r\n", "\u200b\u200d\ufeff", "\x00\x1b\x07", "\u202e\u2066"])
def test_empty_query_is_a_usage_error(retriever, query):
    with pytest.raises(UsageError, match="empty"):
        retriever.search(query)


def test_over_long_query_is_rejected_not_truncated(retriever):
    with pytest.raises(UsageError, match=r"2,001 characters; the limit is 2,000"):
        retriever.search("a" * 2001)
    with pytest.raises(UsageError, match="limit"):
        retriever.search("induction head " * 1000)
    ok = "induction head " * 133 + "xxxxx"
    assert len(ok) == 2000
    assert retriever.search(ok).hits


NASTY = [
    "induction\x00 head",
    "\x1b[31minduction head\x1b[0m",
    "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07 superposition",
    "\u202eedoc lanimret\u202c induction head",
    "induc\u200btion\u200d head\u2060",
    "what is superposition 🤯🧠?",
    "什么是叠加 superposition",
    "誘導ヘッドとは何ですか",
    "مرحبا induction head",
    "\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 SAE",
    "induction \ud800 head",
    "\r\n\r\nlogit lens\r\n",
    "a\u0301\u0302\u0303 zalgo h\u0336e\u0336a\u0336d",
    "<script>alert(1)</script> attention head",
    "[red]residual stream[/red]",
    "'; DROP TABLE entries; --",
    "%s %n {0} {query}",
    "\x85\x9b next line NEL and CSI",
    "\ufffd\ufffe\uffff noncharacters",
    "x" * 1999,
]


@pytest.mark.parametrize("query", NASTY)
def test_nasty_queries_do_not_crash(retriever, query):
    result = retriever.search(query)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in result.query)
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))


_C0_C1 = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
@example("\x00\x1b[31m\u202e\u200b\x85text\n\t")
def test_normalize_query_leaves_no_control_characters(text):
    try:
        out = normalize_query(text, max_chars=2000)
    except UsageError:
        assert not clean_text(text).strip(), "rejected a query with visible text"
        return
    assert out and out == out.strip()
    assert not set(out) & _C0_C1, "newlines become spaces, every other control goes"
    assert "  " not in out
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)
    assert not any(0xE0000 <= ord(c) <= 0xE007F or c in "\u200b\u200d\u202e\u2066\ufeff" for c in out)


def test_normalize_query_output_is_nfc_and_idempotent():
    out = normalize_query("cafe\u200b\u0301", max_chars=100)
    assert unicodedata.is_normalized("NFC", out)
    assert normalize_query(out, max_chars=100) == out


# ---------------------------------------------------------------- hit shape, modes


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("k", [1, 3, 5, 50])
def test_one_hit_per_entry_ranked_1_to_k(retriever, mode, k):
    hits = retriever.search("how do attention heads move information", k, mode=mode).hits
    n_entries = len(retriever.index.entries)
    assert 1 <= len(hits) <= min(k, n_entries)
    if k <= 5:
        assert len(hits) == k
    ids = [h.entry_id for h in hits]
    assert len(set(ids)) == len(ids)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    for h in hits:
        entry = retriever.index.entries[h.entry_id]
        chunk = next(c for c in retriever.index.chunks if c.chunk_id == h.chunk_id)
        assert chunk.kind == "entry" and chunk.doc_id == h.entry_id and chunk.text == h.text
        assert (h.term, h.aliases, h.section) == (entry.term, entry.aliases, entry.section)
        assert h.url == "" or h.url.startswith(("http://", "https://"))
    scores = [h.score for h in hits if not h.matched_term]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_obvious_entry(retriever, mode):
    hits = retriever.search(
        "attends to the token after an earlier copy of the current token and copies it", 5, mode=mode, pin_terms=False
    ).hits
    assert "induction-head" in [h.entry_id for h in hits]


def test_modes_differ(retriever):
    q = "copying repeated tokens in context"
    ranked = {
        m: [h.entry_id for h in retriever.search(q, 8, mode=m, pin_terms=False).hits]
        for m in ("dense", "bm25", "hybrid")
    }
    assert ranked["dense"] != ranked["bm25"]


def test_bm25_with_only_stopwords_falls_back_gracefully(retriever):
    result = retriever.search("what is the", mode="bm25")
    assert result.hits == [] or [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
