"""Options appraisal a board can defend: criteria, dominance, one equity-weighted score, robustness.

Each option is compared with doing nothing (the current sites) on a table of
criteria (:func:`criteria`), every one "lower is better" or "higher is better":

* person-km added (distance, or person-minutes with travel times) for all
  residents, Core20 residents and each ethnic group (lower is better);
* people newly beyond the far threshold, for the same groups (lower is better);
* person-km removed, for all residents and Core20 residents (higher is better);
* disproportionate flags among Core20 residents, each ethnic group and any
  opted-in Census group (lower is better). IMD quintiles are not counted: Core20
  is quintile 1, so they would count the same residents twice, and a flag for a
  less deprived quintile is not a harm to a group the duty protects.

Option X **dominates** Y when X is no worse than Y on every group outcome
(added, newly far, removed) and better on at least one; the flags criterion is
reported beside it and never creates or hides a dominance. Options are ordered by one equity-weighted score
(:func:`score`): net person-km, with each Core20 resident's kilometres counted
``equity_weight`` times (default 2). Ties are broken by how many options
dominate each, fewer first; options still tied share a rank. Because the score
never rises when a criterion improves, an option is never ranked below an
option it dominates, and one that keeps a superset of another's sites is never
ranked below it.

**Robustness** (:func:`robustness`): the appraisal is repeated with each
threshold halved and doubled (for the two multipliers, ``disproportionate_ratio``
and ``equity_weight``, the part above 1 is halved and doubled); the ranking
holds if every variation gives the same ranks. The same variations show which
disproportionate flags of each option are lost or gained (flag stability).

Everything here is numbers and codes (criteria as ``measure``/``group`` codes, a
variation as ``threshold``/``variation``/``value``, a head-to-head comparison as the
better option per criterion); the report's words for them are Jinja2 templates in
``src/eia/report/prose`` (``appraisal.txt.j2``), and the judgements a reader sees are
in :mod:`eia.findings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from eia.analysis import impact
from eia.analysis.access import CORE20_LABELS
from eia.jsonable import clean
from eia.params import Thresholds
from eia.refdata.schemas import BURDEN

__all__ = [
    "CORE20",
    "FLAG_DIMENSIONS",
    "MULTIPLIERS",
    "OUTCOME_MEASURES",
    "REST",
    "Appraisal",
    "Robustness",
    "appraise",
    "criteria",
    "dominance",
    "head_to_head",
    "order",
    "rank",
    "robustness",
    "score",
    "variations",
]

#: The Core20 group and the rest of the area in the ``core20`` dimension.
CORE20, REST = CORE20_LABELS

#: Dimensions whose disproportionate flags count as a criterion (Core20: its Core20 group only;
#: IMD quintiles and the rest of the area are not counted).
FLAG_DIMENSIONS = ("core20", "ethnic_group", "religion", "disability")

#: The multipliers: varied by their excess over 1 (1.2 halved is 1.1).
MULTIPLIERS = ("disproportionate_ratio", "equity_weight")

#: The columns of :attr:`Robustness.variations`.
VARIATION_COLUMNS = [
    "threshold",
    "variation",
    "value",
    "holds",
    "first",
    "ranks",
    "flags_lost",
    "flags_gained",
]


def _flag_dicts(items) -> list[dict[str, str]]:
    return [{"option": o, "dimension": d, "group": g} for o, d, g in items]


@dataclass
class Robustness:
    """Whether the ranking, and each option's disproportionate flags, hold when each
    threshold is halved and doubled.

    ``variations`` has one row per variation tried (:data:`VARIATION_COLUMNS`):
    ``threshold`` (a :class:`eia.params.Thresholds` field), ``variation`` (``halved`` or
    ``doubled``; for :data:`MULTIPLIERS` the excess over 1 is), ``value``, ``holds`` (the
    ranks are unchanged), ``first`` (the option or options then ranked first, a tuple),
    ``ranks`` and ``flags_lost``, ``flags_gained`` (``(option, dimension, group)`` tuples
    whose flag that variation removes or adds). Data only: the report words it.
    """

    holds: bool
    variations: pd.DataFrame

    @property
    def tried(self) -> int:
        """How many variations were tried."""
        return len(self.variations)

    @property
    def flips(self) -> pd.DataFrame:
        """The variations that change the ranking."""
        v = self.variations
        return v[~v["holds"].astype(bool)] if len(v) else v

    @property
    def flags_hold(self) -> bool:
        """Whether no variation removes or adds a disproportionate flag of any option."""
        return not self.flag_changes()

    def flag_changes(self, option: str | None = None) -> list[dict]:
        """Each variation that removes or adds a flag (of ``option`` when given, else of any
        option): ``threshold``, ``variation``, ``value`` and the ``lost`` and ``gained``
        ``(option, dimension, group)`` tuples."""
        out = []
        if not len(self.variations) or "flags_lost" not in self.variations:
            return out
        for row in self.variations.itertuples():
            lost, gained = (
                [k for k in getattr(row, key) if option is None or k[0] == option]
                for key in ("flags_lost", "flags_gained")
            )
            if lost or gained:
                out.append(
                    {
                        "threshold": row.threshold,
                        "variation": row.variation,
                        "value": row.value,
                        "lost": lost,
                        "gained": gained,
                    }
                )
        return out

    def as_dict(self) -> dict:
        """For metrics.json: numbers and codes (the report words them)."""
        rows = self.variations.itertuples() if len(self.variations) else ()
        return {
            "holds": bool(self.holds),
            "flags_hold": self.flags_hold,
            "variations_tried": [
                {
                    "threshold": r.threshold,
                    "variation": r.variation,
                    "value": r.value,
                    "holds": bool(r.holds),
                    "first": list(r.first),
                }
                for r in rows
            ],
            "flipped_by": [
                {
                    "threshold": r.threshold,
                    "variation": r.variation,
                    "value": r.value,
                    "first": list(r.first),
                }
                for r in self.flips.itertuples()
            ]
            if len(self.variations)
            else [],
            "flags_changed_by": [
                c | {"lost": _flag_dicts(c["lost"]), "gained": _flag_dicts(c["gained"])}
                for c in self.flag_changes()
            ],
        }


@dataclass
class Appraisal:
    """The judgement on a proposal's options, computed once per assessment.

    ``options``: one row per option (``option, rank, score, dominated_by,
    dominates``), rank 1 first; ``criteria``: the long criteria table
    (``option, criterion, group, measure, unit, better, value``);
    ``burden``: every group's burden and rating per option
    (:func:`eia.analysis.impact.burden`); ``robustness``: :class:`Robustness`. The score is
    the equity-weighted net burden (:func:`score`) in person-``unit``, with each Core20
    resident's counted ``equity_weight`` times; lower is better. ``far``: the far threshold
    (in ``unit``) the ``newly_far`` criteria count against; ``change``: the change (in
    ``unit``) a resident's value must exceed to count as further or nearer.
    """

    unit: str
    options: pd.DataFrame
    criteria: pd.DataFrame
    burden: pd.DataFrame
    robustness: Robustness
    equity_weight: float
    far: float = float("nan")
    change: float = float("nan")

    @property
    def best(self) -> list[str]:
        """The option(s) ranked first (least adverse); several if they tie."""
        return list(self.options.loc[self.options["rank"] == 1, "option"])

    @property
    def compared(self) -> bool:
        """Whether there is more than one option to compare."""
        return len(self.options) > 1

    def wide(self) -> pd.DataFrame:
        """Criteria as one row per option and one column per criterion code."""
        wide, _ = _wide(self.criteria)
        return wide.reindex(self.options["option"])

    def as_dict(self) -> dict[str, Any]:
        """``options`` (rank order), ``appraisal`` and ``robustness`` for metrics.json: numbers
        and codes only (the report words them; the judgements are in ``findings``).

        Each option carries ``name``, ``rank`` (1 = least adverse; ties share a rank),
        ``dominated_by``, ``dominates``, its ``score`` and every criterion with its unit.
        """
        person = impact.UNITS[self.unit]
        options = []
        for row in self.options.itertuples():
            crit = self.criteria[self.criteria["option"] == row.option]
            options.append(
                {
                    "name": row.option,
                    "rank": int(row.rank),
                    "dominated_by": list(row.dominated_by),
                    "dominates": list(row.dominates),
                    "score": row.score,
                    "score_unit": person,
                    "criteria": clean(
                        crit[["criterion", "group", "measure", "unit", "better", "value"]].to_dict(
                            orient="records"
                        )
                    ),
                }
            )
        head = self.head_to_head()
        x, y = head.attrs.get("x"), head.attrs.get("y")
        return {
            "options": options,
            "appraisal": {
                "least_adverse": self.best,
                "baseline": "current_sites",
                "unit": self.unit,
                "far_threshold": self.far,
                "score": {
                    "code": "equity_weighted_net",
                    "unit": person,
                    "equity_weight": self.equity_weight,
                    "better": "lower",
                },
                "equity_weight": self.equity_weight,
                "first_vs_runner_up": {
                    "options": [x, y],
                    "criteria": [
                        {
                            "criterion": r.criterion,
                            "group": r.group,
                            "measure": r.measure,
                            "unit": r.unit,
                            "better": r.better,
                            "values": {x: r.x_value, y: r.y_value},
                            "better_option": r.better_option,
                        }
                        for r in head.itertuples()
                    ],
                }
                if len(head)
                else None,
                "burden_units": impact.burden_units(self.unit),
            },
            "robustness": self.robustness.as_dict(),
        }

    def head_to_head(self) -> pd.DataFrame:
        """The first-ranked option against the runner-up, criterion by criterion
        (:func:`head_to_head`); empty with fewer than two options."""
        if len(self.options) < 2:
            return head_to_head(self.criteria.iloc[:0], "", "")
        first, second = self.options["option"].iloc[:2]
        return head_to_head(self.criteria, str(first), str(second))


# ---------------------------------------------------------------------------
# Criteria


def criteria(burdens: pd.DataFrame, *, unit: str = "km") -> pd.DataFrame:
    """The criteria table in long form from :func:`eia.analysis.impact.burden` rows of every option.

    Columns: ``option, criterion, group, measure, unit, better, value``. ``criterion`` is a
    code (``"added: All residents"``, ``"newly_far: Core20 …"``, ``"removed: …"``,
    ``"flags"``); ``measure`` is ``added``, ``newly_far``, ``removed`` (person-``unit``,
    people, person-``unit``) or ``flags`` (disproportionate flags among Core20 residents,
    the ethnic groups and opted-in Census groups: :data:`FLAG_DIMENSIONS`). ``newly_far``
    counts against the far threshold (:attr:`Appraisal.far`).
    """
    return _criteria_table(burdens.to_dict("records"), unit)


CRITERIA_COLUMNS = ["option", "criterion", "group", "measure", "unit", "better", "value"]


def _criteria_table(records: list[dict], unit: str) -> pd.DataFrame:
    """:func:`criteria` from burden rows as dicts."""
    out = pd.DataFrame(_criteria_rows(records, unit), columns=CRITERIA_COLUMNS)
    out["value"] = out["value"].astype(float).round(6)
    return out


def _criteria_rows(records: list[dict], unit: str) -> list[tuple]:
    """The rows of :func:`criteria` (values not yet rounded) from burden rows as dicts (the
    robustness check makes no frame of them)."""
    person = impact.UNITS[unit]
    by_option: dict[Any, list[dict]] = {}
    for r in records:
        if not pd.isna(r["option"]):  # as groupby: rows without an option are not an option
            by_option.setdefault(r["option"], []).append(r)
    rows = []
    for option, part in by_option.items():
        index = {(r["dimension"], r["group"]): r for r in part}
        groups = [("all", impact.ALL_RESIDENTS)]
        groups += [("core20", CORE20)] if any(r["group"] == CORE20 for r in part) else []
        groups += [("ethnic_group", r["group"]) for r in part if r["dimension"] == "ethnic_group"]
        for dim, group in groups:
            row = index[(dim, group)]
            rows.append((option, f"added: {group}", group, "added", person, "lower", row["added"]))
            rows.append(
                (option, f"newly_far: {group}", group, "newly_far", "people", "lower")
                + (row["newly_far"],)
            )
            if dim in ("all", "core20"):
                rows.append(
                    (option, f"removed: {group}", group, "removed", person, "higher")
                    + (row["removed"],)
                )
        flagged = [
            r
            for r in part
            if r["dimension"] in FLAG_DIMENSIONS
            and _flagged(r["disproportionate"])
            and r["group"] != REST
        ]
        rows.append((option, "flags", "", "flags", "groups", "lower", len(flagged)))
    return rows


def _flagged(value) -> bool:
    """A disproportionate decision as a bool: missing (not judged) counts as not flagged."""
    return False if value is None or pd.isna(value) else bool(value)


def score(values, *, equity_weight: float, core20: str = CORE20):
    """The equity-weighted score per option (lower is better) from the wide criteria table.

    ``values`` has columns named by criterion (``added: All residents`` …): a frame (the
    score is a Series) or a mapping of arrays (an array). Score = (added − removed) for all
    residents + (equity_weight − 1) × (added − removed) for Core20 residents.
    """
    everyone = values[f"added: {impact.ALL_RESIDENTS}"] - values[f"removed: {impact.ALL_RESIDENTS}"]
    extra = 0.0
    if f"added: {core20}" in values:
        extra = (equity_weight - 1) * (values[f"added: {core20}"] - values[f"removed: {core20}"])
    return (everyone + extra).round(6)


# ---------------------------------------------------------------------------
# Dominance and ranking


def dominance(values: pd.DataFrame, better: Mapping[str, str]) -> dict[str, list[str]]:
    """For each option (row), the options that dominate it.

    ``values`` is option × criterion; ``better`` maps each criterion to
    ``lower`` or ``higher``. Y dominates X when Y is no worse on every criterion
    and strictly better on at least one.
    """
    return _dominance(
        list(values.index), _costs(values.to_numpy(dtype=float), values.columns, better)
    )


def _costs(cells: np.ndarray, names, better: Mapping[str, str]) -> np.ndarray:
    """Option × criterion values turned so that lower is better everywhere."""
    return cells * np.array([1.0 if better[c] == "lower" else -1.0 for c in names])


def _dominance(names: list[str], cost: np.ndarray) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i, x in enumerate(names):
        out[x] = [
            y
            for j, y in enumerate(names)
            if j != i and np.all(cost[j] <= cost[i]) and np.any(cost[j] < cost[i])
        ]
    return out


def rank(values: pd.DataFrame, better: Mapping[str, str], scores: pd.Series) -> pd.DataFrame:
    """Rank options: by score, then by how many options dominate each; ties share a rank.

    Returns ``option, rank, score, dominated_by, dominates`` ordered by rank.
    """
    options = list(values.index)
    return _ranking(options, [float(scores[o]) for o in options], dominance(values, better))


def _ranking(
    options: list[str], scored: list[float], dominated_by: dict[str, list[str]]
) -> pd.DataFrame:
    key = [(s, len(dominated_by[o])) for s, o in zip(scored, options, strict=True)]
    ranks = [1 + sum(k2 < k for k2 in key) for k in key]
    order = sorted(range(len(options)), key=lambda i: (ranks[i], options[i]))
    return pd.DataFrame(
        {
            "option": [options[i] for i in order],
            "rank": [ranks[i] for i in order],
            "score": [scored[i] for i in order],
            "dominated_by": [dominated_by[options[i]] for i in order],
            "dominates": [
                [x for x, doms in dominated_by.items() if options[i] in doms] for i in order
            ],
        }
    )


def _cells(option_col, criterion_col, value_col) -> tuple[list, list, np.ndarray]:
    """Options, criteria (in order of appearance) and the option × criterion values of a long
    table's columns: the first non-missing value of each pair."""
    options = list(dict.fromkeys(option_col))
    names = list(dict.fromkeys(criterion_col))
    row = {o: i for i, o in enumerate(options)}
    col = {c: j for j, c in enumerate(names)}
    cells = np.full((len(options), len(names)), np.nan)
    for o, c, v in zip(option_col, criterion_col, value_col, strict=True):
        if np.isnan(cells[row[o], col[c]]):
            cells[row[o], col[c]] = v
    return options, names, cells


def _wide(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Option × criterion values of a long criteria table (the first non-missing value of
    each pair, options and criteria in order of appearance), and each criterion's ``better``."""
    options, names, cells = _cells(table["option"], table["criterion"], table["value"])
    wide = pd.DataFrame(
        cells,
        index=pd.Index(options, name="option"),
        columns=pd.Index(names, name="criterion"),
    )
    better = dict(zip(table["criterion"], table["better"], strict=False))
    return wide, better


#: The criteria dominance is judged on: group outcomes. The flags criterion is reported
#: beside them and never creates or hides a dominance (a flag is a ratio: a smaller burden
#: can be more concentrated).
OUTCOME_MEASURES = ("added", "newly_far", "removed")


def order(table: pd.DataFrame, equity_weight: float) -> pd.DataFrame:
    """Rank the options of a long criteria table (:func:`criteria`); dominance on the group
    outcomes (:data:`OUTCOME_MEASURES`) only."""
    outcomes = table[table["measure"].isin(OUTCOME_MEASURES)]
    return _order(
        outcomes["option"],
        outcomes["criterion"],
        outcomes["value"],
        outcomes["better"],
        equity_weight,
    )


def _order(option_col, criterion_col, value_col, better_col, equity_weight) -> pd.DataFrame:
    """:func:`order` on a long table's columns (sequences: the robustness check makes no
    frame): the wide values, :func:`score`, dominance and :func:`rank` on arrays."""
    options, names, cells = _cells(option_col, criterion_col, value_col)
    better = dict(zip(criterion_col, better_col, strict=False))
    scores = score({c: cells[:, j] for j, c in enumerate(names)}, equity_weight=equity_weight)
    scored = [float(x) for x in scores]
    return _ranking(options, scored, _dominance(options, _costs(cells, names, better)))


# ---------------------------------------------------------------------------
# Head to head: which of two options is better on each criterion (data; the report words it)


def head_to_head(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Options ``x`` and ``y`` of a long criteria table (:func:`criteria`), criterion by
    criterion: ``criterion, group, measure, unit, better, x_value, y_value, better_option``
    (``x``, ``y`` or None when equal). ``attrs`` holds ``x`` and ``y``."""
    a = table[table["option"] == x].set_index("criterion")
    b = table[table["option"] == y].set_index("criterion").reindex(a.index)
    sign = np.where(a["better"] == "lower", 1.0, -1.0)
    ca, cb = a["value"].to_numpy() * sign, b["value"].to_numpy() * sign
    out = pd.DataFrame(
        {
            "criterion": a.index,
            "group": a["group"].to_numpy(),
            "measure": a["measure"].to_numpy(),
            "unit": a["unit"].to_numpy(),
            "better": a["better"].to_numpy(),
            "x_value": a["value"].to_numpy(),
            "y_value": b["value"].to_numpy(),
            "better_option": np.where(ca < cb, x, np.where(cb < ca, y, None)),
        }
    )
    out["better_option"] = (
        out["better_option"].astype(object).where(out["better_option"].notna(), None)
    )
    out.attrs.update(x=x, y=y)
    return out


# ---------------------------------------------------------------------------
# The whole appraisal


def _burdens(
    values, weights, thresholds, unit, population, margins=True, check=True
) -> pd.DataFrame:
    rules = impact.Rules.from_thresholds(thresholds, unit)
    table = pd.concat(
        [
            impact.burden(
                before,
                after,
                weights,
                rules,
                option=name,
                population=population,
                margins=margins,
            )
            for name, (before, after) in values.items()
        ],
        ignore_index=True,
    )
    return BURDEN.validate(table) if check else table


def variations(thresholds, unit: str = "km") -> list[tuple[str, str, object]]:
    """Every variation tried: (threshold, 'halved' or 'doubled', value), distinct values only."""
    fields = [
        f"change_{unit}",
        f"distance_{unit}",
        f"material_{unit}",
        "material_share",
        "min_people",
        "disproportionate_ratio",
        f"disproportionate_{unit}",
        "equity_weight",
    ]
    kinds = {"min_people": "count", "material_share": "share"} | dict.fromkeys(
        MULTIPLIERS, "multiplier"
    )
    out = []
    for name in fields:
        base = getattr(thresholds, name)
        for word, factor in (("halved", 0.5), ("doubled", 2.0)):
            value = impact.scaled(base, factor, kinds.get(name, "amount"))
            if value != base:
                out.append((name, word, value))
    return out


def _flags(burdens: pd.DataFrame | list[dict]) -> set[tuple[str, str, str]]:
    records = burdens.to_dict("records") if isinstance(burdens, pd.DataFrame) else burdens
    return {
        (r["option"], r["dimension"], r["group"])
        for r in records
        if _flagged(r["disproportionate"])
    }


def robustness(
    values,
    weights,
    thresholds,
    ranking: pd.DataFrame,
    *,
    unit="km",
    population=None,
    burdens: pd.DataFrame | None = None,
):
    """Re-rank under each variation of :func:`variations`; :class:`Robustness` says if it
    holds, and which disproportionate flags each variation removes or adds (against
    ``burdens``, the unvaried :func:`eia.analysis.impact.burden` rows; computed when not given)."""
    base = dict(zip(ranking["option"], ranking["rank"], strict=True))
    if burdens is None:
        burdens = _burdens(values, weights, thresholds, unit, population, margins=False)
    flags = _flags(burdens)
    # The inputs are checked and lined up once; each variation re-judges them under its
    # rules. The unvaried rows are checked against BURDEN; each variation is the same code
    # on the same inputs with one threshold changed (16 checks for nothing new).
    inputs = {
        option: impact.align(before, after, weights, population)
        for option, (before, after) in values.items()
    }
    rows = []
    for name, word, value in variations(thresholds, unit):
        varied = thresholds.model_copy(update={name: value})
        rules = impact.Rules.from_thresholds(varied, unit)
        new_burdens = [
            row
            for option, aligned in inputs.items()
            for row in impact.burden_records(aligned, rules, option=option)
        ]
        outcomes = [r for r in _criteria_rows(new_burdens, unit) if r[3] in OUTCOME_MEASURES]
        options, criteria_, _, _, _, better, figures = zip(*outcomes, strict=True)
        rounded = np.asarray(figures, dtype=float).round(6)  # as criteria() rounds its values
        new = _order(options, criteria_, rounded, better, varied.equity_weight)
        ranks = dict(zip(new["option"], new["rank"], strict=True))
        first = tuple(new.loc[new["rank"] == 1, "option"])
        new_flags = _flags(new_burdens)
        rows.append(
            {
                "threshold": name,
                "variation": word,
                "value": value,
                "holds": ranks == base,
                "first": first,
                "ranks": ranks,
                "flags_lost": sorted(flags - new_flags),
                "flags_gained": sorted(new_flags - flags),
            }
        )
    frame = pd.DataFrame(rows, columns=VARIATION_COLUMNS)
    holds = bool(frame["holds"].all()) if len(frame) else True
    return Robustness(holds, frame)


def appraise(
    values: Mapping[str, tuple[pd.Series, pd.Series]],
    weights: Mapping[str, pd.DataFrame],
    thresholds=None,
    *,
    unit: str = "km",
    population: pd.Series | None = None,
    check_robustness: bool = True,
) -> Appraisal:
    """Appraise options: burden per group, criteria, dominance, ranking, robustness.

    ``values`` maps each option's name to its (before, after) per-LSOA values in
    ``unit`` (Series indexed by ``lsoa21_code``); ``weights`` and ``population``
    as for :func:`eia.analysis.impact.burden`; ``thresholds`` is a
    :class:`eia.params.Thresholds` (defaults if omitted).
    """
    if thresholds is None:
        thresholds = Thresholds()
    burdens = _burdens(values, weights, thresholds, unit, population)
    table = criteria(burdens, unit=unit)
    ranking = order(table, thresholds.equity_weight)
    robust = (
        robustness(
            values, weights, thresholds, ranking, unit=unit, population=population, burdens=burdens
        )
        if check_robustness and len(ranking) > 1
        else Robustness(True, pd.DataFrame(columns=VARIATION_COLUMNS))
    )
    return Appraisal(
        unit=unit,
        options=ranking,
        criteria=table,
        burden=burdens,
        robustness=robust,
        equity_weight=thresholds.equity_weight,
        far=float(getattr(thresholds, f"distance_{unit}")),
        change=float(getattr(thresholds, f"change_{unit}")),
    )
