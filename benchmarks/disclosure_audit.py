"""Benchmark: the disclosure audit of one run's tables (it runs in every report).

Times, over random extracts of a toy area of 20 LSOAs (two per IMD decile) with
three sites, the linked main tables (:func:`eia.analysis.uptake.compute`: deciles,
quintiles, ethnic groups, completeness shares, data-quality counts), the ethnicity ×
deprivation cross table, and the per-site tables linked to the main ones; and
:func:`eia.stats.disclosure.protect` on random two-way tables of growing size.
Prints the median and worst wall time of each, and the number of linear programmes
the audit solved for the largest two-way table.

    .venv/bin/python benchmarks/disclosure_audit.py            # 20 extracts
    .venv/bin/python benchmarks/disclosure_audit.py --runs 50 --records 40

Plain Python, not a test: timings depend on the machine. Target: the whole audit of
a run within a few seconds on a laptop (issue 25.5 added sums and linked site tables).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_publish_allowlist import CODES, toy_area, toy_populations, toy_service  # noqa: E402

from eia.analysis import ethnicity_deprivation, site_users, uptake  # noqa: E402
from eia.population.ethnicity import NHS_CODES  # noqa: E402
from eia.stats import disclosure  # noqa: E402

SITES = ["City", "QMC", "Kings Mill"]
ETHNIC_CODES = ["A", "B", "H", "M", "N", "Z", "99"]


def random_records(rng: np.random.Generator, n: int) -> dict:
    """``n`` cells ``(lsoa, code, site) -> count``, half of them small."""
    records: dict = {}
    for _ in range(n):
        key = (
            int(rng.integers(20)),
            str(rng.choice(ETHNIC_CODES)),
            str(rng.choice([*SITES, "Elsewhere"])),
        )
        small = rng.random() < 0.5
        records[key] = records.get(key, 0) + int(rng.integers(1, 5 if small else 60))
    return records


def one_run(records: dict) -> dict[str, float]:
    cells: dict = {}
    for (i, code, _), n in records.items():
        cells[(i, code)] = cells.get((i, code), 0) + n
    service = toy_service(cells)
    area, pops = toy_area(), toy_populations()
    times = {}
    start = time.perf_counter()
    result = uptake.compute(service, area, pops)
    times["main tables (uptake.compute)"] = time.perf_counter() - start
    start = time.perf_counter()
    ethnicity_deprivation.uptake_table(service, area, pops, result.published)
    times["ethnicity x deprivation"] = time.perf_counter() - start
    by_site = pd.DataFrame(
        [
            {"site": s, "lsoa21_code": CODES[i], "ethnic_group": NHS_CODES[c][1], "count": n}
            for (i, c, s), n in records.items()
        ]
    )
    start = time.perf_counter()
    site_users.profiles(by_site, area, SITES, SITES[:2], linked=result.published.linked)
    times["site tables (linked)"] = time.perf_counter() - start
    return times


def two_way(rng: np.random.Generator, rows: int, cols: int) -> tuple[float, int]:
    table = np.where(rng.random((rows, cols)) < 0.3, rng.integers(1, 5, (rows, cols)), 0)
    table = table + np.where(table == 0, rng.integers(0, 80, (rows, cols)), 0)
    frame = pd.DataFrame(table.astype(float))
    start = time.perf_counter()
    disclosure.suppress_two_way(frame)
    return time.perf_counter() - start, int((table > 0).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    per_part: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for part, seconds in one_run(random_records(rng, args.records)).items():
            per_part.setdefault(part, []).append(seconds)
    print(f"{args.runs} random extracts of {args.records} cells, 3 sites (2 closing):")
    for part, seconds in per_part.items():
        print(
            f"  {part:32s} median {statistics.median(seconds):6.2f} s   worst {max(seconds):6.2f} s"
        )
    totals = [sum(parts) for parts in zip(*per_part.values(), strict=True)]
    print(
        f"  {'whole audit':32s} median {statistics.median(totals):6.2f} s   worst {max(totals):6.2f} s"
    )
    print("suppress_two_way on random tables (30% small cells):")
    for rows, cols in ((5, 5), (7, 5), (10, 10)):
        seconds, cells = two_way(rng, rows, cols)
        print(f"  {rows:2d} x {cols:2d} ({cells:3d} non-zero cells)   {seconds:6.2f} s")


if __name__ == "__main__":
    main()
