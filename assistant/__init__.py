"""MI glossary assistant: cited answers about mechanistic interpretability.

Importing this package is cheap: torch, faiss and gradio are imported lazily by the modules
that need them, so `import assistant` and `mi-glossary --help` stay fast.
"""

__version__ = "0.1.0"
