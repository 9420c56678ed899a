"""The README's settings table is made from the settings themselves, so it cannot drift."""

from __future__ import annotations

import runpy
from pathlib import Path

from assistant.settings import Settings, settings_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_matches_the_settings():
    mod = runpy.run_path(str(ROOT / "scripts" / "settings_table.py"))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert mod["rendered"](text) == text, "run .venv/bin/python scripts/settings_table.py"


def test_every_field_has_a_row_with_its_default():
    table = settings_table()
    s = Settings()
    assert f"`MI_GLOSSARY_RETRIEVAL__COVERAGE_THRESHOLD` | `{s.retrieval.coverage_threshold}`" in table
    assert table.count("\n") == 2 + sum(len(type(getattr(s, n)).model_fields) for n in Settings.model_fields)
