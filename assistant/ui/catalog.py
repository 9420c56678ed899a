"""What the glossary browser shows: entries by section and A-Z, reading paths, the About page.

Entries and sources come from the loaded index (so the UI never reparses the corpus). Section
titles and the About page are not stored in the index, so they are read once from the corpus
folder if it is there; without it, sections fall back to their keys and About is empty.
Compromise: a corpus edited after the index was built may show newer section titles than the
entries it groups, which is harmless (titles are labels only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from assistant.types import Entry, Source
from assistant.ui.linker import Scope, TermLinker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SectionInfo:
    key: str  # "<section>/<subsection>"
    title: str
    subtitle: str
    order: int

    @property
    def label(self) -> str:
        return f"{self.title} › {self.subtitle}" if self.subtitle and self.subtitle != self.title else self.title


@dataclass
class Catalog:
    """Read-only view of the glossary for the browser and the entry pages."""

    entries: Mapping[str, Entry]
    sources: Mapping[str, Source]
    sections: dict[str, SectionInfo] = field(default_factory=dict)
    about_title: str = ""
    about_body: str = ""
    about_sources: tuple[str, ...] = ()

    @classmethod
    def load(cls, entries: Mapping[str, Entry], sources: Mapping[str, Source], corpus_dir: Path | None) -> Catalog:
        sections = _read_sections(corpus_dir / "sections.yaml") if corpus_dir else {}
        title, body, about_sources = _read_about(corpus_dir / "about.md") if corpus_dir else ("", "", ())
        return cls(entries, sources, sections, title, body, about_sources)

    @cached_property
    def linker(self) -> TermLinker:
        """Finds glossary terms in prose (built on first use: the pages and the chat share it)."""
        return TermLinker(self.entries)

    def scope(self, own: str = "") -> Scope:
        """Linking state for one rendering; `own` is the entry whose page or card this is."""
        return Scope(self.linker, own)

    def section(self, key: str) -> SectionInfo:
        if key in self.sections:
            return self.sections[key]
        top, _, sub = key.partition("/")
        return SectionInfo(key, top.replace("-", " ").title(), sub.replace("-", " ").title(), 10_000)

    def by_section(self) -> list[tuple[SectionInfo, list[Entry]]]:
        """Sections in corpus order (unknown ones last), entries by term inside each."""
        groups: dict[str, list[Entry]] = {}
        for entry in self.entries.values():
            groups.setdefault(entry.section, []).append(entry)
        keys = sorted(groups, key=lambda k: (self.section(k).order, k))
        return [(self.section(k), sorted(groups[k], key=lambda e: e.term.casefold())) for k in keys]

    def a_to_z(self) -> list[tuple[str, list[Entry]]]:
        letters: dict[str, list[Entry]] = {}
        for entry in sorted(self.entries.values(), key=lambda e: e.term.casefold()):
            first = entry.term[:1].upper()
            letters.setdefault(first if first.isalpha() else "#", []).append(entry)
        return sorted(letters.items(), key=lambda kv: (kv[0] == "#", kv[0]))

    def linked_sources(self, source_ids: tuple[str, ...]) -> list[Source]:
        """Sources that exist and have an http(s) URL (the only external links we ever render)."""
        return [self.sources[s] for s in source_ids if s in self.sources and is_web_url(self.sources[s].url)]

    def reading_path(self, entry_id: str) -> list[Entry]:
        """The entry's prerequisites (transitively), each after its own ones, then the entry.

        Depth-first post-order over `prerequisites`; ties are broken by corpus section order and
        then by id so the path is stable. Cycles (which the lint does not forbid) are cut where
        they close, so every entry appears once.

        >>> # for induction-head: [residual-stream, attention-head, induction-head] (or similar)
        """
        if entry_id not in self.entries:
            return []
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = in progress, 2 = done

        def key(eid: str) -> tuple[int, str]:
            return (self.section(self.entries[eid].section).order, eid)

        def visit(eid: str) -> None:
            state[eid] = 1
            for pre in sorted((p for p in self.entries[eid].prerequisites if p in self.entries), key=key):
                if pre not in state:
                    visit(pre)
            state[eid] = 2
            order.append(eid)

        visit(entry_id)
        return [self.entries[eid] for eid in order]


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and "@" not in parts.netloc


def _read_sections(path: Path) -> dict[str, SectionInfo]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        sections: dict[str, SectionInfo] = {}
        for top, spec in data.items():
            for sub, subtitle in (spec or {}).get("subsections", {}).items():
                key = f"{top}/{sub}"
                sections[key] = SectionInfo(key, str(spec.get("title", top)), str(subtitle), len(sections))
        return sections
    except (yaml.YAMLError, AttributeError, TypeError, UnicodeDecodeError) as exc:
        log.warning("could not read %s (%s); section keys are shown instead of titles", path, exc)
        return {}


def _read_about(path: Path) -> tuple[str, str, tuple[str, ...]]:
    if not path.is_file():
        return "", "", ()
    from assistant.corpus.frontmatter import FrontMatterError, parse

    try:
        parsed = parse(path.read_text(encoding="utf-8").removeprefix("\ufeff"))
    except (FrontMatterError, UnicodeDecodeError) as exc:
        log.warning("could not read %s (%s); the About tab is empty", path, exc)
        return "", "", ()
    data = parsed.data if isinstance(parsed.data, dict) else {}
    sources = data.get("sources") or ()
    listed = sources if isinstance(sources, list | tuple) else (sources,)
    return str(data.get("title", "")), parsed.body.strip(), tuple(str(s) for s in listed)
