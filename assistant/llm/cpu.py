"""Which llama.cpp code paths are safe on this CPU, decided from what the machine reports.

llama-cpp-python compiles llama.cpp with `-march=native`, so on a CPU that reports AMX
(`amx_int8`, `amx_tile`, `amx_bf16` in /proc/cpuinfo) the build contains llama.cpp's AMX int8
kernels, and loading a model repacks its weights for them ("extra buffer types"). Those kernels
segfault in batched matrix multiplication on some such machines (ggml-org/llama.cpp issue 20824;
stanfordnlp/dspy pull 10079 dropped its AMX variant for the same crash): any prompt longer than
one token takes the process down. Loading with `use_extra_bufts = False` skips the repack, so
the AMX kernels are never called; the plain AVX-512/AVX2 kernels answer correctly.

The decision is a pure function of the CPU flags and llama.cpp's own `llama_print_system_info()`
string, so it is tested on recorded flag sets of other machines. Compromise: on an AMX CPU we also
lose the (safe) non-AMX weight repacking; measured on such a machine the model still reads
59-76 prompt tokens/s and writes 9-11 tokens/s with 2 threads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

CPUINFO = Path("/proc/cpuinfo")
AMX_FLAGS = ("amx_int8", "amx_tile", "amx_bf16", "amx_fp16", "amx_complex")
_AMX_IN_BUILD = re.compile(r"\bAMX_INT8\s*=\s*1\b")
ExtraBufts = Literal["auto", "on", "off"]


class LlamaPlan(BaseModel):
    """How to load a model with llama.cpp on this machine, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    use_extra_bufts: bool
    reason: str


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU feature flags the kernel reports (the `flags` line of /proc/cpuinfo).

    Returns an empty set where there is no /proc/cpuinfo (not Linux) or it cannot be read.

    Example:
        >>> sorted(cpu_flags("processor : 0\\nflags : fpu avx2 amx_tile\\n"))
        ['amx_tile', 'avx2', 'fpu']
    """
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return frozenset()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):  # x86 / arm64
            flags.update(value.split())
    return frozenset(flags)


def llama_plan(flags: frozenset[str], system_info: str = "", override: ExtraBufts = "auto") -> LlamaPlan:
    """Decide whether llama.cpp may use its extra (repacked, AMX) weight buffers.

    Example:
        >>> llama_plan(frozenset({"avx2", "amx_int8"})).use_extra_bufts
        False
        >>> llama_plan(frozenset({"avx2", "avx512f"})).use_extra_bufts
        True
    """
    if override != "auto":
        return LlamaPlan(use_extra_bufts=override == "on", reason=f"MI_GLOSSARY_LLM__EXTRA_BUFTS={override}")
    amx = sorted(f for f in flags if f in AMX_FLAGS)
    if amx:
        return LlamaPlan(
            use_extra_bufts=False,
            reason=f"the CPU reports {' '.join(amx)}: llama.cpp's AMX kernels are skipped "
            "(they crash in batched matmul on such CPUs, llama.cpp issue 20824)",
        )
    if _AMX_IN_BUILD.search(system_info):
        return LlamaPlan(
            use_extra_bufts=False,
            reason="llama.cpp was built with AMX_INT8 = 1: its AMX kernels are skipped",
        )
    return LlamaPlan(use_extra_bufts=True, reason="no AMX on this CPU: llama.cpp's default kernels")
