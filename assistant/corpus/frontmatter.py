"""Front-matter parsing with line numbers, strict YAML and no surprises.

PyYAML's SafeLoader keeps the last of duplicate keys silently and expands anchors/aliases
(alias bombs); this loader refuses both, and reports where each key sits so problems can be
given as `path:line`.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode


class FrontMatterError(Exception):
    """A problem at a 1-based line of the file."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"{line}: {message}")


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError("YAML aliases are not allowed", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError("YAML anchors are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def load_strict(text: str) -> object:
    """A whole YAML document with the strict safe loader (no anchors, aliases or Python tags).

    Raises:
        yaml.YAMLError: any YAML problem (MarkedYAMLError carries the line).
    """
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _located(exc: yaml.MarkedYAMLError) -> FrontMatterError:
    """One-line error at the most useful line: where an unclosed construct began, else the problem."""
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and "<stream end>" in (exc.problem or ""):
        mark = exc.context_mark
    line = (mark.line + 2) if mark else 2
    text = " ".join(x for x in (exc.context, exc.problem) if x)
    return FrontMatterError(line, f"YAML error: {text or 'invalid YAML'}")


@dataclass(frozen=True)
class Parsed:
    data: dict[str, object]
    key_lines: dict[str, int]  # key -> 1-based line in the file
    body: str
    body_line: int  # 1-based line where the body starts


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (yaml_text, body, body_start_line). Raises FrontMatterError if absent."""
    if not text.startswith("---\n"):
        raise FrontMatterError(1, "no front matter (the file must start with a line '---')")
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise FrontMatterError(1, "front matter is not closed (add a line '---' after it)")
    yaml_text = text[4 : end + 1]
    body = text[end + 5 :]
    body_line = yaml_text.count("\n") + 3
    return yaml_text, body, body_line


def parse(text: str) -> Parsed:
    """Parse `---`-delimited YAML front matter strictly.

    Raises:
        FrontMatterError: missing/unclosed front matter, YAML errors, duplicate keys,
            anchors/aliases, unknown tags, or front matter that is not a mapping.
    """
    yaml_text, body, body_line = split_front_matter(text)
    try:
        loader = _StrictLoader(yaml_text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _located(exc) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(2, f"YAML error: {exc}") from None
    if node is None or not isinstance(node, MappingNode):
        raise FrontMatterError(2, "front matter is not a mapping of `field: value` lines")
    key_lines: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode):
            raise FrontMatterError(key_node.start_mark.line + 2, "keys must be plain names")
        key = key_node.value
        if key in key_lines:
            raise FrontMatterError(
                key_node.start_mark.line + 2,
                f"duplicate key '{key}' (first at line {key_lines[key]})",
            )
        key_lines[key] = key_node.start_mark.line + 2
    try:
        constructor = _StrictLoader("")
        data = constructor.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _located(exc) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(2, f"YAML error: {exc}") from None
    return Parsed(data=data, key_lines=key_lines, body=body, body_line=body_line)
