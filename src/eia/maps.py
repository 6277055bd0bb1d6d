"""Maps for the board: legible at A4, colour-blind-safe, a second cue beyond colour.

Each function returns a Matplotlib figure; show it with :func:`eia.show.figure`
together with alt text stating its main finding (see ``alt_*`` helpers).
Palettes: IMD deciles use *cividis* (readable with every common colour-vision
deficiency, ordered dark = most deprived); distance change uses ColorBrewer
*PuOr* (purple = nearer, orange = further), a diverging scheme safe for
colour-blind readers. Sites are told apart by marker shape, not colour alone.
"""

from __future__ import annotations

from contextlib import contextmanager

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

A4_WIDTH_IN = 7.0
CHANGE_BINS = (-np.inf, -5, -1, 1, 5, np.inf)
CHANGE_LABELS = (
    "> 5 km nearer",
    "1–5 km nearer",
    "within 1 km (little change)",
    "1–5 km further",
    "> 5 km further",
)
CHANGE_COLOURS = ("#542788", "#998ec3", "#f7f7f7", "#f1a340", "#b35806")
NO_SITE_NOTE = "no site"

plt.rcParams.update({"font.size": 9, "font.family": "DejaVu Sans", "svg.hashsalt": "eia"})


def _frame(ax) -> None:
    ax.set_axis_off()
    ax.set_aspect("equal")


def _sites(ax, sites: gpd.GeoDataFrame | None, marker: str, face: str, label: str):
    if sites is None or len(sites) == 0:
        return None
    ax.scatter(
        sites.geometry.x,
        sites.geometry.y,
        marker=marker,
        s=70,
        c=face,
        edgecolors="black",
        linewidths=1.2,
        zorder=5,
    )
    return Line2D(
        [],
        [],
        marker=marker,
        linestyle="none",
        markerfacecolor=face,
        markeredgecolor="black",
        markersize=8,
        label=label,
    )


def _legends(fig, handles, title: str, site_handles) -> None:
    """Legends outside the map on the right (constrained layout keeps them in the image)."""
    fig.legend(
        handles=handles + site_handles,
        title=title,
        loc="outside right upper",
        frameon=False,
        alignment="left",
    )


@contextmanager
def _no_idle_draw(fig):
    """Skip the figure render geopandas' ``plot`` asks for at its end (``canvas.draw_idle``).

    On the Agg canvas that request renders the whole figure at once, for nothing: the
    figure is rendered when it is saved. The saved image is the same, byte for byte.
    """
    canvas = fig.canvas
    canvas.draw_idle = lambda *args, **kwargs: None
    try:
        yield
    finally:
        del canvas.draw_idle


def _plot(ax, frame, **kwargs) -> None:
    """``frame.plot(ax=ax, **kwargs)`` without geopandas' extra render (:func:`_no_idle_draw`)."""
    with _no_idle_draw(ax.figure):
        frame.plot(ax=ax, **kwargs)


def area_outline(area: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The local authority outlines drawn over each map: the area's LSOAs dissolved by authority.

    Dissolving thousands of LSOAs takes a while: compute it once and pass it to each
    map as ``outline=`` (:meth:`eia.assessment.Assessment.outline` does).
    """
    return area.dissolve(by="ltla24_code") if "ltla24_code" in area else area


def _outline(ax, area: gpd.GeoDataFrame, lines: gpd.GeoDataFrame | None = None) -> None:
    lines = area_outline(area) if lines is None else lines
    _plot(ax, lines.boundary, color="#212b32", linewidth=0.6, zorder=3)


def imd_map(
    area: gpd.GeoDataFrame,
    current=None,
    proposed=None,
    *,
    title: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
):
    """IMD 2025 national decile of each LSOA, with current (●) and proposed (▲) sites.

    ``outline``: the area's :func:`area_outline`, if already computed.
    """
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, A4_WIDTH_IN * 0.8), layout="constrained")
    cmap = plt.get_cmap("cividis", 10)
    _plot(
        ax,
        area,
        column="imd_decile",
        cmap=cmap,
        vmin=0.5,
        vmax=10.5,
        linewidth=0.05,
        edgecolor="white",
    )
    _outline(ax, area, outline)
    handles = [
        Patch(
            facecolor=cmap(d - 1),
            edgecolor="#768692",
            label=f"{d}{' (most deprived)' if d == 1 else ''}"
            f"{' (least deprived)' if d == 10 else ''}",
        )
        for d in range(1, 11)
    ]
    site_handles = [
        h
        for h in (
            _sites(ax, current, "o", "white", "Current site"),
            _sites(ax, proposed, "^", "#ffb81c", "Proposed site"),
        )
        if h
    ]
    _legends(fig, handles, "IMD 2025 decile (national)", site_handles)
    if title:
        ax.set_title(title)
    _frame(ax)
    return fig


def change_classes(km_change: pd.Series) -> pd.Categorical:
    """Distance change (km) in the map's five classes."""
    return pd.cut(km_change, bins=list(CHANGE_BINS), labels=list(CHANGE_LABELS))


def change_map(
    area: gpd.GeoDataFrame,
    distances: pd.DataFrame,
    current=None,
    proposed=None,
    *,
    title: str | None = None,
    ax=None,
    legend: bool = True,
    outline: gpd.GeoDataFrame | None = None,
):
    """Change in distance to the nearest site per LSOA, in five classes, with sites.

    ``outline``: the area's :func:`area_outline`, if already computed.
    """
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, A4_WIDTH_IN * 0.8), layout="constrained")
    else:
        fig = ax.figure
    classes = change_classes(distances["km_change"].reset_index(drop=True))
    colours = dict(zip(CHANGE_LABELS, CHANGE_COLOURS, strict=True))
    facecolors = [colours[c] if isinstance(c, str) else "#d8dde0" for c in classes.astype(object)]
    _plot(ax, area, color=facecolors, linewidth=0.05, edgecolor="#aeb7bd")
    _outline(ax, area, outline)
    site_handles = [
        h
        for h in (
            _sites(ax, current, "o", "white", "Current site"),
            _sites(ax, proposed, "^", "#ffb81c", "Proposed site"),
        )
        if h
    ]
    if legend:
        patches = [
            Patch(facecolor=c, edgecolor="#768692", label=label) for label, c in colours.items()
        ]
        _legends(fig, patches, "Change in distance", site_handles)
    if title:
        ax.set_title(title)
    _frame(ax)
    return fig


def options_maps(
    area: gpd.GeoDataFrame,
    scenarios: dict[str, pd.DataFrame],
    current,
    proposed: dict[str, gpd.GeoDataFrame],
    *,
    outline: gpd.GeoDataFrame | None = None,
):
    """Small multiples: the change map for each option side by side, one shared legend.

    ``outline``: the area's :func:`area_outline`, if already computed (else computed once here).
    """
    lines = area_outline(area) if outline is None else outline
    n = len(scenarios)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(A4_WIDTH_IN, A4_WIDTH_IN * 0.45 * rows + 0.8), squeeze=False
    )
    for ax, (name, distances) in zip(axes.flat, scenarios.items(), strict=False):
        change_map(
            area, distances, current, proposed[name], title=name, ax=ax, legend=False, outline=lines
        )
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    patches = [
        Patch(facecolor=c, edgecolor="#768692", label=label)
        for label, c in zip(CHANGE_LABELS, CHANGE_COLOURS, strict=True)
    ]
    patches += [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="white",
            markeredgecolor="black",
            label="Current site",
        ),
        Line2D(
            [],
            [],
            marker="^",
            linestyle="none",
            markerfacecolor="#ffb81c",
            markeredgecolor="black",
            label="Proposed site",
        ),
    ]
    fig.legend(handles=patches, loc="lower center", ncol=4, frameon=False, fontsize=8)
    fig.subplots_adjust(bottom=0.18)
    return fig


def rate_map(
    area: gpd.GeoDataFrame,
    rate: pd.Series,
    *,
    label: str,
    title: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    withheld_label: str = "withheld (small numbers)",
):
    """A choropleth of a rate per LSOA in quintile classes, cividis palette; NaN = withheld.

    The classes are :func:`eia.disclosure.quantile_classes` of the shown rates (the
    ones :func:`eia.disclosure.protect_map` audits). ``outline``: the area's
    :func:`area_outline`, if already computed.
    """
    from eia.disclosure import quantile_classes

    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, A4_WIDTH_IN * 0.8), layout="constrained")
    values = rate.reindex(area["lsoa21_code"]).to_numpy(dtype=float)
    finite = np.isfinite(values)
    cmap = plt.get_cmap("cividis", 5)
    colours = np.full(len(values), "#d8dde0", dtype=object)
    patches = []
    if finite.any():
        classes, edges = quantile_classes(values[finite], k=5)
        colours[finite] = [to_hex(cmap(int(c))) for c in classes]
        lows = [values[finite].min(), *edges[:-1]]
        patches = [
            Patch(facecolor=cmap(i), edgecolor="#768692", label=f"{lo:,.1f} – {hi:,.1f}")
            for i, (lo, hi) in enumerate(zip(lows, edges, strict=True))
        ]
    _plot(ax, area, color=list(colours), linewidth=0.05, edgecolor="white")
    _outline(ax, area, outline)
    if (~finite).any():
        patches.append(Patch(facecolor="#d8dde0", edgecolor="#768692", label=withheld_label))
    _legends(fig, patches, label, [])
    if title:
        ax.set_title(title)
    _frame(ax)
    return fig


def bar_with_ci(
    frame: pd.DataFrame,
    *,
    value: str,
    lower: str,
    upper: str,
    label: str,
    reference: float | None = None,
    title: str | None = None,
):
    """Horizontal bars of a value per group with 95% interval whiskers (values labelled)."""
    height = 0.45 * len(frame) + 1.0
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, height))
    y = np.arange(len(frame))[::-1]
    vals = frame[value].to_numpy(dtype=float)
    err = np.vstack([vals - frame[lower].to_numpy(float), frame[upper].to_numpy(float) - vals])
    ax.barh(y, np.nan_to_num(vals), color="#005eb8", height=0.6)
    ax.errorbar(vals, y, xerr=np.nan_to_num(err), fmt="none", ecolor="#212b32", capsize=3)
    for yi, v in zip(y, vals, strict=True):
        ax.text(
            0 if np.isnan(v) else v,
            yi + 0.32,
            "withheld" if np.isnan(v) else f"{v:,.1f}",
            fontsize=8,
            va="bottom",
        )
    if reference is not None:
        ax.axvline(reference, color="#768692", linestyle="--", linewidth=1)
    ax.set_yticks(y, frame["group"].astype(str))
    ax.set_xlabel(label)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
