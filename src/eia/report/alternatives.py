"""The report's "Alternatives considered" section: the equity frontier and the options on it.

Shown only when the proposal has an ``explore:`` block (:mod:`eia.analysis.frontier`).
The figures come from :class:`eia.analysis.frontier.Frontier`; the sentences from the
Jinja2 template ``prose/frontier.j2``. One chart — all residents against Core20
residents, each set a point, the best trade-off of each size drawn, the options
labelled — with its alt text in words and the same figures as a table.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from eia.analysis.frontier import Frontier
from eia.analysis.impact import ALL_RESIDENTS
from eia.assessment import Assessment
from eia.population.area import ETHNIC_SHORT
from eia.report import maps
from eia.report.show import Block, Figure, Html, Table, heading
from eia.report.wording import amount, render_part

__all__ = ["chart", "frame", "prose", "section"]

CORE20 = "Core20 (IMD deciles 1-2)"
#: The parts of ``prose/frontier.j2`` that are plain text (figure alt text, captions).
TEXT_PARTS = ("alt", "caption", "thing", "table_caption", "detail_caption", "column", "chart")


def prose(part: str, **data) -> str:
    """One part of the section's words from ``prose/frontier.j2``, rendered through the report's
    one Jinja2 environment (:mod:`eia.report.wording`): ``intro``, ``option``, ``caveat`` are
    HTML; the :data:`TEXT_PARTS` (alt text, captions, column names, chart labels) plain text,
    escaped where the table or figure is drawn."""
    return render_part("frontier.j2", escape=part not in TEXT_PARTS, part=part, **data)


def _short(group: str) -> str:
    if group == ALL_RESIDENTS:
        return "All residents"
    if group == CORE20:
        return "Core20"
    return ETHNIC_SHORT.get(group, group)


def frame(f: Frontier, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """The chart's figures as a table: each frontier set, each set on a size's best trade-off,
    and each option, for all residents and Core20 (``data``: :meth:`Frontier.chart_data`)."""
    data = f.chart_data() if data is None else data
    data = data[(data["kind"] == "option") | data["frontier"] | data["tradeoff"]]
    now = ", ".join(s for s in f.candidates if s in f.current)

    def column(which: str, **more) -> str:
        return prose("column", which=which, unit=f.unit, **more)

    out = pd.DataFrame(
        {
            column("set"): data["label"],
            column("sites"): [column("current", names=s) if s == now else s for s in data["sites"]],
            column("size"): data["size"],
            column("all"): data["all_residents"].map(lambda v: amount(v, f.unit)),
            column("core20"): data["core20"].map(lambda v: amount(v, f.unit)),
            column("frontier"): [column("yes_no", value=bool(v)) for v in data["frontier"]],
        }
    )
    return out.reset_index(drop=True)


def chart(f: Frontier) -> Figure:
    """All residents against Core20 residents: every set a point, each size's trade-off drawn."""
    data = f.chart_data()
    with matplotlib.rc_context(maps.STYLE):
        fig, ax = maps._subplots(
            figsize=(maps.A4_WIDTH_IN, maps.A4_WIDTH_IN * 0.6), layout="constrained"
        )
        markers = ("o", "s", "D", "^", "v", "P")
        if f.points is not None:
            ax.scatter(
                f.points["all_residents"],
                f.points["core20"],
                s=4,
                color="#aeb7bd",
                rasterized=True,
                label=prose("chart", which="every"),
                linewidths=0,
            )
        for i, size in enumerate(sorted(data.loc[data["kind"] == "set", "size"].unique())):
            colour = maps.CURVE_COLOURS[i % len(maps.CURVE_COLOURS)]
            sets = data[(data["kind"] == "set") & (data["size"] == size)]
            line = sets[sets["tradeoff"]].sort_values(["all_residents", "core20"])
            ax.step(
                line["all_residents"],
                line["core20"],
                where="post",
                color=colour,
                linewidth=1.5,
                label=prose("chart", which="tradeoff", size=size),
            )
            ax.scatter(
                sets["all_residents"],
                sets["core20"],
                marker=markers[i % len(markers)],
                s=np.where(sets["frontier"], 40, 18),
                facecolor=np.where(sets["frontier"], colour, "white"),
                edgecolor=colour,
                zorder=3,
                label=prose("chart", which="sets", size=size),
            )
        options = data[data["kind"] == "option"]
        ax.scatter(
            options["all_residents"],
            options["core20"],
            marker="X",
            s=70,
            color="#212b32",
            zorder=4,
            label=prose("chart", which="options"),
        )
        for row in options.itertuples():
            ax.annotate(
                row.label,
                (row.all_residents, row.core20),
                xytext=(6, 4),
                textcoords="offset points",
                fontsize=8,
            )
        ax.axhline(0, color="#768692", linewidth=0.6, linestyle=":")
        ax.axvline(0, color="#768692", linewidth=0.6, linestyle=":")
        thing = prose("thing", unit=f.unit)
        ax.set_xlabel(prose("chart", which="x", thing=thing, unit=f.unit))
        ax.set_ylabel(prose("chart", which="y", unit=f.unit))
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    options = f.options
    alt = prose(
        "alt",
        unit=f.unit,
        thing=prose("thing", unit=f.unit),
        n_points=len(f.points) if f.points is not None else len(f.sets),
        n_frontier=int(f.sets["frontier"].sum()),
        options=[
            {
                "option": r["option"],
                "all": r[f.criterion("change", ALL_RESIDENTS)],
                "core20": r[f.criterion("change", CORE20)],
                "on_frontier": bool(r["on_frontier"]),
                "dominated_by": list(r["dominated_by_sets"]),
            }
            for _, r in options.iterrows()
        ],
    )
    caption = prose("caption", keep=f.keep, points_shown=f.points is not None)
    return Figure(fig, alt=alt, caption=caption)


def _option_words(f: Frontier, row: pd.Series) -> str:
    sets = f.sets.set_index("set")
    best = None
    if row["dominated_by_sets"]:
        gains = {
            label: float(row[f.criterion("change", CORE20)])
            - float(sets.loc[label, f.criterion("change", CORE20)])
            for label in row["dominated_by_sets"]
        }
        label = max(gains, key=gains.get)  # the set that does most for Core20 residents
        best = {
            "set": label,
            "sites": list(sets.loc[label, "sites"]),
            "all": float(sets.loc[label, f.criterion("change", ALL_RESIDENTS)])
            - float(row[f.criterion("change", ALL_RESIDENTS)]),
            "core20": -gains[label],
            "far_all": float(row[f.criterion("far", ALL_RESIDENTS)])
            - float(sets.loc[label, f.criterion("far", ALL_RESIDENTS)]),
        }
    return prose(
        "option",
        option=row["option"],
        option_sites=list(row["sites"]),
        size=int(row["size"]),
        keep=f.keep,
        unit=f.unit,
        far=f.far,
        on_frontier=bool(row["on_frontier"]),
        dominated_by=list(row["dominated_by_sets"]),
        not_candidates=not all(s in f.candidates for s in row["sites"]),
        best=best,
        same_size=len(f.keep) > 1 and int(row["size"]) in f.keep,
        same_size_by=list(row["dominated_by_same_size"]),
        on_size_frontier=bool(row["on_size_frontier"]),
    )


def dominance_table(f: Frontier, option: str) -> pd.DataFrame:
    """By how much each frontier set that dominates ``option`` is better, per group (rows)."""
    table = f.dominance(option)
    if not len(table):
        return pd.DataFrame()
    wide = table.pivot_table(
        index="group", columns=["set", "measure"], values="difference", sort=False
    )
    out = pd.DataFrame({prose("column", which="group"): [_short(g) for g in wide.index]})
    for label in dict.fromkeys(table["set"]):
        out[prose("column", which="set_change", set=label, unit=f.unit)] = [
            amount(v, f.unit) for v in wide[(label, "change")]
        ]
        out[prose("column", which="set_far", set=label, unit=f.unit, far=f.far)] = [
            prose("column", which="points", value=v) for v in wide[(label, "far")]
        ]
    return out


def section(a: Assessment, data: pd.DataFrame | None = None) -> Block | None:
    """ "Alternatives considered": the frontier, the chart, its table and each option placed.

    None when the proposal has no ``explore:`` block (the section is not shown). ``data``
    is :meth:`eia.analysis.frontier.Frontier.chart_data` (computed when not given).
    """
    f = a.frontier
    if f is None:
        return None
    data = frame(f, data)
    parts: list = [
        heading("Alternatives considered", 2),
        Html(
            prose(
                "intro",
                keep=f.keep,
                candidates=f.candidates,
                must_keep=f.must_keep,
                thing=prose("thing", unit=f.unit),
                far=f.far,
                unit=f.unit,
                change_limit=f.change,
                n_frontier=int(f.sets["frontier"].sum()),
                n_feasible=f.n_feasible,
                method=f.method,
                seconds=f.seconds,
                complete=f.complete,
                sizes_compared=len(f.keep) > 1,
            )
        ),
        chart(f),
        Table(
            data,
            prose("table_caption", unit=f.unit),
        ),
    ]
    for _, row in f.options.iterrows():
        parts.append(Html(_option_words(f, row)))
        detail = dominance_table(f, row["option"])
        if len(detail):
            parts.append(
                Table(
                    detail,
                    prose("detail_caption", option=row["option"]),
                )
            )
    parts.append(Html(prose("caveat")))
    return Block(*parts)
