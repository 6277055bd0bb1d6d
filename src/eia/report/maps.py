"""Maps for the board: legible at A4, colour-blind-safe, a second cue beyond colour.

Each function returns a Matplotlib figure; show it with :func:`eia.report.show.figure`
together with alt text stating its main finding (see ``alt_*`` helpers).
Palettes: IMD deciles use *cividis* (readable with every common colour-vision
deficiency, ordered dark = most deprived); distance change uses ColorBrewer
*PuOr* (purple = nearer, orange = further), a diverging scheme safe for
colour-blind readers. Sites are told apart by marker shape, not colour alone.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from functools import wraps

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from eia.align import by_lsoa
from eia.analysis.sites import site_key, site_roles
from eia.params.kinds import UNITS
from eia.population.area import area_outline
from eia.report import cartography, polygons
from eia.stats.disclosure import quantile_classes

A4_WIDTH_IN = 7.0
CHANGE_COLOURS = ("#542788", "#998ec3", "#f7f7f7", "#f1a340", "#b35806")
NO_SITE_NOTE = "no site"
NO_DATA = "#d8dde0"

#: Matplotlib settings for every figure here, applied inside each call (never at import).
STYLE = {"font.size": 9, "font.family": "DejaVu Sans", "svg.hashsalt": "eia"}

#: How each role of site is drawn: marker, face colour, legend label. Shapes differ, not
#: only colours, so the roles read in greyscale and for every colour-vision deficiency.
SITE_STYLES = {
    "kept": ("o", "white", "Site kept"),
    "closing": ("X", "#212b32", "Site closing"),
    "new": ("^", "#ffb81c", "New site"),
    "current": ("o", "white", "Current site"),
}
#: Okabe–Ito colours for the curves (safe for colour-blind readers), with line styles.
CURVE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, layout=None, **kwargs):
    """``plt.subplots`` on the object API: a :class:`~matplotlib.figure.Figure` that no
    pyplot state or backend knows about (nothing shown or kept after the caller is done)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)  # its own Agg canvas: renders to PNG, selects no global backend
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _styled(func):
    """Run a figure function inside :data:`STYLE` (no global state changed)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def site_handle(role: str) -> Line2D:
    """The legend entry for one role of site."""
    marker, face, label = SITE_STYLES[role]
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


def _draw_sites(ax, roles: gpd.GeoDataFrame, *, labels: bool = True, size: float = 70) -> list:
    """Sites by role (shape + colour) with their names, drawn once the layout is final
    (:func:`eia.report.cartography.finish`); the legend handles for the roles shown."""
    if roles is None or len(roles) == 0:
        return []
    cartography.draw_sites(ax, roles, SITE_STYLES, labels=labels, size=size)
    return [site_handle(r) for r in SITE_STYLES if (roles["role"] == r).any()]


def _legends(fig, handles, title: str, site_handles) -> None:
    """Legends outside the map on the right (constrained layout keeps them in the image)."""
    fig.legend(
        handles=handles + site_handles,
        title=title,
        loc="outside right upper",
        frameon=False,
        alignment="left",
    )


def _wrap_title(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width=width)) or str(text)


def _extent(area: gpd.GeoDataFrame, focus=None, roles=None) -> tuple:
    """(bounds, detached mask) of a panel: :func:`eia.report.cartography.focus_bounds` on ``focus``
    (the LSOAs that change) and the sites that close or open, detached parts left out."""
    apart = cartography.detached(area)
    points = []
    if roles is not None and len(roles):
        points = list(roles.geometry[roles["role"].isin(["closing", "new"]).to_numpy()])
    bounds = cartography.focus_bounds(area, focus, points, main=~apart)
    return bounds, apart


def _map_figure(bounds, *, n: int = 1, legend_in: float = 0.0, side_in: float = 0.0):
    """A figure at A4 width whose panels fit ``bounds`` (no blank band): ``n`` panels, two
    a row, ``side_in`` inches for a legend beside them or ``legend_in`` below."""
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    width = (A4_WIDTH_IN - side_in) / cols
    height = rows * (width * cartography.panel_aspect(bounds) + 0.35) + legend_in
    fig, axes = _subplots(
        rows, cols, figsize=(A4_WIDTH_IN, height), squeeze=False, layout="constrained"
    )
    for ax in list(axes.flat)[n:]:  # an odd number of panels leaves one cell empty
        ax.set_axis_off()
    return fig, axes


def _panel(
    ax, area, colours, roles, outline, places, bounds, apart, *, hatch=None, focus=None
) -> list:
    """One map panel: neighbourhoods filled with ``colours``, ``hatch`` (a mask) hatched,
    authorities, towns and sites, framed on ``bounds``; detached parts (``apart``) in an
    inset, a locator when zoomed in, a scale bar. Returns the sites' legend handles."""
    shapes = polygons.polygon_paths(area.geometry.to_numpy())

    def paint(target, rows=None) -> None:
        rows = np.ones(len(area), dtype=bool) if rows is None else rows
        polygons.add_polygons(
            target, shapes, rows, colours=list(colours), linewidth=0.05, edgecolor="white"
        )
        if hatch is not None:
            polygons.add_polygons(
                target,
                shapes,
                hatch & rows,
                merged=True,
                facecolor="none",
                edgecolor="#212b32",
                hatch="////",
                linewidth=0.0,
                zorder=2,
            )

    paint(ax)
    lines = area_outline(area) if outline is None else outline
    cartography.draw_authorities(ax, lines, bounds)
    cartography.set_bounds(ax, bounds)
    cartography.draw_towns(ax, places, bounds)
    weight = None if focus is None else np.where(focus, 4.0, 1.0)
    free = cartography.corners(ax, area, bounds, weight=weight)
    whole = area[~apart].total_bounds
    if cartography.bounds_area(bounds) < 0.5 * cartography.bounds_area(tuple(whole)):
        cartography.add_locator(ax, lines, bounds, free.pop(0))
    if apart.any():
        part = area[apart]
        names = sorted(set(part["ltla24_name"])) if "ltla24_name" in part else []

        def paint_part(inset) -> None:
            paint(inset, apart)
            if roles is not None and len(roles):
                _draw_sites(inset, roles, labels=True, size=40)

        cartography.add_detached_inset(ax, part, paint_part, free.pop(0), ", ".join(names))
    cartography.add_scale_bar(ax, free.pop(0))
    return _draw_sites(ax, roles)


def _imd_colours(area) -> list:
    cmap = matplotlib.colormaps["cividis"].resampled(10)
    return [to_hex(cmap(int(d) - 1)) for d in area["imd_decile"]]


def _imd_handles() -> list:
    cmap = matplotlib.colormaps["cividis"].resampled(10)
    return [
        Patch(
            facecolor=cmap(d - 1),
            edgecolor="#768692",
            label=f"{d}{' (most deprived)' if d == 1 else ''}"
            f"{' (least deprived)' if d == 10 else ''}",
        )
        for d in range(1, 11)
    ]


def _unique_handles(handles: list) -> list:
    seen, out = set(), []
    for h in handles:
        if h.get_label() not in seen:
            seen.add(h.get_label())
            out.append(h)
    return out


#: How a site's status under each option is written after its name on the deprivation map.
STATUS_MARKS = {"kept": "●", "closing": "✖", "new": "▲"}


def options_roles(current, proposed: Mapping) -> gpd.GeoDataFrame:
    """Every site of every option once, with its role on the one deprivation map and a label.

    The role is ``closing`` when any option closes the site, ``new`` when any opens it,
    else ``kept``; with two or more options, ``label`` is the name followed by the
    site's status under each option by number and symbol ("1 ● 2 ✖").
    """
    frames = {name: site_roles(current, sites) for name, sites in proposed.items()}
    rows: dict[str, dict] = {}
    for i, (_, roles) in enumerate(frames.items(), start=1):
        for name, role, point in zip(roles["name"], roles["role"], roles.geometry, strict=True):
            row = rows.setdefault(site_key(name), {"name": name, "point": point, "status": {}})
            row["status"][i] = role
    out = []
    for row in rows.values():
        status = row["status"]
        role = next((r for r in ("closing", "new") if r in status.values()), "kept")
        if len(frames) > 1:
            marks = " ".join(
                f"{i} {STATUS_MARKS.get(status.get(i, ''), '–')}" for i in range(1, len(frames) + 1)
            )
            label = f"{row['name']}  {marks}"
        else:
            label = row["name"]
        out.append((row["name"], role, label, row["point"]))
    crs = current.crs if current is not None else None
    return gpd.GeoDataFrame(
        {
            "name": [r[0] for r in out],
            "role": [r[1] for r in out],
            "label": [r[2] for r in out],
        },
        geometry=[r[3] for r in out],
        crs=crs,
    )


@_styled
def imd_map(
    area: gpd.GeoDataFrame,
    current=None,
    proposed=None,
    *,
    title: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    places: pd.DataFrame | None = None,
):
    """IMD 2025 national decile of each LSOA, in one panel, with every site by its role.

    ``proposed`` is one scenario's sites (a GeoDataFrame) or ``{option: sites}``: with
    several options each site is labelled with its status under each option, by number
    and symbol (:func:`options_roles`), and the legend numbers the options.
    ``outline``: the area's :func:`area_outline`; ``places``: :func:`eia.population.places.towns`.
    """
    if isinstance(proposed, Mapping) and len(proposed) > 1:
        roles = options_roles(current, proposed)
        numbered = [
            Line2D([], [], linestyle="none", label=f"{i} {_wrap_title(name, 30)}")
            for i, name in enumerate(proposed, start=1)
        ]
        numbered.insert(0, Line2D([], [], linestyle="none", label="Options (after names):"))
        numbered.append(Line2D([], [], linestyle="none", label="● kept  ✖ closing  ▲ new  – none"))
    else:
        if isinstance(proposed, Mapping):
            proposed = next(iter(proposed.values()), None)
        roles = site_roles(current, proposed)
        numbered = []
    bounds, apart = _extent(area)
    fig, axes = _map_figure(bounds, side_in=2.3)
    ax = axes[0, 0]
    site_handles = _panel(ax, area, _imd_colours(area), roles, outline, places, bounds, apart)
    _legends(fig, _imd_handles(), "IMD 2025 decile (national)", site_handles + numbered)
    if title:
        ax.set_title(title)
    cartography.finish(fig)
    return fig


def change_bands(threshold: float, outer: float | None = None) -> tuple[float, float]:
    """The two cut points of the change classes: the proposal's change threshold, and an
    outer cut (the far-from-a-site threshold when larger, else five times the change)."""
    outer = outer if outer is not None and outer > threshold else 5 * threshold
    return float(threshold), float(outer)


def change_labels(threshold: float = 1.0, outer: float | None = None, unit: str = "km") -> tuple:
    """Legend labels of the five change classes, nearest first."""
    t, o = change_bands(threshold, outer)
    nearer, further = UNITS[unit].less, UNITS[unit].more
    return (
        f"more than {o:g} {unit} {nearer}",
        f"{t:g}–{o:g} {unit} {nearer}",
        f"within {t:g} {unit} (little change)",
        f"{t:g}–{o:g} {unit} {further}",
        f"more than {o:g} {unit} {further}",
    )


def change_classes(
    change: pd.Series, threshold: float = 1.0, outer: float | None = None, unit: str = "km"
) -> pd.Categorical:
    """Each change in the five classes of :func:`change_labels`.

    The classes follow the ratings exactly: a change counts as further (or nearer)
    only when it is *more than* ``threshold``, as in :func:`eia.analysis.impact.rate_access`.
    Missing changes stay missing.
    """
    t, o = change_bands(threshold, outer)
    values = pd.to_numeric(pd.Series(change), errors="coerce").to_numpy(dtype=float)
    labels = change_labels(threshold, outer, unit)
    codes = np.select(
        [values < -o, values < -t, values <= t, values <= o, values > o], [0, 1, 2, 3, 4], -1
    )
    return pd.Categorical.from_codes(codes, categories=list(labels))


def _change_colours(change, threshold, outer, unit) -> list:
    classes = change_classes(change, threshold, outer, unit)
    return [CHANGE_COLOURS[c] if c >= 0 else NO_DATA for c in np.asarray(classes.codes, dtype=int)]


def _changed(change, threshold, outer, unit) -> np.ndarray:
    """True for the LSOAs whose change counts (not in the middle class, not missing)."""
    codes = np.asarray(change_classes(change, threshold, outer, unit).codes, dtype=int)
    return (codes >= 0) & (codes != 2)


def _core20(area, deprivation: bool):
    if deprivation and "core20" in area and area["core20"].any():
        return area["core20"].astype(bool).to_numpy()
    return None


def _change_handles(threshold, outer, unit, deprivation: bool) -> list:
    patches = [
        Patch(facecolor=c, edgecolor="#768692", label=label)
        for label, c in zip(change_labels(threshold, outer, unit), CHANGE_COLOURS, strict=True)
    ]
    if deprivation:
        patches.append(
            Patch(
                facecolor="white",
                edgecolor="#212b32",
                hatch="////",
                label="Core20 (most deprived 20% in England)",
            )
        )
    return patches


@_styled
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
    threshold: float = 1.0,
    outer: float | None = None,
    unit: str = "km",
    column: str = "km_change",
    deprivation: bool = True,
    places: pd.DataFrame | None = None,
):
    """Change per LSOA (distance in km, or time in min) in five classes cut at the proposal's
    own thresholds, with Core20 neighbourhoods hatched over it and sites labelled by role.

    ``threshold`` is the change that counts (``thresholds.change_km``); ``outer`` the
    second cut (see :func:`change_bands`); ``column`` the change column of
    ``distances``, whose ``lsoa21_code`` aligns it to ``area``. ``outline``: the
    area's :func:`area_outline`, if already computed; ``places``: :func:`eia.population.places.towns`.
    The map is framed on the neighbourhoods whose change counts (with a locator of
    the whole area), detached parts of the area in an inset.
    """
    change = _aligned(area, distances, column)
    roles = site_roles(current, proposed)
    bounds, apart = _extent(area, _changed(change, threshold, outer, unit), roles)
    if ax is None:
        fig, axes = _map_figure(bounds, side_in=2.4 if legend else 0.0)
        ax = axes[0, 0]
    else:
        fig = ax.figure
    site_handles = _panel(
        ax,
        area,
        _change_colours(change, threshold, outer, unit),
        roles,
        outline,
        places,
        bounds,
        apart,
        hatch=_core20(area, deprivation),
        focus=_changed(change, threshold, outer, unit),
    )
    if legend:
        what = UNITS[unit].measure
        _legends(
            fig,
            _change_handles(threshold, outer, unit, deprivation),
            f"Change in {what}",
            site_handles,
        )
    if title:
        ax.set_title(title)
    cartography.finish(fig)
    return fig


def _aligned(area: gpd.GeoDataFrame, frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` in the order of ``area``'s LSOAs (by ``lsoa21_code``, not position).

    Raises :class:`~eia.errors.DataMismatchError` when ``frame`` does not cover
    exactly the area's LSOAs.
    """
    keyed = by_lsoa(frame, "the mapped frame", area["lsoa21_code"])
    return keyed[column].reset_index(drop=True)


@_styled
def options_maps(
    area: gpd.GeoDataFrame,
    scenarios: dict[str, pd.DataFrame],
    current,
    proposed: dict[str, gpd.GeoDataFrame],
    *,
    outline: gpd.GeoDataFrame | None = None,
    threshold: float = 1.0,
    outer: float | None = None,
    unit: str = "km",
    column: str = "km_change",
    deprivation: bool = True,
    places: pd.DataFrame | None = None,
):
    """Small multiples: each option's change map with that option's own sites, one legend.

    Two panels a row, titles wrapped so they never overlap, all framed alike on the
    neighbourhoods any option changes. ``outline``: the area's :func:`area_outline`, if
    already computed (else computed once here); ``places``: :func:`eia.population.places.towns`.
    """
    lines = area_outline(area) if outline is None else outline
    changes = {name: _aligned(area, d, column) for name, d in scenarios.items()}
    changed = np.zeros(len(area), dtype=bool)
    every = [site_roles(current, proposed[name]) for name in scenarios]
    for change in changes.values():
        changed |= _changed(change, threshold, outer, unit)
    bounds, apart = _extent(area, changed, pd.concat(every) if every else None)
    fig, axes = _map_figure(bounds, n=len(scenarios), legend_in=1.0)
    handles: list = []
    for ax, roles, (name, change) in zip(axes.flat, every, changes.items(), strict=False):
        handles += _panel(
            ax,
            area,
            _change_colours(change, threshold, outer, unit),
            roles,
            lines,
            places,
            bounds,
            apart,
            hatch=_core20(area, deprivation),
            focus=changed,
        )
        ax.set_title(_wrap_title(name, 38), fontsize=9, loc="left")
    fig.legend(
        handles=_change_handles(threshold, outer, unit, deprivation) + _unique_handles(handles),
        loc="outside lower center",
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    cartography.finish(fig)
    return fig


def cumulative_shares(
    before: pd.Series,
    after: pd.Series,
    weights: pd.DataFrame,
    grid: np.ndarray | None = None,
) -> pd.DataFrame:
    """Share of each group living within x of a site (km or min), before and after.

    ``before``/``after``: per-LSOA distance (or time) indexed by ``lsoa21_code``;
    ``weights``: LSOA × group people (indexed by ``lsoa21_code``). Returns a long
    frame ``group, when ("now"/"after"), x, share``; LSOAs are aligned by code.
    """
    codes = weights.index
    b = pd.Series(before).reindex(codes).to_numpy(dtype=float)
    a = pd.Series(after).reindex(codes).to_numpy(dtype=float)
    finite = np.concatenate([b[np.isfinite(b)], a[np.isfinite(a)]])
    if grid is None:
        top = float(np.nanpercentile(finite, 99.5)) if len(finite) else 1.0
        grid = np.linspace(0, max(top, 1e-9) * 1.05, 200)
    rows = []
    w = weights.to_numpy(dtype=float)
    for when, values in (("now", b), ("after", a)):
        order = np.argsort(values, kind="stable")
        sorted_v = values[order]
        cum = np.cumsum(w[order], axis=0)
        totals = w.sum(axis=0)
        idx = np.searchsorted(sorted_v, grid, side="right")
        for j, group in enumerate(weights.columns):
            within = np.where(idx > 0, cum[np.maximum(idx - 1, 0), j], 0.0)
            share = within / totals[j] if totals[j] else np.full(len(grid), np.nan)
            rows.append(
                pd.DataFrame({"group": str(group), "when": when, "x": grid, "share": share})
            )
    return pd.concat(rows, ignore_index=True)


def share_within(values: pd.Series, weights: pd.Series, limit: float) -> float:
    """Share of people (``weights``, aligned by index) whose value is at most ``limit``."""
    v = pd.Series(values).reindex(weights.index).to_numpy(dtype=float)
    w = weights.to_numpy(dtype=float)
    return float(w[v <= limit].sum() / w.sum()) if w.sum() else float("nan")


@_styled
def cumulative_curves(
    curves: pd.DataFrame,
    *,
    unit: str = "km",
    limit: float | None = None,
    title: str | None = None,
):
    """The curve planners use: share of each group within x of a site, now (dashed) and
    after (solid), one colour and marker per group; ``limit`` draws the far threshold.

    ``curves`` is :func:`cumulative_shares`'s frame.
    """
    fig, ax = _subplots(figsize=(A4_WIDTH_IN, A4_WIDTH_IN * 0.55), layout="constrained")
    markers = ("o", "s", "D", "v", "P", "X")
    for i, group in enumerate(dict.fromkeys(curves["group"])):
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        for when, style in (("now", "--"), ("after", "-")):
            part = curves[(curves["group"] == group) & (curves["when"] == when)]
            ax.plot(
                part["x"],
                100 * part["share"],
                linestyle=style,
                color=colour,
                linewidth=1.8 if when == "after" else 1.3,
                marker=markers[i % len(markers)],
                markevery=max(len(part) // 8, 1),
                markersize=4,
                label=f"{group}: {'now' if when == 'now' else 'after'}",
            )
    if limit is not None:
        ax.axvline(limit, color="#768692", linestyle=":", linewidth=1)
        ax.annotate(
            f"{limit:g} {unit}",
            (limit, 2),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            color="#425563",
        )
    what = f"{UNITS[unit].measure.capitalize()} to the nearest site"
    ax.set_xlabel(f"{what} ({unit})")
    ax.set_ylabel("Share of residents within this (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(True, color="#e8edee", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    if title:
        ax.set_title(_wrap_title(title, 70), fontsize=9, loc="left")
    return fig


@_styled
def rate_map(
    area: gpd.GeoDataFrame,
    rate: pd.Series,
    *,
    label: str,
    title: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    withheld_label: str = "withheld (small numbers)",
    sites: gpd.GeoDataFrame | None = None,
    places: pd.DataFrame | None = None,
):
    """A choropleth of a rate per LSOA in quintile classes, cividis palette; NaN = withheld.

    The classes are :func:`eia.stats.disclosure.quantile_classes` of the shown rates (the
    ones :func:`eia.stats.disclosure.protect_map` audits). ``outline``: the area's
    :func:`area_outline`, if already computed; ``sites``: the service's sites (``name``,
    points), drawn as current sites; ``places``: :func:`eia.population.places.towns`.
    """
    values = rate.reindex(area["lsoa21_code"]).to_numpy(dtype=float)
    finite = np.isfinite(values)
    cmap = matplotlib.colormaps["cividis"].resampled(5)
    colours = np.full(len(values), NO_DATA, dtype=object)
    patches = []
    if finite.any():
        classes, edges = quantile_classes(values[finite], k=5)
        colours[finite] = [to_hex(cmap(int(c))) for c in classes]
        lows = [values[finite].min(), *edges[:-1]]
        patches = [
            Patch(facecolor=cmap(i), edgecolor="#768692", label=f"{lo:,.1f} – {hi:,.1f}")
            for i, (lo, hi) in enumerate(zip(lows, edges, strict=True))
        ]
    if (~finite).any():
        patches.append(Patch(facecolor=NO_DATA, edgecolor="#768692", label=withheld_label))
    roles = site_roles(sites, None) if sites is not None else None
    bounds, apart = _extent(area)
    fig, axes = _map_figure(bounds, side_in=2.3)
    ax = axes[0, 0]
    site_handles = _panel(ax, area, list(colours), roles, outline, places, bounds, apart)
    _legends(fig, patches, label, site_handles)
    if title:
        ax.set_title(title)
    cartography.finish(fig)
    return fig


@_styled
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
    fig, ax = _subplots(figsize=(A4_WIDTH_IN, height))
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
