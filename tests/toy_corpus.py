"""A tiny valid corpus written on demand (three entries, one source): builds in about a second."""

from __future__ import annotations

from pathlib import Path


def write_toy_corpus(root: Path, ids: list[str], sentence: str, summary: str) -> Path:
    """`sentence` is formatted with {name}, {n} (0-11) and {i} (entry index) to make each body."""
    (root / "entries" / "toy").mkdir(parents=True)
    (root / "sources").mkdir()
    (root / "sections.yaml").write_text("toy:\n  title: Toy\n  subsections:\n    basics: Basics\n")
    for i, eid in enumerate(ids):
        name = eid.replace("-", " ")
        body = " ".join(sentence.format(name=name, n=n, i=i) for n in range(12))
        (root / "entries" / "toy" / f"{eid}.md").write_text(
            f"---\nid: {eid}\nterm: {name.title()}\naliases: []\nsection: toy/basics\n"
            f"summary: {summary}\nrelated: [{', '.join(x for x in ids if x != eid)}]\n"
            f"sources: [toy-paper]\n---\n## What it is\n{body}\n"
        )
    (root / "sources" / "toy-paper.md").write_text(
        "---\nid: toy-paper\ntitle: A Toy Paper\nauthors: Test Author\nyear: 2024\n"
        "url: https://example.org/toy\nkind: paper\n---\n" + "This paper describes toy methods for tests. " * 8 + "\n"
    )
    return root
