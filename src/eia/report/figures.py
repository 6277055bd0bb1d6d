"""The report's maps and curves, each an :class:`eia.report.show.Figure` whose alt text states its finding.

:mod:`eia.report.maps` draws; this module decides what each figure shows for an
:class:`~eia.assessment.Assessment` and says in words what it finds, with the
same thresholds and counts as the ratings (a neighbourhood counts as further
only when its change is *more than* ``thresholds.change_km``), so a figure's
alt text can never contradict the ratings table.

Every function takes ``unit="km"`` (straight-line distance, the columns
``km_before``, ``km_after``, ``km_change`` of :func:`eia.analysis.access.measure`) or
``unit="min"`` with ``mode=`` (travel time: pass ``values={option: frame}`` with
columns ``minutes_before``, ``minutes_after``, ``minutes_change`` from
:func:`eia.analysis.traveltime.measure`; thresholds from ``minutes_for(mode)`` and
``change_minutes_for(mode)``), so travel times draw the same figures in minutes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from eia.analysis.access import CORE20_LABELS
from eia.assessment import Assessment
from eia.report import cartography, maps
from eia.report.show import Figure, fmt_int, fmt_pct, join_words, plural
from eia.report.wording import primary_reason

#: Column prefix of the per-LSOA frames in each unit.
PREFIX = {"km": "km", "min": "minutes"}


def _thresholds(a: Assessment, unit: str, mode: str | None = None) -> tuple[float, float]:
    """(change that counts, far threshold) in ``unit`` (per travel mode for minutes)."""
    t = a.proposal.thresholds
    if unit == "km":
        return float(t.change_km), float(t.distance_km)
    if mode is None:
        raise ValueError("travel times need the mode (car, public_transport, walk, cycle)")
    return float(t.change_minutes_for(mode)), float(t.minutes_for(mode))


def _values(a: Assessment, unit: str, values=None) -> dict[str, pd.DataFrame]:
    """Per scenario, the per-LSOA before/after/change frame in ``unit``."""
    if values is not None:
        return values
    if unit == "km":
        return a.access.distances
    raise ValueError("pass values={option: frame} for travel times")


def _col(unit: str, which: str) -> str:
    return f"{PREFIX[unit]}_{which}"


def _what(unit: str) -> tuple[str, str, str]:
    """(measure, further, nearer) in words for ``unit``."""
    if unit == "km":
        return "straight-line distance", "further from", "nearer to"
    return "travel time", "longer from", "shorter from"


def scenario_name(a: Assessment, option: str) -> str:
    """An option's name for prose; the single unnamed scenario is "the proposal"."""
    return "the proposal" if option == "Proposed" and not a.proposal.options else option


def _count(n: float, what: str = "") -> str:
    return "none" if not n else fmt_int(n) + (f" {what}" if what else "")


def _roles_sentence(a: Assessment, option: str) -> str:
    roles = maps.site_roles(a.access.current, a.access.proposed.get(option))
    parts = []
    for role, verb in (("kept", "keeps"), ("closing", "closes"), ("new", "opens")):
        names = list(roles.loc[roles["role"] == role, "name"])
        if names:
            parts.append(f"{verb} {join_words(names)}")
    name = scenario_name(a, option)
    return f"{name[0].upper()}{name[1:]} {join_words(parts)}." if parts else ""


def imd_map(a: Assessment) -> Figure | None:
    """Deprivation by national IMD decile with every option's sites labelled kept, closing or new."""
    if a.access is None:
        return None
    proposed = dict(a.access.proposed) if len(a.scenarios) > 1 else a.access.proposed.get(a.primary)
    fig = maps.imd_map(
        a.area.lsoas, a.access.current, proposed, outline=a.area.outline, places=a.area.places
    )
    decile1 = (a.area.lsoas["imd_decile"] == 1).mean()
    core20 = (
        a.area.lsoas.loc[a.area.lsoas["core20"].astype(bool), "population"].sum()
        / a.area.lsoas["population"].sum()
    )
    sites = " ".join(_roles_sentence(a, o) for o in a.access.proposed)
    several = len(a.scenarios) > 1
    numbers = "; ".join(f"{i} {name}" for i, name in enumerate(a.access.proposed, start=1))
    return Figure(
        fig,
        alt=(
            f"Map of the area's {plural(len(a.area.lsoas), 'neighbourhood')} shaded by national IMD "
            f"2025 decile; darker neighbourhoods are more deprived. {extent_sentence(a)} "
            f"{fmt_pct(decile1)} of neighbourhoods are in the most deprived "
            f"decile and {fmt_pct(core20)} of residents live in Core20 neighbourhoods. {sites}"
        ).strip(),
        caption=(
            "Deprivation (IMD 2025 national decile; darker is more deprived) with every site "
            "named: circles are sites kept, crosses sites that close, triangles new sites"
            + (
                f"; after each name, the site's status under each option ({numbers})."
                if several
                else "."
            )
        ),
    )


def _places_in(a: Assessment, mask, n: int = 3) -> list[str]:
    """The largest towns among the neighbourhoods in ``mask`` (else their authorities)."""
    part = a.area.lsoas[mask]
    if not len(part):
        return []
    x0, y0, x1, y1 = part.total_bounds
    towns = a.area.places
    inside = towns[
        (towns["x"] >= x0) & (towns["x"] <= x1) & (towns["y"] >= y0) & (towns["y"] <= y1)
    ]
    if len(inside):
        return list(inside["name"].head(n))
    counts = part.groupby("ltla24_name")["population"].sum().sort_values(ascending=False)
    return list(counts.index[:n])


def extent_sentence(a: Assessment, focus=None, what: str = "changes") -> str:
    """What a map's frame shows, in words: the whole area or the neighbourhoods in
    ``focus`` (a mask) and where they are, and any detached part shown in an inset."""
    apart = cartography.detached(a.area.lsoas)
    words = "The map shows the whole area"
    if focus is not None and focus.any():
        bounds = cartography.focus_bounds(a.area.lsoas, focus, main=~apart)
        whole = cartography.focus_bounds(a.area.lsoas, None, main=~apart)
        places = join_words(_places_in(a, focus))
        if cartography.bounds_area(bounds) < cartography.bounds_area(whole) * 0.999:
            words = (
                f"The map is framed on the {plural(int(focus.sum()), 'neighbourhood')} whose "
                f"{what}, around {places}, with a small map of the whole area locating them"
            )
        elif places:
            words += f"; the change is around {places}"
    if apart.any():
        names = join_words(sorted(set(a.area.lsoas.loc[apart, "ltla24_name"])))
        words += (
            f"; {names}, away from the rest, {'is' if ' and ' not in names else 'are'} in an inset"
        )
    return words + "."


def change_summary(
    a: Assessment, option: str, unit: str = "km", *, mode: str | None = None, values=None
) -> dict[str, float]:
    """What a change map shows, counted exactly as the ratings count it.

    Neighbourhoods and residents further (change more than the threshold),
    nearer, and of those further, how many live in Core20 neighbourhoods.
    """
    change, _ = _thresholds(a, unit, mode)
    frame = _values(a, unit, values)[option].set_index("lsoa21_code")[_col(unit, "change")]
    area = a.area.lsoas.set_index("lsoa21_code")
    delta = frame.reindex(area.index)
    further, nearer = delta > change, delta < -change
    core = area["core20"].astype(bool)
    pop = area["population"]
    return {
        "lsoas": float(len(area)),
        "further_lsoas": float(further.sum()),
        "nearer_lsoas": float(nearer.sum()),
        "further_residents": float(pop[further].sum()),
        "nearer_residents": float(pop[nearer].sum()),
        "further_core20_lsoas": float((further & core).sum()),
        "core20_lsoas": float(core.sum()),
    }


def _change_alt(a: Assessment, option: str, unit: str, mode=None, values=None) -> str:
    change, _ = _thresholds(a, unit, mode)
    s = change_summary(a, option, unit, mode=mode, values=values)
    measure, further, nearer = _what(unit)
    text = (
        f"Under {scenario_name(a, option)}, {_count(s['further_lsoas'])} of "
        f"{plural(s['lsoas'], 'neighbourhood')}"
        + (f" ({fmt_int(s['further_residents'])} residents)" if s["further_lsoas"] else "")
        + f" would be more than {change:g} {unit} {further} a site and "
        f"{_count(s['nearer_lsoas'])}"
        + (f" ({fmt_int(s['nearer_residents'])} residents)" if s["nearer_lsoas"] else "")
        + f" more than {change:g} {unit} {nearer} one"
    )
    if s["core20_lsoas"] and s["further_lsoas"]:
        text += (
            f"; {fmt_int(s['further_core20_lsoas'])} of the {fmt_int(s['core20_lsoas'])} Core20 "
            "neighbourhoods (hatched) would be further"
        )
    return text + "."


def _changed_mask(a: Assessment, option: str, unit: str, mode=None, values=None):
    """True for the area's LSOAs (in its order) whose change counts, as the map frames them."""
    change, far = _thresholds(a, unit, mode)
    frame = _values(a, unit, values)[option].set_index("lsoa21_code")[_col(unit, "change")]
    delta = frame.reindex(a.area.lsoas["lsoa21_code"]).to_numpy(dtype=float)
    codes = maps.change_classes(pd.Series(delta), change, far, unit).codes
    return (codes >= 0) & (codes != 2)


def change_style(a: Assessment, unit: str, mode: str | None) -> dict:
    """The keyword arguments of :func:`eia.report.maps.change_map` and :func:`eia.report.maps.options_maps`
    for ``unit`` (and ``mode``): outline, the thresholds that class the change, its column."""
    change, far = _thresholds(a, unit, mode)
    return {
        "outline": a.area.outline,
        "places": a.area.places,
        "threshold": change,
        "outer": far,
        "unit": unit,
        "column": _col(unit, "change"),
    }


def change_map(
    a: Assessment,
    option: str | None = None,
    unit: str = "km",
    *,
    mode: str | None = None,
    values: dict[str, pd.DataFrame] | None = None,
) -> Figure | None:
    """The change map for one scenario (the primary by default), classed on its own thresholds."""
    option = option or a.primary
    if not option:
        return None
    change, _ = _thresholds(a, unit, mode)
    fig = maps.change_map(
        a.area.lsoas,
        _values(a, unit, values)[option],
        a.access.current,
        a.access.proposed[option],
        **change_style(a, unit, mode),
    )
    measure = _what(unit)[0]
    return Figure(
        fig,
        alt=f"Map of the change in {measure} to the nearest site: orange is further, purple "
        "nearer, darker shades larger changes. "
        + extent_sentence(a, _changed_mask(a, option, unit, mode, values), f"{measure} changes")
        + " "
        + _change_alt(a, option, unit, mode, values),
        caption=(
            f"Change in {measure} to the nearest site, {scenario_name(a, option)}"
            f"{f' ({primary_reason(a)})' if option == a.primary and primary_reason(a) else ''} "
            "compared with now: orange "
            f"further, purple nearer, pale within {change:g} {unit} (the proposal's threshold); "
            "Core20 neighbourhoods hatched; sites named, with their role shown by shape."
        ),
    )


def options_maps(
    a: Assessment, unit: str = "km", *, mode: str | None = None, values=None
) -> Figure | None:
    """Each option's change map side by side, each with its own sites."""
    if len(a.scenarios) < 2:
        return None
    change, _ = _thresholds(a, unit, mode)
    values = _values(a, unit, values)
    fig = maps.options_maps(
        a.area.lsoas, values, a.access.current, a.access.proposed, **change_style(a, unit, mode)
    )
    measure = _what(unit)[0]
    return Figure(
        fig,
        alt=f"Maps of the change in {measure} under each of {plural(len(values), 'option')}: "
        "orange is further, purple nearer, darker shades larger changes. "
        + extent_sentence(
            a,
            np.logical_or.reduce([_changed_mask(a, o, unit, mode, values) for o in values]),
            f"{measure} changes under an option",
        )
        + " "
        + " ".join(_change_alt(a, o, unit, mode, values) for o in values),
        caption=(
            f"Change in {measure} to the nearest site under each option, classed at the "
            f"proposal's {change:g} {unit} threshold; Core20 neighbourhoods hatched; each "
            "option's sites named (circle kept, cross closing, triangle new)."
        ),
    )


def within_shares(
    a: Assessment, option: str, unit: str = "km", *, mode: str | None = None, values=None
) -> pd.DataFrame:
    """Share of Core20 residents and of the rest within the far threshold, now and after."""
    _, far = _thresholds(a, unit, mode)
    v = _values(a, unit, values)[option].set_index("lsoa21_code")
    weights = a.area.weights["core20"]
    rows = []
    for group in weights.columns:
        rows.append(
            {
                "group": group,
                "now": maps.share_within(v[_col(unit, "before")], weights[group], far),
                "after": maps.share_within(v[_col(unit, "after")], weights[group], far),
            }
        )
    return pd.DataFrame(rows)


def cumulative_curves(
    a: Assessment, unit: str = "km", *, mode: str | None = None, values=None
) -> list[Figure]:
    """One cumulative-distribution figure per option: share of Core20 residents and of the
    rest of the area within x of a site, now and after (the curve planners use)."""
    if not a.scenarios:
        return []
    _, far = _thresholds(a, unit, mode)
    measure = _what(unit)[0]
    out = []
    for option, frame in _values(a, unit, values).items():
        v = frame.set_index("lsoa21_code")
        curves = maps.cumulative_shares(
            v[_col(unit, "before")], v[_col(unit, "after")], a.area.weights["core20"]
        )
        title = scenario_name(a, option)
        fig = maps.cumulative_curves(
            curves, unit=unit, limit=far, title=title[0].upper() + title[1:]
        )
        shares = within_shares(a, option, unit, mode=mode, values=values).set_index("group")
        core, rest = CORE20_LABELS
        alt = (
            f"Cumulative curves of {measure} to the nearest site for {scenario_name(a, option)}: "
            f"{fmt_pct(shares.loc[core, 'after'], 0)} of Core20 residents would live within "
            f"{far:g} {unit} of a site, against {fmt_pct(shares.loc[core, 'now'], 0)} now; "
            f"for the rest of the area {fmt_pct(shares.loc[rest, 'after'], 0)} against "
            f"{fmt_pct(shares.loc[rest, 'now'], 0)}."
        )
        out.append(
            Figure(
                fig,
                alt=alt,
                caption=(
                    f"Share of residents within each {measure} of a site, "
                    f"{scenario_name(a, option)}: dashed lines "
                    f"now, solid lines after; the dotted line marks {far:g} {unit}."
                ),
            )
        )
    return out
