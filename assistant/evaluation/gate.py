"""The CI gate: thresholds from one TOML file, checked against a report's figures.

`evals/thresholds.toml` holds a `[gate]` table (which set, how many questions to answer, which
LLM profile) and `[retrieval.min]`, `[retrieval.max]`, `[answers.min]`, `[answers.max]` tables
mapping a metric path (as printed by `eval compare`, without the leading block name) to a
bound. `target_min` / `target_max` tables are goals: checked and printed, never failing, so a
goal the code does not meet yet stays visible without blocking every merge. A path that names
no metric is a data error, so a typo cannot silently pass the gate.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import DataError
from assistant.evaluation.report import Report, flatten


class GateConfigError(DataError):
    """thresholds.toml is missing, malformed, or names a metric that does not exist."""


class Bounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: dict[str, float] = {}
    max: dict[str, float] = {}
    target_min: dict[str, float] = {}  # reported, never fails the gate (goals not yet met)
    target_max: dict[str, float] = {}


class GateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    set: str = Field("test", description="Eval set whose FULL split is retrieved.")
    answer_sample: int = Field(12, ge=0, description="Questions answered end to end (stratified sample).")
    llm_profile: Literal["default", "fast"] = Field("fast", description="Local model profile for answers.")
    require_llm: bool = Field(False, description="Fail when the LLM cannot be loaded (else retrieval-only answers).")


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    gate: GateSettings = GateSettings()
    retrieval: Bounds = Bounds()
    answers: Bounds = Bounds()
    reference: Bounds = Bounds()  # `eval reference --gate`: "<kind>.<metric>" of reference.summarise()


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    op: Literal[">=", "<="]
    bound: float
    value: float | None
    ok: bool
    enforced: bool = True


def load_gate_config(path: Path) -> GateConfig:
    if not path.is_file():
        raise GateConfigError(f"no gate thresholds at {path}", "create it (see evals/thresholds.toml in the repo)")
    try:
        return GateConfig.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise GateConfigError(f"{path} is not valid TOML", "fix the syntax", cause=str(exc)) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise GateConfigError(f"{path} is not a valid gate config", "fix the keys", cause=problems) from None


def check(report: Report, config: GateConfig) -> list[Check]:
    """Every bound against the report; a block the report lacks (no answers) fails its bounds."""
    figures = flatten(report)
    checks: list[Check] = []
    for block in ("retrieval", "answers"):
        bounds: Bounds = getattr(config, block)
        present = getattr(report, block) is not None
        tables = (
            (">=", bounds.min, True),
            ("<=", bounds.max, True),
            (">=", bounds.target_min, False),
            ("<=", bounds.target_max, False),
        )
        for op, table, enforced in tables:
            for metric, bound in table.items():
                key = f"{block}.{metric}"
                if present and key not in figures:
                    known = ", ".join(sorted(k.split(".", 1)[1] for k in figures if k.startswith(block + ".")))
                    raise GateConfigError(
                        f"unknown {block} metric '{metric}' in the gate thresholds",
                        f"use one of: {known}",
                    )
                value = figures.get(key)
                ok = value is not None and (value >= bound if op == ">=" else value <= bound)
                checks.append(Check(metric=key, op=op, bound=bound, value=value, ok=ok, enforced=enforced))
    return checks


def check_reference(summary: Mapping[str, BaseModel], bounds: Bounds) -> list[Check]:
    """Reference-set bounds ("all_in_scope.must_not" <= 0.02 ...) against `reference.summarise()`."""
    checks: list[Check] = []
    for op, table, enforced in (
        (">=", bounds.min, True),
        ("<=", bounds.max, True),
        (">=", bounds.target_min, False),
        ("<=", bounds.target_max, False),
    ):
        for path, bound in table.items():
            kind, _, metric = path.partition(".")
            if kind not in summary or metric not in type(summary[kind]).model_fields:
                raise GateConfigError(
                    f"unknown reference metric '{path}' in the gate thresholds",
                    f"use <kind>.<metric>, kinds: {', '.join(summary)}",
                )
            value = getattr(summary[kind], metric)
            ok = value is not None and (value >= bound if op == ">=" else value <= bound)
            checks.append(Check(metric=f"reference.{path}", op=op, bound=bound, value=value, ok=ok, enforced=enforced))
    return checks
