"""Representation: a group's share of users over its share of residents (crude, or age-standardised where DSRs exist), with intervals."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.stats import proportion_ci

__all__ = ["representation", "standardised_representation", "CORE20_GROUP", "Q1_GROUP", "MERGED_Q1"]


def representation(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Representation ratio with its interval for each group of an uptake table.

    ``table`` has ``group``, ``count`` and ``population`` (counts withheld by
    disclosure control are missing and give missing results). Returns ``group,
    count, population, user_share, population_share, representation,
    representation_lower, representation_upper``.
    """
    count = pd.to_numeric(table["count"], errors="coerce")
    pop = pd.to_numeric(table["population"], errors="coerce")
    total_count = count.sum(min_count=1) if count.notna().all() else np.nan
    pop_share = pop / pop.sum()
    out = pd.DataFrame({"group": table["group"].astype(str), "count": count, "population": pop})
    out["population_share"] = pop_share
    if np.isfinite(total_count) and total_count > 0:
        share, lower, upper = proportion_ci(
            count.to_numpy(float), np.full(len(count), total_count), confidence
        )
    else:
        share = lower = upper = np.full(len(count), np.nan)
    out["user_share"] = share
    out["representation"] = np.asarray(share) / pop_share.to_numpy()
    out["representation_lower"] = np.asarray(lower) / pop_share.to_numpy()
    out["representation_upper"] = np.asarray(upper) / pop_share.to_numpy()
    return out.reset_index(drop=True)


def standardised_representation(table: pd.DataFrame, area_dsr: Mapping | None) -> pd.DataFrame:
    """Representation on age-standardised rates where every group has one, else crude.

    ``table`` has ``group``, ``count``, ``population`` and, when the extract has age,
    ``dsr``, ``dsr_lower``, ``dsr_upper`` (a published uptake table); ``area_dsr`` the
    whole area's ``dsr`` (:attr:`eia.analysis.uptake.Uptake.dsr_area`). Crude
    representation is a group's rate over the area's (share of users over share of
    residents, :func:`representation`); age-standardised, it is the group's DSR over the
    area's DSR, with the group's Dobson limits over the area's DSR, so groups with older
    or younger residents are compared like for like. The crude shares stay in the frame
    (``user_share``, ``population_share``, ``crude_representation``); ``basis`` says which
    the ``representation`` columns are: ``age-standardised`` or ``crude``.
    """
    out = representation(table)
    out["crude_representation"] = out["representation"]
    out["basis"] = "crude"
    if area_dsr is None or "dsr" not in table or not area_dsr.get("dsr"):
        return out
    dsr = pd.to_numeric(table["dsr"], errors="coerce").to_numpy(float)
    if not np.isfinite(dsr).all():  # a group below 10 events or withheld: all stay crude
        return out
    base = float(area_dsr["dsr"])
    out["representation"] = dsr / base
    out["representation_lower"] = pd.to_numeric(table["dsr_lower"]).to_numpy(float) / base
    out["representation_upper"] = pd.to_numeric(table["dsr_upper"]).to_numpy(float) / base
    out["basis"] = "age-standardised"
    return out


#: The Core20 row's group, and the one row shown when IMD quintile 1 is the same people.
CORE20_GROUP = "Core20 (IMD deciles 1-2)"
Q1_GROUP = "Q1 (most deprived)"
MERGED_Q1 = "Most deprived 20% (IMD quintile 1, Core20)"
