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
    if a.proposal.population is not None:
        name = a.proposal.population.name
        who = (
            f"{fmt_int(area['population'].sum())} {name}, the population this assessment is about "
            f"(of {fmt_int(area['population_all_ages'].sum())} Census 2021 usual residents; each "
            "LSOA's share of those ages is from ONS mid-2020 estimates, persons: the reference data "
            f"has no split by sex). Every figure below counts {name} only, except proficiency in "
            "English (published for all residents aged 3 and over)"
        )
    else:
        name = "residents"
        who = f"{fmt_int(area['population'].sum())} residents (Census 2021 usual residents)"
    return paragraphs(
        f"The area has {fmt_int(len(area))} LSOAs and {who}. {fmt_pct(core_share)} of {name} live "
        "in Core20 neighbourhoods, the most deprived 20% of LSOAs in England (IMD 2025 deciles 1–2)."
    )


def decile_table(a: Assessment, deciles: pd.DataFrame | None = None) -> Table:
    """LSOAs and residents per IMD decile (``deciles`` from :func:`eia.assessment.profile_by_decile`)."""
    deciles = profile_by_decile(a.area.lsoas) if deciles is None else deciles
    return Table(
        pd.DataFrame(
            {
                "IMD 2025 decile": [
                    f"{d}{' (most deprived)' if d == 1 else ' (least deprived)' if d == 10 else ''}"
                    for d in deciles["imd_decile"]
                ],
                "LSOAs": deciles["lsoas"].map(fmt_int),
                "Share of LSOAs": deciles["share_lsoas"].map(fmt_pct),
                "Residents": deciles["population"].map(fmt_int),
                "Share of residents": deciles["share_population"].map(fmt_pct),
            }
        ),
        "LSOAs and residents by national IMD 2025 decile",
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
        "LSOAs and residents by national IMD 2025 quintile",
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
        "Residents by ethnic group (Census 2021, 5 high-level groups)",
    )


def area_profile(a: Assessment) -> Block:
    """Population in one call: the summary paragraph and the decile, quintile and ethnic tables."""
    return Block(area_summary(a), decile_table(a), quintile_table(a), ethnic_table(a))
