"""The shape of the package, enforced: module size, import graph, layers, prose and settings overrides.

The import graph is built with `ast` from every `import` in a module, module-level and inside
functions (including `if TYPE_CHECKING:` blocks): a lazy import is still a dependency, and a cycle
through one is still a cycle. Nothing here imports the package, so a broken module fails its own
tests, not these.
"""

from __future__ import annotations

import ast
import graphlib
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "assistant"
MAX_LINES = 400

# The layers, top to bottom. A module may import its own layer or any layer below, never one above.
# A name covers the module and everything under it ("assistant.ui" is the whole ui package); the
# bare "assistant" is the package's own `__init__` (the public facade) only.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The composition root sits with the edges: they open what it builds, and it wires some of them (MCP).
    (
        "edges and composition root",
        (
            "assistant",
            "assistant.cli",
            "assistant.ui",
            "assistant.integrations",
            "assistant.evaluation",
            "assistant.factory",
        ),
    ),
    ("service", ("assistant.service", "assistant.contracts")),
    ("orchestrator", ("assistant.pipeline",)),
    ("steps", ("assistant.answer", "assistant.retrieval", "assistant.llm")),
    ("stores", ("assistant.indexing", "assistant.embedding")),
    ("content", ("assistant.corpus", "assistant.chunking", "assistant.sources")),
    (
        "base",
        (
            "assistant.types",
            "assistant.errors",
            "assistant.settings",
            "assistant.textnorm",
            "assistant.injection",
            "assistant.durable",
            "assistant.slots",
            "assistant.version",
        ),
    ),
)
# Imports forbidden inside one layer: retrieval finds evidence, answer decides and writes from it.
SIBLING_BANS: dict[str, tuple[str, ...]] = {"assistant.retrieval": ("assistant.answer",)}
ORCHESTRATOR = ("assistant.pipeline", "assistant.factory", "assistant.cli")

# Paths that are not in the repository: the machine's folders, home directories, a sibling checkout.
OUTSIDE_PATH = re.compile(r"(?<![\w.])(?:/work/|/tmp/|/home/|/root/|/Users/|~/|\.\./)")
# A Markdown file named in prose ("see DESIGN.md") must be one the repository ships.
MARKDOWN_NAME = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _within(module: str, prefix: str) -> bool:
    if prefix == "assistant":
        return module == "assistant"
    return module == prefix or module.startswith(prefix + ".")


def _imports(module: str, path: Path) -> set[str]:
    """The package's modules that `module` imports anywhere in its body, resolved to module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    internal = set()
    for name in found:
        # `import assistant.a.b` depends on assistant.a.b; keep the longest name that is a module.
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("assistant") and name != module:
            internal.add(name)
    return internal


GRAPH: dict[str, set[str]] = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _within(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first search meets (at least one per tangle), each from its smallest module."""
    cycles: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                loop = path[path.index(nxt) :]
                start = loop.index(min(loop))
                cycles.add(tuple(loop[start:] + loop[:start]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return [list(c) for c in sorted(cycles)]


def test_the_graph_sees_lazy_imports_and_finds_cycles():
    """The checks below are only as good as the graph: it must see imports inside functions."""
    assert "assistant.factory" in GRAPH["assistant"], "the facade's lazy `open_assistant` import was missed"
    assert "assistant.settings" in GRAPH["assistant.factory"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_at_most_400_lines(module: str):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (> {MAX_LINES}); split it by job"


def test_no_import_cycle():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in cycles)
    list(graphlib.TopologicalSorter(GRAPH).static_order())  # the stdlib agrees


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if _layer(m) is None)
    assert not missing, f"add these to LAYERS in {Path(__file__).name}: {missing}"


def test_imports_go_one_way_down():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        here = _layer(module)
        for target in sorted(targets):
            there = _layer(target)
            if here is not None and there is not None and there < here:
                wrong.append(f"{module} ({LAYERS[here][0]}) imports {target} ({LAYERS[there][0]})")
            for owner, banned in SIBLING_BANS.items():
                if _within(module, owner) and any(_within(target, b) for b in banned):
                    wrong.append(f"{module} imports {target}: {owner} must never import {banned}")
    assert not wrong, "imports that go up a layer:\n" + "\n".join(wrong)


def test_nothing_below_imports_the_orchestrator():
    top = max(_layer(m) or 0 for m in ORCHESTRATOR)
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if any(_within(target, o) for o in ORCHESTRATOR)
        and not any(_within(module, o) for o in ORCHESTRATOR)
        and (_layer(module) or 0) > top
    ]
    assert not wrong, "\n".join(wrong)


def _prose(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring in a module."""
    source = path.read_text(encoding="utf-8")
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None and node.body:
                yield node.body[0].lineno, doc


def _shipped(markdown: str) -> bool:
    if "/" in markdown:
        return (REPO / markdown).is_file()
    return any(".venv" not in p.parts for p in REPO.rglob(markdown))


def test_prose_names_no_path_outside_the_repository():
    wrong = []
    for path in MODULES.values():
        for line, text in _prose(path):
            for match in OUTSIDE_PATH.finditer(text):
                wrong.append(f"{path.relative_to(REPO)}:{line}: {match.group(0)!r} in {text.strip()[:80]!r}")
            for match in MARKDOWN_NAME.finditer(text):
                if not _shipped(match.group(1)):
                    wrong.append(f"{path.relative_to(REPO)}:{line}: {match.group(1)} is not in the repository")
    assert not wrong, "docstrings/comments that name files outside the repository:\n" + "\n".join(wrong)


def _settings_classes() -> set[str]:
    tree = ast.parse((PACKAGE / "settings.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def _settings_copies(tree: ast.AST, settings_classes: set[str]) -> Iterator[ast.Call]:
    """`x.model_copy(update=...)` where x is a settings object: named like one or annotated as one."""

    def is_settings(annotation: ast.expr) -> bool:
        return bool(settings_classes & {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)})

    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None and is_settings(node.annotation):
            typed.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and is_settings(node.annotation):
            typed.add(ast.unparse(node.target))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "model_copy" or not any(k.arg == "update" for k in node.keywords):
            continue
        receiver = node.func.value
        text = ast.unparse(receiver)
        root = receiver
        while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
            root = root.func if isinstance(root, ast.Call) else root.value
        named = re.search(r"settings|config|cfg", text, re.IGNORECASE)
        if named or (isinstance(root, ast.Name) and root.id in typed) or text in typed:
            yield node


def test_the_settings_override_check_can_fail():
    source = (
        "def f(s: RetrievalSettings, settings, hit):\n"
        "    a = s.model_copy(update={'k': 1})\n"
        "    b = settings.llm.model_copy(update={'profile': 'fast'})\n"
        "    c = hit.model_copy(update={'rank': 1})\n"
    )
    found = [ast.unparse(c.func) for c in _settings_copies(ast.parse(source), {"RetrievalSettings"})]
    assert found == ["s.model_copy", "settings.llm.model_copy"]


def test_no_model_copy_update_on_settings():
    classes = _settings_classes()
    wrong = [
        f"{path.relative_to(REPO)}:{call.lineno}: {ast.unparse(call)[:100]}"
        for path in MODULES.values()
        for call in _settings_copies(ast.parse(path.read_text(encoding="utf-8")), classes)
    ]
    assert not wrong, (
        "settings are overridden with model_copy(update=...), which skips validation; "
        "use `assistant.settings.override_settings(base, section={...})`, which validates:\n" + "\n".join(wrong)
    )
