"""The population: the area's profile by IMD decile and quintile and by ethnic group.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.assessment import Assessment, ethnic_composition, profile_by_decile, profile_by_quintile
from eia.report.show import (
    Block,
    Html,
    Table,
    fmt_int,
    fmt_pct,
    paragraphs,
)
from eia.report.wording import say_text as sentence

__all__ = [
    "area_profile",
    "area_summary",
    "decile_table",
    "ethnic_table",
    "quintile_table",
]


# ---------------------------------------------------------------------------
# The population


def area_summary(a: Assessment) -> Html:
    """One paragraph: LSOAs, residents and the Core20 share of the area."""
    area = a.area.lsoas
    core_share = area.loc[area["core20"], "population"].sum() / area["population"].sum()
    population = a.proposal.population
    return paragraphs(
        sentence(
            "population.j2",
            "area_summary",
            len(area),
            area["population"].sum(),
            core_share,
            population.name if population is not None else None,
            area["population_all_ages"].sum() if population is not None else None,
        )
    )


def decile_table(a: Assessment, deciles: pd.DataFrame | None = None) -> Table:
    """LSOAs and residents per IMD decile (``deciles`` from :func:`eia.assessment.profile_by_decile`)."""
    deciles = profile_by_decile(a.area.lsoas) if deciles is None else deciles
    return Table(
        pd.DataFrame(
            {
                "IMD 2025 decile": [
                    sentence("population.j2", "decile", d) for d in deciles["imd_decile"]
                ],
                "LSOAs": deciles["lsoas"].map(fmt_int),
                "Share of LSOAs": deciles["share_lsoas"].map(fmt_pct),
                "Residents": deciles["population"].map(fmt_int),
                "Share of residents": deciles["share_population"].map(fmt_pct),
            }
        ),
        sentence("population.j2", "caption", "deciles"),
    )


def quintile_table(a: Assessment, quintiles: pd.DataFrame | None = None) -> Table:
    """LSOAs and residents per IMD quintile (:func:`eia.assessment.profile_by_quintile`)."""
    quint = profile_by_quintile(a.area.lsoas) if quintiles is None else quintiles
    return Table(
        pd.DataFrame(
            {
                "IMD 2025 quintile": quint["group"],
                "LSOAs": quint["lsoas"].map(fmt_int),
                "Residents": quint["population"].map(fmt_int),
                "Share of residents": quint["share_population"].map(fmt_pct),
            }
        ),
        sentence("population.j2", "caption", "quintiles"),
    )


def ethnic_table(a: Assessment, composition: pd.DataFrame | None = None) -> Table:
    """Residents per ethnic group (:func:`eia.assessment.ethnic_composition`)."""
    eth = ethnic_composition(a.area.weights) if composition is None else composition
    return Table(
        pd.DataFrame(
            {
                "Ethnic group (Census 2021)": eth["group"],
                "Residents": eth["population"].map(fmt_int),
                "Share": eth["share"].map(fmt_pct),
            }
        ),
        sentence("population.j2", "caption", "ethnic"),
    )


def area_profile(a: Assessment) -> Block:
    """Population in one call: the summary paragraph and the decile, quintile and ethnic tables."""
    return Block(area_summary(a), decile_table(a), quintile_table(a), ethnic_table(a))
