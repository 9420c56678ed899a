"""The examples in docstrings are run, so they stay true (the model back ends' examples need a
model and a server, so `assistant.llm` is left to its own tests; a `__main__` runs the CLI on import)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import assistant

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(assistant.__path__, "assistant.")
    if not m.name.startswith("assistant.llm") and not m.ispkg and not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def test_the_examples_are_found():
    found = sum(len(doctest.DocTestFinder().find(importlib.import_module(n))) for n in MODULES)
    assert found > 20  # docstrings, not just modules, were searched
