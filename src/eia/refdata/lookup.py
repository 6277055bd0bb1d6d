"""Look up codes and names in the reference pack: ICBs, local authorities, hospitals, LSOAs.

``eia lookup icb leicester`` finds "NHS Leicester, Leicestershire and Rutland
Integrated Care Board" with its codes; ``eia lookup hospital "royal infirmary"
--near E54000015`` ranks hospitals by how well their name matches and then by
straight-line distance from the area (0, "inside", for a site in it). A hospital
is shown with its site code (:mod:`eia.refdata.hospitals`), local authority and
coordinates, so sites that share a name are told apart, and the code can be
given in a params file instead of the name. Matching is case-insensitive: a code
matches exactly, a name matches by its words (every word of the query found
in the name) or, failing that, fuzzily (:mod:`difflib`).

The same functions give :mod:`eia.params` its suggestions ("did you mean …"),
with names next to codes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.refdata import Pack, hospitals
from eia.refdata.hospitals import site_key

KINDS = ("icb", "ltla", "hospital", "lsoa")
CODE = re.compile(r"[EW]\d{8}")


@dataclass(frozen=True)
class Match:
    """One look-up result: its code, name and, for a hospital, where it is.

    ``km``: straight-line distance from the ``--near`` area (0 when inside it);
    ``where``: a hospital's local authority; ``lat``/``lon``: its position (WGS84).
    """

    code: str
    name: str
    km: float | None = None
    also: str = ""  # other codes (an ICB's NHS code)
    where: str = ""
    lat: float | None = None
    lon: float | None = None

    def __str__(self) -> str:
        if self.km is None:
            distance = ""
        elif self.km == 0:
            distance = "  (inside the area)"
        else:
            distance = f"  ({self.km:.1f} km from the area)"
        also = f" / {self.also}" if self.also else ""
        code = f"{self.code}{also}  " if self.code else ""
        where = f", {self.where}" if self.where else ""
        position = f"  ({self.lat:.5f}, {self.lon:.5f})" if self.lat is not None else ""
        return f"{code}{self.name}{where}{position}{distance}"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _score(query: str, name: str) -> float:
    """How well ``query`` matches ``name`` (0 to 3): all words, a prefix, or a fuzzy ratio."""
    q, n = _words(query), _words(name)
    if not q:
        return 0.0
    text = " ".join(n)
    if " ".join(q) == text:
        return 3.0
    if all(any(w.startswith(x) for w in n) for x in q):
        return 2.0 + len(q) / max(len(n), 1) / 10
    return difflib.SequenceMatcher(None, " ".join(q), text).ratio()


def entries(pack: Pack, kind: str) -> pd.DataFrame:
    """Every English ``code, name, also`` of one kind (hospitals: ``code`` empty)."""
    table = _entries(pack, kind)
    if kind == "hospital":
        return table
    english = table["code"].astype(str).str.startswith("E")  # the pack covers England only
    return table[english].reset_index(drop=True)


def _entries(pack: Pack, kind: str) -> pd.DataFrame:
    if kind == "icb":
        table = pack.lookup()[["icb24_code", "icb24_name", "icb24_code_nhs"]].drop_duplicates()
        return pd.DataFrame(
            {
                "code": table["icb24_code"],
                "name": table["icb24_name"],
                "also": table["icb24_code_nhs"].fillna(""),
            }
        ).reset_index(drop=True)
    if kind == "ltla":
        table = pack.lookup()[["ltla24_code", "ltla24_name"]].drop_duplicates()
        return pd.DataFrame(
            {"code": table["ltla24_code"], "name": table["ltla24_name"], "also": ""}
        ).reset_index(drop=True)
    if kind == "lsoa":
        table = pack.lookup()[["lsoa21_code", "lsoa21_name"]]
        return pd.DataFrame(
            {"code": table["lsoa21_code"], "name": table["lsoa21_name"], "also": ""}
        ).reset_index(drop=True)
    if kind == "hospital":
        table = hospitals.sites(pack, distinct=True)
        return pd.DataFrame(
            {
                "code": table["code"],
                "name": table["name"],
                "also": "",
                "where": table["ltla24_name"].fillna(""),
                "lat": table["lat"],
                "lon": table["lon"],
            }
        ).reset_index(drop=True)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def area_code(pack: Pack, text: str) -> Match | None:
    """An area given by code (ICB, local authority, LSOA; any case) or by name (ICB first)."""
    for kind in ("icb", "ltla", "lsoa"):
        table = entries(pack, kind)
        upper = text.strip().upper()
        hit = table[(table["code"].str.upper() == upper) | (table["also"].str.upper() == upper)]
        if len(hit):
            row = hit.iloc[0]
            return Match(row["code"], row["name"], None, row["also"])
    for kind in ("icb", "ltla"):
        table = _matching(entries(pack, kind), text, 1)
        if len(table) and table["score"].max() >= 2:  # every word found in a name
            row = table.sort_values("score", ascending=False).iloc[0]
            return Match(row["code"], row["name"], None, row["also"])
    return None


def within(pack: Pack, kind: str, area: str) -> list[str]:
    """The codes of ``kind`` lying in an area code: an ICB's local authorities, hospitals."""
    if kind == "hospital":
        return areas_hospitals(pack, area)
    return area_members(
        pack, area, {"icb": "icb24_code", "ltla": "ltla24_code"}.get(kind, "lsoa21_code")
    )


def areas_hospitals(pack: Pack, area: str) -> list[str]:
    """Site codes (:func:`eia.refdata.hospitals.sites`) of the hospitals inside an area, by name.

    Inside means within :data:`eia.hospitals.INSIDE_KM` of the area's LSOAs.
    """
    codes = _area_codes(pack, area)
    if not codes:
        return []
    table = hospitals.sites(pack, distinct=True)
    km = hospitals.distance_to_area_km(pack, table[["x", "y"]].to_numpy(), codes)
    held = table[km == 0]
    return list(held.sort_values(["name", "code"])["code"])


def _area_codes(pack: Pack, area: str) -> list[str]:
    """The LSOA codes of an area given as an ICB, local authority or LSOA code (any case)."""
    code = area.strip().upper()
    table = pack.lookup()
    for column in ("icb24_code", "icb24_code_nhs", "ltla24_code", "lsoa21_code"):
        hit = table.loc[table[column].astype(str).str.upper() == code, "lsoa21_code"]
        if len(hit):
            return list(hit)
    return []


def search(
    pack: Pack,
    kind: str,
    text: str,
    *,
    near: str | None = None,
    prefer: Collection[str] = (),
    inside: str | None = None,
    close: int = 10,
) -> list[Match]:
    """Every entry of ``kind`` matching ``text`` (a code or words of a name), best first.

    With ``near`` (an ICB, local authority or LSOA code), hospitals are given their
    straight-line distance from the area (0 inside it) and those that match equally
    well are ranked by it; every site whose name matches exactly is kept, however far.
    Entries whose code is in ``prefer`` (say, the local authorities of the proposal's
    ICB) come first, closest match first, even when they match less well than others.
    With ``inside`` (an area code), only entries in that area are searched; an empty
    ``text`` then lists them all. An unknown code gives the ``close`` closest codes.
    """
    everything = entries(pack, kind)
    everything = everything.dropna(subset=["code"]).assign(
        name=everything["name"].fillna("").astype(str)
    )
    if inside:
        everything = everything[everything["code"].isin(set(within(pack, kind, inside)))]
    if inside and not text.strip():
        table = everything.assign(score=1.0)
    else:
        table = _matching(everything, text, close)
    if prefer:
        preferred = everything[everything["code"].isin(set(prefer))]
        preferred = preferred.assign(score=[_closeness(text, r) for r in preferred.itertuples()])
        table = pd.concat([preferred, table[~table["code"].isin(preferred["code"])]])
    table = table.assign(preferred=table["code"].isin(set(prefer)))
    km = pd.Series(np.nan, index=table.index)
    if near and kind == "hospital" and len(table):
        codes = _area_codes(pack, near)
        if codes:
            sites = hospitals.sites(pack).set_index("code")
            xy = sites.loc[table["code"], ["x", "y"]].to_numpy()
            km = pd.Series(hospitals.distance_to_area_km(pack, xy, codes), index=table.index)
    table = table.assign(km=km, band=table["score"].round(1))
    table = table.sort_values(
        ["preferred", "band", "km", "name", "code"], ascending=[False, False, True, True, True]
    )
    return [_match(r) for r in table.itertuples()]


def _match(r) -> Match:
    lat, lon = getattr(r, "lat", None), getattr(r, "lon", None)
    return Match(
        r.code,
        r.name,
        None if pd.isna(r.km) else float(r.km),
        r.also,
        str(getattr(r, "where", "") or ""),
        None if lat is None or pd.isna(lat) else float(lat),
        None if lon is None or pd.isna(lon) else float(lon),
    )


def find(
    pack: Pack,
    kind: str,
    text: str,
    *,
    near: str | None = None,
    prefer: Collection[str] = (),
    inside: str | None = None,
    limit: int | None = 10,
) -> list[Match]:
    """The first ``limit`` (None: all) of :func:`search`'s results."""
    found = search(pack, kind, text, near=near, prefer=prefer, inside=inside, close=limit or 10)
    return found if limit is None else found[:limit]


def _closeness(text: str, entry) -> float:
    """How close ``text`` is to an entry, as a code or as a name."""
    query = text.strip()
    if CODE.fullmatch(query.upper()):
        return difflib.SequenceMatcher(None, query.upper(), entry.code).ratio()
    return _score(query, entry.name)


def _matching(table: pd.DataFrame, text: str, limit: int) -> pd.DataFrame:
    """The entries of ``table`` that match ``text``, with a ``score``."""
    query = text.strip()
    upper = query.upper()
    exact = table[(table["code"].str.upper() == upper) | (table["also"].str.upper() == upper)]
    if len(exact):
        table = exact.assign(score=4.0)
    elif CODE.fullmatch(upper):  # a code that is not known: the codes closest to it
        close = difflib.get_close_matches(upper, list(table["code"]), n=limit, cutoff=0.6)
        table = table[table["code"].isin(close)]
        table = table.assign(
            score=[difflib.SequenceMatcher(None, upper, c).ratio() for c in table["code"]]
        )
    else:
        table = table.assign(score=[_score(query, n) for n in table["name"]])
        table = table[table["score"] >= 0.6]
        if len(table) and table["score"].max() >= 2:  # words matched: drop the fuzzy ones
            table = table[table["score"] >= 2]
    return table


def suggest(
    pack: Pack,
    kind: str,
    text: str,
    *,
    near: str | None = None,
    prefer: Collection[str] = (),
    why: str = "",
    n: int = 3,
) -> str:
    """``"; did you mean …?"`` with names and codes (empty when nothing is close).

    Entries in ``prefer`` come first and are marked with ``why`` (e.g. "in the
    proposal's ICB").
    """
    matches = find(pack, kind, text, near=near, prefer=prefer, limit=n)
    if not matches:
        return ""
    if kind == "hospital":
        return "; close matches: " + "; ".join(
            f"{m.name} ({m.code}{', ' + m.where if m.where else ''})" for m in matches
        )
    preferred = set(prefer)

    def label(m: Match) -> str:
        note = f", {why}" if why and m.code in preferred else ""
        return f"{m.code} ({m.name}{note})"

    return "; did you mean " + "; ".join(label(m) for m in matches) + "?"


#: Boundaries to place sites in, per kind: the Pack method and its code column.
BOUNDARIES = {"icb": ("icbs", "icb22_code"), "ltla": ("ltlas", "ltla24_code")}


def areas_at(pack: Pack, sites: Iterable, kind: str = "icb") -> list[str]:
    """Codes of the ICBs (or local authorities) holding any of ``sites``, most sites first.

    A site is a hospital name from the reference data (any case), a ``(lat, lon)``
    pair in WGS84, or a point in the pack's projection (EPSG:27700); names not in
    the reference data are skipped.
    """
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

    method, column = BOUNDARIES[kind]
    sites = list(sites)
    pack_sites = pack.hospitals()
    by_name = pack_sites.assign(key=pack_sites["hospital22_name"].map(site_key))
    by_name = by_name.drop_duplicates("key").set_index("key").geometry
    named = [site_key(s) for s in sites if isinstance(s, str)]
    pairs = [s for s in sites if isinstance(s, tuple)]
    points = list(by_name.reindex(named).dropna()) + [
        s for s in sites if isinstance(s, BaseGeometry)
    ]
    if pairs:
        xy = gpd.points_from_xy([p[1] for p in pairs], [p[0] for p in pairs], crs="EPSG:4326")
        points += list(gpd.GeoSeries(xy).to_crs(pack_sites.crs))
    if not points:
        return []
    where = gpd.GeoDataFrame(geometry=points, crs=pack_sites.crs)
    held = gpd.sjoin(where, getattr(pack, method)().to_crs(pack_sites.crs), predicate="within")
    return list(held[column].value_counts().index)


def area_members(pack: Pack, area: str, column: str) -> list[str]:
    """The distinct ``column`` values (e.g. ``ltla24_code``) of the LSOAs of an area code."""
    codes = set(_area_codes(pack, area))
    if not codes:
        return []
    table = pack.lookup()
    return list(table.loc[table["lsoa21_code"].isin(codes), column].dropna().unique())


def describe_area(pack: Pack, spec: dict) -> str:
    """An area in words with its codes: the ICB's name, the local authorities' names, or a count."""
    if spec.get("icb"):
        match = next(iter(find(pack, "icb", spec["icb"], limit=1)), None)
        return f"{match.code} {match.name}" if match else spec["icb"]
    if spec.get("ltla"):
        names = entries(pack, "ltla").set_index("code")["name"]
        codes = list(spec["ltla"])
        shown = ", ".join(f"{c} {names.get(c, '')}".strip() for c in codes[:4])
        more = f" and {len(codes) - 4} more" if len(codes) > 4 else ""
        return f"{shown}{more}"
    n = len(spec.get("lsoa") or [])
    return f"{n} LSOA{'s' if n != 1 else ''}"
