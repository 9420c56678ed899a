"""Load the corpus folder and report ALL of its problems in one pass.

`check_corpus` returns every problem as `path:line: problem (fix)`; `load_corpus` raises
`CorpusError` with that list when there is any, so a bad corpus never reaches the index.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from assistant.corpus import lint
from assistant.corpus.frontmatter import FrontMatterError, load_strict, parse
from assistant.corpus.schema import SOURCE_KINDS, AboutFront, EntryFront, OffTopic, OffTopicFile, SourceFront
from assistant.errors import CorpusError
from assistant.injection import sentences, suspicious
from assistant.textnorm import fold
from assistant.types import Entry, Source

ROOT_ENTRY = "mechanistic-interpretability"
OFF_TOPICS_FILE = "out_of_scope.yaml"


@dataclass(frozen=True)
class Section:
    key: str  # "<section>/<subsection>"
    title: str  # section title
    subtitle: str  # subsection title
    order: int


@dataclass
class Corpus:
    root: Path
    entries: dict[str, Entry]
    sources: dict[str, Source]
    sections: dict[str, Section]
    about_title: str = ""
    about_body: str = ""
    file_hashes: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    off_topics: tuple[OffTopic, ...] = ()  # topics the glossary does not cover (out_of_scope.yaml)

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.file_hashes):
            h.update(f"{path}\0{self.file_hashes[path]}\n".encode())
        return h.hexdigest()

    def linked_by(self, source_id: str) -> tuple[str, ...]:
        return tuple(sorted(e.id for e in self.entries.values() if source_id in e.sources))


def _display(path: Path) -> str:
    """Path as the user would type it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Problems:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: list[tuple[str, int, str]] = []

    def add(self, path: Path | str, line: int, message: str) -> None:
        rel = _display(path) if isinstance(path, Path) else path
        self.items.append((rel, line, message))

    def lines(self) -> list[str]:
        return [f"{p}:{n}: {m}" for p, n, m in sorted(set(self.items))]


def _read(path: Path, problems: _Problems) -> str | None:
    if path.is_symlink():
        problems.add(path, 1, "symbolic links are not allowed in the corpus (replace it with the file)")
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(path, raw.count(b"\n", 0, exc.start) + 1, "not valid UTF-8 (save the file as UTF-8)")
        return None
    return _normalized(text)


def _normalized(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def text_hash(text: str) -> str:
    """The hash of one corpus file's (normalised) text, as the manifest records it."""
    return hashlib.sha256(text.encode()).hexdigest()


def corpus_file_hashes(root: Path) -> dict[str, str]:
    """Relative path -> `text_hash` of every file a build reads, without parsing anything: what
    the staleness check compares with the manifest (the loader records the same hashes)."""
    now: dict[str, str] = {}
    paths = [*root.glob("entries/**/*.md"), *root.glob("sources/**/*.md"), root / "about.md", root / OFF_TOPICS_FILE]
    for path in paths:
        if path.is_file():
            now[str(path.relative_to(root))] = text_hash(_normalized(path.read_bytes().decode("utf-8", "replace")))
    return now


def _validation_lines(exc: ValidationError, key_lines: dict[str, int]) -> list[tuple[int, str]]:
    out = []
    for err in exc.errors():
        loc = err["loc"]
        key = str(loc[0]) if loc else ""
        line = key_lines.get(key, 2)
        where = ".".join(str(x) for x in loc)
        if err["type"] == "missing":
            out.append((2, f"missing field '{where}' (add it to the front matter)"))
        elif err["type"] == "extra_forbidden":
            out.append((line, f"unknown field '{where}' (remove it or fix its spelling)"))
        else:
            out.append((line, f"field '{where}': {err['msg']} (fix the value)"))
    return out


def _load_sections(root: Path, problems: _Problems) -> dict[str, Section]:
    path = root / "sections.yaml"
    if not path.is_file():
        problems.add(path, 1, "sections.yaml is missing (create it: section keys and titles)")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.add(path, 1, f"YAML error: {exc} (fix the syntax)")
        return {}
    sections: dict[str, Section] = {}
    for top, spec in (data or {}).items():
        for sub, subtitle in (spec or {}).get("subsections", {}).items():
            key = f"{top}/{sub}"
            sections[key] = Section(key, spec.get("title", top), subtitle, len(sections))
    return sections


def _load_files(root: Path, problems: _Problems, hashes: dict[str, str]):
    entries: dict[str, tuple[Path, EntryFront, str, dict[str, int]]] = {}
    sources: dict[str, tuple[Path, SourceFront, str, dict[str, int]]] = {}
    seen: dict[str, str] = {}
    for kind, folder in (("entry", root / "entries"), ("source", root / "sources")):
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
            text = _read(path, problems)
            if text is None:
                continue
            hashes[str(path.relative_to(root))] = text_hash(text)
            try:
                parsed = parse(text)
            except FrontMatterError as exc:
                problems.add(path, exc.line, f"{exc.message} (see corpus/README format)")
                continue
            for line, msg in lint.content_problems(text, parsed.body, parsed.body_line):
                problems.add(path, line, msg)
            schema = EntryFront if kind == "entry" else SourceFront
            try:
                front = schema.model_validate(parsed.data)
            except ValidationError as exc:
                for line, msg in _validation_lines(exc, parsed.key_lines):
                    problems.add(path, line, msg)
                continue
            if front.id != path.stem:
                problems.add(path, parsed.key_lines["id"], f"id '{front.id}' does not match the file name (rename one)")
            key = unicodedata.normalize("NFC", f"{kind}:{front.id}").casefold()
            if key in seen:
                problems.add(path, parsed.key_lines["id"], f"duplicate {kind} id '{front.id}' (also in {seen[key]})")
                continue
            seen[key] = _display(path)
            low, high = lint.ENTRY_WORDS if kind == "entry" else lint.SOURCE_WORDS
            count_problem = lint.word_count_problem(parsed.body, low, high, kind)
            if count_problem:
                problems.add(path, parsed.body_line, count_problem)
            if isinstance(front, EntryFront):
                entries[front.id] = (path, front, parsed.body.strip(), parsed.key_lines)
            else:
                sources[front.id] = (path, front, parsed.body.strip(), parsed.key_lines)
    return entries, sources


def _reachable(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in graph.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cross_check(entries, sources, sections, problems: _Problems) -> None:
    names: dict[str, str] = {}
    for eid, (_, front, _, _) in entries.items():
        names.setdefault(fold(front.term), eid)
    for eid, (path, front, _, lines) in entries.items():
        if front.section not in sections:
            problems.add(
                path, lines["section"], f"unknown section '{front.section}' (use a key from corpus/sections.yaml)"
            )
        if len(front.summary.split()) > lint.SUMMARY_MAX_WORDS:
            problems.add(path, lines["summary"], f"summary over {lint.SUMMARY_MAX_WORDS} words (one plain sentence)")
        for field_name in ("related", "prerequisites"):
            for ref in getattr(front, field_name):
                if ref == eid:
                    problems.add(path, lines[field_name], f"{field_name} links the entry to itself (remove '{ref}')")
                elif ref not in entries:
                    problems.add(path, lines[field_name], f"{field_name}: unknown entry id '{ref}' (fix or remove it)")
        if len(set(front.related)) < 2:
            problems.add(path, lines["related"], "fewer than 2 related entries (link what a reader should open next)")
        for ref in front.sources:
            if ref not in sources:
                problems.add(
                    path, lines["sources"], f"sources: no file corpus/sources/{ref}.md (write it or fix the id)"
                )
        for alias in front.aliases:
            owner = names.get(fold(alias))
            if owner and owner != eid:
                problems.add(
                    path, lines["aliases"], f"alias '{alias}' is the term of entry '{owner}' (remove the alias)"
                )
    for path, front, _, lines in sources.values():
        if not front.kind_ok():
            kinds = ", ".join(SOURCE_KINDS)
            problems.add(path, lines["kind"], f"unknown source kind '{front.kind}' (use one of: {kinds})")
    if entries and ROOT_ENTRY in entries:
        graph = {eid: set(f.related) | set(f.prerequisites) for eid, (_, f, _, _) in entries.items()}
        unreachable = sorted(set(entries) - _reachable(ROOT_ENTRY, graph))
        for eid in unreachable:
            path = entries[eid][0]
            problems.add(path, 1, f"entry not reachable by links from '{ROOT_ENTRY}' (link it from a related entry)")


def _load_off_topics(root: Path, problems: _Problems, hashes: dict[str, str], raw_entries) -> tuple[OffTopic, ...]:
    """corpus/out_of_scope.yaml (optional): topics near the glossary that it does not cover."""
    path = root / OFF_TOPICS_FILE
    if not path.is_file():
        return ()
    text = _read(path, problems)
    if text is None:
        return ()
    hashes[OFF_TOPICS_FILE] = text_hash(text)
    try:
        data = load_strict(text)
        parsed = OffTopicFile.model_validate(data)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(path, (mark.line + 1) if mark else 1, f"YAML error: {exc.problem or exc} (fix the syntax)")
        return ()
    except (yaml.YAMLError, ValidationError) as exc:
        problems.add(
            path, 1, f"not a list of {{topic, text}} under 'topics': {str(exc).splitlines()[0]} (see the file's header)"
        )
        return ()
    terms = {fold(front.term) for _, front, _, _ in raw_entries.values()}
    terms |= {fold(a) for _, front, _, _ in raw_entries.values() for a in front.aliases}
    seen: set[str] = set()
    lines = text.splitlines()
    for item in parsed.topics:
        line = next((n for n, s in enumerate(lines, 1) if item.topic in s), 1)
        key = fold(item.topic)
        if key in seen:
            problems.add(path, line, f"duplicate topic '{item.topic}' (keep one)")
        if key in terms:
            problems.add(path, line, f"topic '{item.topic}' is a glossary term or alias (remove it from the list)")
        seen.add(key)
        for sentence in sentences(item.text):
            found = suspicious(sentence)
            if found:
                problems.add(path, line, f"instruction-like text {found!r} (write a plain description)")
    return tuple(parsed.topics)


def check_corpus(root: Path) -> tuple[Corpus | None, list[str]]:
    """Validate everything under `root`; return the corpus (None if unusable) and all problems."""
    root = Path(root)
    problems = _Problems(root)
    if not root.is_dir():
        return None, [f"{root}:0: corpus folder not found (pass --corpus or create it)"]
    sections = _load_sections(root, problems)
    hashes: dict[str, str] = {}
    raw_entries, raw_sources = _load_files(root, problems, hashes)
    if not raw_entries and not problems.items:
        problems.add(root / "entries", 0, "0 entries found in corpus/entries (add entry files)")
    _cross_check(raw_entries, raw_sources, sections, problems)
    about_title, about_body = "", ""
    about = root / "about.md"
    if about.is_file():
        text = _read(about, problems) or ""
        hashes["about.md"] = text_hash(text)
        try:
            parsed = parse(text)
            front = AboutFront.model_validate(parsed.data)
            about_title, about_body = front.title, parsed.body.strip()
            for ref in front.sources:
                if ref not in raw_sources:
                    problems.add(about, parsed.key_lines["sources"], f"sources: no file corpus/sources/{ref}.md")
        except FrontMatterError as exc:
            problems.add(about, exc.line, exc.message)
        except ValidationError as exc:
            for line, msg in _validation_lines(exc, {}):
                problems.add(about, line, msg)
    off_topics = _load_off_topics(root, problems, hashes, raw_entries)
    entries = {
        eid: Entry(**front.model_dump(), body=body, path=str(path.relative_to(root)))
        for eid, (path, front, body, _) in raw_entries.items()
    }
    sources = {
        sid: Source(**front.model_dump(), body=body, path=str(path.relative_to(root)))
        for sid, (path, front, body, _) in raw_sources.items()
    }
    corpus = Corpus(root, entries, sources, sections, about_title, about_body, hashes, off_topics)
    return (corpus if entries else None), problems.lines()


def load_corpus(root: Path) -> Corpus:
    """Load a corpus that has no problems.

    Raises:
        CorpusError: listing every problem found.
    """
    corpus, problems = check_corpus(root)
    if problems or corpus is None:
        raise CorpusError(problems or [f"{root}:0: 0 entries found"])
    return corpus
