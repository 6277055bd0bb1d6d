"""Guards against wrong inputs: warnings about sites and options that are probably mistakes.

A params file can be valid and still describe something its author did not
mean. These checks find the commonest such mistakes and name them:

* **far-away site**: a site more than ``thresholds.site_outside_km`` (default
  20 km) outside the area's boundary, with its distance. A longitude whose sign
  was lost, or latitude and longitude swapped, puts a site tens or hundreds of
  km away; a real out-of-area site (a neighbouring area's hospital) is usually
  within 20 km of the boundary. A distant specialist centre can be legitimate,
  so this is a warning, not an error;
* **option equal to now**: an option (or ``sites.proposed``) whose sites are the
  current sites (same places, in any order): it changes nothing;
* **identical options**: two options with the same sites;
* **affects nobody**: an option under which no LSOA's distance changes by more
  than ``thresholds.change_km``.

Sites are compared by location (to the metre), not by name. Warnings do not stop
a run; the report's executive summary and ``metrics.json`` (``warnings``) list
them, and ``--strict`` on ``eia validate``, ``eia run`` and ``eia batch`` turns
them into errors (exit code 2).

A warning is a code (``kind``), a place in the params file (``where``) and the figures
its words quote; the words are the report's (``report/prose/warnings.j2``: the board's
in the report, the analyst's, with the params path and threshold key, on the command line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from eia.analysis import access
from eia.errors import ParamsError, Problem
from eia.population.area import build_area
from eia.refdata import lookup


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the project's own, never raised (see warnings.warn for those)
    """One input guard's finding: its kind, where in the params file, and the figures its
    words quote (``report/prose/warnings.j2``).

    Kinds and figures: ``far_site`` (``site``, ``km``, ``limit``); ``same_as_current``
    (``option``); ``identical_options`` (``option``, ``same_as``); ``affects_nobody``
    (``option``, ``change``); ``wrong_area`` (``given``, ``given_name``, ``held``,
    ``held_name``: ICB codes and names, a name None when not known); ``period_beyond_data``
    (``start``, ``end``, ``before``, ``after``, ``days``, ``data_first``, ``data_last``:
    the declared dates and the extract's first and last months).
    """

    kind: str  # far_site | wrong_area | same_as_current | identical_options | affects_nobody | period_beyond_data
    where: str  # params path, e.g. "options[1].proposed[0]"
    figures: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind} ({self.where})"

    def as_dict(self) -> dict[str, Any]:
        """For metrics.json: ``kind``, ``where`` and the figures (no words)."""
        return {"kind": self.kind, "where": self.where, **self.figures}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Warning:
        """The warning :meth:`as_dict` wrote (metrics.json's ``warnings``)."""
        rest = {k: v for k, v in record.items() if k not in ("kind", "where")}
        return cls(str(record["kind"]), str(record["where"]), rest)


def scenario_paths(proposal) -> dict[str, str]:
    """Where each scenario's sites are in the params file (``sites.proposed``, ``options[i].proposed``)."""
    out = {}
    if proposal.sites and proposal.sites.proposed:
        out["Proposed"] = "sites.proposed"
    for i, option in enumerate(proposal.options):
        out[option.name] = f"options[{i}].proposed"
    return out


def _places(sites: gpd.GeoDataFrame) -> frozenset[tuple[int, int]]:
    return frozenset(
        zip(
            np.round(sites.geometry.x).astype(int),
            np.round(sites.geometry.y).astype(int),
            strict=True,
        )
    )


def check(
    area: gpd.GeoDataFrame,
    current: gpd.GeoDataFrame,
    proposed: dict[str, gpd.GeoDataFrame],
    distances: dict[str, pd.DataFrame],
    thresholds,
    paths: dict[str, str],
) -> list[Warning]:
    """Every guard's warnings for an area (EPSG:27700), its current and proposed sites and distances."""
    out: list[Warning] = []
    limit = thresholds.site_outside_km
    lists = [("sites.current", "now", current)] + [
        (paths.get(name, name), name, sites) for name, sites in proposed.items()
    ]
    reported: set[tuple[int, int]] = set()
    for where, _scenario, sites in lists:
        for i, (name, point) in enumerate(zip(sites["name"], sites.geometry, strict=True)):
            km = float(area.geometry.distance(point).min()) / 1000.0
            place = (round(point.x), round(point.y))
            if km > limit and place not in reported:
                reported.add(place)
                out.append(
                    Warning(
                        "far_site",
                        f"{where}[{i}]",
                        {"site": str(name), "km": km, "limit": float(limit)},
                    )
                )
    now = _places(current)
    seen: dict[frozenset, str] = {}
    for name, sites in proposed.items():
        where = paths.get(name, name)
        places = _places(sites)
        if places == now:
            out.append(Warning("same_as_current", where, {"option": name}))
        if places in seen:
            out.append(
                Warning("identical_options", where, {"option": name, "same_as": seen[places]})
            )
        else:
            seen[places] = name
        d = distances.get(name)
        if d is not None and places != now:
            change = d["km_change"].to_numpy()
            change = np.where(np.isnan(change), 0.0, change)
            if not np.any(np.abs(change) > thresholds.change_km):
                out.append(
                    Warning(
                        "affects_nobody",
                        where,
                        {"option": name, "change": float(thresholds.change_km)},
                    )
                )
    return out


def wrong_area(pack, proposal, area: gpd.GeoDataFrame, current: gpd.GeoDataFrame) -> list[Warning]:
    """A warning when no current site lies in the area: the area code may be wrong.

    Names the ICB given and the ICB holding most of the sites. Only for an ICB: a
    local authority's residents often use a hospital over its boundary.
    """
    given = proposal.area.spec.get("icb")
    if not len(current) or given is None:  # local authorities often use a neighbour's hospital
        return []
    inside, _ = area.geometry.sindex.query(current.geometry, predicate="intersects")
    if len(inside):
        return []

    kind = "icb"
    held = lookup.areas_at(pack, current.geometry, kind)
    if not held or held[0] == given:
        return []

    def name(code: str) -> str | None:
        match = next(iter(lookup.find(pack, kind, code, limit=1)), None)
        return match.name if match and code in (match.code, match.also) else None

    figures = {"given": given, "given_name": name(given), "held": held[0]}
    return [Warning("wrong_area", "area.icb", figures | {"held_name": name(held[0])})]


def check_assessment(a) -> list[Warning]:
    """The guards' warnings for a computed :class:`eia.assessment.Assessment`."""
    if a.access is None:
        return []
    found = check(
        a.area.lsoas,
        a.access.current,
        a.access.proposed,
        a.access.distances,
        a.proposal.thresholds,
        scenario_paths(a.proposal),
    )
    return wrong_area(a.pack, a.proposal, a.area.lsoas, a.access.current) + found


def check_proposal(proposal, pack) -> list[Warning]:
    """The guards' warnings for a validated proposal (builds its area and measures distances)."""
    if proposal.sites is None:
        return []

    area = build_area(pack, proposal.area.spec)
    codes = list(area["lsoa21_code"])
    current = access.resolve_sites(pack, proposal.sites.current, codes)
    proposed, distances = {}, {}
    for name, sites in proposal.scenarios().items():
        proposed[name] = access.resolve_sites(pack, sites, codes)
        distances[name] = access.measure(area, current, proposed[name])
    found = check(area, current, proposed, distances, proposal.thresholds, scenario_paths(proposal))
    return wrong_area(pack, proposal, area, current) + found


def period_beyond_data(found: dict) -> Warning:
    """The warning for a declared ``service.period`` longer than the extract's dates.

    ``found`` is :func:`eia.analysis.uptake.period_beyond_data`'s result: the declared
    dates, and the extract's first and last months (a single record's date is never
    quoted).
    """
    figures = {k: found[k] for k in ("start", "end", "before", "after", "data_first", "data_last")}
    return Warning(
        "period_beyond_data", "service.period", figures | {"days": found["tolerance_days"]}
    )


#: Warnings found only once the service data is read; ``--strict`` fails the run on them
#: before anything is published.
DATA_KINDS = frozenset({"period_beyond_data"})


def as_error(
    source: str, warnings: list[Warning], words: Callable[[Warning], str] = str
) -> ParamsError:
    """The warnings as one :class:`ParamsError` (``--strict``); ``words`` gives a warning's
    message (the command line passes :func:`eia.report.wording.warning_text`)."""
    return ParamsError(
        source,
        [Problem(w.where, f"warning (an error with --strict): {words(w)}") for w in warnings],
    )
