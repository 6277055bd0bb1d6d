"""All of a proposal's journey-time matrices, read once; synthetic matrices generated reproducibly for the examples (labelled synthetic)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from eia import files
from eia.analysis.access import resolve_sites
from eia.analysis.matrices import (
    Matrix,
    _explored,
    read_matrix,
    sites_of,
)
from eia.errors import TravelTimeError
from eia.population.area import select_lsoas
from eia.refdata import BNG

__all__ = ["load_matrices", "SPEED_MODEL", "origin_points", "synthetic_matrix", "ensure_synthetic"]


# All of a proposal's matrices, and synthetic ones for examples


def load_matrices(
    proposal, pack, area_codes: Sequence[str], *, base_dir: str | Path = "."
) -> dict[str, Matrix]:
    """Every matrix of ``proposal.access.travel_times``, by mode, lead mode first.

    A missing matrix with ``generate`` set is generated first (:func:`ensure_synthetic`).
    """
    specs = {t.mode: t for t in proposal.access.travel_times}
    if not specs:
        return {}
    ensure_synthetic(proposal, base_dir, pack)
    sites = sites_of(proposal)
    return {
        mode: read_matrix(specs[mode].model_dump(), sites, pack, area_codes, base_dir=base_dir)
        for mode in proposal.access.modes
    }


#: The synthetic speed model (documented in docs/travel-time.md). Per mode: detour factor
#: (road or route km per straight-line km); speed (km/h) over the first ``near_km`` of the
#: route from urban and from rural origins, and beyond it (main roads, express services);
#: fixed minutes at the ends (parking; walking to and from stops) and the mean wait (half the
#: headway), each for urban and rural origins.
SPEED_MODEL = {
    mode: dict(zip(("detour", "near_km", "near_kmh", "far_kmh", "ends", "wait"), row, strict=True))
    for mode, row in {
        # mode: (detour, near_km, near_kmh (urban, rural), far_kmh, ends (u, r), wait (u, r))
        "car": (1.3, 5.0, (25.0, 40.0), 65.0, (4.0, 3.0), (0.0, 0.0)),
        "public_transport": (1.4, 5.0, (14.0, 22.0), 32.0, (8.0, 14.0), (6.0, 15.0)),
        "walk": (1.25, 5.0, (4.8, 4.8), 4.8, (0.0, 0.0), (0.0, 0.0)),
        "cycle": (1.25, 5.0, (15.0, 15.0), 15.0, (2.0, 2.0), (0.0, 0.0)),
    }.items()
}
#: Public transport: a change of bus beyond this many straight-line km costs 10 more minutes,
#: and from rural LSOAs journeys beyond ``_PT_RURAL_LIMIT_KM`` are not reachable (no service).
_PT_CHANGE_KM = 8.0
_PT_RURAL_LIMIT_KM = 25.0
#: Longest synthetic journey kept (minutes); longer ones are written as not reachable.
_MAX_MINUTES = 180.0


def origin_points(pack, area_codes: Sequence[str]):
    """Each LSOA's point (EPSG:27700): population-weighted centroid if the pack has them.

    Returns ``(points, kind)``, kind ``population-weighted centroid`` or
    ``representative point``.
    """
    import geopandas as gpd

    codes = list(area_codes)
    if pack.path("lsoa21_centroids.parquet").is_file():
        cents = gpd.read_parquet(pack.path("lsoa21_centroids.parquet")).to_crs(BNG)
        cents = cents.drop_duplicates("lsoa21_code").set_index("lsoa21_code").reindex(codes)
        if cents.geometry.notna().all():
            return cents.geometry.reset_index(drop=True), "population-weighted centroid"
    shapes = pack.boundaries(codes).set_index("lsoa21_code").reindex(codes).to_crs(BNG)
    return shapes.geometry.representative_point().reset_index(drop=True), "representative point"


def synthetic_matrix(
    pack, area_codes: Sequence[str], sites, mode: str, *, seed: int = 2021
) -> pd.DataFrame:
    """A synthetic long matrix (``lsoa21_code, site_id, minutes``) from a documented speed model.

    ``sites`` is a GeoDataFrame in EPSG:27700 with a ``destination`` column (what
    the matrix calls each site). Minutes are route km (straight-line km × detour)
    at a slower speed for the first ``near_km`` and a faster one beyond, plus
    fixed minutes at the ends and the mean wait, for urban or rural origins
    (ONS Rural-Urban Classification 2021), times a seeded random factor (0.9 to
    1.1); empty where not reachable (see :data:`SPEED_MODEL`). Describes no real journeys: label it synthetic.
    """
    model = SPEED_MODEL[mode]
    points, _ = origin_points(pack, area_codes)
    ruc = pd.read_parquet(pack.path("ruc21_lsoa21.parquet"), columns=["lsoa21_code", "urban_rural"])
    rural = (
        ruc.drop_duplicates("lsoa21_code")
        .set_index("lsoa21_code")["urban_rural"]
        .reindex(list(area_codes))
        .astype(str)
        .str.lower()
        .str.startswith("rural")
        .to_numpy()
    )
    ox, oy = points.x.to_numpy()[:, None], points.y.to_numpy()[:, None]
    km = np.hypot(
        ox - sites.geometry.x.to_numpy()[None, :], oy - sites.geometry.y.to_numpy()[None, :]
    )
    km = km / 1000.0
    r = rural[:, None].astype(int)
    route = km * model["detour"]
    near = np.minimum(route, model["near_km"])
    minutes = (
        near / np.choose(r, model["near_kmh"]) * 60.0
        + (route - near) / model["far_kmh"] * 60.0
        + np.choose(r, model["ends"])
        + np.choose(r, model["wait"])
    )
    unreachable = np.zeros(minutes.shape, bool)
    if mode == "public_transport":
        minutes = minutes + np.where(km > _PT_CHANGE_KM, 10.0, 0.0)
        unreachable |= rural[:, None] & (km > _PT_RURAL_LIMIT_KM)
    rng = np.random.default_rng(seed)
    minutes = minutes * rng.uniform(0.9, 1.1, size=minutes.shape)
    unreachable |= minutes > _MAX_MINUTES
    minutes = np.where(unreachable, np.nan, np.round(minutes, 1))
    n_sites = len(sites)
    return pd.DataFrame(
        {
            "lsoa21_code": np.repeat(np.asarray(list(area_codes), dtype=object), n_sites),
            "site_id": np.tile(sites["destination"].to_numpy(dtype=object), len(area_codes)),
            "minutes": minutes.reshape(-1),
        }
    )


def ensure_synthetic(proposal, base_dir: str | Path, pack) -> list[Path]:
    """Generate each missing matrix that has ``generate`` set (examples only); return their paths."""
    specs = [t for t in proposal.access.travel_times if t.generate is not None]
    todo = [
        (t, _generated_target(t.path, base_dir))
        for t in specs
        if not (Path(base_dir) / t.path).exists()
    ]
    if not todo:
        return []
    import geopandas as gpd

    sites_by_label: dict[str, object] = {}
    for group in [proposal.sites.current, *proposal.scenarios().values(), *_explored(proposal)]:
        for site in group:
            sites_by_label.setdefault(site.label, site)
    listed = list(sites_by_label.values())
    codes = select_lsoas(pack, proposal.area.spec)
    located = resolve_sites(pack, listed, codes)
    located = gpd.GeoDataFrame(
        {"destination": [s.destination for s in listed]},
        geometry=located.geometry.to_numpy(),
        crs=located.crs,
    )
    written = []
    for spec, path in todo:
        frame = synthetic_matrix(pack, codes, located, spec.mode, seed=spec.generate.seed)
        frame = frame.rename(
            columns={"lsoa21_code": spec.columns.origin}
            | (
                {"site_id": spec.columns.destination, "minutes": spec.columns.minutes}
                if spec.columns.layout == "long"
                else {}
            )
        )
        if spec.columns.layout == "wide":
            frame = frame.pivot(index=spec.columns.origin, columns="site_id", values="minutes")
            frame = frame.reset_index()
            frame.columns.name = None

        def dump(tmp: Path, frame: pd.DataFrame = frame) -> None:
            if tmp.suffix.lower() in (".parquet", ".pq"):
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False, float_format="%.1f")

        files.write_atomic(path, dump, what="travel-time matrix", error=TravelTimeError)
        files.record_generated(path, "eia (generate:)", error=TravelTimeError)
        written.append(path)
    return written


def _generated_target(path: str | Path, base_dir: str | Path) -> Path:
    """Where a generated matrix may go: inside the params folder, never through a link."""
    return files.check_target(
        path,
        base_dir,
        what="generated travel-time matrix",
        error=TravelTimeError,
        folder_label="the params file's folder",
    )
