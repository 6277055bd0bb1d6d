"""Searching site sets for the equity frontier: the distance (or minutes) matrix, each group's columns, dominance, exact enumeration, and the ε-constraint MILP on HiGHS (scipy.optimize.milp)."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from eia.align import by_lsoa, series_by_lsoa
from eia.analysis import access
from eia.analysis.access import CORE20_LABELS
from eia.analysis.impact import ALL_RESIDENTS, Rules
from eia.errors import DataMismatchError, ParamsError, Problem

#: Feasible sets the enumeration evaluates at most; beyond it the MILP runs. Two million
#: sets (e.g. 50 candidates keep 5) take under a minute over one ICB's 700 LSOAs.
MAX_ENUMERATE = 2_000_000

#: Criteria are compared after rounding to this (km or minutes per resident; share).
RESOLUTION = 1e-9

#: The least improvement the MILP asks of a new frontier point on some criterion, as a share
#: of that criterion's range over all sets (from every LSOA at its nearest candidate to every
#: LSOA at its furthest).
MILP_STEP = 1e-5

#: The two measures per group, in the order of the criteria columns.
MEASURES = ("change", "far")

CORE20 = CORE20_LABELS[0]

__all__ = [
    "MAX_ENUMERATE",
    "RESOLUTION",
    "MILP_STEP",
    "MEASURES",
    "CORE20",
    "distance_matrix",
    "dominates",
    "group_columns",
    "nondominated",
]


def distance_matrix(area: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Straight-line km from each LSOA's point to each site: LSOA × site (``sites["name"]``).

    Each column is :func:`eia.analysis.access.nearest_km` to that one site, so the nearest of
    any set of columns is the distance the appraisal measures for that set.
    """
    names = [str(n) for n in sites["name"]]
    if len(set(names)) != len(names):
        raise DataMismatchError("candidate sites must have distinct names")
    columns = {
        name: access.nearest_km(area["point"], sites.iloc[[k]])[0] for k, name in enumerate(names)
    }
    return pd.DataFrame(columns, index=pd.Index(area["lsoa21_code"].to_numpy(), name="lsoa21_code"))


def group_columns(
    weights: Mapping[str, pd.DataFrame], population: pd.Series | None = None
) -> pd.DataFrame:
    """The groups the frontier judges: LSOA × (All residents, Core20, each ethnic group).

    ``weights`` as :func:`eia.analysis.access.group_weights` returns (``core20`` and
    ``ethnic_group`` used when present); ``population`` gives All residents (default:
    the row sums of ``core20``, else of the first dimension).
    """
    frames = {dim: w.rename_axis("lsoa21_code") for dim, w in weights.items()}
    if not frames and population is None:
        raise DataMismatchError("explore needs group weights or a population")
    first = frames.get("core20", next(iter(frames.values()), None))
    index = (first.index if first is not None else population.index).rename("lsoa21_code")
    if population is None:
        population = first.sum(axis=1)
    out = {ALL_RESIDENTS: series_by_lsoa(population, "population", index).astype(float)}
    if "core20" in frames and CORE20 in frames["core20"]:
        out[CORE20] = by_lsoa(frames["core20"], "core20 weights", index)[CORE20].astype(float)
    if "ethnic_group" in frames:
        eth = by_lsoa(frames["ethnic_group"], "ethnic_group weights", index).fillna(0.0)
        for group in eth.columns:
            out[str(group)] = eth[group].astype(float)
    return pd.DataFrame(out, index=index)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether criteria vector ``a`` dominates ``b`` (lower is better): no worse, better once."""
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated(values: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``values`` (sets × criteria, lower is better) no other row dominates.

    Repeatedly takes the remaining row with the smallest sum (no row can dominate it:
    a dominating row has a smaller sum) and drops every row it dominates.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    keep = np.zeros(n, dtype=bool)
    alive = np.arange(n)
    sums = values.sum(axis=1)
    alive = alive[np.argsort(sums, kind="stable")]
    while len(alive):
        best = values[alive[0]]
        keep[alive[0]] = True
        rest = values[alive[1:]]
        dominated = np.all(best <= rest, axis=1) & np.any(best < rest, axis=1)
        alive = alive[1:][~dominated]
    return keep


@dataclass
class _Problem:
    """The arrays every method works on (rows: LSOAs; columns: candidates; groups)."""

    cost: np.ndarray  # LSOA × candidate, unreachable as the cap
    before: np.ndarray  # per LSOA, nearest current site
    share: np.ndarray  # LSOA × group: residents / group population
    groups: list[str]
    rules: Rules

    def contributions(self, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per LSOA (× sets): the counted change and the counted move across the far threshold."""
        b = self.before.reshape((-1,) + (1,) * (after.ndim - 1))
        d = after - b
        change, far = self.rules.change, self.rules.far
        counted = np.where(np.abs(d) > change, d, 0.0)  # d > change or d < -change
        moved = ((b <= far) & (after > far) & (d > change)).astype(float) - (
            (b > far) & (after <= far) & (d < -change)
        ).astype(float)
        return counted, moved

    def evaluate(self, combos: np.ndarray) -> np.ndarray:
        """Criteria of each set (rows of candidate positions): sets × (change…, far…)."""
        combos = np.atleast_2d(combos)
        after = self.cost[:, combos[:, 0]].copy()
        for t in range(1, combos.shape[1]):
            np.minimum(after, self.cost[:, combos[:, t]], out=after)
        counted, moved = self.contributions(after)
        return np.hstack([counted.T @ self.share, moved.T @ self.share])


def _prepare(
    matrix: pd.DataFrame,
    groups: pd.DataFrame,
    current: Sequence[str],
    rules: Rules,
    unreachable_as: float | None,
) -> tuple[_Problem, pd.DataFrame]:
    index = matrix.index.rename("lsoa21_code")
    if index.has_duplicates:
        raise DataMismatchError("the explore matrix repeats an LSOA")
    groups = by_lsoa(groups, "group weights", index).fillna(0.0)
    cost = matrix.to_numpy(dtype=np.float64).copy()
    if np.isnan(cost).any():
        if unreachable_as is None:
            raise DataMismatchError(
                "the explore matrix has unreachable pairs (NaN): pass unreachable_as"
            )
        cost[np.isnan(cost)] = unreachable_as
    columns = list(matrix.columns)
    missing = [s for s in current if s not in columns]
    if missing:
        raise DataMismatchError(f"{len(missing)} current site(s) not among the matrix's columns")
    before = cost[:, [columns.index(s) for s in current]].min(axis=1)
    w = groups.to_numpy(dtype=float)
    population = w.sum(axis=0)
    present = population > 0
    w, population = w[:, present], population[present]
    names = [str(g) for g, p in zip(groups.columns, present, strict=True) if p]
    share = w / population
    far_now = (before > rules.far).astype(float) @ share
    table = pd.DataFrame(
        {
            "group": names,
            "population": population,
            "mean_now": before @ share,
            "share_far_now": far_now,
        }
    )
    return _Problem(cost, before, share, names, rules), table


def _sizes(keep: int | Sequence[int]) -> list[int]:
    sizes = [keep] if isinstance(keep, int | np.integer) else list(keep)
    return sorted({int(k) for k in sizes})


def _check(candidates: list[str], keep: list[int], must: list[str]) -> None:
    problems = []
    if not keep:
        problems.append(Problem("explore.keep", "give how many sites to keep (1 or more)"))
    for k in keep:
        if k < 1 or k > len(candidates):
            problems.append(
                Problem(
                    "explore.keep",
                    f"{k} is not between 1 and the {len(candidates)} candidate sites",
                )
            )
        elif k < len(must):
            problems.append(
                Problem("explore.keep", f"{k} is fewer than the {len(must)} must_keep sites")
            )
    for i, name in enumerate(must):
        if name not in candidates:
            problems.append(Problem(f"explore.must_keep[{i}]", "not one of the candidate sites"))
    if problems:
        raise ParamsError("explore", problems)


def _count(n: int, keep: list[int], must: int) -> int:
    return sum(math.comb(n - must, k - must) for k in keep)


def _enumerate(problem: _Problem, n: int, keep: list[int], must: list[int]):
    """Every feasible set's criteria; the frontier's sets (all that share a frontier point).

    Both per-LSOA contributions only grow with the distance, so the contribution of a
    set's nearest site is the least of its sites' contributions: they are computed once
    per candidate, and a set's are the running minimum over its sites. Sets are taken
    as a head (all but two free sites, in order) and every pair of free sites after it,
    whose minima are computed once: one vectorised minimum per head.
    """
    counted, moved = problem.contributions(problem.cost)
    share = problem.share
    g = share.shape[1]
    # candidate × LSOA: a row per site, the counted change then the move across the threshold
    per_site = np.hstack([counted.T, moved.T])
    m_lsoa = problem.cost.shape[0]

    def criteria(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), 2 * g))
        out[:, :g] = rows[:, :m_lsoa] @ share
        out[:, g:] = rows[:, m_lsoa:] @ share
        return out.round(9)

    free = [j for j in range(n) if j not in must]
    base = per_site[must].min(axis=0) if must else np.full(per_site.shape[1], np.inf)
    all_sets: list[np.ndarray] = []
    all_values: list[np.ndarray] = []
    for k in keep:
        r = k - len(must)
        if r < 2:  # every set in one go
            heads = [()] if r == 0 else [(j,) for j in free]
            rows = np.vstack([np.minimum.reduce([base, *per_site[list(h)]]) for h in heads])
            all_values.append(criteria(rows))
            all_sets.append(np.array([sorted([*must, *h]) for h in heads], dtype=np.int32))
            continue
        pairs = np.array(list(itertools.combinations(range(len(free)), 2)), dtype=np.int32)
        free_arr = np.array(free, dtype=np.int32)
        pair_min = np.minimum(per_site[free_arr[pairs[:, 0]]], per_site[free_arr[pairs[:, 1]]])
        first = np.searchsorted(pairs[:, 0], np.arange(len(free) + 1))  # pairs starting at i
        for head in itertools.combinations(range(len(free)), r - 2):
            start = first[head[-1] + 1] if head else 0
            if start == len(pairs):
                continue
            low = base
            for i in head:
                low = np.minimum(low, per_site[free[i]])
            rows = np.minimum(low, pair_min[start:])
            all_values.append(criteria(rows))
            tail = free_arr[pairs[start:]]
            fixed = np.array([*must, *free_arr[list(head)]], dtype=np.int32)
            chosen = np.hstack([np.broadcast_to(fixed, (len(tail), k - 2)), tail])
            all_sets.append(np.sort(chosen, axis=1))
    values = np.vstack(all_values)
    sets = np.vstack(all_sets) if len({a.shape[1] for a in all_sets}) == 1 else None
    mask = nondominated(values)
    if sets is None:
        listed = [tuple(int(j) for j in row) for part in all_sets for row in part]
        best = [s for s, keep_it in zip(listed, mask, strict=True) if keep_it]
    else:
        best = [tuple(int(j) for j in row) for row in sets[mask]]
    return best, values[mask], values[:, :2]


def _milp(
    problem: _Problem,
    n: int,
    keep: list[int],
    must: list[int],
    *,
    time_limit: float,
):
    """The frontier by the ε-constraint method of Sylva and Crema on the p-median (see module).

    The p-median is written in the "radius" form (Elloumi 2010, INFORMS J. Computing
    22:294–306), whose linear relaxation is much tighter than the assignment form: with each
    LSOA's candidates in order of distance, ``z_ik`` is 1 when none of its ``k + 1`` nearest
    candidates is open (``z_ik >= 1 - sum of y over them``), and each criterion is the
    contribution of the nearest candidate plus, for every ``k``, the step to the next one
    times ``z_ik``. Both contributions grow with distance, so every step is non-negative and
    one set of ``z`` serves every criterion.
    """
    m_lsoa = problem.cost.shape[0]
    counted, moved = problem.contributions(problem.cost)  # LSOA × candidate
    order = np.argsort(problem.cost, axis=1, kind="stable")
    rows_i = np.arange(m_lsoa)[:, None]
    steps = np.concatenate(
        [np.diff(counted[rows_i, order], axis=1), np.diff(moved[rows_i, order], axis=1)], axis=1
    )  # LSOA × 2(n − 1): the steps of both measures
    useful = (steps[:, : n - 1] > 0) | (steps[:, n - 1 :] > 0)
    zi, zk = np.nonzero(useful)  # one z per LSOA and step that changes a criterion
    n_z = len(zi)
    share = problem.share
    g = share.shape[1]
    start = np.concatenate(
        [counted[rows_i, order][:, 0] @ share, moved[rows_i, order][:, 0] @ share]
    )
    objectives = np.vstack(
        [(share[zi, k] * steps[zi, zk]) for k in range(g)]
        + [(share[zi, k] * steps[zi, (n - 1) + zk]) for k in range(g)]
    )  # criteria × z
    n_crit = objectives.shape[0]
    span = objectives.sum(axis=1)  # from everyone at the nearest candidate to the furthest
    span = np.where(span > 0, span, 1.0)
    objectives = objectives / span[:, None]
    # With at least min(keep) sites open, every LSOA has one among its n - min(keep) + 1
    # nearest: a bound on each criterion that keeps the big-M of each disjunction small.
    reach = n - min(keep)
    ceiling = objectives[:, zk < reach].sum(axis=1)
    weight = objectives.sum(axis=0)

    n_size = len(keep)
    width0 = n + n_size + n_z  # y, size choice, z
    # z_ik + sum of y over the k + 1 nearest >= 1
    counts = zk + 1
    rows = np.repeat(np.arange(n_z), counts)
    cols = np.concatenate([order[i, : k + 1] for i, k in zip(zi, zk, strict=True)])
    cover = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(n_z, width0)
    ) + sparse.csr_matrix(
        (np.ones(n_z), (np.arange(n_z), n + n_size + np.arange(n_z))), shape=(n_z, width0)
    )
    sizes = np.zeros((2, width0))
    sizes[0, :n], sizes[0, n : n + n_size] = 1.0, -np.array(keep, dtype=float)
    sizes[1, n : n + n_size] = 1.0
    base = [
        (cover, np.ones(n_z), np.full(n_z, np.inf)),
        (sparse.csr_matrix(sizes), np.array([0.0, 1.0]), np.array([0.0, 1.0])),
    ]
    lower = np.zeros(width0)
    upper = np.ones(width0)
    lower[must] = 1.0
    integrality0 = np.concatenate([np.ones(n + n_size), np.zeros(n_z)])

    found_sets: list[tuple[int, ...]] = []
    found_values: list[np.ndarray] = []
    cuts: list[tuple[int, ...]] = []  # sets the solver returned that were not new (tolerances)
    started = time.perf_counter()
    complete = True
    while True:
        n_w = n_crit * len(found_values)
        width = width0 + n_w
        constraints = [
            LinearConstraint(sparse.hstack([A, sparse.csr_matrix((A.shape[0], n_w))]), lo, hi)
            for A, lo, hi in base
        ]
        w_upper = np.ones(n_w)
        if found_values:
            blocks = []
            for p, point in enumerate(found_values):
                # f_k <= point_k - step, unless w_k = 0 (then f_k <= its ceiling): some w_k = 1
                target = (point - start) / span - MILP_STEP
                big = np.maximum(ceiling - target, 0.0)
                A = np.zeros((n_crit + 1, width))
                A[:n_crit, n + n_size : width0] = objectives
                A[np.arange(n_crit), width0 + p * n_crit + np.arange(n_crit)] = big
                A[n_crit, width0 + p * n_crit : width0 + (p + 1) * n_crit] = 1.0
                hi = np.append(target + big, np.inf)
                lo = np.append(np.full(n_crit, -np.inf), 1.0)
                blocks.append((sparse.csr_matrix(A), lo, hi))
                stuck = np.flatnonzero(target < 0)  # cannot improve: at its floor
                w_upper[p * n_crit + stuck] = 0.0
            constraints += [LinearConstraint(A, lo, hi) for A, lo, hi in blocks]
        for chosen in cuts:  # no-good cut: not this set again
            row = np.zeros(width)
            row[:n] = -1.0
            row[list(chosen)] = 1.0
            constraints.append(LinearConstraint(row.reshape(1, -1), -np.inf, len(chosen) - 1))
        left = time_limit - (time.perf_counter() - started)
        if left <= 0 or len(cuts) > 100:
            complete = False
            break
        result = milp(
            np.concatenate([np.zeros(n + n_size), weight, np.zeros(n_w)]),
            constraints=constraints,
            integrality=np.concatenate([integrality0, np.ones(n_w)]),
            bounds=Bounds(np.concatenate([lower, np.zeros(n_w)]), np.concatenate([upper, w_upper])),
            options={"mip_rel_gap": 0.0, "time_limit": left},
        )
        if result.status == 2:  # infeasible: no feasible set improves on every point found
            break
        if result.x is None or result.status != 0:
            complete = False
            break
        chosen = tuple(int(j) for j in np.flatnonzero(result.x[:n] > 0.5))
        values = problem.evaluate(np.array([chosen]))[0].round(9)
        if any(np.all(v <= values) for v in found_values):  # within tolerance of a point found
            cuts.append(chosen)
            continue
        found_sets.append(chosen)
        found_values.append(values)
    values = np.vstack(found_values) if found_values else np.zeros((0, n_crit))
    mask = nondominated(values) if len(values) else np.zeros(0, bool)
    return [s for s, k in zip(found_sets, mask, strict=True) if k], values[mask], complete
