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
    heading,
    notice_box,
    paragraphs,
)
from eia.report.wording import primary_reason
from eia.report.wording import say_text as sentence

#: The dimensions shown with a journey-time table, in order (captions in ``prose/travel.j2``).
DIMENSIONS = (
    "imd_quintile",
    "core20",
    "ethnic_group",
    "religion",
    "disability",
    "language",
    "rurality",
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
                    _say("column", label, "minutes"): [
                        f"{m} ({c})" for m, c in zip(minutes, change, strict=True)
                    ],
                    _say("column", label, "beyond", limit): _now_after(
                        table["pop_beyond_threshold_before"], table["pop_beyond_threshold_after"]
                    ),
                    _say("column", label, "unreachable"): _now_after(
                        table["pop_unreachable_before"], table["pop_unreachable_after"]
                    ),
                },
                index=table.index,
            )
        )
    return pd.concat(frames, axis=1) if frames else None


def _say(macro: str, *args, **kwargs) -> str:
    """One sentence or caption from ``prose/travel.j2`` (plain text; the caller escapes it)."""
    return sentence("travel.j2", macro, *args, **kwargs)


def _modes(a) -> list[dict]:
    """Each mode's label, threshold, source and unreachable minutes, lead mode first."""
    t = a.proposal.thresholds
    return [
        {
            "label": MODE_LABELS[m],
            "limit": t.minutes_for(m),
            "source": x.source,
            "unreachable_as": a.travel.unreachable_as[m],
        }
        for m, x in a.travel.matrices.items()
    ]


def intro(a) -> Html:
    """What the minutes are: modes, sources, thresholds, how unreachable pairs are counted."""
    modes = _modes(a)
    parts: list = [
        paragraphs(
            _say("intro_modes", a.primary, primary_reason(a), modes, MODE_LABELS[a.lead_mode]),
            _say("intro_unreachable", modes),
            _say("intro_area_based"),
        )
    ]
    synthetic = [MODE_LABELS[m] for m, x in a.travel.matrices.items() if x.synthetic]
    if synthetic:
        parts.insert(0, notice_box(_say("synthetic", synthetic), "synthetic"))
    return Block(*parts)


def curves(a, mode: str | None = None, dimension: str = "core20") -> Figure:
    """The share of each group within x minutes of a site, now and after (lead mode by default)."""
    mode = mode or a.lead_mode
    times = a.travel.times[mode][a.primary].set_index("lsoa21_code")
    weights = a.area.weights[dimension]
    shares = maps.cumulative_shares(times["minutes_before"], times["minutes_after"], weights)
    limit = a.proposal.thresholds.minutes_for(mode)
    label = MODE_LABELS[mode]
    fig = maps.cumulative_curves(
        shares, unit="min", limit=limit, title=_say("curves_title", a.primary, label)
    )
    first = weights.columns[0]
    now = maps.share_within(times["minutes_before"], weights[first], limit)
    after = maps.share_within(times["minutes_after"], weights[first], limit)
    groups = [str(c) for c in weights.columns]
    return Figure(
        fig,
        alt=_say("curves_alt", label, groups, first, now, after, limit),
        caption=_say("curves_caption", a.primary, label, limit),
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
    label = MODE_LABELS[mode]
    extent = extent_sentence(
        a,
        _changed_mask(a, a.primary, "min", mode, {a.primary: change}),
        _say("extent_what"),
    )
    return Figure(
        fig,
        alt=_say(
            "change_map_alt",
            label,
            a.primary,
            int((values > t.change_min).sum()),
            len(values),
            t.change_min,
            int((values == float("inf")).sum()),
            int((values < -t.change_min).sum()),
            extent,
        ),
        caption=_say("change_map_caption", label, a.primary, primary_reason(a)),
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
    label = MODE_LABELS[mode]
    extent = extent_sentence(
        a,
        np.logical_or.reduce(
            [_changed_mask(a, name, "min", mode, scenarios) for name in scenarios]
        ),
        _say("extent_what", True),
    )
    return Figure(
        fig,
        alt=_say("options_maps_alt", label, len(scenarios), extent),
        caption=_say("options_maps_caption", label),
    )


def rankings_by_mode(a) -> Table:
    """Each mode's ranking of the options (the lead mode's is the judgement; others beside it)."""
    rows = []
    for mode, ap in a.travel.appraisals.items():
        for r in ap.options.itertuples():
            rows.append(
                {
                    "Mode": _say("ranking_mode", MODE_LABELS[mode], mode == a.lead_mode),
                    "Option": r.option,
                    "Rank": int(r.rank),
                    "Equity-weighted person-minutes": fmt_int(r.score),
                    "Robust to thresholds halved and doubled": _say("yes_no", ap.robustness.holds),
                }
            )
    return Table(pd.DataFrame(rows), _say("rankings_caption"))


def access(a) -> Block:
    """The access part of the report in minutes: intro, a table per dimension, curves, map."""
    parts: list = [heading(_say("section_heading")), intro(a)]
    for dim in DIMENSIONS:
        if dim in a.area.weights:
            parts.append(Table(modes_table(a, dim), _say("table_caption", dim, a.primary)))
    parts.append(curves(a))
    return Block(*parts)


def headline(a) -> list[str]:
    """Headline sentences in minutes, one per mode (lead first), for the executive summary."""
    t = a.proposal.thresholds
    out = []
    for mode in a.travel.matrices:
        tables = a.travel.summaries[mode][a.primary]
        out.append(
            _say(
                "headline",
                MODE_LABELS[mode],
                mode == a.lead_mode,
                tables["imd_quintile"].iloc[-1],
                tables["core20"].iloc[0],
                t.minutes_for(mode),
            )
        )
    return out


def notes(a) -> list[str]:
    """Data-quality notes on each matrix: what was read, what was not reachable, what was unused."""
    return [
        _say("note", MODE_LABELS[mode], m.source, m.synthetic, m.info)
        for mode, m in a.travel.matrices.items()
    ]


def method_sentence(a) -> str:
    """The access method in one sentence, for the methods section."""
    return _say("method", _modes(a), MODE_LABELS[a.lead_mode])


def rules_sentence(a) -> str:
    """The access rating rules in minutes, with the lead mode's thresholds."""
    return _say("rules", MODE_LABELS[a.lead_mode], a.rules)


def threshold_items(a) -> dict[str, str]:
    """The journey-time thresholds per mode, for the report's parameters table."""
    t = a.proposal.thresholds
    out = {}
    for mode, matrix in a.travel.matrices.items():
        m, label, lead = t.for_mode(mode), MODE_LABELS[mode], mode == a.lead_mode
        for which in ("far", "change", "material", "matrix"):
            out[_say("threshold_name", label, which, lead)] = _say(
                "threshold_value", which, m, matrix
            )
    return out
