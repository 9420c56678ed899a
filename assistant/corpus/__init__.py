"""The glossary on disk: Markdown files with YAML front matter, validated and cross-checked."""

from assistant.corpus.loader import Corpus, check_corpus, load_corpus

__all__ = ["Corpus", "check_corpus", "load_corpus"]
