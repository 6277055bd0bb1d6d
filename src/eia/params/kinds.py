"""The registry of template kinds and access units: one entry each, not a branch in every function.

A template kind (``site_change``, ``service_change``, ``equity_audit``, ``self_assessment``) says
what a proposal of that kind must give and what its report rates; an access unit (``km``,
``min``) says how its measure is named. Code that differs by kind or unit reads the entry
(``KINDS[p.template].rates``, ``UNITS[unit].more``) instead of comparing names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "UNITS", "Kind", "Need", "Unit"]


@dataclass(frozen=True)
class Need:
    """A block a kind of proposal must have: the field, and the message when it is missing."""

    field: str
    message: str


@dataclass(frozen=True)
class Kind:
    """One template kind: its title, the blocks it needs, and what its report rates.

    ``rates`` is ``"access"`` (distance or journey time before and after), ``"effects"``
    (declared expected changes per group), ``"uptake"`` (current use of the service) or
    ``"scores"`` (a self-assessment against a framework).
    """

    name: str
    title: str
    needs: tuple[Need, ...]
    rates: str
    has_area: bool = True

    @property
    def assesses(self) -> bool:
        """Whether its notebook computes an assessment (``eia.assessment.assess``): every
        kind with an area."""
        return self.has_area


@dataclass(frozen=True)
class Unit:
    """How an access measure is named: ``km`` (straight-line distance) or ``min`` (journey time)."""

    name: str
    measure: str
    more: str
    less: str
    per_person: str
    #: Decimal places an amount in this unit is shown with.
    digits: int = 1


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "site_change",
            "Site change: equity and health inequalities impact assessment",
            (Need("sites", "template site_change needs sites: {current: [...], proposed: [...]}"),),
            rates="access",
        ),
        Kind(
            "service_change",
            "Service change: equity and health inequalities impact assessment",
            (
                Need(
                    "effects",
                    "template service_change needs effects: [...] (expected change per group)",
                ),
            ),
            rates="effects",
        ),
        Kind(
            "equity_audit",
            "Equity audit of an existing service",
            (
                Need(
                    "service",
                    "template equity_audit needs a service block (the service data to audit)",
                ),
            ),
            rates="uptake",
        ),
        Kind(
            "self_assessment",
            "Self-assessment against an equality framework (EDS 2022 and others)",
            (
                Need(
                    "self_assessment",
                    "template self_assessment needs a self_assessment block (framework, scores)",
                ),
            ),
            rates="scores",
            has_area=False,
        ),
    )
}

UNITS: dict[str, Unit] = {
    "km": Unit("km", "distance", "further", "nearer", "person-km"),
    "min": Unit("min", "travel time", "longer", "shorter", "person-minutes", digits=0),
}
