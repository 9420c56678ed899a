"""Rewrite the README's table of environment variables from assistant/settings.py.

.venv/bin/python scripts/settings_table.py          # rewrite README.md
.venv/bin/python scripts/settings_table.py --check  # exit 1 if the README is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from assistant.settings import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- settings-table:[^\n]*-->\n)(.*?)(<!-- /settings-table -->)", re.S)


def rendered(text: str) -> str:
    if not BLOCK.search(text):
        raise SystemExit(f"{README}: no <!-- settings-table --> block (add the markers around the table)")
    return BLOCK.sub(lambda m: m.group(1) + settings_table() + m.group(3), text)


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    new = rendered(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else f"{README} settings table is out of date: run scripts/settings_table.py")
    README.write_text(new, encoding="utf-8")
