"""Issue 19, finding 1: no suppressed count can be recovered from everything a run publishes.

An independent attacker reads only what is published - the uptake tables as
``metrics.json`` holds them (counts or ``null`` with the reason, which the report
shows as "<5" or "*"), the data-quality counts, the LSOA map's class of each LSOA
with its legend's ranges - plus what is public anyway (each LSOA's population
and IMD decile). It sets up one linear programme over every LSOA's count and
every table entry and, for each withheld table entry and each LSOA with 1-4
users, finds the least and greatest value consistent with all of it. A range
holding a single whole number is a recovered count.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from eia.analysis import uptake

MIN = 5
QUALITY_LINKS = [
    ("count_read", ["count_in_area", "count_outside_area", "count_unmatched"]),
    ("records_read", ["count_read"]),
]


def _service(area: pd.DataFrame, counts, outside: int, unmatched: int):
    in_area = float(sum(counts))
    read = in_area + outside + unmatched
    return SimpleNamespace(
        label="toy",
        synthetic=True,
        by_lsoa=pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": counts}),
        by_lsoa_ethnicity=None,
        quality={
            "records_read": read,
            "count_read": read,
            "count_in_area": in_area,
            "count_outside_area": float(outside),
            "count_unmatched": float(unmatched),
            "count_converted_from_2011": 0.0,
            "unmatched_examples": [],
        },
        columns={"lsoa": "x"},
    )


def _area(deciles, populations) -> pd.DataFrame:
    deciles = np.asarray(deciles)
    return pd.DataFrame(
        {
            "lsoa21_code": [f"E01{i:06d}" for i in range(len(deciles))],
            "population": populations,
            "imd_decile": deciles,
            "imd_quintile": (deciles + 1) // 2,
        }
    )


def attack(
    metrics: dict, classes, area: pd.DataFrame, *, grey=(0, None), shaded_min: float = MIN
) -> dict:
    """The range of every withheld entry and every LSOA count, from published figures only.

    ``grey`` is what the map's legend says of a grey LSOA, ``shaded_min`` the least count a
    shaded one may hold (eia's map: at least 0, and at least MIN).
    """
    variables: list = [("lsoa", c) for c in area["lsoa21_code"]]
    bounds: dict = {}
    fixed: dict = {}
    for table, key, kind in (
        ("by_imd_decile", "imd_decile", "decile"),
        ("by_imd_quintile", "imd_quintile", "quintile"),
    ):
        for row in metrics["uptake"][table]:
            name = (kind, int(row[key]))
            variables.append(name)
            if row["count"] is None:
                bounds[name] = {"primary": (1, MIN - 1), "secondary": (MIN, None)}.get(
                    row["suppressed"], (0, None)
                )
            else:
                fixed[name] = float(row["count"])
    quality = metrics["data_quality"]
    for key in ("records_read", "count_read", "count_in_area", "count_outside_area"):
        variables.append(key)
        if quality[key] is None:
            reason = quality["suppressed"][key]
            bounds[key] = {"primary": (1, MIN - 1), "secondary": (MIN, None)}.get(reason, (0, None))
        else:
            fixed[key] = float(quality[key])
    variables.append("count_unmatched")
    if quality["count_unmatched"] is None:
        reason = quality["suppressed"]["count_unmatched"]
        bounds["count_unmatched"] = {"primary": (1, MIN - 1), "secondary": (MIN, None)}.get(
            reason, (0, None)
        )
    else:
        fixed["count_unmatched"] = float(quality["count_unmatched"])
    # The map: a grey LSOA holds at least 0; a shaded one at least MIN, within its class.
    shown = classes.classes.reindex(area["lsoa21_code"])
    for code, pop, cls in zip(area["lsoa21_code"], area["population"], shown, strict=True):
        if cls < 0:
            bounds[("lsoa", code)] = grey
        else:
            low = max(shaded_min, classes.lows[cls] * pop / 1000)
            bounds[("lsoa", code)] = (low, classes.highs[cls] * pop / 1000)
    links = [
        (("decile", d), [("lsoa", c) for c in area.loc[area["imd_decile"] == d, "lsoa21_code"]])
        for d in range(1, 11)
    ]
    links += [(("quintile", q), [("decile", 2 * q - 1), ("decile", 2 * q)]) for q in range(1, 6)]
    links += [("count_in_area", [("quintile", q) for q in range(1, 6)]), *QUALITY_LINKS]
    col = {v: i for i, v in enumerate(variables)}
    a_eq, b_eq = [], []
    for total, parts in links:
        row = np.zeros(len(variables))
        row[col[total]] += 1
        for p in parts:
            row[col[p]] -= 1
        a_eq.append(row)
        b_eq.append(0.0)
    box = [(fixed[v], fixed[v]) if v in fixed else bounds.get(v, (0, None)) for v in variables]
    ranges = {}
    for v in variables:
        if v in fixed:
            continue
        c = np.zeros(len(variables))
        c[col[v]] = 1
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        assert lo.status == 0, "the true counts must be consistent with what is published"
        ranges[v] = (lo.fun, math.inf if hi.status == 3 else -hi.fun)
    return ranges


def _one_whole_number(lo: float, hi: float) -> bool:
    return not math.isinf(hi) and math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < 1


def _recovered(deciles, populations, counts, outside=0, unmatched=0) -> list:
    area = _area(deciles, populations)
    service = _service(area, counts, outside, unmatched)
    result = uptake.compute(service, area, min_count=MIN)
    classes = uptake.protect_map(service, area, result)
    # The map never tells a small count from none.
    for code, count in zip(area["lsoa21_code"], counts, strict=True):
        if count < MIN:
            assert classes.classes[code] == -1
    ranges = attack(result.metrics(), classes, area)
    truth = dict(zip(area["lsoa21_code"], counts, strict=True))
    found = []
    for name, (lo, hi) in ranges.items():
        small_lsoa = name[0] == "lsoa" and 0 < truth[name[1]] < MIN
        if (small_lsoa or name[0] != "lsoa") and _one_whole_number(lo, hi):
            found.append(name)
    return found


def test_the_reported_attack_no_longer_recovers_anything():
    """Five D1 LSOAs with 1 user and five with 0; in D10 one LSOA with 1 and one with 5."""
    deciles = [1] * 10 + [10, 10] + [5] * 4
    counts = [1] * 5 + [0] * 5 + [1, 5] + [20, 30, 25, 40]
    populations = [1500] * len(deciles)
    assert _recovered(deciles, populations, counts) == []


def test_the_attacker_recovers_counts_from_a_map_that_greys_only_small_counts():
    """The map before the fix: grey meant 1-4 users, zeros were shaded as a rate of 0."""
    from eia.stats.disclosure import MapClasses, quantile_classes

    deciles = [1] * 10 + [10, 10] + [5] * 4
    counts = np.array([1] * 5 + [0] * 5 + [1, 5] + [20, 30, 25, 40], dtype=float)
    area = _area(deciles, [1500] * len(deciles))
    service = _service(area, counts, 0, 0)
    result = uptake.compute(service, area, min_count=MIN)
    assert result.metrics()["uptake"]["by_imd_decile"][0]["count"] == 5  # D1 = 5, published
    shaded = ~((counts > 0) & (counts < MIN))
    rates = counts[shaded] / 1500 * 1000
    cls, highs = quantile_classes(rates)
    classes = pd.Series(-1, index=area["lsoa21_code"])
    classes[shaded] = cls
    old = MapClasses(None, classes, [rates.min(), *highs[:-1]], highs)
    ranges = attack(result.metrics(), old, area, grey=(1, MIN - 1), shaded_min=0)
    recovered = [n for n, r in ranges.items() if n[0] == "lsoa" and _one_whole_number(*r)]
    assert [("lsoa", f"E01{i:06d}") for i in range(5)] == recovered[:5]  # D1's: 1 user each


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10),
            st.integers(800, 2500),
            st.one_of(st.integers(0, 6), st.integers(5, 60)),
        ),
        min_size=3,
        max_size=14,
    ),
    st.integers(0, 6),
    st.integers(0, 6),
)
@example([(1, 1500, 1)] * 5 + [(1, 1500, 0)] * 5 + [(10, 1500, 1), (10, 1500, 5)], 0, 0)
@example([(3, 1000, 2), (3, 1000, 5)], 0, 0)
@example([(2, 1000, 1), (2, 1000, 9), (2, 1200, 9)], 3, 0)
def test_nothing_suppressed_is_recoverable_from_tables_metrics_and_map(lsoas, outside, unmatched):
    deciles, populations, counts = (list(x) for x in zip(*lsoas, strict=True))
    assert _recovered(deciles, populations, counts, outside, unmatched) == []
