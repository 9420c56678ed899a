#!/usr/bin/env bash
# Quickstart, command 2: lint, format and type checks, the whole test suite, then the eval gate
# (what CI runs: .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
bash scripts/install.sh --test
# Lint, format and types first: they take seconds and fail fast.
.venv/bin/ruff check assistant scripts tests evals
.venv/bin/ruff format --check assistant scripts tests evals
.venv/bin/mypy
.venv/bin/mi-glossary corpus check
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ -f evals/thresholds.toml ]; then
  .venv/bin/mi-glossary eval gate
  .venv/bin/mi-glossary eval reference --gate --out "${TMPDIR:-/tmp}/mi-glossary-reference"
fi
