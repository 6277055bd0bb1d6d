"""The sites of a scenario and their roles: kept, closing or new.

:func:`site_roles` matches proposed sites to current ones by name (ignoring case and spacing)
or by position, so the maps, the site tables and the summary agree on which site closes.
"""

from __future__ import annotations

import geopandas as gpd

from eia.refdata.hospitals import site_key  # the one name key, shared with validation

__all__ = ["site_key", "site_roles"]


def site_roles(
    current: gpd.GeoDataFrame | None, proposed: gpd.GeoDataFrame | None, *, within_m: float = 100
) -> gpd.GeoDataFrame:
    """Every site of a scenario with its role: ``kept``, ``closing`` or ``new``.

    A proposed site is *kept* when a current site has the same name (ignoring case
    and spacing) or lies within ``within_m`` metres of it; current sites not kept
    are *closing*; proposed sites matching no current site are *new*. Without
    ``proposed``, every current site is ``current``. Columns: ``name, role, geometry``
    (EPSG:27700), kept sites first, then closing, then new.
    """
    crs = current.crs if current is not None else getattr(proposed, "crs", None)
    empty = gpd.GeoDataFrame({"name": [], "role": []}, geometry=[], crs=crs)
    if current is None or len(current) == 0:
        if proposed is None or len(proposed) == 0:
            return empty
        return gpd.GeoDataFrame(
            {"name": list(proposed["name"]), "role": "new"},
            geometry=list(proposed.geometry),
            crs=crs,
        )
    if proposed is None:
        return gpd.GeoDataFrame(
            {"name": list(current["name"]), "role": "current"},
            geometry=list(current.geometry),
            crs=crs,
        )
    matched_current: set[int] = set()
    roles = []
    for j, (name, point) in enumerate(zip(proposed["name"], proposed.geometry, strict=True)):
        match = next(
            (
                i
                for i, (cname, cpoint) in enumerate(
                    zip(current["name"], current.geometry, strict=True)
                )
                if i not in matched_current
                and (site_key(cname) == site_key(name) or cpoint.distance(point) <= within_m)
            ),
            None,
        )
        if match is None:
            roles.append(("new", name, point, j))
        else:
            matched_current.add(match)
            roles.append(("kept", name, point, j))
    closing = [
        ("closing", n, g, i)
        for i, (n, g) in enumerate(zip(current["name"], current.geometry, strict=True))
        if i not in matched_current
    ]
    order = {"kept": 0, "closing": 1, "new": 2}
    rows = sorted(roles + closing, key=lambda r: (order[r[0]], r[3]))
    return gpd.GeoDataFrame(
        {"name": [r[1] for r in rows], "role": [r[0] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=crs,
    )
