"""Neighbourhood polygons drawn as one Matplotlib collection, built with vectorised shapely.

``GeoDataFrame.plot`` builds one patch per polygon in Python (a few hundred
microseconds each, about 0.2 s for an area of 700 LSOAs, on every map).
:func:`polygon_paths` builds the same paths from whole coordinate arrays in a few
milliseconds, and :func:`add_polygons` draws them as one
:class:`~matplotlib.collections.PathCollection`, as ``GeoDataFrame.plot`` would:

- geometries are normalised first (:func:`shapely.normalize`: the ring order and
  start points geopandas uses), then each (Multi)Polygon becomes one compound path
  whose rings run ``MOVETO, LINETO…, CLOSEPOLY``; empty and missing geometries are
  skipped;
- the collection is added with data limits, the view autoscaled and the aspect made
  equal (the coordinates are projected metres, as on every map of the report).

The paths are vertex for vertex those of geopandas' ``_PolygonPatch`` (tested), so the
picture is the same; the colours of each map are given per geometry, so the paths of
an area can serve every map of a run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from matplotlib.collections import PathCollection
from matplotlib.path import Path

__all__ = ["add_polygons", "polygon_paths"]


def polygon_paths(geoms: Sequence) -> tuple[list[Path], np.ndarray]:
    """One compound :class:`~matplotlib.path.Path` per non-empty (Multi)Polygon of
    ``geoms``, and the position in ``geoms`` of the geometry each path draws."""
    geoms = shapely.normalize(np.asarray(geoms, dtype=object))
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    if not len(xy):
        return [], np.zeros(0, dtype=int)
    codes = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
    starts = np.searchsorted(ring_of, np.arange(len(rings)))
    codes[starts] = Path.MOVETO
    codes[np.r_[starts[1:], len(xy)] - 1] = Path.CLOSEPOLY
    owner_of_vertex = part_owner[ring_part[ring_of]]
    owner = np.unique(owner_of_vertex)
    cuts = np.searchsorted(owner_of_vertex, np.r_[owner, len(geoms)])
    paths = [Path(xy[s:e], codes[s:e]) for s, e in zip(cuts[:-1], cuts[1:], strict=True)]
    return paths, owner


def add_polygons(
    ax,
    paths: tuple[list[Path], np.ndarray],
    rows: np.ndarray | None = None,
    *,
    colours: Sequence | None = None,
    merged: bool = False,
    **style,
) -> PathCollection | None:
    """Draw ``paths`` (:func:`polygon_paths` of an area) on ``ax``, only those of the
    geometries where ``rows`` (a mask over the area) is true.

    ``colours``: one face colour per geometry of the area (in its order), if given;
    ``style``: any :class:`~matplotlib.collections.Collection` keyword (``facecolor``,
    ``edgecolor``, ``linewidth``, ``hatch``, ``zorder``). ``merged`` draws the chosen
    geometries as one compound path, for a style shared by all: Agg renders a hatch
    pattern afresh for each path (about half a millisecond each), once for one path; the
    hatch lines are the same, as the pattern is laid on the page, not on each polygon.
    Returns the collection, or None when no geometry is drawn.
    """
    shapes, owner = paths
    keep = np.ones(len(owner), dtype=bool) if rows is None else np.asarray(rows, bool)[owner]
    if not keep.any():
        return None
    chosen = [p for p, k in zip(shapes, keep, strict=True) if k]
    if merged:
        if colours is not None:
            raise ValueError("merged polygons share one style: give facecolor, not colours")
        chosen = [Path.make_compound_path(*chosen)]
    elif colours is not None:
        style["facecolor"] = np.asarray(colours)[owner[keep]]
    collection = PathCollection(chosen, **style)
    ax.set_aspect("equal")
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()
    return collection
