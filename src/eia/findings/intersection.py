"""The ethnicity × deprivation judgements, made once (:class:`~eia.findings.model.IntersectionFinding`).

From the tables of :mod:`eia.analysis.ethnicity_deprivation` (``Assessment.ethnicity_deprivation``):

* :func:`concentration` — which ethnic group is most concentrated in Core20
  neighbourhoods, against White residents' share, and how many Core20 residents belong to
  minority ethnic groups;
* :func:`heaviest_burden` — the ethnic group × Core20 cell bearing the most added distance
  (or time) per resident under the option the report names, with its rating;
* :func:`largest_access_change` — the cell whose mean distance rises most (or, when none
  rises, improves least).

Groups of fewer than :data:`MIN_PEOPLE` residents are not singled out. The report's
ethnicity × deprivation section and ``metrics.json`` (``findings.ethnicity_deprivation``)
read these; the words are ``report/prose/ethnicity_deprivation.j2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from eia.findings.model import IntersectionFinding

__all__ = ["MIN_PEOPLE", "build", "concentration", "heaviest_burden", "largest_access_change"]

#: Cells and groups with fewer residents than this are not singled out.
MIN_PEOPLE = 100

CORE20 = "Core20 (IMD deciles 1-2)"
ALL_RESIDENTS = "All residents"


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def concentration(core: pd.DataFrame, *, min_people: int = MIN_PEOPLE) -> IntersectionFinding:
    """Which ethnic group is most concentrated in Core20 (``core``:
    :func:`eia.analysis.ethnicity_deprivation.core20_table`).

    Figures: ``share_core20`` and ``core20`` (the area's), ``group_share`` and
    ``group_core20`` (the group's), ``relative_to_white`` and ``white_share`` (when the
    group is not White and White residents live in Core20), ``minority_core20`` (Core20
    residents of minority ethnic groups of at least ``min_people``; None without any).
    """
    rows = core[(core["ethnic_group"] != ALL_RESIDENTS) & (core["population"] >= min_people)]
    everyone = core[core["ethnic_group"] == ALL_RESIDENTS].iloc[0]
    if not len(rows) or not everyone["core20"]:
        return IntersectionFinding("no_core20")
    top = rows.sort_values("share_core20", ascending=False).iloc[0]
    white = core[core["ethnic_group"] == "White"]
    figures: dict[str, Any] = {
        "share_core20": float(everyone["share_core20"]),
        "core20": float(everyone["core20"]),
        "group_share": float(top["share_core20"]),
        "group_core20": float(top["core20"]),
        "relative_to_white": None,
        "white_share": None,
        "minority_core20": None,
    }
    if top["ethnic_group"] != "White" and len(white) and white.iloc[0]["share_core20"] > 0:
        figures["relative_to_white"] = float(top["relative_to_white"])
        figures["white_share"] = float(white.iloc[0]["share_core20"])
    minority = rows[rows["ethnic_group"] != "White"]
    if len(minority):
        figures["minority_core20"] = float(int(minority["core20"].sum()))
    return IntersectionFinding(
        "most_concentrated", ethnic_group=str(top["ethnic_group"]), figures=figures
    )


def heaviest_burden(table: pd.DataFrame, option: str | None = None) -> IntersectionFinding | None:
    """The ethnic group × Core20 cell bearing the most added distance per resident (``table``:
    :func:`eia.analysis.ethnicity_deprivation.burden_table`, rated cells only); None when no
    cell is rated. ``none_rises`` when no cell's added burden is above 0.

    Figures: ``added_per_resident``, ``further``, ``residents``,
    ``mean_added_among_further``, ``removed_per_resident``, ``rating``,
    ``disproportionate``, ``rating_note``.
    """
    rows = table[table["rating"] != "not rated"] if "rating" in table else table
    if not len(rows):
        return None
    worst = rows.sort_values("added_per_resident", ascending=False).iloc[0]
    if not worst["added_per_resident"] > 0:
        return IntersectionFinding("none_rises", option=option)
    removed = _number(worst.get("removed_per_resident"))
    note = worst.get("rating_note")
    return IntersectionFinding(
        "heaviest",
        ethnic_group=str(worst["ethnic_group"]),
        core20=worst["core20"] == CORE20,
        option=option,
        figures={
            "added_per_resident": float(worst["added_per_resident"]),
            "further": float(worst["further"]),
            "residents": float(worst["residents"]),
            "mean_added_among_further": _number(worst.get("mean_added_among_further")),
            "removed_per_resident": removed if removed and removed > 0 else None,
            "rating": str(worst.get("rating", "not rated")),
            "disproportionate": bool(worst.get("disproportionate") or False),
            "rating_note": None if note is None or pd.isna(note) or not note else str(note),
        },
    )


def largest_access_change(
    table: pd.DataFrame, *, min_people: int = MIN_PEOPLE
) -> IntersectionFinding | None:
    """The ethnic group × Core20 cell whose mean distance rises most (``table``:
    :func:`eia.analysis.ethnicity_deprivation.access_table`; cells of at least ``min_people``);
    ``none_rises`` (the smallest improvement) when none rises; None without such cells.
    Figures: ``mean_km_change``, ``population``."""
    rows = table[table["population"] >= min_people]
    if not len(rows):
        return None
    worst = rows.sort_values("mean_km_change", ascending=False).iloc[0]
    return IntersectionFinding(
        "largest_increase" if worst["mean_km_change"] > 0 else "none_rises",
        ethnic_group=str(worst["ethnic_group"]),
        core20=worst["core20"] == CORE20,
        figures={
            "mean_km_change": float(worst["mean_km_change"]),
            "population": float(worst["population"]),
        },
    )


def build(
    intersect: Mapping[str, pd.DataFrame | None], option: str | None = None
) -> dict[str, IntersectionFinding]:
    """Every ethnicity × deprivation judgement the tables in ``intersect`` allow
    (``Assessment.ethnicity_deprivation``: ``core20``, ``burden``, ``access``); ``option`` the option the
    burden was computed for (named in the words when options are compared)."""
    out: dict[str, IntersectionFinding] = {}
    if intersect.get("core20") is not None:
        out["concentration"] = concentration(intersect["core20"])
    if intersect.get("burden") is not None:
        found = heaviest_burden(intersect["burden"], option)
        if found is not None:
            out["burden"] = found
    if intersect.get("access") is not None:
        found = largest_access_change(intersect["access"])
        if found is not None:
            out["access"] = found
    return out
