#!/usr/bin/env bash
# Quickstart, command 1: install everything into .venv (first time only) and start the chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/mi-glossary serve "$@"
