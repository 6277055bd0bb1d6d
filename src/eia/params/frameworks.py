"""Equality frameworks a self-assessment is scored against (EDS 2022, a race maturity matrix): their YAML definitions, loading them, and checking a proposal's ``self_assessment`` block against one."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eia.errors import ParamsError, Problem

FRAMEWORKS_DIR = Path(__file__).parents[1] / "frameworks"

__all__ = [
    "FRAMEWORKS_DIR",
    "Band",
    "Domain",
    "Framework",
    "Level",
    "Outcome",
    "Rating",
    "builtin",
    "check",
    "load_framework",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Model):
    """One level an outcome can be scored at."""

    score: int
    label: str = Field(min_length=1)
    descriptor: str = ""


class Outcome(_Model):
    """One outcome (or criterion) of a domain."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Domain(_Model):
    """A domain: a named group of outcomes."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)


class Band(_Model):
    """A rating band: totals from ``min`` up to the next band's ``min`` get ``label``."""

    min: float
    label: str = Field(min_length=1)


class Rating(_Model):
    """How totals become ratings."""

    overall: list[Band] = Field(min_length=1)
    domain: Literal["pro_rata"] | list[Band] = "pro_rata"

    @model_validator(mode="after")
    def _increasing(self) -> Rating:
        for bands in (self.overall, self.domain if isinstance(self.domain, list) else []):
            mins = [b.min for b in bands]
            if mins != sorted(mins) or len(set(mins)) != len(mins):
                raise ValueError("rating bands must have strictly increasing min values")
        return self


class Framework(_Model):
    """A self-assessment framework (see the module docstring)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    illustrative: bool = False
    levels: list[Level] = Field(min_length=2)
    domains: list[Domain] = Field(min_length=1)
    rating: Rating

    @model_validator(mode="after")
    def _unique(self) -> Framework:
        scores = [lv.score for lv in self.levels]
        if scores != sorted(set(scores)):
            raise ValueError("levels must have distinct scores in increasing order")
        ids = [o.id for d in self.domains for o in d.outcomes]
        if len(set(ids)) != len(ids):
            raise ValueError("outcome ids must be unique across domains")
        return self

    @property
    def outcome_ids(self) -> list[str]:
        return [o.id for d in self.domains for o in d.outcomes]

    @property
    def scores(self) -> list[int]:
        return [lv.score for lv in self.levels]

    def level(self, score: int) -> Level:
        return next(lv for lv in self.levels if lv.score == score)

    def max_total(self, domain: Domain | None = None) -> int:
        n = len(domain.outcomes) if domain else len(self.outcome_ids)
        return n * max(self.scores)

    def domain_bands(self, domain: Domain) -> list[Band]:
        """The bands a domain's total is rated on (pro rata from the overall bands by default)."""
        if isinstance(self.rating.domain, list):
            return list(self.rating.domain)
        scale = self.max_total(domain) / self.max_total()
        return [
            Band(min=math.ceil(b.min * scale - 1e-9), label=b.label) for b in self.rating.overall
        ]


def builtin() -> list[str]:
    """The ids of the built-in frameworks."""
    return sorted(p.stem for p in FRAMEWORKS_DIR.glob("*.yaml"))


@cache
def _builtin(name: str) -> Framework:
    data = yaml.safe_load((FRAMEWORKS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return Framework.model_validate(data)


def load_framework(spec: str | dict, base_dir: Path | str = ".") -> Framework:
    """A framework from a built-in id, a YAML file (relative to ``base_dir``) or a mapping.

    Raises :class:`ParamsError` (field ``self_assessment.framework``) when it cannot.
    """
    where = "self_assessment.framework"
    if isinstance(spec, str):
        if spec in builtin():
            return _builtin(spec)
        path = Path(base_dir) / spec
        if spec.endswith((".yaml", ".yml")) and path.is_file():
            try:
                spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                raise ParamsError(where, [Problem(where, f"{spec} is not valid YAML")]) from None
        else:
            known = ", ".join(builtin())
            raise ParamsError(
                where,
                [
                    Problem(
                        where,
                        f"unknown framework {spec!r}: use one of {known} or a .yaml file",
                    )
                ],
            )
    try:
        return Framework.model_validate(spec)
    except ValidationError as exc:
        problems = [
            Problem(
                ".".join([where, *(str(x) for x in err["loc"])]),
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors(include_url=False)
        ]
        raise ParamsError(where, problems) from None


def check(
    block,
    base_dir: Path | str = ".",
    *,
    follow_previous: bool = True,
    load_params: Callable[..., Any] | None = None,
) -> list[Problem]:
    """Problems with a validated ``self_assessment`` block, judged against its framework.

    One problem per line: an unknown framework, an unknown or repeated outcome, a score
    outside the framework's levels, an action naming an unknown outcome, a previous
    assessment that is missing or uses another framework.
    """
    try:
        fw = load_framework(block.framework, base_dir)
    except ParamsError as exc:
        return list(exc.problems)
    problems: list[Problem] = []
    known = set(fw.outcome_ids)
    seen: set[str] = set()
    allowed = ", ".join(str(s) for s in fw.scores)
    for i, entry in enumerate(block.scores):
        where = f"self_assessment.scores[{i}]"
        if entry.outcome not in known:
            problems.append(
                Problem(
                    f"{where}.outcome",
                    f"unknown outcome {entry.outcome!r} in {fw.id}; outcomes are "
                    + ", ".join(fw.outcome_ids),
                )
            )
        elif entry.outcome in seen:
            problems.append(Problem(f"{where}.outcome", f"outcome {entry.outcome} is scored twice"))
        seen.add(entry.outcome)
        if entry.score not in fw.scores:
            problems.append(
                Problem(
                    f"{where}.score",
                    f"{entry.score} is not a level of {fw.id}; allowed: {allowed}",
                )
            )
    for i, action in enumerate(block.actions):
        for j, outcome in enumerate(action.outcomes):
            if outcome not in known:
                problems.append(
                    Problem(
                        f"self_assessment.actions[{i}].outcomes[{j}]",
                        f"unknown outcome {outcome!r} in {fw.id}",
                    )
                )
    if block.previous and follow_previous and load_params is not None:
        problems += _check_previous(block.previous, Path(base_dir), fw, load_params)
    return problems


def _check_previous(
    previous: str, base: Path, fw: Framework, load_params: Callable[..., Any]
) -> list[Problem]:
    """The previous assessment must exist, be valid and use the same framework."""
    where = "self_assessment.previous"
    path = base / previous
    if not path.is_file():
        return [Problem(where, f"{previous} does not exist (relative to the params file)")]
    try:
        earlier = load_params(path, check_data=False)
    except ParamsError as exc:
        return [
            Problem(where, f"{previous} is not a valid params file ({len(exc.problems)} problems)")
        ]
    if earlier.self_assessment is None:
        return [Problem(where, f"{previous} is not a self-assessment")]
    try:
        other = load_framework(earlier.self_assessment.framework, path.parent)
    except ParamsError:
        return [Problem(where, f"{previous} names a framework that cannot be loaded")]
    if other.id != fw.id:
        return [Problem(where, f"{previous} uses framework {other.id}, not {fw.id}")]
    return []
