"""Map furniture for the report's maps: framing, insets, scale bar, place names, site labels.

:mod:`eia.report.maps` fills the neighbourhoods; this module makes the result readable on
an A4 page, offline (no web tiles):

- :func:`detached` finds parts of an area far from the rest (the Isles of Scilly in
  Cornwall's ICB), which go in an inset (:func:`add_detached_inset`) instead of
  shrinking the main map;
- :func:`focus_bounds` frames a map on what matters (the neighbourhoods whose access
  changes, and the sites that open or close), with a small locator of the whole
  area (:func:`add_locator`) when the map is zoomed in;
- :func:`add_scale_bar` (matplotlib-scalebar: the pack's projection is metres);
- :func:`draw_authorities` draws local authority boundaries lightly, with names, and
  :func:`draw_towns` names the largest towns in view (:func:`eia.population.places.towns`);
- :func:`draw_sites` draws sites by role, pulling apart markers that would hide each
  other (a new site beside a closing one), and labels them without overlap, with
  leader lines (adjustText), once the figure's layout is final (:func:`finish`).

Insets go in the emptiest corners of the panel (:func:`corners`).
"""

from __future__ import annotations

import hashlib
import textwrap
from collections import OrderedDict
from collections.abc import Callable, Sequence

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.patches import FancyArrowPatch, Rectangle

from eia.report.show import relayout

__all__ = [
    "DETACHED_GAP_M",
    "add_detached_inset",
    "add_locator",
    "add_scale_bar",
    "bounds_area",
    "corners",
    "detached",
    "draw_authorities",
    "draw_sites",
    "draw_towns",
    "finish",
    "focus_bounds",
    "label_boxes",
    "panel_aspect",
    "relayout",
    "set_bounds",
]

#: A part of an area further than this from the rest is detached (drawn in an inset).
DETACHED_GAP_M = 15_000
#: ... and only when it holds at most this share of the area's neighbourhoods.
DETACHED_MAX_SHARE = 0.05
#: The main map zooms in only when the focus covers less than this share of the area's extent.
ZOOM_BELOW = 0.6
#: Markers closer than this (points on the page) are pulled apart, with a leader to the site.
MARKER_GAP_PT = 11.0
#: Sites labelled on one panel at most (more would clutter; the table names them all).
LABEL_MAX_SITES = 12
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
LIGHT = "#768692"
#: How a site's label is joined to its site when adjustText moves it away.
LEADER = {"arrowstyle": "-", "color": "#425563", "linewidth": 0.5}
#: adjustText's settings for site labels (room around each label, time allowed).
LABELLING = {"expand": (1.15, 1.35), "time_lim": 1.0, "min_arrow_len": 8}

Bounds = tuple[float, float, float, float]


def detached(area: gpd.GeoDataFrame, gap_m: float = DETACHED_GAP_M) -> np.ndarray:
    """True for the LSOAs in small parts of the area far (``gap_m``) from its main body.

    Parts are LSOAs linked by chains of neighbours less than ``gap_m`` apart; the
    part with most LSOAs is the main body, and another part is detached when it holds
    at most :data:`DETACHED_MAX_SHARE` of the LSOAs.

    Every map of a run and its alt text ask this of the same area (six times a run, 10 ms
    each): the answer is remembered for the last few areas, keyed by a digest of the
    geometries themselves (their WKB), so a changed geometry is a new area.
    """
    key = (_digest(area.geometry.to_numpy()), float(gap_m))
    if key not in _DETACHED:
        _DETACHED[key] = _detached(area, gap_m)
        while len(_DETACHED) > 8:
            _DETACHED.popitem(last=False)
    return _DETACHED[key].copy()


#: :func:`detached` of the last few areas, by (geometry digest, gap).
_DETACHED: OrderedDict[tuple[bytes, float], np.ndarray] = OrderedDict()


def _digest(geoms: np.ndarray) -> bytes:
    """A digest of geometries' shapes (WKB, in order; missing ones count too)."""
    from shapely import to_wkb

    digest = hashlib.blake2b(len(geoms).to_bytes(8, "little"))
    for wkb in to_wkb(geoms):
        wkb = b"" if wkb is None else wkb
        digest.update(len(wkb).to_bytes(8, "little"))
        digest.update(wkb)
    return digest.digest()


def _detached(area: gpd.GeoDataFrame, gap_m: float) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from shapely import STRtree

    n = len(area)
    if n < 2:
        return np.zeros(n, dtype=bool)
    geoms = area.geometry.to_numpy()
    tree = STRtree(geoms)
    # Every pair within gap_m would be most pairs of an urban area (0.6 s a call for
    # Nottingham). The same parts, found cheaply: neighbours that touch first (touching is
    # within any gap), then pairs within gap_m only from LSOAs outside the largest touching
    # group, which finds every link between different groups; links inside a group change
    # nothing. The parts, and so the labels scipy gives them, are those of all pairs.
    left, right = tree.query(geoms, predicate="intersects")

    def parts(left: np.ndarray, right: np.ndarray) -> tuple[int, np.ndarray]:
        graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
        return connected_components(graph, directed=False)

    count, labels = parts(left, right)
    if count > 1:
        rest = np.flatnonzero(labels != np.argmax(np.bincount(labels)))
        near_left, near_right = tree.query(geoms[rest], predicate="dwithin", distance=gap_m)
        _, labels = parts(
            np.concatenate([left, rest[near_left]]), np.concatenate([right, near_right])
        )
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    small = sizes <= DETACHED_MAX_SHARE * n
    return (labels != main) & small[labels]


def _bounds_of(xs: np.ndarray, ys: np.ndarray) -> Bounds:
    return float(np.min(xs)), float(np.min(ys)), float(np.max(xs)), float(np.max(ys))


def focus_bounds(
    area: gpd.GeoDataFrame,
    focus: np.ndarray | None = None,
    points: Sequence = (),
    *,
    main: np.ndarray | None = None,
    pad: float = 0.08,
    min_m: float = 6_000,
) -> Bounds:
    """The extent a panel shows: the ``focus`` LSOAs and ``points`` (sites) within the main
    body (``main``), padded; the whole main body when nothing is in focus or the focus
    covers most of it (:data:`ZOOM_BELOW`). At least ``min_m`` across."""
    main = np.ones(len(area), dtype=bool) if main is None else np.asarray(main, dtype=bool)
    whole = area.geometry[main].total_bounds
    chosen = None
    if focus is not None and (np.asarray(focus, dtype=bool) & main).any():
        fb = area.geometry[np.asarray(focus, dtype=bool) & main].total_bounds
        xs, ys = [fb[0], fb[2]], [fb[1], fb[3]]
        for p in points:
            if whole[0] <= p.x <= whole[2] and whole[1] <= p.y <= whole[3]:
                xs.append(p.x)
                ys.append(p.y)
        chosen = _bounds_of(np.array(xs), np.array(ys))
        share = bounds_area(chosen) / max(bounds_area(tuple(whole)), 1.0)
        if share >= ZOOM_BELOW:
            chosen = None
    b = tuple(whole) if chosen is None else chosen
    return _padded(b, pad, min_m)


def bounds_area(b: Sequence[float]) -> float:
    """The area (m²) of a bounding box ``(x0, y0, x1, y1)``."""
    return max(b[2] - b[0], 1.0) * max(b[3] - b[1], 1.0)


def _padded(b: Sequence[float], pad: float, min_m: float) -> Bounds:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    w = max(b[2] - b[0], min_m) * (1 + 2 * pad)
    h = max(b[3] - b[1], min_m) * (1 + 2 * pad)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def panel_aspect(b: Bounds, lo: float = 0.55, hi: float = 1.35) -> float:
    """Height over width of a panel showing ``b``, kept within ``lo``–``hi``."""
    return float(np.clip((b[3] - b[1]) / max(b[2] - b[0], 1.0), lo, hi))


def set_bounds(ax, b: Bounds) -> None:
    """Show exactly ``b`` at equal scale (the panel's box takes the extent's shape), no axes.

    No ticks either: hidden axes still build their tick marks and labels whenever a
    title is placed (a few milliseconds each, on every layout and draw).
    """
    ax.set_xlim(b[0], b[2])
    ax.set_ylim(b[1], b[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    ax.set_xticks([])
    ax.set_yticks([])


def corners(ax, area: gpd.GeoDataFrame, b: Bounds, share: float = 0.3, weight=None) -> list[str]:
    """The panel's corners, emptiest first: least of the neighbourhoods' area (times
    ``weight`` per LSOA, e.g. more for those that change) within ``share`` of each corner."""
    from shapely import area as areas
    from shapely import box, intersection

    w, h = b[2] - b[0], b[3] - b[1]
    geoms = area.geometry.to_numpy()
    weight = np.ones(len(area)) if weight is None else np.asarray(weight, dtype=float)
    order = ["lower right", "upper left", "upper right", "lower left"]  # ties: this order
    cover = {}
    for name in order:
        x0 = b[0] if "left" in name else b[2] - share * w
        y0 = b[1] if "lower" in name else b[3] - share * h
        corner = box(x0, y0, x0 + share * w, y0 + share * h)
        cover[name] = float((areas(intersection(geoms, corner)) * weight).sum())
    return sorted(order, key=lambda c: (round(cover[c] / max(w * h, 1.0), 3), order.index(c)))


_INSET_RECT = {
    "upper left": (0.0, 0.72),
    "upper right": (0.72, 0.72),
    "lower left": (0.0, 0.0),
    "lower right": (0.72, 0.0),
}


def _inset(ax, corner: str, size: float = 0.28):
    x, y = _INSET_RECT[corner]
    x = 1 - size if x > 0 else 0.0
    y = 1 - size if y > 0 else 0.0
    inset = ax.inset_axes([x, y, size, size])
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor(LIGHT)
        spine.set_linewidth(0.6)
    inset.set_facecolor("white")
    inset.set_gid("eia-inset")
    return inset


def add_scale_bar(ax, location: str = "lower right"):
    """A scale bar in km (the axes are EPSG:27700 metres); returns the artist."""
    from matplotlib_scalebar.scalebar import ScaleBar

    bar = ScaleBar(
        1.0,
        "m",
        location=location,
        length_fraction=0.22,
        box_alpha=0.7,
        font_properties={"size": 7},
        color="#212b32",
        scale_loc="top",
        border_pad=0.3,
    )
    bar.set_gid("eia-scalebar")
    ax.add_artist(bar)
    return bar


def add_locator(ax, outline: gpd.GeoDataFrame, b: Bounds, corner: str):
    """A small map of the whole area with the panel's extent ``b`` marked."""
    inset = _inset(ax, corner, 0.26)
    with _quiet(inset):
        outline.plot(ax=inset, facecolor="#e8edee", edgecolor=LIGHT, linewidth=0.3)
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.add_patch(
        Rectangle(
            (b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, edgecolor="#d5281b", linewidth=1.0
        )
    )
    inset.set_aspect("equal", adjustable="box")
    inset.set_gid("eia-locator")
    return inset


def add_detached_inset(ax, part: gpd.GeoDataFrame, paint: Callable, corner: str, label: str = ""):
    """An inset showing the detached ``part`` of the area, drawn by ``paint(inset, part)``,
    with its own scale bar; ``label`` names it (e.g. "Isles of Scilly")."""
    inset = _inset(ax, corner, 0.26)
    paint(inset)
    inset.set_xlabel("")
    inset.set_ylabel("")
    b = _padded(part.geometry.total_bounds, 0.1, 3_000)
    inset.set_xlim(b[0], b[2])
    inset.set_ylim(b[1], b[3])
    inset.set_aspect("equal", adjustable="box")
    if label:
        inset.set_title(label, fontsize=7, pad=2, color="#425563")
    bar = add_scale_bar(inset, "lower right")
    bar.length_fraction = 0.4
    inset.set_gid("eia-detached")
    return inset


def draw_authorities(
    ax, outline: gpd.GeoDataFrame, b: Bounds | None = None, *, names: bool = True
) -> list:
    """Local authority boundaries, lightly, and the names of those whose inner point is in
    view (``b``) at that point."""
    with _quiet(ax):
        outline.boundary.plot(ax=ax, color="#4c6272", linewidth=0.6, zorder=3)
    texts = []
    if names and "ltla24_name" in outline and len(outline) > 1:
        points = outline.geometry.representative_point()
        for name, p in zip(outline["ltla24_name"], points, strict=True):
            if b is not None and not (b[0] < p.x < b[2] and b[1] < p.y < b[3]):
                continue
            t = ax.text(
                p.x,
                p.y,
                textwrap.fill(str(name), 16),
                fontsize=6.5,
                color="#4c6272",
                style="italic",
                ha="center",
                va="center",
                zorder=4,
                path_effects=HALO,
                clip_on=True,
            )
            t.set_gid("eia-authority")
            texts.append(t)
    return texts


def draw_towns(ax, towns: pd.DataFrame | None, b: Bounds, n: int = 8) -> list:
    """The ``n`` largest towns inside ``b``, named in small dark grey type with a dot."""
    if towns is None or not len(towns):
        return []
    inside = towns[
        (towns["x"] > b[0]) & (towns["x"] < b[2]) & (towns["y"] > b[1]) & (towns["y"] < b[3])
    ].head(n)
    texts = []
    for r in inside.itertuples():
        (dot,) = ax.plot(r.x, r.y, marker="s", markersize=2, color="#212b32", zorder=4)
        t = ax.annotate(
            r.name,
            (r.x, r.y),
            xytext=(3, -3),
            textcoords="offset points",
            fontsize=6.5,
            color="#212b32",
            va="top",
            zorder=4,
            path_effects=HALO,
        )
        t.set_gid("eia-town")
        t.eia_dot = dot
        texts.append(t)
    return texts


class _quiet:
    """Skip the render geopandas' ``plot`` asks for (``canvas.draw_idle``)."""

    def __init__(self, ax):
        self.canvas = ax.figure.canvas

    def __enter__(self):
        self.canvas.draw_idle = lambda *a, **k: None

    def __exit__(self, *exc):
        del self.canvas.draw_idle


def draw_sites(
    ax, roles: gpd.GeoDataFrame, styles: dict, *, labels: bool = True, size: float = 70
) -> None:
    """Mark sites for :func:`finish` to draw once the layout is final.

    ``roles``: :func:`eia.report.maps.site_roles`'s frame (``name, role``, geometry, optional
    ``label``); ``styles``: role -> (marker, face colour, legend label).
    """
    pending = getattr(ax, "_eia_sites", [])
    pending.append((roles, styles, labels, size))
    ax._eia_sites = pending


def finish(fig) -> None:
    """Draw every panel's sites and labels where the final layout puts them, then freeze it.

    Markers closer than :data:`MARKER_GAP_PT` are pulled apart (a thin leader joins each
    to its true place), so a new site never hides under a closing one; labels are
    placed by adjustText and any pair still touching is pushed apart.
    """
    relayout(fig)  # the final layout: where each panel and inset lies
    panels = [a for ax in fig.axes for a in (ax, *ax.child_axes)]
    for ax in panels:
        pending = getattr(ax, "_eia_sites", [])
        for roles, styles, labels, size in pending:
            _sites_now(ax, roles, styles, labels, size)
        if not pending:
            _drop_clashing_places(ax, [], np.zeros((0, 2)))
        ax._eia_sites = []
    # Laid out for good: no layout engine left to run (nor a draw to run it before saving).
    with matplotlib.rc_context(
        {"figure.autolayout": False, "figure.constrained_layout.use": False}
    ):
        fig.set_layout_engine(None)


def _spread(ax, xy: np.ndarray) -> np.ndarray:
    """Display positions of markers, pulled apart so none is within the marker gap."""
    gap = MARKER_GAP_PT * ax.figure.dpi / 72
    d = ax.transData.transform(xy) if len(xy) else np.zeros((0, 2))
    return _pull_apart(d.copy(), gap)


def _push(moved: np.ndarray, i: int, j: int, gap: float) -> bool:
    """Push markers ``i`` and ``j`` apart if they are within ``gap``; whether they were."""
    v = moved[j] - moved[i]
    dist = float(np.hypot(*v))
    if dist < gap - 1e-6:
        u = v / dist if dist > 1e-9 else np.array([1.0, 0.0])
        push = (gap - dist) / 2 + 0.5
        moved[i] -= u * push
        moved[j] += u * push
        return True
    return False


def _pull_apart(moved: np.ndarray, gap: float, rounds: int = 20) -> np.ndarray:
    """Pull markers apart, pair by pair (``i < j`` in order), up to ``rounds`` times.

    Only pairs closer than ``gap`` move, so each marker is checked only against those in its
    own and the neighbouring cells of a grid of ``gap``-wide cells (kept up to date as markers
    move, and asked again after each push): the same pushes in the same order as checking
    every pair (:func:`_pull_apart_every_pair`), in linear time — 1,000 sites over England
    took 31 s a map that way.
    """
    n = len(moved)
    grid: dict[tuple[int, int], set[int]] = {}

    def cell(k: int) -> tuple[int, int]:
        return int(np.floor(moved[k][0] / gap)), int(np.floor(moved[k][1] / gap))

    where = [cell(k) for k in range(n)]
    for k, c in enumerate(where):
        grid.setdefault(c, set()).add(k)

    def moved_to(k: int) -> None:
        c = cell(k)
        if c != where[k]:
            grid[where[k]].discard(k)
            grid.setdefault(c, set()).add(k)
            where[k] = c

    for _ in range(rounds):
        changed = False
        for i in range(n):
            after = i  # every j <= after is checked against i this round
            while True:
                cx, cy = where[i]
                near = sorted(
                    j
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    for j in grid.get((cx + dx, cy + dy), ())
                    if j > after
                )
                for j in near:
                    if _push(moved, i, j, gap):
                        moved_to(i)
                        moved_to(j)
                        changed, after = True, j
                        break  # i moved: ask the grid again for the j after this one
                else:
                    break
        if not changed:
            break
    return moved


def _pull_apart_every_pair(moved: np.ndarray, gap: float, rounds: int = 20) -> np.ndarray:
    """:func:`_pull_apart` checking every pair (quadratic; the reference for its tests)."""
    for _ in range(rounds):
        changed = False
        for i in range(len(moved)):
            for j in range(i + 1, len(moved)):
                changed |= _push(moved, i, j, gap)
        if not changed:
            break
    return moved


def _sites_now(ax, roles, styles, labels: bool, size: float) -> None:

    if roles is None or not len(roles):
        _drop_clashing_places(ax, [], np.zeros((0, 2)))
        return
    xy = np.column_stack([roles.geometry.x.to_numpy(), roles.geometry.y.to_numpy()])
    shown = ax.transData.transform(xy)
    box = ax.get_window_extent()
    inside = (
        (shown[:, 0] >= box.x0)
        & (shown[:, 0] <= box.x1)
        & (shown[:, 1] >= box.y0)
        & (shown[:, 1] <= box.y1)
    )
    roles, xy = roles[inside], xy[inside]
    if not len(roles):
        _drop_clashing_places(ax, [], np.zeros((0, 2)))
        return
    moved = ax.transData.inverted().transform(_spread(ax, xy))
    for (x0, y0), (x1, y1) in zip(xy, moved, strict=True):
        if abs(x0 - x1) + abs(y0 - y1) > 0:
            ax.plot([x0, x1], [y0, y1], color="#212b32", linewidth=0.6, zorder=5)
            ax.plot(x0, y0, marker="o", markersize=1.5, color="#212b32", zorder=5)
    for role, (marker, face, _) in styles.items():
        part = (roles["role"] == role).to_numpy()
        if not part.any():
            continue
        ax.scatter(
            moved[part, 0],
            moved[part, 1],
            marker=marker,
            s=size,
            c=face,
            edgecolors="black" if role != "closing" else "white",
            linewidths=1.0,
            zorder=6,
        )
    if not labels or len(roles) > LABEL_MAX_SITES:
        _drop_clashing_places(ax, [], moved)
        return
    names = roles["label"] if "label" in roles else roles["name"]
    texts = []
    for name, (x, y) in zip(names, moved, strict=True):
        t = ax.text(
            x,
            y,
            textwrap.shorten(str(name), width=34, placeholder="…"),
            fontsize=7,
            zorder=7,
            path_effects=HALO,
        )
        t.set_gid("eia-site-label")
        texts.append(t)
    relayout(ax.figure)  # as adjustText's own redraw of the figure would
    _place_labels(ax, texts, moved)
    _untangle(ax, texts)
    _drop_clashing_places(ax, texts, moved)


def _place_labels(ax, texts: list, xy: np.ndarray) -> None:
    """Place ``texts`` (site names at ``xy``) clear of each other and of the markers with
    adjustText, joining a moved label to its site by a leader line.

    adjustText redraws the whole figure before it starts; it is run instead on a stand-in
    of ``ax`` (same page size, resolution, panel position and limits, so the same
    transforms) holding only copies of the labels, and their places and leaders are
    copied back, exactly as adjustText would have left them on ``ax``.
    """
    from adjustText import adjust_text
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stand_in = Figure(figsize=ax.figure.get_size_inches(), dpi=ax.figure.dpi)
    FigureCanvasAgg(stand_in)
    panel = stand_in.add_axes(ax.get_position())
    panel.set_position(ax.get_position(), which="both")
    panel.set_xlim(ax.get_xlim())
    panel.set_ylim(ax.get_ylim())
    panel.set_axis_off()  # its redraw then lays out only the labels
    copies = [
        panel.text(
            *t.get_position(),
            t.get_text(),
            fontproperties=t.get_fontproperties(),
            ha=t.get_horizontalalignment(),
            va=t.get_verticalalignment(),
        )
        for t in texts
    ]
    _, leaders = adjust_text(
        copies,
        x=xy[:, 0],
        y=xy[:, 1],
        ax=panel,
        arrowprops=LEADER,
        **LABELLING,
    )
    for text, copy in zip(texts, copies, strict=True):
        text.set_verticalalignment(copy.get_verticalalignment())
        text.set_horizontalalignment(copy.get_horizontalalignment())
        text.set_position(copy.get_position())
    which = {id(copy): text for copy, text in zip(copies, texts, strict=True)}
    for leader in leaders:
        start, end = leader._posA_posB  # where adjustText put it (no public getter)
        ax.add_patch(
            FancyArrowPatch(
                posA=start,
                posB=end,
                patchA=which[id(leader.patchA)],
                transform=ax.transData,
                **LEADER,
            )
        )


def _drop_clashing_places(ax, labels: list, markers: np.ndarray) -> None:
    """Hide town and authority names that a site's label or marker, or a name already
    kept (authorities, then towns largest first), would cover."""
    renderer = ax.figure.canvas.get_renderer()
    taken = [t.get_window_extent(renderer) for t in labels]
    for patch in ax.texts:
        if getattr(patch, "arrow_patch", None) is not None and patch.get_gid() is None:
            taken.append(patch.get_window_extent(renderer))
    pad = MARKER_GAP_PT * ax.figure.dpi / 72 / 2
    shown = ax.transData.transform(markers) if len(markers) else np.zeros((0, 2))
    for t in ax.texts:
        if t.get_gid() not in ("eia-town", "eia-authority"):
            continue
        box = t.get_window_extent(renderer)
        near_marker = any(
            box.x0 - pad <= x <= box.x1 + pad and box.y0 - pad <= y <= box.y1 + pad
            for x, y in shown
        )
        if near_marker or any(box.overlaps(o) for o in taken):
            t.set_visible(False)
            if getattr(t, "eia_dot", None) is not None:
                t.eia_dot.set_visible(False)
        else:
            taken.append(box)  # larger towns first: a smaller one under it is dropped


def label_boxes(ax) -> list:
    """Display boxes of the site labels on ``ax`` (for tests and checks)."""
    renderer = ax.figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == "eia-site-label"]


def _untangle(ax, texts: list) -> None:
    """Push apart any labels adjustText left touching (down the page, a few pixels at a time)."""
    renderer = ax.figure.canvas.get_renderer()
    for _ in range(60):
        boxes = [t.get_window_extent(renderer) for t in texts]
        clash = next(
            (
                (i, j)
                for i in range(len(boxes))
                for j in range(i + 1, len(boxes))
                if boxes[i].overlaps(boxes[j])
            ),
            None,
        )
        if clash is None:
            return
        i, j = clash
        upper, lower = (i, j) if boxes[i].y0 >= boxes[j].y0 else (j, i)
        shift = boxes[lower].y1 - boxes[upper].y0 + 2
        x, y = ax.transData.transform(texts[lower].get_position())
        texts[lower].set_position(ax.transData.inverted().transform((x, y - shift)))
