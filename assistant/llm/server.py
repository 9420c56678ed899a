"""`python -m assistant.llm.server ARGS`: llama.cpp's OpenAI-compatible server, safe on AMX CPUs.

The arguments are those of `python -m llama_cpp.server` (`--model`, `--host`, `--port`, ...). The
plain server loads its model with llama.cpp's default weight repacking, so on a CPU that reports
AMX its first prompt longer than one token segfaults the whole server (see `llm.cpu`). This
entry point applies the same decision as the local back end (`llm.cpu.llama_plan`, overridable
with `MI_GLOSSARY_LLM__EXTRA_BUFTS=auto|on|off`) to every model the server loads, prints it to
stderr, then runs the server unchanged. Point `MI_GLOSSARY_LLM__KIND=openai` at it.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import cast

from assistant.llm.cpu import ExtraBufts, LlamaPlan, cpu_flags, llama_plan
from assistant.llm.local import _model_params, system_info

OVERRIDE_ENV = "MI_GLOSSARY_LLM__EXTRA_BUFTS"


def plan_from_env() -> LlamaPlan:
    """This machine's plan, with the override from the environment.

    Raises:
        SystemExit: the override is not one of auto, on, off (exit 2, naming the variable).
    """
    override = os.environ.get(OVERRIDE_ENV, "auto").strip().lower() or "auto"
    if override not in ("auto", "on", "off"):
        raise SystemExit(f"error: {OVERRIDE_ENV}={override!r}; set it to auto, on or off")
    return llama_plan(cpu_flags(), system_info(), cast(ExtraBufts, override))


def main() -> None:
    plan = plan_from_env()
    print(f"llama.cpp extra buffers {'on' if plan.use_extra_bufts else 'off'}: {plan.reason}", file=sys.stderr)
    with _model_params(use_extra_bufts=plan.use_extra_bufts):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
