"""Look up codes and names in the reference pack: ICBs, local authorities, hospitals, LSOAs.

``eia lookup icb leicester`` finds "NHS Leicester, Leicestershire and Rutland
Integrated Care Board" with its codes; ``eia lookup hospital "royal infirmary"
--near E54000015`` ranks hospitals by how well their name matches and then by
straight-line distance from the area. Matching is case-insensitive: a code
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

from eia.refdata import Pack

KINDS = ("icb", "ltla", "hospital", "lsoa")
CODE = re.compile(r"[EW]\d{8}")


@dataclass(frozen=True)
class Match:
    """One look-up result: its code (hospitals have none), name and how far from the area."""

    code: str
    name: str
    km: float | None = None
    also: str = ""  # other codes (an ICB's NHS code)

    def __str__(self) -> str:
        where = f"  ({self.km:.1f} km from the area)" if self.km is not None else ""
        also = f" / {self.also}" if self.also else ""
        code = f"{self.code}{also}  " if self.code else ""
        return f"{code}{self.name}{where}"


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
        names = pd.Series(pack.values("hospitals22_points.parquet", "hospital22_name"))
        return pd.DataFrame({"code": "", "name": names.drop_duplicates(), "also": ""}).reset_index(
            drop=True
        )
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
    """The codes (hospitals: names) of ``kind`` lying in an area code: an ICB's local authorities."""
    if kind == "hospital":
        return areas_hospitals(pack, area)
    return area_members(
        pack, area, {"icb": "icb24_code", "ltla": "ltla24_code"}.get(kind, "lsoa21_code")
    )


def areas_hospitals(pack: Pack, area: str) -> list[str]:
    """Names of the hospitals inside an area (by its LSOAs' boundaries)."""
    import geopandas as gpd

    codes = _area_codes(pack, area)
    if not codes:
        return []
    shapes = pack.boundaries(codes)
    held = gpd.sjoin(pack.hospitals(), shapes[["geometry"]], predicate="within")
    return sorted(set(held["hospital22_name"]))


def _area_codes(pack: Pack, area: str) -> list[str]:
    """The LSOA codes of an area given as an ICB, local authority or LSOA code (any case)."""
    code = area.strip().upper()
    table = pack.lookup()
    for column in ("icb24_code", "icb24_code_nhs", "ltla24_code", "lsoa21_code"):
        hit = table.loc[table[column].astype(str).str.upper() == code, "lsoa21_code"]
        if len(hit):
            return list(hit)
    return []


def _centre(pack: Pack, area: str):
    """The area's centre (EPSG:27700 x, y) from its LSOAs' representative points, or None."""
    codes = _area_codes(pack, area)
    if not codes:
        return None
    shapes = pack.boundaries(codes)
    points = shapes.geometry.representative_point()
    return float(points.x.mean()), float(points.y.mean())


def find(
    pack: Pack,
    kind: str,
    text: str,
    *,
    near: str | None = None,
    prefer: Collection[str] = (),
    inside: str | None = None,
    limit: int = 10,
) -> list[Match]:
    """Entries of ``kind`` matching ``text`` (a code or words of a name), best first.

    With ``near`` (an ICB, local authority or LSOA code), hospitals that match
    equally well are ranked by straight-line distance from the area's centre.
    Entries whose code is in ``prefer`` (say, the local authorities of the
    proposal's ICB) come first, closest match first, even when they match less
    well than others. With ``inside`` (an area code), only entries in that area
    are searched; an empty ``text`` then lists them all.
    """
    everything = entries(pack, kind)
    everything = everything.dropna(subset=["code"]).assign(
        name=everything["name"].fillna("").astype(str)
    )
    if inside:
        members = set(within(pack, kind, inside))
        key = "name" if kind == "hospital" else "code"
        everything = everything[everything[key].isin(members)]
    if inside and not text.strip():
        table = everything.assign(score=1.0)
    else:
        table = _matching(everything, text, limit)
    if prefer:
        preferred = everything[everything["code"].isin(set(prefer))]
        preferred = preferred.assign(score=[_closeness(text, r) for r in preferred.itertuples()])
        table = pd.concat([preferred, table[~table["code"].isin(preferred["code"])]])
    table = table.assign(preferred=table["code"].isin(set(prefer)))
    km = pd.Series(np.nan, index=table.index)
    if near and kind == "hospital" and len(table):
        centre = _centre(pack, near)
        if centre is not None:
            sites = pack.hospitals().drop_duplicates("hospital22_name").set_index("hospital22_name")
            geom = sites.geometry.reindex(table["name"])
            km = pd.Series(
                np.hypot(geom.x.to_numpy() - centre[0], geom.y.to_numpy() - centre[1]) / 1000,
                index=table.index,
            )
    table = table.assign(km=km, band=table["score"].round(1))
    table = table.sort_values(
        ["preferred", "band", "km", "name"], ascending=[False, False, True, True]
    )
    return [
        Match(r.code, r.name, None if pd.isna(r.km) else float(r.km), r.also)
        for r in table.head(limit).itertuples()
    ]


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
        return "; close matches: " + "; ".join(m.name for m in matches)
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
    hospitals = pack.hospitals()
    by_name = hospitals.assign(key=hospitals["hospital22_name"].str.casefold())
    by_name = by_name.drop_duplicates("key").set_index("key").geometry
    named = [s.casefold() for s in sites if isinstance(s, str)]
    pairs = [s for s in sites if isinstance(s, tuple)]
    points = list(by_name.reindex(named).dropna()) + [
        s for s in sites if isinstance(s, BaseGeometry)
    ]
    if pairs:
        xy = gpd.points_from_xy([p[1] for p in pairs], [p[0] for p in pairs], crs="EPSG:4326")
        points += list(gpd.GeoSeries(xy).to_crs(hospitals.crs))
    if not points:
        return []
    where = gpd.GeoDataFrame(geometry=points, crs=hospitals.crs)
    held = gpd.sjoin(where, getattr(pack, method)().to_crs(hospitals.crs), predicate="within")
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
