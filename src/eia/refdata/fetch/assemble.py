"""Assembling the pack from the parsed tables: joined, checked against each other and the data contracts, written and moved into place."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from eia.errors import RefDataError
from eia.refdata import (
    BNG,
    SOURCES,
    WGS84,
    read_manifest,
    sha256,
)
from eia.refdata.fetch.sources import (
    DESCRIPTIONS,
    PACK_TYPES,
    Source,
)
from eia.refdata.schemas import PACK, PACK_COLUMNS

__all__ = ["assemble", "ages_to_lsoa21", "write_pack"]


# ---------------------------------------------------------------------------
# Assembling the pack
# ---------------------------------------------------------------------------
def _in_england(points: gpd.GeoDataFrame, ltla: gpd.GeoDataFrame, tolerance_m=5000.0):
    """Points whose nearest local authority (within ``tolerance_m``) is English."""
    pts = points.to_crs(BNG)
    areas = ltla[["ltla24_code", "geometry"]].to_crs(BNG)
    joined = gpd.sjoin_nearest(pts, areas, how="left", max_distance=tolerance_m)
    joined = joined[~joined.index.duplicated(keep="first")]
    english = joined["ltla24_code"].fillna("").str.startswith("E")
    return points[english.reindex(points.index, fill_value=False).to_numpy()]


def _check_subset(codes, known, what: str, against: str) -> None:
    extra = pd.Index(codes).difference(pd.Index(known))
    if len(extra):
        raise RefDataError(
            f"{len(extra)} LSOA code(s) in {what} are not in {against}, e.g. "
            f"{', '.join(extra[:3])}: the releases do not fit together (a mix of vintages?)"
        )


def assemble(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The pack's files from the parsed tables, checked to fit together."""
    files: dict[str, pd.DataFrame] = {}
    ward, icb = tables["ward_lookup"], tables["icb_lookup"]
    lookup = ward.merge(icb, on="lsoa21_code", how="left", validate="one_to_one")
    files["lsoa21_lookup.parquet"] = lookup
    boundaries = tables["lsoa21_boundaries"]
    if set(boundaries["lsoa21_code"]) != set(lookup["lsoa21_code"]):
        _check_subset(
            lookup["lsoa21_code"],
            boundaries["lsoa21_code"],
            "the ward lookup",
            "the LSOA boundaries",
        )
        _check_subset(
            boundaries["lsoa21_code"],
            lookup["lsoa21_code"],
            "the LSOA boundaries",
            "the ward lookup",
        )
    _check_subset(icb["lsoa21_code"], lookup["lsoa21_code"], "the ICB lookup", "the ward lookup")
    files["lsoa21_boundaries.parquet"] = boundaries
    _check_subset(
        tables["imd2025"]["lsoa21_code"], lookup["lsoa21_code"], "IMD 2025", "the LSOA 2021 lookup"
    )
    files["imd2025_lsoa21.parquet"] = tables["imd2025"]
    files["imd2025_subdomains_lsoa21.parquet"] = tables["imd2025_subdomains"]
    files["imd2019_lsoa11.parquet"] = tables["imd2019"]
    lsoa11 = tables["lsoa11_lookup"]
    _check_subset(
        tables["imd2019"]["lsoa11_code"],
        lsoa11["lsoa11_code"],
        "IMD 2019",
        "the LSOA 2011 to 2021 lookup",
    )
    files["lsoa11_lsoa21_lookup.parquet"] = lsoa11
    for key, name in (
        ("ethnicity", "census2021_ethnicity_lsoa21.parquet"),
        ("religion", "census2021_religion_lsoa21.parquet"),
        ("disability", "census2021_disability_lsoa21.parquet"),
    ):
        _check_subset(
            tables[key]["lsoa21_code"].unique(),
            lookup["lsoa21_code"],
            f"Census {key}",
            "the LSOA 2021 lookup",
        )
        files[name] = tables[key]
    files["ltla24_boundaries.parquet"] = tables["ltla24"]
    files["icb22_boundaries.parquet"] = tables["icb22"]
    hospitals = _in_england(tables["hospitals"], tables["ltla24"])
    if hospitals.empty:
        raise RefDataError("no NHS hospital site of the NHS website's list lies in England")
    files["hospitals22_points.parquet"] = hospitals.reset_index(drop=True)
    if "centroids" in tables:
        _check_subset(
            tables["centroids"]["lsoa21_code"],
            lookup["lsoa21_code"],
            "the population-weighted centroids",
            "the LSOA 2021 lookup",
        )
        files["lsoa21_centroids.parquet"] = tables["centroids"]
    msoa = tables["msoa_lookup"]
    if set(msoa["lsoa21_code"]) != set(lookup["lsoa21_code"]):
        _check_subset(
            msoa["lsoa21_code"], lookup["lsoa21_code"], "the MSOA lookup", "the LSOA 2021 lookup"
        )
        _check_subset(
            lookup["lsoa21_code"], msoa["lsoa21_code"], "the LSOA 2021 lookup", "the MSOA lookup"
        )
    files["lsoa21_msoa21_lookup.parquet"] = msoa
    _check_subset(
        msoa["msoa21_code"].unique(),
        tables["proficiency"]["msoa21_code"],
        "the MSOA lookup",
        "Census 2021 TS029 (MSOA codes)",
    )
    files["census2021_proficiency_msoa21.parquet"] = tables["proficiency"]
    _check_subset(
        tables["ruc"]["lsoa21_code"],
        lookup["lsoa21_code"],
        "the Rural-Urban Classification",
        "the LSOA 2021 lookup",
    )
    files["ruc21_lsoa21.parquet"] = tables["ruc"]
    if "ethnicity_detailed" in tables:
        _check_subset(
            tables["ethnicity_detailed"]["lsoa21_code"].unique(),
            lookup["lsoa21_code"],
            "Census 2021 detailed ethnic groups",
            "the LSOA 2021 lookup",
        )
        files["census2021_ethnicity_detailed_lsoa21.parquet"] = tables["ethnicity_detailed"]
    residents = tables["ethnicity"].groupby("lsoa21_code")["total_residents"].first()
    files["population20_age_lsoa21.parquet"] = ages_to_lsoa21(
        tables["population_age_lsoa11"], lsoa11, residents, lookup["lsoa21_code"]
    )
    for name, frame in files.items():
        want = PACK_COLUMNS[name]
        if tuple(frame.columns) != want:
            files[name] = frame[list(want)]
    return files


def ages_to_lsoa21(
    ages: pd.DataFrame, lsoa11: pd.DataFrame, residents: pd.Series, lsoa21_codes: pd.Series
) -> pd.DataFrame:
    """Population by single year of age on LSOA 2011 → LSOA 2021, totals preserved.

    Each 2011 area's counts go to its 2021 parts in proportion to the parts' Census
    2021 usual residents (``residents``, indexed by LSOA 2021 code): unchanged and
    merged areas have one part and go whole; a split area is apportioned, so values
    can be fractional. Every 2011 area must be in the lookup and every 2021 area in
    ``lsoa21_codes`` must receive people, else the releases do not fit together.
    """
    _check_subset(
        ages["lsoa11_code"],
        lsoa11["lsoa11_code"],
        "the population estimates",
        "the LSOA 2011 to 2021 lookup",
    )
    pairs = lsoa11[["lsoa11_code", "lsoa21_code"]].drop_duplicates()
    pairs = pairs[pairs["lsoa11_code"].isin(ages["lsoa11_code"])]
    weight = pairs["lsoa21_code"].map(residents).fillna(0.0).astype("float64")
    per_area = weight.groupby(pairs["lsoa11_code"]).transform("sum")
    parts = pairs.groupby("lsoa11_code")["lsoa21_code"].transform("size")
    share = np.where(per_area > 0, weight / per_area.where(per_area > 0, 1.0), 1.0 / parts)
    values = ages.set_index("lsoa11_code").reindex(pairs["lsoa11_code"]).to_numpy(dtype="float64")
    out = (
        pd.DataFrame(values * share[:, None], columns=ages.columns[1:])
        .groupby(pairs["lsoa21_code"].to_numpy())
        .sum()
    )
    missing = pd.Index(lsoa21_codes).difference(out.index)
    if len(missing):
        raise RefDataError(
            f"{len(missing)} LSOA 2021 code(s) receive no population from the LSOA 2011 estimates "
            f"through the lookup, e.g. {', '.join(missing[:3])}: the releases do not fit together"
        )
    return out.rename_axis("lsoa21_code").reset_index()


def write_pack(files: Mapping[str, pd.DataFrame], folder: Path, descriptions: Mapping[str, str]):
    """Write Parquet/GeoParquet files and ``manifest.json`` into ``folder``; return the manifest."""
    manifest: dict[str, dict] = {}
    for name in sorted(files):
        frame = files[name].reset_index(drop=True)
        if name in PACK:
            PACK[name].validate(frame, f"{name} as built from the releases")
        path = folder / name
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_crs(WGS84).to_parquet(path, index=False)
        else:
            table = pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)
            for column, kind in PACK_TYPES.get(name, {}).items():
                where = table.schema.get_field_index(column)
                table = table.set_column(where, column, table[column].cast(kind))
            pq.write_table(table, path)
        manifest[name] = {
            "description": descriptions.get(name, name),
            "rows": len(frame),
            "sha256": sha256(path),
        }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _describe(name: str, used: list[Source]) -> str:
    text = DESCRIPTIONS.get(name) or SOURCES.get(name) or name
    return text + ". Built by `eia data fetch` from: " + "; ".join(s.url for s in used)


def _move_into_place(staging: Path, dest: Path, manifest: Mapping[str, dict]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        old = read_manifest(dest) if (dest / "manifest.json").is_file() else {}
    except RefDataError:
        old = {}
    for name in [*sorted(manifest), "provenance.json", "manifest.json"]:
        if (staging / name).is_file():
            try:
                os.replace(staging / name, dest / name)
            except OSError:  # staging and dest on different file systems
                shutil.copyfile(staging / name, dest / f".{name}.tmp")
                os.replace(dest / f".{name}.tmp", dest / name)
    for name in old:
        if name not in manifest and (dest / name).is_file():
            (dest / name).unlink()
