"""Place names for maps, from the reference pack alone (no gazetteer, no web tiles).

The pack has no towns, but its electoral wards are named after them: Cornwall's
"Truro Boscawen & Redannick", "Truro Tregolls" and "Truro Moresk & Trehaverne"
are Truro. :func:`towns` takes every leading run of words that two or more wards
of one local authority share ("Truro", "St Austell", "Stamford Hill") as a town,
with the residents of those wards and their population-weighted centre, so a map
can name the largest towns in view. Generic leading words ("North", "St") are
never a town on their own.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from eia.refdata import Pack

__all__ = ["GENERIC", "towns", "ward_towns"]

#: Leading words that are never a town on their own.
GENERIC = frozenset(
    {
        "st", "saint", "north", "south", "east", "west", "central", "upper", "lower",
        "great", "little", "new", "old", "the", "long", "high", "mid", "inner", "outer",
        "royal", "old town", "town", "city",
    }
)  # fmt: skip


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", str(name)) if w]


def ward_towns(wards: pd.DataFrame) -> pd.Series:
    """The town of each ward (``ward24_name``, ``ltla24_code`` rows), or NaN.

    A town is the longest leading run of words (not ending in ``&``, ``and`` or a
    :data:`GENERIC` word such as "North" or "St") shared by at least two distinct wards
    of the same local authority.
    """
    distinct = wards[["ward24_name", "ltla24_code"]].drop_duplicates()
    counts: dict[tuple[str, str], int] = {}
    for name, la in distinct.itertuples(index=False):
        words = _words(name)
        for k in range(1, len(words)):
            if words[k - 1].lower() in {"&", "and"}:
                break
            key = (la, " ".join(words[:k]))
            counts[key] = counts.get(key, 0) + 1

    def town(name: str, la: str) -> str | float:
        words = _words(name)
        best: str | float = np.nan
        for k in range(1, len(words)):
            if words[k - 1].lower() in {"&", "and"}:
                break
            prefix = " ".join(words[:k])
            last = words[k - 1].lower()
            if counts.get((la, prefix), 0) >= 2 and last not in GENERIC:
                best = prefix
        return best

    return pd.Series(
        [town(n, la) for n, la in zip(wards["ward24_name"], wards["ltla24_code"], strict=True)],
        index=wards.index,
    )


def towns(pack: Pack, area: pd.DataFrame) -> pd.DataFrame:
    """The towns of an area, largest first: ``name, population, x, y`` (EPSG:27700).

    ``area`` is :func:`eia.area.build_area`'s frame (``lsoa21_code``, ``population``,
    ``point``). A town's position is its LSOAs' population-weighted centre.
    """
    lookup = pack.lookup().set_index("lsoa21_code")
    codes = area["lsoa21_code"].to_numpy()
    wards = pd.DataFrame(
        {
            "ward24_name": lookup["ward24_name"].reindex(codes).fillna("").to_numpy(),
            "ltla24_code": lookup["ltla24_code"].reindex(codes).fillna("").to_numpy(),
        }
    )
    frame = pd.DataFrame(
        {
            "name": ward_towns(wards).to_numpy(),
            "population": area["population"].to_numpy(dtype=float),
            "x": area["point"].x.to_numpy(),
            "y": area["point"].y.to_numpy(),
        }
    ).dropna(subset=["name"])
    if frame.empty:
        return pd.DataFrame({"name": [], "population": [], "x": [], "y": []})
    w = frame["population"].clip(lower=1.0)
    frame = frame.assign(wx=frame["x"] * w, wy=frame["y"] * w, w=w)
    grouped = frame.groupby("name").agg(
        population=("population", "sum"), wx=("wx", "sum"), wy=("wy", "sum"), w=("w", "sum")
    )
    out = pd.DataFrame(
        {
            "name": grouped.index,
            "population": grouped["population"].to_numpy(),
            "x": (grouped["wx"] / grouped["w"]).to_numpy(),
            "y": (grouped["wy"] / grouped["w"]).to_numpy(),
        }
    )
    return out.sort_values(["population", "name"], ascending=[False, True]).reset_index(drop=True)
