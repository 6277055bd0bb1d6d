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

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from eia.analysis import access
from eia.analysis.frontier_search import (
    CORE20,
    MAX_ENUMERATE,
    MEASURES,
    MILP_STEP,
    RESOLUTION,
    _check,
    _count,
    _enumerate,
    _milp,
    _prepare,
    _Problem,
    _sizes,
    distance_matrix,
    dominates,
    group_columns,
    nondominated,
)
from eia.analysis.impact import ALL_RESIDENTS, Rules
from eia.errors import DataMismatchError

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
            "criteria": {  # codes (docs/methods.md says what each measures)
                "measures": ["net_change_per_resident", "change_in_share_beyond_threshold"],
                "unit": self.unit,
                "better": "lower",
            },
            "sets": listed(self.frontier),
            "by_size": {str(k): listed(self.sets[self.sets["size"] == k]) for k in self.keep},
            "options": options,
        }


# ---------------------------------------------------------------------------
# Inputs


# ---------------------------------------------------------------------------
# Dominance


# ---------------------------------------------------------------------------
# Evaluation


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
        matrix = a.travel.matrices[a.lead_mode].minutes
        names = [s.label for s in listed]
        current = [s.label for s in proposal.sites.current]
        option_sites = {name: [s.label for s in sites] for name, sites in scenarios.items()}
        cap = a.travel.unreachable_as[a.lead_mode]
    else:
        located = access.resolve_sites(a.pack, listed)
        names = list(located["name"])
        current = list(a.access.current["name"])
        option_sites = {name: list(frame["name"]) for name, frame in a.access.proposed.items()}
        every = pd.concat(
            [located, a.access.current, *a.access.proposed.values()], ignore_index=True
        )
        every = gpd.GeoDataFrame(
            every.drop_duplicates("name"), geometry="geometry", crs=located.crs
        )
        matrix = distance_matrix(a.area.lsoas, every)
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
        a.area.weights,
        current=current,
        keep=spec.keep,
        rules=a.rules,
        must_keep=must,
        options=option_sites,
        candidates=candidates,
        population=a.area.lsoas.set_index("lsoa21_code")["population"],
        unreachable_as=cap,
        method=method,
    )
