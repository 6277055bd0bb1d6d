"""Checking a valid proposal against the reference pack: area codes, hospital names (with close matches), effect groups, sites in England."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from eia.errors import EIAError, Problem
from eia.params.base import (
    ENGLAND_BOUNDS,
)
from eia.params.data import (
    _unknown_group,
)
from eia.params.proposal import (
    Proposal,
)
from eia.params.sites import _code_list, _codes
from eia.refdata import hospitals as sites_mod
from eia.refdata.lookup import area_members, areas_at, suggest

__all__ = ["check_against_pack", "in_england", "site_choices"]

#: The pack's hospitals file (names read without pandas for the common, unshared case).
HOSPITALS = "hospitals22_points.parquet"


def _site_clues(data: Mapping) -> list:
    """Where the proposal's sites are: hospital names and ``(lat, lon)`` pairs, as written."""
    sites = data.get("sites") if isinstance(data.get("sites"), Mapping) else {}
    entries = _as_list(sites.get("current")) + _as_list(sites.get("proposed"))
    for option in _as_list(data.get("options")):
        if isinstance(option, Mapping):
            entries += _as_list(option.get("proposed"))
    clues: list = []
    for site in entries:
        if not isinstance(site, Mapping):
            continue
        if isinstance(site.get("hospital"), str):
            clues.append(site["hospital"])
        elif all(isinstance(site.get(k), int | float) for k in ("lat", "lon")):
            clues.append((float(site["lat"]), float(site["lon"])))
    return clues


def _hint(pack, kind: str, code: str, data: Mapping, listed: Sequence[str] = ()) -> str:
    """A "did you mean …" for an unknown area code, preferring candidates where the proposal is.

    ICBs and local authorities holding the proposal's sites come first; for an
    LSOA, the LSOAs of the local authorities of the other LSOAs listed (else of
    those holding the sites).
    """
    clues = _site_clues(data)
    if kind in ("icb", "ltla"):
        prefer = areas_at(pack, clues, kind)
        return suggest(pack, kind, code, prefer=prefer, why="where the proposal's sites are")
    ltlas = {la for c in listed for la in area_members(pack, c, "ltla24_code")}
    ltlas = ltlas or set(areas_at(pack, clues, "ltla"))
    prefer = [c for la in sorted(ltlas) for c in area_members(pack, la, "lsoa21_code")]
    return suggest(pack, kind, code, prefer=prefer, why="in the proposal's local authority")


def check_against_pack(proposal: Proposal | Mapping[str, Any], pack) -> list[Problem]:
    """Problems only the reference data can reveal: unknown codes and hospitals, sites outside England.

    Works on a validated :class:`Proposal` or on the raw mapping, so that data
    problems are reported together with structural ones.
    """
    data = proposal.model_dump() if isinstance(proposal, Proposal) else dict(proposal)
    problems: list[Problem] = []
    # Plain column reads (Pack.values), no pandas: `eia run` validates before it starts the kernel.
    lookup = "lsoa21_lookup.parquet"
    area = data.get("area") if isinstance(data.get("area"), Mapping) else {}
    written = area.get("icb")
    area = {k: _code_list(_codes(v)) if k != "icb" else _codes(v) for k, v in area.items()}
    icb = area.get("icb")
    if isinstance(icb, str):
        known = {
            c
            for col in ("icb24_code", "icb24_code_nhs")
            for c in pack.values(lookup, col)
            if c is not None
        }
        if icb not in known:
            problems.append(
                Problem("area.icb", f"unknown ICB code {written!r}{_hint(pack, 'icb', icb, data)}")
            )
    ltla_known = set(pack.values(lookup, "ltla24_code"))
    for i, code in enumerate(_as_list(area.get("ltla"))):
        if isinstance(code, str) and code not in ltla_known:
            hint = _hint(pack, "ltla", code, data)
            problems.append(
                Problem(f"area.ltla[{i}]", f"unknown local authority code {code!r}{hint}")
            )
    lsoas = _as_list(area.get("lsoa"))
    if lsoas:
        known_lsoa = set(pack.values("imd2025_lsoa21.parquet", "lsoa21_code"))
        for i, code in enumerate(lsoas):
            if isinstance(code, str) and code not in known_lsoa:
                listed = [c for c in lsoas if c in known_lsoa]
                hint = _hint(pack, "lsoa", code, data, listed)
                problems.append(
                    Problem(f"area.lsoa[{i}]", f"unknown English LSOA 2021 code {code!r}{hint}")
                )

    keys = Counter(sites_mod.site_key(n) for n in pack.values(HOSPITALS, "hospital22_name"))
    spec = data.get("area") if isinstance(data.get("area"), Mapping) else None
    lsoas: list[list[str]] = []

    def area_lsoas() -> list[str]:  # read only when a name is shared by several sites
        if not lsoas:
            lsoas.append(sites_mod.area_lsoas(pack, spec))
        return lsoas[0]

    sites = data.get("sites") if isinstance(data.get("sites"), Mapping) else {}
    site_lists = [(f"sites.{k}", _as_list(sites.get(k))) for k in ("current", "proposed")]
    site_lists += [
        (f"options[{i}].proposed", _as_list(o.get("proposed")))
        for i, o in enumerate(_as_list(data.get("options")))
        if isinstance(o, Mapping)
    ]
    for where, entries in site_lists:
        seen: set[str] = set()
        for i, site in enumerate(entries):
            if not isinstance(site, Mapping):
                continue
            path = f"{where}[{i}]"
            hospital = site.get("hospital")
            if isinstance(hospital, str) and keys.get(sites_mod.site_key(hospital)) != 1:
                try:  # a code, or a name several pack entries share: one site or a problem
                    hospital = sites_mod.resolve(pack, hospital, area_lsoas).name
                except sites_mod.AmbiguousSite as exc:
                    problems.append(Problem(f"{path}.hospital", str(exc)))
                except sites_mod.UnknownSite:
                    near = area.get("icb") or next(iter(_as_list(area.get("ltla"))), None)
                    hint = suggest(
                        pack, "hospital", hospital, near=near if isinstance(near, str) else None
                    )
                    problems.append(
                        Problem(f"{path}.hospital", f"unknown hospital {hospital!r}{hint}")
                    )
            lat, lon = site.get("lat"), site.get("lon")
            if (
                isinstance(lat, int | float)
                and isinstance(lon, int | float)
                and not in_england(lat, lon)
            ):
                problems.append(
                    Problem(path, f"({lat}, {lon}) is outside England (lat, lon in WGS84)")
                )
            label = site.get("name") or hospital
            key = " ".join(label.split()).casefold() if isinstance(label, str) else None
            if key in seen:
                problems.append(Problem(f"{path}.name", f"duplicate site name {label!r}"))
            if key:
                seen.add(key)
    problems += _check_effect_groups(data, pack)
    return problems


def site_choices(proposal: Proposal | Mapping[str, Any], pack) -> list[str]:
    """One line per hospital whose name several pack sites share, saying which was taken.

    Each line names the field, the site's code and local authority and why
    (inside the area, or the nearest to it): :func:`eia.refdata.hospitals.resolve`.
    """
    data = proposal.model_dump() if isinstance(proposal, Proposal) else dict(proposal)
    keys = Counter(sites_mod.site_key(n) for n in pack.values(HOSPITALS, "hospital22_name"))
    spec = data.get("area") if isinstance(data.get("area"), Mapping) else None
    lines = []
    for path, site in _named_sites(data):
        hospital = site.get("hospital")
        if not isinstance(hospital, str) or keys.get(sites_mod.site_key(hospital)) == 1:
            continue
        try:
            found = sites_mod.resolve(pack, hospital, lambda: sites_mod.area_lsoas(pack, spec))
        except EIAError:
            continue  # reported by check_against_pack
        if found.how in ("inside", "nearest"):
            why = (
                "the one inside the area"
                if found.how == "inside"
                else f"the nearest to the area, {found.km:.1f} km away"
            )
            lines.append(
                f"{path}.hospital: {found.others + 1} sites are called {found.name!r}; "
                f"taken: {found.code} in {found.ltla24_name}, {why}"
            )
    return lines


def _named_sites(data: Mapping[str, Any]) -> list[tuple[str, Mapping]]:
    """``(path, site)`` for every site mapping of the current, proposed and option lists."""
    sites = data.get("sites") if isinstance(data.get("sites"), Mapping) else {}
    lists = [(f"sites.{k}", _as_list(sites.get(k))) for k in ("current", "proposed")]
    lists += [
        (f"options[{i}].proposed", _as_list(o.get("proposed")))
        for i, o in enumerate(_as_list(data.get("options")))
        if isinstance(o, Mapping)
    ]
    return [
        (f"{where}[{i}]", site)
        for where, entries in lists
        for i, site in enumerate(entries)
        if isinstance(site, Mapping)
    ]


_PACK_GROUPS = {
    "religion": ("census2021_religion_lsoa21.parquet", "religion"),
    "disability": ("census2021_disability_lsoa21.parquet", "disability"),
}


def _check_effect_groups(data: Mapping[str, Any], pack) -> list[Problem]:
    """Effects on religion or disability must name a Census group from the pack."""
    problems = []
    known: dict[str, list[str]] = {}
    for i, effect in enumerate(_as_list(data.get("effects"))):
        if not isinstance(effect, Mapping) or effect.get("dimension") not in _PACK_GROUPS:
            continue
        dimension, group = effect["dimension"], effect.get("group")
        if dimension not in known:
            known[dimension] = sorted({v for v in pack.values(*_PACK_GROUPS[dimension]) if v})
        if isinstance(group, str) and group.strip() not in known[dimension]:
            problems.append(
                Problem(
                    f"effects[{i}].group",
                    _unknown_group(dimension, group.strip(), known[dimension]),
                )
            )
    return problems


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def in_england(lat: float, lon: float) -> bool:
    """Whether a WGS84 point lies within a box around England (coarse, fast check)."""
    (lat0, lat1), (lon0, lon1) = ENGLAND_BOUNDS["lat"], ENGLAND_BOUNDS["lon"]
    return lat0 <= lat <= lat1 and lon0 <= lon <= lon1
