"""How journey times are shown in a report: tables by group with modes side by side, curves, maps.

Every function takes an :class:`eia.assessment.Assessment` whose proposal gave
journey-time matrices (``a.travel``) and returns displayable objects from
:mod:`eia.report.show`. The lead mode (public transport, or the params' ``primary_mode``)
comes first; the other modes stand beside it. Figures come from
``a.travel.summaries`` (:func:`eia.analysis.traveltime.summarise`), so they can be checked
against ``metrics.json`` (``access.by_mode``) and the matrix itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from eia.analysis.traveltime import MODE_LABELS, rating_change
from eia.population.area import ETHNIC_SHORT
from eia.report import maps
from eia.report.figures import _changed_mask, change_style, extent_sentence
from eia.report.show import (
    Block,
    Figure,
    Html,
    Table,
    fmt_int,
    fmt_pct,
    heading,
    notice_box,
    paragraphs,
)

DIMENSIONS = (
    ("imd_quintile", "national IMD 2025 quintile"),
    ("core20", "Core20 neighbourhoods and the rest of the area"),
    ("ethnic_group", "ethnic group (Census 2021; area-based)"),
    ("religion", "religion (Census 2021; area-based)"),
    ("disability", "disability (Census 2021; area-based)"),
    ("language", "main language (Census 2021; area-based)"),
    ("rurality", "rural or urban neighbourhood"),
)


def _mins(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.0f}"


def _now_after(before, after, fmt=fmt_int) -> list[str]:
    return [f"{fmt(b)} → {fmt(f)}" for b, f in zip(before, after, strict=True)]


def modes_table(a, dimension: str, scenario: str | None = None) -> pd.DataFrame:
    """One row per group of ``dimension``; for each mode (lead first) its minutes now → after,
    people beyond its threshold now → after, and people who cannot reach a site now → after."""
    scenario = scenario or a.primary
    t = a.proposal.thresholds
    frames: list[pd.DataFrame] = []
    for mode in a.travel.matrices:
        table = a.travel.summaries[mode][scenario][dimension]
        if not frames:
            groups = table["group"].map(lambda g: ETHNIC_SHORT.get(g, g))
            frames.append(
                pd.DataFrame({"Group": groups, "Residents": table["population"].map(fmt_int)})
            )
        label, limit = MODE_LABELS[mode], t.minutes_for(mode)
        minutes = _now_after(table["mean_minutes_before"], table["mean_minutes_after"], _mins)
        change = ["–" if pd.isna(c) else f"{c:+.0f}" for c in table["mean_minutes_change"]]
        frames.append(
            pd.DataFrame(
                {
                    f"{label}: mean minutes now → after (change)": [
                        f"{m} ({c})" for m, c in zip(minutes, change, strict=True)
                    ],
                    f"{label}: beyond {limit:g} min now → after": _now_after(
                        table["pop_beyond_threshold_before"], table["pop_beyond_threshold_after"]
                    ),
                    f"{label}: not reachable now → after": _now_after(
                        table["pop_unreachable_before"], table["pop_unreachable_after"]
                    ),
                },
                index=table.index,
            )
        )
    return pd.concat(frames, axis=1) if frames else None


def intro(a) -> Html:
    """What the minutes are: modes, sources, thresholds, how unreachable pairs are counted."""
    t = a.proposal.thresholds
    lead = a.lead_mode
    described = [
        f"{MODE_LABELS[m].lower()} (far means more than {t.minutes_for(m):g} min)"
        for m in a.travel.matrices
    ]
    text = [
        f"Journey times to the quickest site, for {a.primary}"
        f"{f' ({a.primary_reason})' if a.primary_reason else ''}, by "
        + " and ".join(described)
        + f". The ratings and the options appraisal rest on {MODE_LABELS[lead].lower()}, "
        "shown first; the other modes stand beside it.",
        "Mean minutes now, after and their change are over the same residents: those who can "
        "reach a site both now and after, so the change is after minus now. Residents who cannot "
        "reach any site (no route in the matrix), now or after, are counted as not reachable and "
        "as beyond the threshold, never dropped; in person-minute figures a journey that cannot be made counts "
        "as "
        + ", ".join(
            f"{a.travel.unreachable_as[m]:g} min ({MODE_LABELS[m].lower()})"
            for m in a.travel.matrices
        )
        + ", the longest journey in its matrix and at least three times its threshold.",
        "Group figures are area-based: each neighbourhood's time is counted once for each "
        "resident of the group living there (Census 2021), so they describe where groups live, "
        "not individual journeys.",
    ]
    parts: list = [paragraphs(*text)]
    synthetic = [MODE_LABELS[m].lower() for m, x in a.travel.matrices.items() if x.synthetic]
    if synthetic:
        parts.insert(
            0,
            notice_box(
                f"The journey times by {' and '.join(synthetic)} in this report are synthetic: "
                "made by eia from straight-line distances and a stated speed model "
                "(docs/travel-time.md), not from a journey planner. They describe no real journeys.",
                "synthetic",
            ),
        )
    return Block(*parts)


def curves(a, mode: str | None = None, dimension: str = "core20") -> Figure:
    """The share of each group within x minutes of a site, now and after (lead mode by default)."""
    mode = mode or a.lead_mode
    times = a.travel.times[mode][a.primary].set_index("lsoa21_code")
    weights = a.area.weights[dimension]
    shares = maps.cumulative_shares(times["minutes_before"], times["minutes_after"], weights)
    limit = a.proposal.thresholds.minutes_for(mode)
    label = MODE_LABELS[mode].lower()
    fig = maps.cumulative_curves(
        shares, unit="min", limit=limit, title=f"{a.primary}: journey time by {label}"
    )
    first = weights.columns[0]
    now = maps.share_within(times["minutes_before"], weights[first], limit)
    after = maps.share_within(times["minutes_after"], weights[first], limit)
    return Figure(
        fig,
        alt=(
            f"Cumulative curves of the share of residents within each journey time by {label} of "
            f"a site, now (dashed) and after (solid), for {', '.join(map(str, weights.columns))}. "
            f"{first}: {fmt_pct(now)} within {limit:g} min now, {fmt_pct(after)} after. Residents "
            "who cannot reach a site never count as within."
        ),
        caption=f"Share of residents within x minutes of a site by {label}, now and after "
        f"({a.primary}); the dotted line marks the {limit:g}-minute threshold.",
    )


def change_map(a, mode: str | None = None) -> Figure:
    """The change in journey time per LSOA (lead mode), cut at its thresholds."""
    mode = mode or a.lead_mode
    t = a.proposal.thresholds.for_mode(mode)
    change = rating_change(a.travel.times[mode][a.primary]).rename("minutes_change").reset_index()
    fig = maps.change_map(
        a.area.lsoas,
        change,
        a.access.current,
        a.access.proposed[a.primary],
        **change_style(a, "min", mode),
    )
    values = change["minutes_change"]
    longer = int((values > t.change_min).sum())
    lost = int((values == float("inf")).sum())
    label = MODE_LABELS[mode].lower()
    return Figure(
        fig,
        alt=(
            f"Map of the change in journey time by {label} to the quickest site for {a.primary}: "
            f"{longer} of {len(values)} LSOAs would take more than {t.change_min:g} min longer "
            f"(of them {lost} could no longer reach any site) and "
            f"{int((values < -t.change_min).sum())} more than {t.change_min:g} min less. "
            "Orange is longer, purple shorter, darker shades larger changes. "
            + extent_sentence(
                a,
                _changed_mask(a, a.primary, "min", mode, {a.primary: change}),
                "journey time changes",
            )
        ),
        caption=f"Change in journey time by {label} to the quickest site, {a.primary}"
        f"{f' ({a.primary_reason})' if a.primary_reason else ''} compared "
        "with now; neighbourhoods that lose every site are in the longest class.",
    )


def options_maps(a, mode: str | None = None) -> Figure:
    """Small-multiple maps of the change in journey time (lead mode) under each option."""
    mode = mode or a.lead_mode
    scenarios = {
        name: rating_change(times).rename("minutes_change").reset_index()
        for name, times in a.travel.times[mode].items()
    }
    fig = maps.options_maps(
        a.area.lsoas,
        scenarios,
        a.access.current,
        a.access.proposed,
        **change_style(a, "min", mode),
    )
    label = MODE_LABELS[mode].lower()
    return Figure(
        fig,
        alt=f"Small-multiple maps of the change in journey time by {label} for each of "
        f"{len(scenarios)} options: orange is longer, purple shorter, darker shades larger "
        "changes. "
        + extent_sentence(
            a,
            np.logical_or.reduce(
                [_changed_mask(a, name, "min", mode, scenarios) for name in scenarios]
            ),
            "journey time changes under an option",
        ),
        caption=f"Change in journey time by {label} to the quickest site under each option.",
    )


def rankings_by_mode(a) -> Table:
    """Each mode's ranking of the options (the lead mode's is the judgement; others beside it)."""
    rows = []
    for mode, ap in a.travel.appraisals.items():
        for r in ap.options.itertuples():
            rows.append(
                {
                    "Mode": MODE_LABELS[mode] + (" (judgement)" if mode == a.lead_mode else ""),
                    "Option": r.option,
                    "Rank": int(r.rank),
                    "Equity-weighted person-minutes": fmt_int(r.score),
                    "Robust to thresholds halved and doubled": "yes"
                    if ap.robustness.holds
                    else "no",
                }
            )
    return Table(
        pd.DataFrame(rows),
        "Options ranked by each mode's journey times (rank 1 = least adverse; lower score is better)",
    )


def access(a) -> Block:
    """The access part of the report in minutes: intro, a table per dimension, curves, map."""
    parts: list = [heading("Journey times by mode"), intro(a)]
    for dim, what in DIMENSIONS:
        if dim in a.area.weights:
            parts.append(Table(modes_table(a, dim), f"Journey times by {what}: {a.primary}"))
    parts.append(curves(a))
    return Block(*parts)


def headline(a) -> list[str]:
    """Headline sentences in minutes, one per mode (lead first), for the executive summary."""
    t = a.proposal.thresholds
    out = []
    for mode in a.travel.matrices:
        tables = a.travel.summaries[mode][a.primary]
        everyone = tables["imd_quintile"].iloc[-1]
        core = tables["core20"].iloc[0]
        limit, label = t.minutes_for(mode), MODE_LABELS[mode].lower()
        text = (
            f"By {label}{' (the mode the ratings rest on)' if mode == a.lead_mode else ''}, the "
            f"average journey to the quickest site would change from "
            f"{_mins(everyone.mean_minutes_before)} to {_mins(everyone.mean_minutes_after)} min; "
            f"{fmt_int(everyone.pop_beyond_threshold_before)} residents are more than {limit:g} "
            f"min from a site now and {fmt_int(everyone.pop_beyond_threshold_after)} would be after"
        )
        if everyone.pop_unreachable_before or everyone.pop_unreachable_after:
            text += (
                f" (of them {fmt_int(everyone.pop_unreachable_before)} now and "
                f"{fmt_int(everyone.pop_unreachable_after)} after cannot reach any site; the "
                "average is over the residents who can reach one both now and after)"
            )
        text += (
            f". Core20 residents: {_mins(core.mean_minutes_before)} → "
            f"{_mins(core.mean_minutes_after)} min on average; "
            f"{fmt_int(core.pop_beyond_threshold_after)} beyond {limit:g} min after "
            f"(now {fmt_int(core.pop_beyond_threshold_before)})."
        )
        out.append(text)
    return out


def notes(a) -> list[str]:
    """Data-quality notes on each matrix: what was read, what was not reachable, what was unused."""
    out = []
    for mode, m in a.travel.matrices.items():
        i = m.info
        label = MODE_LABELS[mode]
        text = (
            f"{label} ({m.source}{', synthetic' if m.synthetic else ''}): "
            f"{fmt_int(i['pairs_used'])} origin–site pairs used of {fmt_int(i['pairs_read'])} read; "
            f"{fmt_int(i['pairs_unreachable'])} not reachable (empty or flagged)"
        )
        if i["pairs_absent"]:
            text += (
                f" and {fmt_int(i['pairs_absent'])} absent from the file (taken as not reachable)"
            )
        text += "."
        if i["origins_converted_from_2011"]:
            text += (
                f" {fmt_int(i['origins_converted_from_2011'])} origins were LSOA 2011 codes, "
                "converted to 2021."
            )
        if i["origins_outside_area"] or i["origins_unmatched"]:
            text += (
                f" {fmt_int(i['origins_outside_area'])} origins outside the area and "
                f"{fmt_int(i['origins_unmatched'])} not recognised as LSOAs were not used."
            )
        out.append(text)
    return out


def method_sentence(a) -> str:
    """The access method in one sentence, for the methods section."""
    modes = ", ".join(
        f"{MODE_LABELS[m].lower()} ({m_.source})" for m, m_ in a.travel.matrices.items()
    )
    return (
        f"Access: journey time in minutes from each LSOA to the quickest site, read from "
        f"origin–destination matrices for {modes}; the ratings and options appraisal use "
        f"{MODE_LABELS[a.lead_mode].lower()}. Straight-line distances are shown for comparison."
    )


def rules_sentence(a) -> str:
    """The access rating rules in minutes, with the lead mode's thresholds."""
    r = a.rules
    return (
        f"Ratings in minutes ({MODE_LABELS[a.lead_mode].lower()}): only changes of more than "
        f"{r.change:g} min count. A group is rated negative when the time added per resident "
        f"reaches {r.material:g} min or {r.material_share:.1%} of its residents newly live more "
        f"than {r.far:g} min away (positive likewise for time saved; mixed when both reach it; "
        f"neutral when neither); groups of fewer than {r.min_residents:,} residents are not "
        "rated. A negative or mixed rating is disproportionate when the group's minutes added "
        f"per resident are at least {r.ratio:g} times, and {r.difference:g} min more than, those "
        "of the rest of the area."
    )


def threshold_items(a) -> dict[str, str]:
    """The journey-time thresholds per mode, for the report's parameters table."""
    t = a.proposal.thresholds
    out = {}
    for mode in a.travel.matrices:
        m = t.for_mode(mode)
        lead = " (ratings rest on this mode)" if mode == a.lead_mode else ""
        out[f"{MODE_LABELS[mode]}: far from a site{lead}"] = f"more than {m.distance_min:g} min"
        out[f"{MODE_LABELS[mode]}: change that counts as an effect"] = (
            f"more than {m.change_min:g} min"
        )
        out[f"{MODE_LABELS[mode]}: material burden"] = (
            f"{m.material_min:g} min per resident, or {m.material_share:.1%} of a group newly "
            f"beyond {m.distance_min:g} min; disproportionate also needs "
            f"{m.disproportionate_min:g} min per resident more than the rest of the area"
        )
        out[f"{MODE_LABELS[mode]}: journey times"] = (
            f"{a.travel.matrices[mode].label} ({a.travel.matrices[mode].source}"
            f"{', synthetic' if a.travel.matrices[mode].synthetic else ''})"
        )
    return out
