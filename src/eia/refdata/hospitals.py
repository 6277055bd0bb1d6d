"""Hospital sites of the reference pack: one name key, a site code, one site for a name.

The pack lists 1,061 NHS hospital sites by name only, and some names appear
twice or three times: the same hospital recorded twice (sometimes with a
trailing space or another capitalisation), or different hospitals that share
a name hundreds of kilometres apart (St Mary's Hospital on the Isles of Scilly
and in Paddington). This module is the one place that says which site a name
means, for validation (:mod:`eia.params`), the kernel (:mod:`eia.analysis.access`) and
``eia lookup`` alike:

- names are compared by :func:`site_key` (whitespace collapsed, case folded);
- every site has a code (:func:`sites`): the pack's own ODS or site code when it
  has a column for one, else a stable code made from the site's name and
  position (``H`` and five letters or digits), printed by ``eia lookup
  hospital`` and accepted wherever a hospital name is;
- :func:`resolve` takes a name (or code) and the proposal's area and returns one
  site: a name whose entries all lie within :data:`SAME_SITE_KM` of each other is
  one hospital; otherwise the entry inside the area, or failing that the one
  nearest the area within :data:`NEAR_KM`, is taken and the choice is said.
  When that still leaves several, :class:`AmbiguousSite` lists them with codes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from eia.errors import EIAError
from eia.refdata import WGS84, Pack

__all__ = [
    "NEAR_KM",
    "SAME_SITE_KM",
    "AmbiguousSite",
    "area_lsoas",
    "Resolved",
    "UnknownSite",
    "distance_to_area_km",
    "is_code",
    "resolve",
    "site_code",
    "site_key",
    "sites",
]

#: Entries of one name lying within this distance of each other are one hospital
#: listed more than once (the pack has pairs 0 m to 1 km apart); the first is taken.
SAME_SITE_KM = 1.5
#: A same-named site outside the proposal's area is taken when it is the nearest to the
#: area and lies within this distance of it; further away, the name is ambiguous.
NEAR_KM = 20.0
#: A site this close to the area's LSOAs counts as inside. Zero: every site of the 2022
#: pack lies within an LSOA polygon, so a site is inside exactly when its LSOA is.
INSIDE_KM = 0.0
#: Columns that hold an ODS or site code in a pack's hospitals file, first found is used.
CODE_COLUMNS = ("hospital22_code", "ods_code", "site_code", "code")


class UnknownSite(EIAError):
    """No hospital in the reference pack has this name or code."""


@dataclass
class AmbiguousSite(EIAError):
    """Several hospitals share this name and the area does not tell them apart."""

    text: str
    candidates: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        listed = "; ".join(
            f"{c['code']} in {c['ltla24_name']} ({c['lat']:.4f}, {c['lon']:.4f})"
            for c in self.candidates
        )
        return (
            f"{len(self.candidates)} sites in the reference data are called {self.text!r}: "
            f"{listed}; give the one you mean as `hospital: CODE`"
        )


def site_key(name: object) -> str:
    """A hospital name as compared everywhere: whitespace collapsed, case folded."""
    return " ".join(str(name).split()).casefold()


def site_code(name: str, lat: float, lon: float) -> str:
    """A stable code for a pack site without one: ``H`` and five characters from its
    normalised name and position (the same hospital listed twice gets one code)."""
    digest = hashlib.sha1(f"{site_key(name)}|{lat:.4f}|{lon:.4f}".encode()).digest()
    return "H" + base64.b32encode(digest).decode()[:5]


def is_code(text: str) -> bool:
    """Whether ``text`` could be a site code: 3 to 8 letters and digits, no spaces."""
    t = str(text).strip()
    return 3 <= len(t) <= 8 and t.isalnum()


def sites(pack: Pack, *, distinct: bool = False) -> pd.DataFrame:
    """Every pack hospital: ``code, name, key, ltla24_code, ltla24_name, lat, lon, x, y,
    listed``.

    ``name`` is the pack's name with its spacing tidied; entries with the same key at
    the same position are kept once. ``x, y`` are EPSG:27700 metres. ``listed``: how
    many entries of the pack are this hospital (same name within :data:`SAME_SITE_KM`);
    with ``distinct``, only the first of them (the one :func:`resolve` takes) is kept.
    Cached per pack.
    """
    table = _sites(pack)
    return (table[table["first"]] if distinct else table).drop(columns="first").copy()


@cache
def _sites(pack: Pack) -> pd.DataFrame:
    import geopandas as gpd

    points = pack.hospitals()
    wgs = points.geometry.to_crs(WGS84)
    names = points["hospital22_name"].astype(str)
    own = next((c for c in CODE_COLUMNS if c in points.columns), None)
    lat, lon = wgs.y.to_numpy(), wgs.x.to_numpy()
    codes = (
        points[own].astype(str).str.strip().to_numpy()
        if own
        else [site_code(n, a, o) for n, a, o in zip(names, lat, lon, strict=True)]
    )
    table = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": [" ".join(n.split()) for n in names],
            "key": [site_key(n) for n in names],
            "lat": lat,
            "lon": lon,
            "x": points.geometry.x.to_numpy(),
            "y": points.geometry.y.to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    ltlas = pack.ltlas()[["ltla24_code", "ltla24_name", "geometry"]]
    held = gpd.sjoin_nearest(table, ltlas, how="left")  # coastal sites: the nearest authority
    held = held[~held.index.duplicated()]
    table = pd.DataFrame(held.drop(columns=["geometry", "index_right"]))
    table = table.drop_duplicates("code").reset_index(drop=True)
    # Entries sharing a name: each cluster (one hospital) keeps its first, all count the cluster.
    first = np.ones(len(table), dtype=bool)
    listed = np.ones(len(table), dtype="int64")
    keys, xy = table["key"].to_numpy(), table[["x", "y"]].to_numpy()
    shared: dict[str, list[int]] = {}
    for i in np.flatnonzero(table["key"].duplicated(keep=False).to_numpy()):
        shared.setdefault(keys[i], []).append(int(i))
    for at in shared.values():
        for cluster in _cluster_positions(xy[at]):
            members = [at[j] for j in cluster]
            listed[members] = len(members)
            first[members[1:]] = False
    table["first"], table["listed"] = first, listed
    return table


@dataclass(frozen=True)
class Resolved:
    """One site for a name: its code, the pack's name, position and how it was chosen.

    ``how``: ``"code"`` (given by code), ``"only"`` (one hospital has the name),
    ``"inside"`` (several share it, this one is in the area) or ``"nearest"`` (none
    is in the area, this is the nearest within :data:`NEAR_KM`). ``others`` counts
    the same-named sites not taken.
    """

    code: str
    name: str
    ltla24_name: str
    lat: float
    lon: float
    x: float
    y: float
    how: str
    others: int = 0
    km: float | None = None


def _resolved(row, how: str, others: int = 0, km: float | None = None) -> Resolved:
    return Resolved(
        str(row["code"]),
        str(row["name"]),
        str(row["ltla24_name"]),
        float(row["lat"]),
        float(row["lon"]),
        float(row["x"]),
        float(row["y"]),
        how,
        others,
        km,
    )


def distance_to_area_km(pack: Pack, xy: np.ndarray, area: Sequence[str]) -> np.ndarray:
    """Straight-line km from each point (EPSG:27700 ``x, y`` rows) to the nearest of the
    area's LSOAs (``area``: LSOA codes); 0 for a point inside (within :data:`INSIDE_KM`)."""
    import shapely

    shapes = pack.boundaries(list(area))
    if not len(shapes) or not len(xy):
        return np.full(len(xy), np.nan)
    tree = shapely.STRtree(shapes.geometry.to_numpy())
    points = shapely.points(np.asarray(xy, dtype=float))
    _, dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    km = np.asarray(dist, dtype=float) / 1000
    return np.where(km <= INSIDE_KM, 0.0, km)


def _clusters(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """Same-named entries grouped into hospitals: within :data:`SAME_SITE_KM` of a group's first."""
    return [rows.iloc[g] for g in _cluster_positions(rows[["x", "y"]].to_numpy())]


def _cluster_positions(xy: np.ndarray) -> list[list[int]]:
    """Positions of same-named entries (``x, y`` rows, in order) grouped into hospitals: an
    entry joins the first group whose first entry lies within :data:`SAME_SITE_KM` of it."""
    groups: list[list[int]] = []
    for i in range(len(xy)):
        for g in groups:
            if np.hypot(*(xy[i] - xy[g[0]])) <= SAME_SITE_KM * 1000:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def area_lsoas(pack: Pack, spec: Mapping | None) -> list[str]:
    """The LSOA codes of an area spec (``{icb: CODE}``, ``{ltla: [..]}`` or ``{lsoa: [..]}``);
    empty when the spec names nothing the pack knows."""
    if not isinstance(spec, Mapping):
        return []
    table = pack.lookup()
    icb = spec.get("icb")
    if isinstance(icb, str) and icb.strip():
        code = icb.strip().upper()
        rows = table[(table["icb24_code"] == code) | (table["icb24_code_nhs"] == code)]
    else:
        key = "ltla" if spec.get("ltla") else "lsoa"
        listed = spec.get(key) or []
        listed = [listed] if isinstance(listed, str) else listed
        wanted = {str(c).strip().upper() for c in listed}
        rows = table[table[f"{key}{'24' if key == 'ltla' else '21'}_code"].isin(wanted)]
    return sorted(rows["lsoa21_code"].unique())


Area = Collection[str] | Callable[[], Collection[str]] | None


def resolve(pack: Pack, text: str, area: Area = None) -> Resolved:
    """The one pack site meant by ``text`` (a name in any case or spacing, or a site code).

    ``area``: the proposal's LSOA codes (or a function returning them, called only
    when needed), used only when several sites share the name.
    Raises :class:`UnknownSite` or :class:`AmbiguousSite`.
    """
    table = _sites(pack)
    given = str(text).strip()
    by_code = table[table["code"].str.upper() == given.upper()] if is_code(given) else table[:0]
    if len(by_code):
        return _resolved(by_code.iloc[0], "code")
    rows = table[table["key"] == site_key(given)]
    if not len(rows):
        raise UnknownSite(f"unknown hospital {given!r}")
    clusters = _clusters(rows)
    if len(clusters) == 1:
        return _resolved(clusters[0].iloc[0], "only")
    firsts = pd.DataFrame([c.iloc[0] for c in clusters])
    area = area() if callable(area) else area
    if area:
        km = distance_to_area_km(pack, firsts[["x", "y"]].to_numpy(), list(area))
        inside = np.flatnonzero(km == 0)
        if len(inside) == 1:
            return _resolved(firsts.iloc[inside[0]], "inside", len(firsts) - 1, 0.0)
        if not len(inside):
            order = np.argsort(km)
            best = order[0]
            clear = len(order) == 1 or km[order[1]] > km[best]
            if km[best] <= NEAR_KM and clear:
                return _resolved(firsts.iloc[best], "nearest", len(firsts) - 1, float(km[best]))
        else:
            firsts = firsts.iloc[inside]
    raise AmbiguousSite(given, firsts[["code", "ltla24_name", "lat", "lon"]].to_dict("records"))
