"""The findings' data types: every judgement a reader sees, as data (codes and figures).

Nothing here builds a sentence: the report's words come from Jinja2 templates
(``src/eia/report/prose/*.j2``) fed by these objects, and ``metrics.json`` carries
:meth:`Findings.as_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Dominance",
    "Findings",
    "Flag",
    "GroupComparison",
    "GroupOutcome",
    "Harm",
    "IntersectionFinding",
    "Missing",
    "Reason",
    "Robustness",
    "Tradeoff",
    "Uncounted",
]


@dataclass(frozen=True)
class Flag:
    """One disproportionate flag that is counted: ``option``'s rating row ``(dimension, group)``.

    ``protected``: whether the group is one the equality duty protects (Core20, ethnic
    groups, age, sex, religion, disability and any opted-in Census group); ``margin``:
    ``clear`` or ``marginal`` (:func:`eia.impact.flag_margins`), None when not assessed;
    ``net_gain``: the group's rating is mixed and it gains more than it loses per resident
    (its flag concerns its losses only).
    """

    option: str
    dimension: str
    group: str
    protected: bool
    margin: str | None = None
    net_gain: bool = False  # a mixed rating whose gains outweigh its flagged losses

    @property
    def key(self) -> tuple[str, str, str]:
        """``(option, dimension, group)``, as in the impacts rows."""
        return (self.option, self.dimension, self.group)


@dataclass(frozen=True)
class Uncounted:
    """A rating row marked disproportionate that is not counted again: the same people as a
    counted row (IMD quintile 1 is Core20; the rest of the area is IMD quintiles 2 to 5)."""

    option: str
    dimension: str
    group: str
    same_people_as: str  # "core20" or "imd_quintile"


@dataclass(frozen=True)
class GroupOutcome:
    """One group's outcome under one option, compared with doing nothing (absolute figures).

    ``added``/``removed`` in person-``unit``; ``newly_far``: people newly beyond the far
    threshold; ``added_per_resident``: ``added`` / ``residents``.
    """

    option: str
    dimension: str
    group: str
    residents: float
    added: float
    removed: float
    newly_far: float
    added_per_resident: float | None


@dataclass(frozen=True)
class Dominance:
    """Which options leave every group compared at least as well off as ``option`` (on group
    outcomes: added, newly far, removed) and better on at least one; flags play no part."""

    option: str
    rank: int
    dominated_by: tuple[str, ...] = ()
    dominates: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupComparison:
    """Two options compared for one group on the two outcomes a board weighs.

    ``added_per_resident`` and ``newly_far`` map each option to its value; ``better_added``
    and ``better_newly_far`` name the better option (None when equal); ``material``: the
    ``material_added``: the difference per resident is at least the material burden;
    ``material_newly_far``: the difference newly far is at least the material share of residents.
    """

    dimension: str
    group: str
    residents: float
    added_per_resident: dict[str, float]
    newly_far: dict[str, float]
    better_added: str | None
    better_newly_far: str | None
    material_added: bool
    material_newly_far: bool

    @property
    def material(self) -> bool:
        """Whether either difference is material."""
        return self.material_added or self.material_newly_far


@dataclass(frozen=True)
class Tradeoff:
    """The trade-off between two options neither of which dominates the other, group by group."""

    first: str
    second: str
    groups: tuple[GroupComparison, ...]

    def better_for(self, option: str) -> list[GroupComparison]:
        """The groups for which ``option`` is better on either outcome."""
        return [g for g in self.groups if option in (g.better_added, g.better_newly_far)]


@dataclass(frozen=True)
class Reason:
    """Why the named option is named, as a code and its figures.

    Codes: ``dominates`` (it leaves every group compared at least as well off as every other
    option), ``lower_score`` (lowest equity-weighted score; ``figures``: ``score``,
    ``runner_up``, ``runner_up_score``, ``equity_weight``), ``tie`` (``figures['tied']``),
    ``only_option`` (one scenario compared with doing nothing), ``audit`` (the service now),
    ``declared_effects`` (a service change rated on declared effects), ``none``.
    """

    code: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Harm:
    """Who bears the most harm under an option: ``kind`` ``largest_burden`` (absolute) or
    ``largest_disproportion`` (against the rest of the area); ``basis`` ``access``,
    ``effect`` or ``representation``; ``figures`` the magnitudes (names per basis)."""

    kind: str
    basis: str
    option: str
    dimension: str
    group: str
    protected: bool
    flagged: bool
    figures: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class IntersectionFinding:
    """One judgement of the ethnicity × deprivation section, as a code and its figures
    (:mod:`eia.findings.intersection`).

    ``concentration`` (which ethnic group is most concentrated in Core20): codes
    ``no_core20`` or ``most_concentrated``; ``burden`` (the ethnic group × Core20 cell with the
    most added distance or time per resident under ``option``): ``none_rises`` or
    ``heaviest``; ``access`` (the largest mean change in distance): ``none_rises`` or
    ``largest_increase``. ``ethnic_group`` and ``core20`` (in Core20 or the rest of the area)
    name the cell; ``figures`` hold the magnitudes the words quote (area-based Census
    residents and distances: no service counts).
    """

    code: str
    ethnic_group: str | None = None
    core20: bool | None = None
    option: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types for ``metrics.json``."""
        return {
            "code": self.code,
            "ethnic_group": self.ethnic_group,
            "core20": self.core20,
            "option": self.option,
            **self.figures,
        }


@dataclass(frozen=True)
class Robustness:
    """Whether the named option holds when each threshold is halved and doubled.

    ``flips``: ``(threshold, variation, value, first)`` for each variation that changes the
    ranking (``first``: the option or tied options it would rank first); ``flag_changes``:
    how many variations remove or add a flag of the named option.
    """

    assessed: bool
    holds: bool = True
    tried: int = 0
    flips: tuple[tuple[str, str, float, tuple[str, ...]], ...] = ()
    flag_changes: int = 0


@dataclass(frozen=True)
class Missing:
    """Something needed before sign-off: ``questions_unanswered`` (figures ``count``, ``of``),
    ``no_mitigations`` or ``not_signed_off``."""

    code: str
    figures: dict[str, int] = field(default_factory=dict)


@dataclass
class Findings:
    """Every judgement the report, the index and ``metrics.json`` state, computed once.

    ``options``: the options in rank order (one scenario or none without options);
    ``flags``: the counted disproportionate flags of every option; ``uncounted``: flagged
    rows that are the same people as a counted row; ``outcomes``: each group's outcome per
    option (access only); ``thresholds``: the figures the words need (``unit``, ``far``,
    ``change``, ``material``, ``material_share``); ``intersection``: the ethnicity ×
    deprivation judgements (:class:`IntersectionFinding`).
    """

    named_option: str | None
    reason: Reason
    template: str
    options: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    uncounted: list[Uncounted] = field(default_factory=list)
    dominance: list[Dominance] = field(default_factory=list)
    outcomes: list[GroupOutcome] = field(default_factory=list)
    tradeoffs: list[Tradeoff] = field(default_factory=list)
    harms: list[Harm] = field(default_factory=list)
    robustness: Robustness = field(default_factory=lambda: Robustness(assessed=False))
    missing: list[Missing] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)  # eia.guards.Warning
    material_groups: list[tuple[str, str]] = field(default_factory=list)
    quiet_groups: list[tuple[str, str]] = field(default_factory=list)
    thresholds: dict[str, float | str] = field(default_factory=dict)
    #: Ethnicity × deprivation: ``concentration``, ``burden``, ``access`` (those computed).
    intersection: dict[str, IntersectionFinding] = field(default_factory=dict)

    # -- counts ------------------------------------------------------------

    def flags_for(self, option: str | None, *, protected: bool | None = None) -> list[Flag]:
        """The counted flags of ``option`` (every option when None), optionally only those of
        protected (``True``) or other (``False``) groups."""
        return [
            f
            for f in self.flags
            if (option is None or f.option == option)
            and (protected is None or f.protected == protected)
        ]

    def flag_counts(self, option: str | None) -> dict[str, int]:
        """``{"protected": n, "other": m}`` for ``option``."""
        return {
            "protected": len(self.flags_for(option, protected=True)),
            "other": len(self.flags_for(option, protected=False)),
        }

    def is_counted(self, option: str, dimension: str, group: str) -> bool:
        """Whether ``option``'s row ``(dimension, group)`` carries a counted flag."""
        return any(f.key == (option, dimension, group) for f in self.flags)

    def dominance_of(self, option: str) -> Dominance | None:
        """The dominance entry of ``option``."""
        return next((d for d in self.dominance if d.option == option), None)

    def harm(self, kind: str) -> Harm | None:
        """The named option's harm of ``kind`` (``largest_burden``, ``largest_disproportion``)."""
        return next((h for h in self.harms if h.kind == kind), None)

    @property
    def compared(self) -> bool:
        """Whether two or more options are compared."""
        return len(self.options) > 1

    def outcome(self, option: str, dimension: str, group: str) -> GroupOutcome | None:
        """One group's outcome under ``option``."""
        return next(
            (
                o
                for o in self.outcomes
                if (o.option, o.dimension, o.group) == (option, dimension, group)
            ),
            None,
        )

    # -- metrics.json --------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The ``findings`` block of ``metrics.json`` (plain JSON types)."""
        return {
            "named_option": self.named_option,
            "reason": {"code": self.reason.code, **self.reason.figures},
            "template": self.template,
            "options": list(self.options),
            "unit": self.thresholds.get("unit"),
            "disproportionate": [
                {
                    "option": f.option,
                    "dimension": f.dimension,
                    "group": f.group,
                    "protected": f.protected,
                    "margin": f.margin,
                    "net_gain": f.net_gain,
                }
                for f in self.flags
            ],
            "not_counted_again": [
                {
                    "option": u.option,
                    "dimension": u.dimension,
                    "group": u.group,
                    "same_people_as": u.same_people_as,
                }
                for u in self.uncounted
            ],
            "flag_counts": {o: self.flag_counts(o) for o in self._flag_options()},
            "dominance": [
                {
                    "option": d.option,
                    "rank": d.rank,
                    "dominated_by": list(d.dominated_by),
                    "dominates": list(d.dominates),
                }
                for d in self.dominance
            ],
            "tradeoffs": [_tradeoff_dict(t) for t in self.tradeoffs],
            "harm": [
                {
                    "kind": h.kind,
                    "basis": h.basis,
                    "option": h.option,
                    "dimension": h.dimension,
                    "group": h.group,
                    "protected": h.protected,
                    "flagged": h.flagged,
                    **h.figures,
                }
                for h in self.harms
            ],
            "robustness": {
                "assessed": self.robustness.assessed,
                "holds": self.robustness.holds,
                "variations_tried": self.robustness.tried,
                "flipped_by": [
                    {"threshold": t, "variation": v, "value": x, "first": list(first)}
                    for t, v, x, first in self.robustness.flips
                ],
                "variations_changing_flags": self.robustness.flag_changes,
            },
            "missing": [{"code": m.code, **m.figures} for m in self.missing],
            "ethnicity_deprivation": {k: v.as_dict() for k, v in self.intersection.items()},
            "warnings": [w.as_dict() if hasattr(w, "as_dict") else str(w) for w in self.warnings],
        }

    def _flag_options(self) -> list[str]:
        names = list(self.options)
        names += [f.option for f in self.flags if f.option not in names]
        return list(dict.fromkeys(names))


def _tradeoff_dict(t: Tradeoff) -> dict[str, Any]:
    def entries(option: str) -> list[dict[str, Any]]:
        out = []
        for g in t.groups:
            for measure, better, values, material in (
                ("added_per_resident", g.better_added, g.added_per_resident, g.material_added),
                ("newly_far", g.better_newly_far, g.newly_far, g.material_newly_far),
            ):
                if better == option:
                    out.append(
                        {
                            "dimension": g.dimension,
                            "group": g.group,
                            "measure": measure,
                            "values": dict(values),
                            "material": material,
                        }
                    )
        return out

    return {
        "options": [t.first, t.second],
        "better": {t.first: entries(t.first), t.second: entries(t.second)},
    }
