"""Access before and after: straight-line distance from each LSOA to its nearest site.

Distance is measured in EPSG:27700 (metres) from each LSOA's representative
point — a point guaranteed inside the polygon, used as a stand-in for a
population-weighted centroid — to the nearest site, and reported in km.
Group figures are area-based: an ethnic group's figure weights each LSOA by
the Census 2021 count of that group living there, so it describes where the
group lives, not individual journeys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely.geometry import Point

from eia.align import by_lsoa
from eia.errors import DataMismatchError, ParamsError, Problem
from eia.population.area import QUINTILE_LABELS
from eia.refdata import BNG, WGS84, Pack, hospitals
from eia.refdata.schemas import DISTANCES, WEIGHTS

CORE20_LABELS = ("Core20 (IMD deciles 1-2)", "Rest of area (deciles 3-10)")


def resolve_sites(
    pack: Pack, sites: Sequence, area: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Sites from a proposal (hospital names or codes, or lat/lon) as points in EPSG:27700.

    A hospital name is matched by :func:`eia.refdata.hospitals.resolve` (spacing and case
    aside; when several pack sites share it, the one in ``area``, the proposal's LSOA
    codes, or the nearest to it). Returns columns ``name``, ``source`` (``hospital``
    or ``coordinates``), ``code`` (the pack site's code, empty for coordinates), geometry.
    """
    names, sources, points, codes = [], [], [], []
    unknown = []
    for i, site in enumerate(sites):
        get = site.get if isinstance(site, Mapping) else lambda k, s=site: getattr(s, k)
        if get("hospital"):
            try:
                found = hospitals.resolve(pack, str(get("hospital")), area)
            except (hospitals.UnknownSite, hospitals.AmbiguousSite) as exc:
                unknown.append(Problem(f"sites[{i}].hospital", str(exc)))
                continue
            points.append(Point(found.x, found.y))
            sources.append("hospital")
            codes.append(found.code)
            names.append(get("name") or found.name)
        else:
            pt = gpd.GeoSeries.from_xy([get("lon")], [get("lat")], crs=WGS84).to_crs(BNG).iloc[0]
            points.append(pt)
            sources.append("coordinates")
            codes.append("")
            names.append(get("name"))
    if unknown:
        raise ParamsError("sites", unknown)
    return gpd.GeoDataFrame(
        {"name": names, "source": sources, "code": codes}, geometry=points, crs=BNG
    )


def nearest_km(points: gpd.GeoSeries, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Distance (km) from each point to its nearest site, and that site's row position."""
    if len(sites) == 0:
        return np.full(len(points), np.inf), np.full(len(points), -1)
    tree = cKDTree(np.column_stack([sites.geometry.x, sites.geometry.y]))
    dist, idx = tree.query(np.column_stack([points.x, points.y]))
    return dist / 1000.0, idx


def measure(
    area: gpd.GeoDataFrame, current: gpd.GeoDataFrame, proposed: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Per LSOA: nearest site and distance (km) before and after, and the change.

    Columns: ``lsoa21_code, nearest_before, km_before, nearest_after, km_after, km_change``.
    """
    km_before, i_before = nearest_km(area["point"], current)
    km_after, i_after = nearest_km(area["point"], proposed)
    frame = pd.DataFrame(
        {
            "lsoa21_code": area["lsoa21_code"].to_numpy(),
            "nearest_before": current["name"].to_numpy()[i_before],
            "km_before": km_before,
            "nearest_after": proposed["name"].to_numpy()[i_after],
            "km_after": km_after,
            "km_change": km_after - km_before,
        }
    )
    return DISTANCES.validate(frame)


def group_weights(
    area: pd.DataFrame, ethnic: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """People per LSOA in each group, per dimension: ``{dimension: LSOA × group frame}``.

    Deprivation groups take the LSOA's whole population; Census groups (ethnic
    group, religion, disability) take their counts from ``ethnic`` and the like.
    """
    pop = area["population"].to_numpy()
    quint = pd.DataFrame(
        {
            label: np.where(area["imd_quintile"] == q, pop, 0)
            for q, label in QUINTILE_LABELS.items()
        },
        index=area["lsoa21_code"],
    )
    core20, rest = CORE20_LABELS
    core = pd.DataFrame(
        {core20: np.where(area["core20"], pop, 0), rest: np.where(area["core20"], 0, pop)},
        index=area["lsoa21_code"],
    )
    out = {"imd_quintile": quint, "core20": core}
    if ethnic is not None:
        out["ethnic_group"] = ethnic.reindex(area["lsoa21_code"]).fillna(0)
    return {
        dim: WEIGHTS.validate(w, f"{dim} weights (eia.analysis.access.group_weights)")
        for dim, w in out.items()
    }


def _codes_within(within, codes: pd.Index) -> pd.Index:
    """``within`` as LSOA codes of the area; a mask or unknown codes raise DataMismatchError."""
    if pd.api.types.is_bool_dtype(getattr(within, "dtype", None)):
        raise DataMismatchError(
            'within takes LSOA codes, not a true/false mask: write area.loc[mask, "lsoa21_code"]'
        )
    keep = pd.Index(within, name="lsoa21_code")
    unknown = keep.difference(codes)
    if len(unknown):
        raise DataMismatchError(f"within holds {len(unknown)} LSOA code(s) not in the distances")
    return keep


def summarise(
    distances: pd.DataFrame,
    weights: pd.DataFrame,
    threshold_km: float,
    *,
    within: Sequence[str] | pd.Index | None = None,
) -> pd.DataFrame:
    """Population-weighted access by group, before and after.

    ``weights`` is LSOA × group (people of each group per LSOA, indexed by
    ``lsoa21_code``); rows are matched to ``distances`` by ``lsoa21_code``, never
    by position (:func:`eia.align.by_lsoa`: a missing or repeated LSOA raises
    :class:`~eia.errors.DataMismatchError`). ``within`` keeps only those LSOAs,
    given as codes (e.g. ``area.loc[area["imd_quintile"] == 1, "lsoa21_code"]``); a
    true/false mask, or a code that is not among ``distances``' LSOAs, raises
    :class:`~eia.errors.DataMismatchError`. One row per group plus ``All people``:
    ``group, population, mean_km_before, mean_km_after, mean_km_change,
    pop_beyond_threshold_before, pop_beyond_threshold_after``. The result's
    ``attrs["scenario"]`` is that of ``distances`` (set by :func:`eia.assessment.assess`),
    so a table made from it can say which option it shows.
    """
    scenario = distances.attrs.get("scenario")
    distances = by_lsoa(distances, "distances")
    weights = by_lsoa(weights, "weights", distances.index)
    if within is not None:  # a subset of the area's LSOAs, e.g. those in IMD quintile 1
        keep = _codes_within(within, distances.index)
        distances = distances[distances.index.isin(keep)]
        weights = weights.reindex(distances.index)
    w = weights.to_numpy(dtype=float)
    w = np.column_stack([w, w.sum(axis=1)]) if weights.shape[1] else w
    groups = [*weights.columns, "All people"]
    before = distances["km_before"].to_numpy()
    after = distances["km_after"].to_numpy()
    population = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_before = before @ w / population
        mean_after = after @ w / population
    frame = pd.DataFrame(
        {
            "group": groups,
            "population": population.round().astype("int64"),
            "mean_km_before": mean_before,
            "mean_km_after": mean_after,
            "mean_km_change": mean_after - mean_before,
            "pop_beyond_threshold_before": ((before > threshold_km) @ w).round().astype("int64"),
            "pop_beyond_threshold_after": ((after > threshold_km) @ w).round().astype("int64"),
        }
    )
    frame.attrs["scenario"] = scenario
    return frame
