"""The AMX decision, on CPU flag sets recorded from other machines (and this one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.cpu import cpu_flags, llama_plan

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "cpuinfo"


def recorded(name: str) -> frozenset[str]:
    return cpu_flags((RECORDED / name).read_text())


@pytest.mark.parametrize(
    ("name", "repack", "must_have", "must_lack"),
    [
        ("xeon-sapphire-rapids-amx.txt", False, {"amx_int8", "amx_tile", "avx512f"}, set()),
        ("epyc-avx512-no-amx.txt", True, {"avx512f", "avx512_vnni"}, {"amx_int8"}),
        ("avx2-only.txt", True, {"avx2", "fma"}, {"avx512f", "amx_int8"}),
    ],
)
def test_decision_on_recorded_cpus(name, repack, must_have, must_lack):
    flags = recorded(name)
    assert must_have <= flags and not (must_lack & flags)  # the recording is what its name says
    plan = llama_plan(flags)
    assert plan.use_extra_bufts is repack
    if not repack:
        assert "amx_int8" in plan.reason and "20824" in plan.reason


def test_a_build_reporting_amx_is_kept_off_amx_even_without_flags():
    info = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |"
    assert llama_plan(frozenset(), info).use_extra_bufts is False
    assert llama_plan(frozenset(), info.replace("AMX_INT8 = 1", "AMX_INT8 = 0")).use_extra_bufts is True


def test_override_wins_both_ways():
    amx = recorded("xeon-sapphire-rapids-amx.txt")
    assert llama_plan(amx, override="on").use_extra_bufts is True
    assert llama_plan(recorded("avx2-only.txt"), override="off").use_extra_bufts is False


def test_unreadable_cpuinfo_gives_no_flags(tmp_path, monkeypatch):
    import assistant.llm.cpu as cpu

    monkeypatch.setattr(cpu, "CPUINFO", tmp_path / "absent")
    assert cpu.cpu_flags() == frozenset()


def test_this_machine_is_decided_from_its_own_flags():
    flags = cpu_flags()
    plan = llama_plan(flags)
    assert plan.use_extra_bufts is not any(f.startswith("amx") for f in flags)


def test_the_server_entry_point_takes_the_same_decision_and_refuses_a_bad_override(monkeypatch):
    """`python -m assistant.llm.server` (llama_cpp.server, AMX-safe) decides like the local back end."""
    from assistant.llm.local import system_info
    from assistant.llm.server import OVERRIDE_ENV, plan_from_env

    monkeypatch.delenv(OVERRIDE_ENV, raising=False)
    assert plan_from_env() == llama_plan(cpu_flags(), system_info())
    monkeypatch.setenv(OVERRIDE_ENV, "off")
    assert plan_from_env().use_extra_bufts is False
    monkeypatch.setenv(OVERRIDE_ENV, "sometimes")
    with pytest.raises(SystemExit, match=OVERRIDE_ENV):
        plan_from_env()
