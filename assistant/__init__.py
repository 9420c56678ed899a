"""MI glossary assistant: cited answers about mechanistic interpretability.

Importing this package is cheap: torch, faiss and gradio are imported lazily by the modules
that need them, so `import assistant` and `mi-glossary --help` stay fast. The public entry
points, `Settings` and `open_assistant`, are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.factory import open_assistant
    from assistant.settings import Settings

from assistant.version import __version__

__all__ = ["Settings", "__version__", "open_assistant"]


def __getattr__(name: str) -> Any:
    """`from assistant import Settings, open_assistant`, imported on first use (keeps `import assistant` light)."""
    if name == "Settings":
        from assistant.settings import Settings

        return Settings
    if name == "open_assistant":
        from assistant.factory import open_assistant

        return open_assistant
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
