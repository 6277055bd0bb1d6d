"""The assessment area: its LSOAs, their population, deprivation and group populations.

An area is chosen by ICB code, local authority codes or a list of LSOA codes
(the ``area`` block of a proposal). :func:`build_area` returns one row per LSOA
2021 with plain columns an analyst can use directly:

``lsoa21_code, lsoa21_name, ltla24_code, ltla24_name, population, imd_rank,
imd_decile, imd_quintile, core20, geometry`` (EPSG:27700) and ``point`` — a
point inside each polygon (``representative_point``), the stand-in for a
population-weighted centroid used to measure distance.

Deciles and quintiles are national (England-wide): decile 1 is the most
deprived 10% of LSOAs in England. Core20 means deciles 1–2.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from eia.errors import RefDataError
from eia.population import proficiency as language
from eia.refdata import Pack
from eia.refdata.groups import ETHNIC_GROUPS as ETHNIC_GROUPS
from eia.refdata.schemas import (
    AREA,  # eia.refdata.schemas imports this module
    WEIGHTS,  # eia.refdata.schemas imports this module
)

#: Short labels for tables and charts.
ETHNIC_SHORT = {
    "Asian, Asian British or Asian Welsh": "Asian",
    "Black, Black British, Black Welsh, Caribbean or African": "Black",
    "Mixed or Multiple ethnic groups": "Mixed",
    "White": "White",
    "Other ethnic group": "Other",
}

QUINTILE_LABELS = {
    1: "Q1 (most deprived)",
    2: "Q2",
    3: "Q3",
    4: "Q4",
    5: "Q5 (least deprived)",
}

#: Census tables available as group dimensions: (Pack loader, column naming the group).
DIMENSIONS = {
    "ethnic_group": ("ethnicity", "ethnic_group"),
    "religion": ("religion", "religion"),
    "disability": ("disability", "disability"),
}


def select_lsoas(pack: Pack, area: Mapping) -> list[str]:
    """LSOA 2021 codes in an area given as ``{icb: CODE}``, ``{ltla: [CODES]}`` or ``{lsoa: [CODES]}``.

    ICB codes may be ONS (``E54000060``) or NHS (``QT1``) codes. Codes are returned sorted.
    Raises :class:`RefDataError` if the area matches no LSOA in England.
    """
    lookup = pack.lookup()
    if area.get("icb"):
        code = str(area["icb"]).strip().upper()
        rows = lookup[(lookup["icb24_code"] == code) | (lookup["icb24_code_nhs"] == code)]
    elif area.get("ltla"):
        rows = lookup[lookup["ltla24_code"].isin([str(c).strip().upper() for c in area["ltla"]])]
    elif area.get("lsoa"):
        rows = lookup[lookup["lsoa21_code"].isin([str(c).strip().upper() for c in area["lsoa"]])]
    else:
        raise RefDataError("area must give one of icb, ltla or lsoa")
    codes = sorted(rows["lsoa21_code"].unique())
    if not codes:
        raise RefDataError(f"area {dict(area)} matches no LSOA 2021 in the reference data")
    return codes


def quintile_of(decile: pd.Series) -> pd.Series:
    """National IMD quintile (1 = most deprived 20%) from a national decile."""
    return ((decile.astype("int64") + 1) // 2).astype("int64")


def build_area(pack: Pack, area: Mapping | list[str]) -> gpd.GeoDataFrame:
    """One row per LSOA 2021 in the area, with population, IMD 2025 and geometry (EPSG:27700).

    ``area`` is an area spec (see :func:`select_lsoas`) or a list of LSOA 2021 codes.
    Population is Census 2021 usual residents (TS021 total). ``point`` is each
    LSOA's representative point (inside the polygon), used as its location.
    """
    codes = list(area) if isinstance(area, list) else select_lsoas(pack, area)
    lookup = pack.lookup().set_index("lsoa21_code")
    imd = pack.imd2025(("lsoa21_code", "IMD_rank", "IMD_decile")).set_index("lsoa21_code")
    missing_imd = [c for c in codes if c not in imd.index]
    if missing_imd:
        raise RefDataError(
            f"{len(missing_imd)} LSOA(s) have no IMD 2025 (IMD covers England only), "
            f"e.g. {', '.join(missing_imd[:5])}: choose an area in England"
        )
    shapes = pack.boundaries(codes).set_index("lsoa21_code").reindex(codes)
    names = lookup.loc[codes, ["lsoa21_name", "ltla24_code", "ltla24_name"]]
    ranks = imd.loc[codes, ["IMD_rank", "IMD_decile"]].astype("int64")
    frame = gpd.GeoDataFrame(
        {
            "lsoa21_code": codes,
            "lsoa21_name": names["lsoa21_name"].to_numpy(),
            "ltla24_code": names["ltla24_code"].to_numpy(),
            "ltla24_name": names["ltla24_name"].to_numpy(),
            "population": pack.population().reindex(codes).fillna(0).astype("int64").to_numpy(),
            "imd_rank": ranks["IMD_rank"].to_numpy(),
            "imd_decile": ranks["IMD_decile"].to_numpy(),
        },
        geometry=shapes.geometry.to_numpy(),
        crs=shapes.crs,
    )
    frame["imd_quintile"] = quintile_of(frame["imd_decile"])
    frame["core20"] = frame["imd_decile"] <= 2
    frame["point"] = frame.geometry.representative_point()

    return AREA.validate(frame)


def group_populations(
    pack: Pack, codes: list[str], dimension: str = "ethnic_group"
) -> pd.DataFrame:
    """Census 2021 residents per LSOA and group, wide: index ``lsoa21_code``, one column per group.

    ``dimension`` is ``ethnic_group`` (TS021, 5 groups), ``religion`` (TS030),
    ``disability`` (TS038), ``language`` (TS029 by MSOA, apportioned: see
    :mod:`eia.population.proficiency`; floats) or ``rurality`` (RUC 2021 urban/rural: all of an LSOA's
    residents in its class). Rows follow ``codes``; columns follow the Census order.
    """
    if dimension == "language":
        return WEIGHTS.validate(language.weights(pack, codes), f"{dimension} residents per LSOA")
    if dimension == "rurality":
        return WEIGHTS.validate(rurality_populations(pack, codes), "rurality residents per LSOA")
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    loader, column = DIMENSIONS[dimension]
    table = getattr(pack, loader)()
    table = table[table["lsoa21_code"].isin(codes)]
    wide = table.pivot_table(
        index="lsoa21_code", columns=column, values="n", aggfunc="sum", sort=False
    )
    order = list(ETHNIC_GROUPS) if dimension == "ethnic_group" else sorted(wide.columns)
    wide = wide.reindex(index=codes, columns=[c for c in order if c in wide.columns]).fillna(0)
    wide.columns.name = dimension
    return WEIGHTS.validate(wide.astype("int64"), f"{dimension} residents per LSOA")


#: The rurality dimension's groups (ONS Rural-Urban Classification 2021, LSOA level).
RURALITY_GROUPS = ("Urban", "Rural")


def rurality_populations(pack: Pack, codes: list[str]) -> pd.DataFrame:
    """Residents per LSOA by urban/rural class (RUC 2021): every resident takes the LSOA's class."""
    ruc = pack.rurality().set_index("lsoa21_code").reindex(codes)
    missing = ruc.index[ruc["urban_rural"].isna()].tolist()
    if missing:
        raise RefDataError(f"{len(missing)} LSOA(s) have no Rural-Urban Classification 2021")
    pop = pack.population().reindex(codes).fillna(0).astype("int64")
    wide = pd.DataFrame(
        {g: pop.where(ruc["urban_rural"] == g, 0).to_numpy() for g in RURALITY_GROUPS},
        index=pd.Index(codes, name="lsoa21_code"),
    )
    wide.columns.name = "rurality"
    return wide.astype("int64")


def area_outline(area: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The local authority outlines drawn over each map: the area's LSOAs dissolved by authority.

    Dissolving thousands of LSOAs takes a while: compute it once and pass it to each
    map as ``outline=`` (:meth:`eia.assessment.Assessment.outline` does).
    """
    return area.dissolve(by="ltla24_code") if "ltla24_code" in area else area
