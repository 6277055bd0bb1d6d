"""The equity frontier: every site set no other feasible set beats for every group.

Given candidate sites, how many of them the service runs from (``keep``: one
number or several) and sites that must stay (``must_keep``), a **feasible set**
is any choice of candidates of an allowed size that holds every must-keep site.
Each set is judged on two criteria per group — all residents, Core20 residents
and each Census 2021 ethnic group — both lower is better, both in the
appraisal's language (changes against the current sites, :mod:`eia.analysis.impact`):

* ``change``: the net change per resident in distance (km) or, with travel-time
  matrices, minutes to the nearest kept site — exactly the appraisal's
  ``net_per_resident``, so a change no larger than ``rules.change`` counts as no
  change, as in every burden figure; the level (mean distance "as counted") is the
  current mean plus this change;
* ``far``: the change in the share of the group beyond the far threshold
  (``rules.far``), counting an LSOA as newly beyond (or newly within) it only when
  its change also counts — exactly ``(newly_far − newly_near) / residents`` of
  :func:`eia.analysis.impact.burden`; the level is the share beyond it now plus this change.

A set is on the **frontier** when no feasible set is at least as good on every
criterion and better on at least one (criteria compared after rounding to
:data:`RESOLUTION`). Two exact methods find it:

* ``enumeration`` (up to :data:`MAX_ENUMERATE` feasible sets): every feasible set
  is evaluated (one vectorised minimum per set of all but two sites, see
  :func:`_enumerate`) and the non-dominated ones are kept; every
  set with the same criteria as a frontier set is listed;
* ``milp`` (beyond it): the p-median programme (open ``y_j``; the tight "radius" form of
  Elloumi 2010) with one linear objective per criterion, solved with ``scipy.optimize.milp`` (HiGHS)
  by the ε-constraint method of Sylva and Crema (2004, EJOR 158:46–55): minimise
  the sum of the normalised criteria subject to improving, by at least
  :data:`MILP_STEP`, on some criterion of every frontier point found so far; each
  solution is a new frontier point and the search ends when none is left. It lists
  one set per distinct frontier point, and resolves differences of
  :data:`MILP_STEP` of a criterion's range and more.

Both criteria only grow as a resident's nearest site gets further away, so
assigning every LSOA to its nearest kept site is optimal for every criterion at
once: the p-median costs are the per-LSOA contributions to each criterion, and
every set found is re-evaluated exactly by the same code as the enumeration.

:func:`explore` is the library function (a distance or minutes matrix, group
weights, the current sites); :func:`distance_matrix` builds the km matrix with
:func:`eia.analysis.access.nearest_km` (the appraisal's own distance code);
:func:`from_assessment` runs a proposal's ``explore:`` block. The result is a
:class:`Frontier` of plain frames; it returns numbers, never sentences.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from threadpoolctl import threadpool_limits

from eia.align import by_lsoa, series_by_lsoa
from eia.analysis import access
from eia.analysis.access import CORE20_LABELS
from eia.analysis.impact import ALL_RESIDENTS, Rules
from eia.errors import DataMismatchError, ParamsError, Problem

__all__ = [
    "MAX_ENUMERATE",
    "MILP_STEP",
    "RESOLUTION",
    "Frontier",
    "distance_matrix",
    "dominates",
    "explore",
    "from_assessment",
    "group_columns",
    "nondominated",
]

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


@dataclass
class Frontier:
    """The frontier of site sets and where the proposal's options sit on it.

    ``groups``: ``group, population, mean_now, share_far_now`` (the current sites'
    levels). ``sets``: every set on the frontier among sets of its size, ``set``
    (F1, F2, …: the frontier across all sizes first), ``sites`` (tuple of names),
    ``size``, ``frontier`` (True: on the frontier across every size allowed), and
    one column per criterion named ``"{measure}: {group}"`` (:data:`MEASURES`;
    changes against the current sites). ``options``: one row per option, ``option,
    sites, size, feasible, on_frontier, dominated_by_sets`` (frontier set labels),
    ``on_size_frontier, dominated_by_same_size`` (against sets of its own size) and
    the criteria. ``points``: every feasible set's all-residents and Core20 change
    and size (``enumeration`` only; None after the MILP). ``method``
    (``enumeration`` or ``milp``), ``seconds`` and ``complete`` (False only when
    the MILP hit its time limit) say how it was found.
    """

    unit: str
    far: float
    change: float
    method: str
    seconds: float
    candidates: list[str]
    current: list[str]
    keep: list[int]
    must_keep: list[str]
    groups: pd.DataFrame
    sets: pd.DataFrame
    options: pd.DataFrame
    n_feasible: int
    complete: bool = True
    points: pd.DataFrame | None = None
    criteria: list[str] = field(default_factory=list)

    @staticmethod
    def criterion(measure: str, group: str) -> str:
        """The column name of one criterion: ``"change: All residents"``."""
        return f"{measure}: {group}"

    @property
    def frontier(self) -> pd.DataFrame:
        """The sets on the frontier across every size allowed."""
        return self.sets[self.sets["frontier"]].reset_index(drop=True)

    def levels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s criteria as levels: mean distance (or minutes) as counted, share beyond."""
        out = frame.copy()
        g = self.groups.set_index("group")
        for group in g.index:
            out[self.criterion("change", group)] += g.loc[group, "mean_now"]
            out[self.criterion("far", group)] += g.loc[group, "share_far_now"]
        return out

    def dominance(self, option: str, *, same_size: bool = False) -> pd.DataFrame:
        """How much better each frontier set that dominates ``option`` is, per group and measure
        (``same_size``: the sets of the option's size that dominate it).

        Columns ``set, sites, group, measure, option_value, set_value, difference``
        (set minus option: never positive; negative where the set is better).
        """
        row = self.options.set_index("option").loc[option]
        sets = self.sets.set_index("set")
        rows = []
        for label in row["dominated_by_same_size" if same_size else "dominated_by_sets"]:
            for column in self.criteria:
                measure, group = column.split(": ", 1)
                ov, sv = float(row[column]), float(sets.loc[label, column])
                rows.append(
                    {
                        "set": label,
                        "sites": sets.loc[label, "sites"],
                        "group": group,
                        "measure": measure,
                        "option_value": ov,
                        "set_value": sv,
                        "difference": round(sv - ov, 9),
                    }
                )
        columns = ["set", "sites", "group", "measure", "option_value", "set_value", "difference"]
        return pd.DataFrame(rows, columns=columns)

    def chart_data(self) -> pd.DataFrame:
        """The chart's data: every set on the frontier of its size and every option, with the
        all-residents and Core20 change: ``label, kind`` (``set`` or ``option``), ``sites,
        size, frontier`` (across sizes), ``tradeoff`` (on its size's best trade-off between
        all residents and Core20 residents), ``all_residents, core20``."""
        all_c, core_c = self.criterion("change", ALL_RESIDENTS), self.criterion("change", CORE20)
        columns = ["label", "kind", "sites", "size", "frontier", "tradeoff"]
        columns += ["all_residents", "core20"]
        if core_c not in self.sets:
            return pd.DataFrame(columns=columns)
        sets = self.sets.assign(tradeoff=False)
        for _, part in sets.groupby("size"):
            two = part[[all_c, core_c]].to_numpy()
            sets.loc[part.index[nondominated(two)], "tradeoff"] = True
        out = pd.DataFrame(
            {
                "label": sets["set"],
                "kind": "set",
                "sites": [", ".join(s) for s in sets["sites"]],
                "size": sets["size"],
                "frontier": sets["frontier"],
                "tradeoff": sets["tradeoff"],
                "all_residents": sets[all_c],
                "core20": sets[core_c],
            }
        )
        opts = pd.DataFrame(
            {
                "label": self.options["option"],
                "kind": "option",
                "sites": [", ".join(s) for s in self.options["sites"]],
                "size": self.options["size"],
                "frontier": self.options["on_frontier"],
                "tradeoff": False,
                "all_residents": self.options[all_c],
                "core20": self.options[core_c],
            }
        )
        return pd.concat([out, opts], ignore_index=True)[columns]

    def _criteria(self, row) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        g = self.groups.set_index("group")
        for group in g.index:
            change = float(row[self.criterion("change", group)])
            far = float(row[self.criterion("far", group)])
            out[group] = {
                "net_change_per_resident": round(change, 6),
                "mean_as_counted": round(float(g.loc[group, "mean_now"]) + change, 6),
                "change_in_share_beyond_threshold": round(far, 6),
                "share_beyond_threshold": round(float(g.loc[group, "share_far_now"]) + far, 6),
            }
        return out

    def _beaten_by(self, option: str, same_size: bool) -> list[dict[str, Any]]:
        by = self.dominance(option, same_size=same_size)
        sites = dict(zip(self.sets["set"], self.sets["sites"], strict=True))
        return [
            {
                "set": label,
                "sites": list(sites[label]),
                "better_by": {
                    f"{m}: {g}": round(-float(d), 6)
                    for m, g, d in zip(
                        part["measure"], part["group"], part["difference"], strict=True
                    )
                },
            }
            for label, part in by.groupby("set", sort=False)
        ]

    def as_dict(self) -> dict[str, Any]:
        """``metrics.json`` ``frontier``: every frontier set (site names, criteria), the frontier
        of each size, and per option ``on_frontier`` and ``dominated_by_sets``. Deterministic:
        the time taken is not in it (the report states it)."""

        def listed(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {"set": r["set"], "sites": list(r["sites"]), "criteria": self._criteria(r)}
                for _, r in frame.iterrows()
            ]

        options = [
            {
                "option": r["option"],
                "sites": list(r["sites"]),
                "feasible": bool(r["feasible"]),
                "on_frontier": bool(r["on_frontier"]),
                "dominated_by_sets": self._beaten_by(r["option"], False),
                "on_size_frontier": bool(r["on_size_frontier"]),
                "dominated_by_same_size": self._beaten_by(r["option"], True),
                "criteria": self._criteria(r),
            }
            for _, r in self.options.iterrows()
        ]
        return {
            "method": self.method,  # its time is in the report: metrics.json stays deterministic
            "complete": self.complete,
            "unit": self.unit,
            "far_threshold": self.far,
            "change_counted_above": self.change,
            "candidates": list(self.candidates),
            "current": list(self.current),
            "keep": list(self.keep),
            "must_keep": list(self.must_keep),
            "feasible_sets": int(self.n_feasible),
            "groups": [
                {
                    "group": r.group,
                    "population": int(round(r.population)),
                    "mean_now": round(float(r.mean_now), 6),
                    "share_beyond_threshold_now": round(float(r.share_far_now), 6),
                }
                for r in self.groups.itertuples()
            ],
            "criteria": {
                "net_change_per_resident": (
                    f"net change per resident in {self.unit} to the nearest kept site against the "
                    f"current sites (changes of at most {self.change:g} {self.unit} count as none)"
                ),
                "change_in_share_beyond_threshold": (
                    f"change in the share of the group beyond {self.far:g} {self.unit}"
                ),
                "better": "lower",
            },
            "sets": listed(self.frontier),
            "by_size": {str(k): listed(self.sets[self.sets["size"] == k]) for k in self.keep},
            "options": options,
        }


# ---------------------------------------------------------------------------
# Inputs


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


# ---------------------------------------------------------------------------
# Dominance


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


# ---------------------------------------------------------------------------
# Evaluation


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


# ---------------------------------------------------------------------------
# The library function


def explore(
    matrix: pd.DataFrame,
    weights: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    current: Sequence[str],
    keep: int | Sequence[int],
    rules: Rules | None = None,
    must_keep: Sequence[str] = (),
    options: Mapping[str, Sequence[str]] | None = None,
    candidates: Sequence[str] | None = None,
    population: pd.Series | None = None,
    unreachable_as: float | None = None,
    method: str = "auto",
    max_enumerate: int = MAX_ENUMERATE,
    time_limit: float = 600.0,
) -> Frontier:
    """The frontier of feasible site sets and where each option sits (module docstring).

    ``matrix``: LSOA × site, km (:func:`distance_matrix`) or minutes (NaN: not
    reachable, counted as ``unreachable_as`` as the appraisal does), indexed by
    ``lsoa21_code``; ``candidates`` (default: every column) are the sites sets are
    chosen from; ``current`` the sites now (the baseline; columns of ``matrix``).
    ``weights``: :func:`eia.analysis.access.group_weights`' mapping, or an LSOA × group frame
    (:func:`group_columns`). ``keep``: the sizes allowed; ``must_keep``: sites every
    set holds; ``options``: name → sites, placed on the frontier. ``rules``: the
    appraisal's :class:`eia.analysis.impact.Rules` (``change``, ``far``, ``unit``).
    ``method``: ``auto`` (enumeration up to ``max_enumerate`` feasible sets, else
    ``milp``), ``enumeration`` or ``milp``; the MILP stops after ``time_limit``
    seconds (``complete`` False).
    """
    rules = rules or Rules()
    started = time.perf_counter()
    groups = weights if isinstance(weights, pd.DataFrame) else group_columns(weights, population)
    candidates = [str(c) for c in (candidates if candidates is not None else matrix.columns)]
    if len(set(candidates)) != len(candidates):
        raise DataMismatchError("candidate sites must have distinct names")
    unknown = [c for c in candidates if c not in matrix.columns]
    if unknown:
        raise DataMismatchError(f"{len(unknown)} candidate site(s) not among the matrix's columns")
    sizes, must = _sizes(keep), [str(s) for s in must_keep]
    _check(candidates, sizes, must)
    problem, table = _prepare(matrix, groups, [str(c) for c in current], rules, unreachable_as)
    columns = list(matrix.columns)
    cand_pos = [columns.index(c) for c in candidates]
    sub = _Problem(problem.cost[:, cand_pos], problem.before, problem.share, problem.groups, rules)
    must_pos = [candidates.index(s) for s in must]
    n_feasible = _count(len(candidates), sizes, len(must_pos))
    if method == "auto":
        method = "enumeration" if n_feasible <= max_enumerate else "milp"
    if method not in ("enumeration", "milp"):
        raise ValueError(f"method must be auto, enumeration or milp, not {method!r}")
    found_sets: list[tuple[int, ...]] = []
    found_values = []
    points = []
    complete = True
    for k in sizes:  # the frontier among sets of each size, then across sizes
        if method == "enumeration":
            with threadpool_limits(limits=1, user_api="blas"):  # small products: 1 thread is faster
                sets, values, pts = _enumerate(sub, len(candidates), [k], must_pos)
            points.append(pd.DataFrame(pts, columns=["all_residents", "core20"]).assign(size=k))
        else:
            left = time_limit - (time.perf_counter() - started)
            sets, values, done = _milp(sub, len(candidates), [k], must_pos, time_limit=left)
            complete = complete and done
        found_sets += sets
        found_values.append(values)
    criteria = [f"{m}: {g}" for m in MEASURES for g in problem.groups]
    values = np.vstack(found_values)
    frame = pd.DataFrame(values, columns=criteria)
    frame.insert(0, "sites", [tuple(candidates[j] for j in s) for s in found_sets])
    frame.insert(1, "size", [len(s) for s in found_sets])
    frame.insert(2, "frontier", nondominated(values))
    frame = frame.sort_values(
        ["frontier", "size", criteria[0], criteria[len(problem.groups)], "sites"],
        ascending=[False, True, True, True, True],
    ).reset_index(drop=True)
    frame.insert(0, "set", [f"F{i + 1}" for i in range(len(frame))])
    placed = _place(problem, columns, candidates, sizes, must, frame, criteria, options or {})
    if method != "enumeration" or problem.groups[:2] != [ALL_RESIDENTS, CORE20]:
        points = None
    else:
        points = pd.concat(points, ignore_index=True)
    return Frontier(
        unit=rules.unit,
        far=rules.far,
        change=rules.change,
        method=method,
        seconds=time.perf_counter() - started,
        candidates=candidates,
        current=[str(c) for c in current],
        keep=sizes,
        must_keep=must,
        groups=table,
        sets=frame,
        options=placed,
        n_feasible=n_feasible,
        complete=complete,
        points=points,
        criteria=criteria,
    )


def _place(problem, columns, candidates, sizes, must, frame, criteria, options) -> pd.DataFrame:
    """Each option's criteria, whether it is feasible and on the frontier, and what dominates it."""
    rows = []
    sets = frame[criteria].to_numpy()
    for name, sites in options.items():
        sites = [str(s) for s in sites]
        missing = [s for s in sites if s not in columns]
        if missing:
            raise DataMismatchError(
                f"option {name!r}: {len(missing)} site(s) not among the matrix's columns"
            )
        values = problem.evaluate(np.array([[columns.index(s) for s in sites]]))[0].round(9)
        feasible = (
            len(set(sites)) in sizes
            and all(s in candidates for s in sites)
            and all(s in sites for s in must)
        )
        beaten = [
            label
            for label, v, overall in zip(frame["set"], sets, frame["frontier"], strict=True)
            if overall and dominates(np.asarray(v), values)
        ]
        same = [
            label
            for label, v, size in zip(frame["set"], sets, frame["size"], strict=True)
            if size == len(set(sites)) and dominates(np.asarray(v), values)
        ]
        rows.append(
            {
                "option": name,
                "sites": tuple(sites),
                "size": len(set(sites)),
                "feasible": feasible,
                "on_frontier": feasible and not beaten,
                "dominated_by_sets": beaten,
                "on_size_frontier": feasible and not same,
                "dominated_by_same_size": same,
            }
            | dict(zip(criteria, values, strict=True))
        )
    columns_out = [
        "option",
        "sites",
        "size",
        "feasible",
        "on_frontier",
        "dominated_by_sets",
        "on_size_frontier",
        "dominated_by_same_size",
    ]
    return pd.DataFrame(rows, columns=columns_out + criteria)


# ---------------------------------------------------------------------------
# From a proposal's explore block


def from_assessment(a, *, method: str = "auto") -> Frontier:
    """Run the proposal's ``explore:`` block on an assessment (:func:`eia.assessment.assess`).

    Distances come from :func:`distance_matrix`; with travel-time matrices, the lead
    mode's minutes (unreachable counted as the appraisal counts it). The options'
    sites are always candidates, so each option of an allowed size is a feasible set.
    ``must_keep`` names a candidate by its name or its hospital, in any case.
    """
    proposal = a.proposal
    spec = proposal.explore
    listed = spec.candidate_sites(proposal.sites.current)
    scenarios = proposal.scenarios()
    if a.travel:  # sites are the matrix's columns, named by their labels
        matrix = a.travel[a.lead_mode].minutes
        names = [s.label for s in listed]
        current = [s.label for s in proposal.sites.current]
        option_sites = {name: [s.label for s in sites] for name, sites in scenarios.items()}
        cap = a.unreachable_as[a.lead_mode]
    else:
        located = access.resolve_sites(a.pack, listed)
        names = list(located["name"])
        current = list(a.current["name"])
        option_sites = {name: list(frame["name"]) for name, frame in a.proposed.items()}
        every = pd.concat([located, a.current, *a.proposed.values()], ignore_index=True)
        every = gpd.GeoDataFrame(
            every.drop_duplicates("name"), geometry="geometry", crs=located.crs
        )
        matrix = distance_matrix(a.area, every)
        cap = None
    known: dict[str, str] = {}
    pairs = list(zip(listed, names, strict=True))
    for name, sites in scenarios.items():
        pairs += list(zip(sites, option_sites[name], strict=True))
    for site, name in pairs:
        for key in (site.label, site.hospital, name):
            if key:
                known.setdefault(key.casefold(), name)
    must = [known.get(m.casefold(), m) for m in spec.must_keep]
    candidates = list(dict.fromkeys([*names, *(s for v in option_sites.values() for s in v)]))
    return explore(
        matrix,
        a.weights,
        current=current,
        keep=spec.keep,
        rules=a.rules,
        must_keep=must,
        options=option_sites,
        candidates=candidates,
        population=a.area.set_index("lsoa21_code")["population"],
        unreachable_as=cap,
        method=method,
    )
