"""The area's profile: LSOAs and residents by deprivation and ethnic group (plain frames)."""

from __future__ import annotations

import pandas as pd

from eia.population.area import QUINTILE_LABELS

__all__ = ["ethnic_composition", "profile_by_decile", "profile_by_quintile"]


def profile_by_decile(area: pd.DataFrame) -> pd.DataFrame:
    """LSOAs and residents per national IMD 2025 decile (all ten deciles, zeros kept)."""
    grouped = area.groupby("imd_decile").agg(
        lsoas=("lsoa21_code", "size"), population=("population", "sum")
    )
    grouped = grouped.reindex(range(1, 11), fill_value=0)
    grouped["share_lsoas"] = grouped["lsoas"] / grouped["lsoas"].sum()
    grouped["share_population"] = grouped["population"] / grouped["population"].sum()
    return grouped.rename_axis("imd_decile").reset_index()


def profile_by_quintile(area: pd.DataFrame) -> pd.DataFrame:
    """LSOAs and residents per national IMD 2025 quintile."""
    grouped = area.groupby("imd_quintile").agg(
        lsoas=("lsoa21_code", "size"), population=("population", "sum")
    )
    grouped = grouped.reindex(range(1, 6), fill_value=0)
    grouped["share_population"] = grouped["population"] / grouped["population"].sum()
    grouped.insert(0, "group", [QUINTILE_LABELS[q] for q in grouped.index])
    return grouped.reset_index(drop=True)


def ethnic_composition(weights: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Residents per Census 2021 ethnic group and their share of the area."""
    totals = weights["ethnic_group"].sum(axis=0)
    return pd.DataFrame(
        {
            "group": totals.index,
            "population": totals.to_numpy(),
            "share": (totals / totals.sum()).to_numpy(),
        }
    )
