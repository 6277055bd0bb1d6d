"""Benchmark: the equity frontier for 40 candidate sites, keep 5, over one ICB (issue 28).

    .venv/bin/python benchmarks/frontier.py            # enumeration (the method auto picks)
    .venv/bin/python benchmarks/frontier.py --milp 12  # also the MILP on 12 candidates, keep 3

NHS Nottingham and Nottinghamshire ICB (684 LSOAs): the three hospital sites of the
diagnostics example plus 37 candidate points (representative points of LSOAs drawn with
a fixed seed), keep 5, 658,008 feasible sets. Prints the time of each stage and the
method :func:`eia.analysis.frontier.explore` ran; the target is 60 s or less.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import geopandas as gpd
import numpy as np

from eia.analysis import access, frontier
from eia.analysis.impact import Rules
from eia.population.area import build_area, group_populations
from eia.refdata import load_pack

ICB = "E54000060"
HOSPITALS = [
    {
        "name": "Queen's Medical Centre",
        "hospital": "Nottingham University Hospitals NHS Trust - Queen's Medical Centre Campus",
    },
    {
        "name": "City Hospital",
        "hospital": "Nottingham University Hospitals NHS Trust - City Campus",
    },
    {"hospital": "King's Mill Hospital"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--keep", type=int, default=5)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument(
        "--milp", type=int, default=0, help="also time the MILP on this many candidates, keep 3"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    pack = load_pack()
    area = build_area(pack, {"icb": ICB})
    ethnic = group_populations(pack, list(area["lsoa21_code"]), "ethnic_group")
    weights = access.group_weights(area, ethnic)
    current = access.resolve_sites(pack, HOSPITALS)
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(area), size=args.candidates - len(current), replace=False)
    extra = gpd.GeoDataFrame(
        {"name": [f"Candidate {i + 1}" for i in range(len(picked))], "source": "coordinates"},
        geometry=area["point"].to_numpy()[picked],
        crs=current.crs,
    )
    sites = gpd.GeoDataFrame(
        [*current.to_dict("records"), *extra.to_dict("records")],
        geometry="geometry",
        crs=current.crs,
    )
    t1 = time.perf_counter()
    matrix = frontier.distance_matrix(area, sites)
    t2 = time.perf_counter()
    population = area.set_index("lsoa21_code")["population"]
    result = frontier.explore(
        matrix,
        weights,
        current=list(current["name"]),
        keep=args.keep,
        rules=Rules(change=1.0, far=5.0),
        population=population,
    )
    t3 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load:.1f}"
    )
    print(f"area: {len(area)} LSOAs; candidates: {len(sites)}; keep: {args.keep}")
    print(f"load reference data and area: {t1 - t0:.1f} s")
    print(f"distance matrix ({len(area)} x {len(sites)}): {t2 - t1:.2f} s")
    print(
        f"frontier: {result.n_feasible:,} feasible sets by {result.method}, "
        f"{int(result.sets['frontier'].sum())} on the frontier, {result.seconds:.1f} s"
    )
    print(f"total (without reference data): {t3 - t1:.1f} s  (target: 60 s or less)")

    if args.milp:
        small = matrix.iloc[:, : args.milp]
        kwargs = dict(
            current=list(current["name"]),
            keep=3,
            rules=Rules(change=1.0, far=5.0),
            population=population,
        )
        by_milp = frontier.explore(small, weights, method="milp", **kwargs)
        by_enum = frontier.explore(small, weights, method="enumeration", **kwargs)
        same = {tuple(np.round(v, 5)) for v in by_milp.frontier[by_milp.criteria].to_numpy()} == {
            tuple(np.round(v, 5)) for v in by_enum.frontier[by_enum.criteria].to_numpy()
        }
        print(
            f"milp ({args.milp} candidates, keep 3, {by_milp.n_feasible:,} sets): "
            f"{int(by_milp.sets['frontier'].sum())} frontier points in {by_milp.seconds:.1f} s; "
            f"enumeration {by_enum.seconds:.2f} s; same frontier: {same}"
        )


if __name__ == "__main__":
    main()
