"""Hybrid retrieval: term resolver + dense + BM25, fused by reciprocal rank, grouped by entry."""
