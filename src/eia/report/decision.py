"""The decision card: the report's first screen, rendered from the findings.

:func:`card` renders ``report/prose/decision_card.html.j2`` (Jinja2, autoescaped) from
:func:`card_context`: plain values taken from the assessment's
:class:`eia.findings.Findings` — what is proposed and where, the favoured option and the
reason, the trade-off table, who bears the most harm, the flags, how sure, what is missing
before sign-off. :func:`ratings_table` is the summary's ratings table: groups with a
material finding first, groups with nothing material in one line under it.

Nothing here decides: every judgement is read from ``a.findings``. The words are in the
templates; this module only formats numbers and names for them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from eia.analysis import impact
from eia.analysis.access import CORE20_LABELS
from eia.assessment import Assessment, build_findings
from eia.findings import Findings, compare
from eia.params.kinds import UNITS
from eia.report import summary as summary_mod
from eia.report.maps import site_roles
from eia.report.show import Block, Html, Table, fmt_int, notice_box
from eia.report.templating import PROSE, prose_environment
from eia.text import fmt_pct

__all__ = [
    "PROSE",
    "card",
    "card_context",
    "findings_context",
    "findings_of",
    "flag_rows",
    "net_per_resident",
    "options_judgement",
    "per_resident_value",
    "phrase",
    "ratings_table",
    "render",
    "RatingsSummary",
]

CORE20, REST = CORE20_LABELS

_ENV = prose_environment()


#: Plain-text templates (``*.txt.j2``): table cells and paragraphs the caller escapes.
_TEXT_ENV = prose_environment(autoescape=False)


def render(name: str, **context: Any) -> str:
    """Render the prose template ``name`` with ``context`` (autoescaped HTML)."""
    return _ENV.get_template(name).render(**context).strip()


def phrase(name: str, macro: str, *args: Any, **kwargs: Any) -> str:
    """Plain text from the macro ``macro`` of the text template ``name`` (``*.txt.j2``, not
    escaped: the caller's table or paragraph escapes it)."""
    return str(getattr(_TEXT_ENV.get_template(name).module, macro)(*args, **kwargs)).strip()


def findings_of(a: Assessment) -> Findings:
    """The assessment's findings (built once by :func:`eia.assessment.assess`)."""
    if a.findings is None:
        a.findings = build_findings(a)
    return a.findings


def group_name(group: str) -> str:
    """A group's name for the card: "Core20", "Black", "IMD quintile 4"."""
    if group == CORE20:
        return "Core20"
    if group == impact.ALL_RESIDENTS:
        return "all residents"
    short = summary_mod.short_group(group)
    return "Other ethnic group" if short == "Other" else short


def _flag_name(flag) -> dict[str, Any]:
    return {"name": group_name(flag.group), "net_gain": flag.net_gain}


def _per(value: float | None, unit: str) -> str:
    return summary_mod.per_resident(value, unit)


def _proposed(a: Assessment, f: Findings) -> str:
    """What is proposed and where, from the proposal's own fields (rendered by the template)."""
    p = a.proposal
    roles = {"new": [], "closing": [], "kept": 0}
    if a.access is not None and f.named_option in a.access.proposed and len(f.options) <= 1:
        frame = site_roles(a.access.current, a.access.proposed[f.named_option])
        roles = {
            "new": list(frame.loc[frame["role"] == "new", "name"]),
            "closing": list(frame.loc[frame["role"] == "closing", "name"]),
            "kept": int((frame["role"] == "kept").sum()),
        }
    return Markup(
        render(
            "proposed.j2",
            rates=a.kind.rates,
            title=p.title.rstrip("."),
            area=summary_mod.area_name(a),
            residents=summary_mod.residents(a),
            service=summary_mod.service_label(a) or "the service",
            options=[o.name for o in p.options],
            sites=p.sites is not None,
            roles=roles,
        )
    )


def _harm(h, unit: str) -> dict[str, Any] | None:
    if h is None:
        return None
    x = h.figures
    out: dict[str, Any] = {"basis": h.basis, "group": group_name(h.group)}
    if h.basis == "access":
        residents = x.get("residents") or 0.0
        out |= {
            "added": fmt_int(x.get("added")),
            "per_resident": _per(x.get("added_per_resident"), unit),
            "rest": _per(x.get("rest_added_per_resident"), unit),
            "newly_far": fmt_int(x["newly_far"]) if x.get("newly_far") else "",
            "newly_far_share": fmt_pct(x["newly_far"] / residents)
            if x.get("newly_far") and residents
            else "",
        }
    elif h.basis == "effect":
        change = x.get("expected_uptake_change_pct")
        gap = x.get("difference_pct_points")
        out |= {
            "change": f"{change:+.0f}%" if change is not None else "–",
            "gap": f"{abs(gap):.1f}" if gap is not None else "–",
        }
    else:
        rep = x.get("representation")
        out |= {"representation": f"{rep:.2f}" if rep is not None else "–"}
    return out


def net_per_resident(f: Findings, option: str, dimension: str, group: str) -> float | None:
    """A group's average net change per resident under ``option`` ((added − removed) /
    residents, in the findings' unit): the figure the favoured option's reason cites and
    the options table shows (:func:`eia.report.sections.options_table`)."""
    o = f.outcome(option, dimension, group)
    if o is None or not o.residents:
        return None
    return (o.added - o.removed) / o.residents


def per_resident_value(value: float | None) -> str:
    """An average per resident as the options table shows it (two decimals, signed when it
    saves: "1.08", "-0.20"); the card says the same figure with its unit."""
    if value is None:
        return "–"
    return f"{round(value, 2) + 0.0:.2f}"


def _average(value: float | None, unit: str) -> dict[str, Any]:
    """An average net change per resident for the words: its size and whether it saves."""
    if value is None:
        return {"value": "–", "saves": False}
    return {"value": _per(abs(value), unit), "saves": round(value, 2) < 0}


def _ranked_by(f: Findings, unit: str) -> dict[str, Any]:
    """The favoured option's and the runner-up's average net change per resident, for all
    residents and for Core20 residents (the two parts of the score)."""
    x, y = f.named_option, f.reason.figures.get("runner_up")
    out: dict[str, Any] = {"netted": False}
    for key, dim, group in (("all", "all", impact.ALL_RESIDENTS), ("core20", "core20", CORE20)):
        vx, vy = (net_per_resident(f, o, dim, group) if o else None for o in (x, y))
        if vx is None or vy is None:
            continue
        out[key] = {
            "named": _average(vx, unit),
            "runner_up": _average(vy, unit),
            "better": round(vx, 2) <= round(vy, 2),
        }
        # a saving for some residents is netted off: the figure is not the table's "added"
        out["netted"] |= any(f.outcome(o, dim, group).removed > 0 for o in (x, y))
    return out


def _table(f: Findings, unit: str) -> dict[str, Any] | None:
    """The trade-off table: all residents, Core20 and each ethnic group with a material
    difference between two options; per option, added per resident and newly far."""
    if not f.compared or not f.outcomes:
        return None
    options = list(f.options)
    material: set[str] = set()
    for i, x in enumerate(options):
        for y in options[i + 1 :]:
            material |= {g.group for g in compare(f, x, y) if g.material}
    keys = [("all", impact.ALL_RESIDENTS), ("core20", CORE20)]
    keys += [
        (o.dimension, o.group)
        for o in f.outcomes
        if o.option == options[0] and o.dimension == "ethnic_group" and o.group in material
    ]
    rows = []
    for dim, group in keys:
        outcomes = [f.outcome(o, dim, group) for o in options]
        if any(o is None for o in outcomes):
            continue
        per = [round(o.added_per_resident or 0.0, 6) for o in outcomes]
        far = [round(o.newly_far, 6) for o in outcomes]
        cells = []
        for k, o in enumerate(outcomes):
            cells.append({"value": _per(o.added_per_resident, unit), "better": _best(per, k)})
            cells.append({"value": fmt_int(o.newly_far), "better": _best(far, k)})
        rows.append(
            {
                "group": group_name(group).capitalize() if dim == "all" else group_name(group),
                "cells": cells,
            }
        )
    return {"options": options, "rows": rows}


def _best(values: list[float], k: int) -> bool:
    low = min(values)
    return values[k] == low and values.count(low) == 1


def _tradeoffs(f: Findings) -> list[dict[str, Any]]:
    """The named option's trade-offs against each option it does not dominate."""
    out = []
    for t in f.tradeoffs:
        if f.named_option not in (t.first, t.second):
            continue
        sides = []
        for option in (t.first, t.second):
            sides.append(
                {
                    "option": option,
                    "added": [group_name(g.group) for g in t.groups if g.better_added == option],
                    "newly_far": [
                        group_name(g.group) for g in t.groups if g.better_newly_far == option
                    ],
                }
            )
        out.append({"sides": sides})
    return out


def findings_context(f: Findings) -> dict[str, Any]:
    """The card's values that come from the findings alone (names, formatted figures)."""
    unit = str(f.thresholds.get("unit") or "km")
    far_value = f.thresholds.get("far")
    far = f"{far_value:g} {unit}" if far_value is not None else ""
    named = f.named_option
    flags = f.flags_for(named)
    reason = dict(f.reason.figures)
    if f.reason.code == "lower_score":
        reason |= {
            "score": fmt_int(abs(reason["score"])),
            "saves": reason["score"] < 0,
            "runner_up_score": fmt_int(abs(reason["runner_up_score"])),
            "runner_up_saves": reason["runner_up_score"] < 0,
            "weight": f"{reason['equity_weight']:g}",
            "averages": _ranked_by(f, unit),
        }
    said = set(reason.get("others", [])) if f.reason.code == "dominates" else set()
    robustness = f.robustness
    return {
        "named": named,
        "reason": {"code": f.reason.code, **reason},
        "dominance": [
            {"option": d.option, "dominates": [o for o in d.dominates if o not in said]}
            for d in f.dominance
            if [o for o in d.dominates if not (d.option == named and o in said)]
        ],
        "thing": UNITS[unit].measure,
        "unit": unit,
        "person_unit": impact.UNITS.get(unit, unit),
        "far": far,
        "change": f"{f.thresholds['change']:g} {unit}" if "change" in f.thresholds else "",
        "access": bool(f.outcomes),
        "under": f" under {named}" if f.compared and named else "",
        "tradeoffs": _tradeoffs(f),
        "table": _table(f, unit),
        "burden": _harm(f.harm("largest_burden"), unit),
        "disproportion": _harm(f.harm("largest_disproportion"), unit),
        "flags": {
            "protected": [_flag_name(x) for x in flags if x.protected],
            "other": [_flag_name(x) for x in flags if not x.protected],
        },
        "flag_total": len(flags),
        "marginal": sum(1 for x in flags if x.margin == "marginal"),
        "robustness": {
            "assessed": robustness.assessed,
            "holds": robustness.holds,
            "tried": robustness.tried,
            "flips": len(robustness.flips),
        },
        "missing": [{"code": m.code, **m.figures} for m in f.missing],
        "warnings": len(f.warnings),
    }


def card_context(a: Assessment) -> dict[str, Any]:
    """The plain values the decision card's templates need: :func:`findings_context` and what
    the proposal says (what is proposed and where, caveats, the population's name)."""
    f = findings_of(a)
    return findings_context(f) | {
        "proposed": _proposed(a, f),
        "population": a.uptake.result.population if a.uptake is not None else "residents",
        "measure": summary_mod.measure_noun(a.uptake.result) if a.uptake is not None else "",
        "rated": bool(len(a.rated.impacts)),
        "caveats": summary_mod.caveat_items(a),
    }


def card(a: Assessment) -> Html:
    """The decision card (HTML) for the top of the report."""
    return Html(render("decision_card.html.j2", c=card_context(a)))


# ---------------------------------------------------------------------------
# The summary's ratings table: material groups first, the rest in one line


class RatingsSummary(Block):
    """The summary's ratings table with the line under it; ``.table``, ``.frame`` and
    ``.caption`` are the table's (None when no group has a material finding)."""

    def __init__(self, table: Table | None, *parts):
        super().__init__(table, *parts)
        self.table = table
        self.frame = table.frame if table is not None else pd.DataFrame()
        self.caption = table.caption if table is not None else ""


def ratings_table(a: Assessment, rows: pd.DataFrame | None = None) -> RatingsSummary | None:
    """The named option's ratings: one row per group with a material finding (then groups not
    rated), the groups with nothing material named in one line under the table, then the
    input warnings and the proposal owner's words. IMD quintile 1 and Core20 are one row
    when they are the same people; a flag the findings do not count again (the rest of the
    area, quintile 1 beside Core20) is not shown as a flag here."""
    f = findings_of(a)
    if rows is None:
        rows = a.ratings(f.named_option) if len(a.rated.impacts) else a.rated.impacts
    extras = _after_table(a, f)
    if not len(rows):
        return RatingsSummary(None, *extras) if extras else None
    option = str(rows["option"].iloc[0])
    material, quiet = set(f.material_groups), set(f.quiet_groups)
    keys = list(zip(rows["dimension"], rows["group"], strict=True))
    skip = set()
    q1 = [i for i, k in enumerate(keys) if k == ("imd_quintile", impact.Q1_GROUP)]
    core = [i for i, k in enumerate(keys) if k == ("core20", CORE20)]
    if q1 and core and not impact.same_figures(rows.iloc[q1[0]], rows.iloc[core[0]]):
        skip.add(("imd_quintile", impact.Q1_GROUP))  # Core20 stands for them
    shown = [i for i, k in enumerate(keys) if k in material and k not in skip]
    unrated = [
        i for i, k in enumerate(keys) if k not in material and k not in quiet and k not in skip
    ]
    table = None
    if shown or unrated:
        chosen = impact.merge_core20(rows.iloc[shown + unrated]).copy()
        again = {(u.dimension, u.group) for u in f.uncounted if u.option == option}
        again.add(("imd_quintile", impact.MERGED_REST))
        chosen["disproportionate"] = [
            bool(d) and (dim, g) not in again
            for dim, g, d in zip(
                chosen["dimension"], chosen["group"], chosen["disproportionate"], strict=True
            )
        ]
        table = summary_mod.ratings_table(a, option, chosen)
    names = [_quiet_name(d, g) for d, g in keys if (d, g) in quiet and (d, g) not in skip]
    if ("core20", CORE20) in quiet and ("imd_quintile", impact.Q1_GROUP) in quiet:
        names.remove(_quiet_name("imd_quintile", impact.Q1_GROUP))  # the same people
    return RatingsSummary(table, Html(render("quiet_groups.html.j2", groups=names)), *extras)


def _quiet_name(dimension: str, group: str) -> str:
    name = group_name(group)
    if dimension == "imd_quintile" or group == CORE20:
        return name
    label = impact.DIMENSION_LABELS.get(dimension, dimension).split(" (")[0].lower()
    return f"{name} ({label})" if dimension not in ("ethnic_group",) else name


def _after_table(a: Assessment, f: Findings) -> list:
    parts: list = []
    if f.warnings:
        parts.append(
            notice_box(" ".join(summary_mod.board_warning(w) for w in f.warnings), "warning")
        )
    if a.proposal.description:
        parts.append(Html(render("owner_words.html.j2", description=a.proposal.description)))
    return parts


def options_judgement(a: Assessment) -> Html:
    """The options comparison's opening: which option leaves every group at least as well off
    as which (dominance on group outcomes, from the findings)."""
    f = findings_of(a)
    return Html(
        render(
            "options_judgement.html.j2",
            dominance=[{"option": d.option, "dominates": list(d.dominates)} for d in f.dominance],
        )
    )


def flag_rows(a: Assessment) -> list[dict[str, str]]:
    """Two rows for the options table: each option's counted flags among the groups the duty
    protects and among the others (from the findings)."""
    f = findings_of(a)
    rows = []
    for protected, label in ((True, "protected"), (False, "other")):
        row = {
            "Criterion": render("flag_row.j2", protected=protected),
            "Unit": "groups",
            "Better": "lower",
        }
        for option in f.options:
            row[option] = str(f.flag_counts(option)[label])
        rows.append(row)
    return rows
