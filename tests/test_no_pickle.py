"""Grep gate: nothing in the package may load pickles or unsafe YAML (RELIABILITY.md rule 5)."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
FORBIDDEN = [
    r"\bimport pickle\b",
    r"\bpickle\.load",
    r"\bload_local\(",
    r"allow_dangerous_deserialization",
    r"torch\.load\((?![^)]*weights_only=True)",
    r"yaml\.load\((?![^)]*SafeLoader)",
    r"allow_pickle=True",
    r"yaml\.unsafe_load",
    r"\bjoblib\.load",
]


def test_no_pickle_or_unsafe_yaml_in_package():
    hits = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for pattern in FORBIDDEN:
            for m in re.finditer(pattern, text):
                hits.append(f"{path.name}: {m.group()}")
    assert hits == []


def test_gate_catches_a_planted_pickle_load(tmp_path):
    planted = "import pickle\nx = pickle.loads(b'')\n"
    assert any(re.search(p, planted) for p in FORBIDDEN)
