"""`python -m assistant.cli ...`, the same as the `mi-glossary` console script."""

from assistant.cli import main

main()
