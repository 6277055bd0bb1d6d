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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eia.analysis import impact
from eia.analysis.access import CORE20_LABELS
from eia.params import Thresholds
from eia.population.area import ETHNIC_SHORT
from eia.refdata.schemas import BURDEN
from eia.text import fmt_int

#: The Core20 group and the rest of the area in the ``core20`` dimension.
CORE20, REST = CORE20_LABELS

#: Dimensions whose disproportionate flags count as a criterion.
FLAG_DIMENSIONS = ("core20", "ethnic_group", "religion", "disability")

#: What the flags criterion counts, in words (said wherever the count is shown).
FLAG_SCOPE = (
    "Core20 residents, the ethnic groups and any opted-in Census group; IMD quintiles and the "
    "rest of the area are not counted"
)

#: The multipliers: varied by their excess over 1 (1.2 halved is 1.1).
MULTIPLIERS = ("disproportionate_ratio", "equity_weight")


@dataclass
class Robustness:
    """Whether the ranking, and each option's disproportionate flags, hold when each
    threshold is halved and doubled.

    ``variations`` has one row per variation: ``threshold, variation, value, label,
    holds, first, ranks`` and ``flags_lost``, ``flags_gained`` (``(option, dimension,
    group)`` tuples whose flag that variation removes or adds).
    """

    holds: bool
    variations: pd.DataFrame
    flips: list[str] = field(default_factory=list)

    @property
    def flags_hold(self) -> bool:
        """Whether no variation removes or adds a disproportionate flag of any option."""
        if not len(self.variations) or "flags_lost" not in self.variations:
            return True
        return not any(
            len(lost) or len(gained)
            for lost, gained in zip(
                self.variations["flags_lost"], self.variations["flags_gained"], strict=True
            )
        )

    def flag_changes(self, option: str | None = None) -> list[dict]:
        """Per variation that changes a flag: its label and the groups lost and gained
        (``option`` given: that option's groups only; else ``option: group``)."""
        out = []
        if not len(self.variations) or "flags_lost" not in self.variations:
            return out
        for row in self.variations.itertuples():
            names = {}
            for key in ("flags_lost", "flags_gained"):
                names[key] = [
                    g if option is not None else f"{o}: {g}"
                    for o, _, g in getattr(row, key)
                    if option is None or o == option
                ]
            if names["flags_lost"] or names["flags_gained"]:
                out.append(
                    {
                        "variation": row.label,
                        "lost": names["flags_lost"],
                        "gained": names["flags_gained"],
                    }
                )
        return out

    def flag_sentence(self, option: str) -> str:
        """Whether ``option``'s flags hold under every variation, in one sentence."""
        n = len(self.variations)
        if not n or "flags_lost" not in self.variations:
            return ""
        changes = self.flag_changes(option)
        if not changes:
            return (
                f"The disproportionate flags of {option} hold with each threshold halved and "
                f"doubled ({n} variations tried)."
            )
        return (
            f"The disproportionate flags of {option} change under {len(changes)} of {n} "
            "variations of the thresholds (see the robustness table)."
        )

    @property
    def tried(self) -> list[str]:
        """Every variation tried, in words ('change_km doubled (2)')."""
        return list(self.variations["label"]) if len(self.variations) else []

    @property
    def sentence(self) -> str:
        """'Robust: …' or the variations that change the ranking, in one sentence."""
        n = len(self.variations)
        if self.holds:
            return (
                f"Robust: the ranking holds with each threshold halved and doubled "
                f"({n} variations tried)."
            )
        parts = []
        for row in self.variations[~self.variations["holds"]].itertuples():
            parts.append(f"{row.label}, when {row.first} would rank first")
        return (
            f"Not robust: the ranking changes under {len(parts)} of {n} variations of the "
            f"thresholds: {'; '.join(parts)}."
        )

    def as_dict(self) -> dict:
        """For metrics.json."""
        return {
            "flags_hold": self.flags_hold,
            "flags_changed_by": self.flag_changes(),
            "holds": bool(self.holds),
            "variations_tried": self.tried,
            "flipped_by": [
                {"variation": r.label, "threshold": r.threshold, "value": r.value, "first": r.first}
                for r in self.variations[~self.variations["holds"]].itertuples()
            ]
            if len(self.variations)
            else [],
            "sentence": self.sentence,
        }


@dataclass
class Appraisal:
    """The judgement on a proposal's options, computed once per assessment.

    ``options``: one row per option (``option, rank, score, dominated_by,
    dominates``), rank 1 first; ``criteria``: the long criteria table
    (``option, criterion, group, measure, label, unit, better, value``);
    ``burden``: every group's burden and rating per option
    (:func:`eia.analysis.impact.burden`); ``tradeoff`` and ``robustness`` in words.
    """

    unit: str
    options: pd.DataFrame
    criteria: pd.DataFrame
    burden: pd.DataFrame
    tradeoff: str
    robustness: Robustness
    equity_weight: float

    @property
    def best(self) -> list[str]:
        """The option(s) ranked first (least adverse); several if they tie."""
        return list(self.options.loc[self.options["rank"] == 1, "option"])

    @property
    def compared(self) -> bool:
        """Whether there is more than one option to compare."""
        return len(self.options) > 1

    @property
    def score_label(self) -> str:
        """What the score is, in words."""
        unit = impact.UNITS[self.unit]
        return (
            f"equity-weighted net {unit}, in which each Core20 resident's {unit} count "
            f"{'twice' if self.equity_weight == 2 else f'{self.equity_weight:g} times'}; "
            "lower is better"
        )

    def wide(self) -> pd.DataFrame:
        """Criteria as one row per option and one column per criterion (labels as columns)."""
        table = self.criteria.pivot_table(
            index="option", columns="label", values="value", aggfunc="first", sort=False
        )
        return table.reindex(self.options["option"])

    @property
    def summary(self) -> str:
        """The judgement in two or three sentences: who ranks first, the trade-off, robustness."""
        if not self.compared:
            return ""
        best = self.best
        lead = (
            f"Least adverse: {best[0]} (rank 1 of {len(self.options)}, by {self.score_label})."
            if len(best) == 1
            else f"{' and '.join(best)} tie for the least adverse (rank 1)."
        )
        return f"{lead} {self.tradeoff} {self.robustness.sentence}"


# ---------------------------------------------------------------------------
# Criteria


def criteria(burdens: pd.DataFrame, *, far: float, unit: str = "km") -> pd.DataFrame:
    """The criteria table in long form from :func:`eia.analysis.impact.burden` rows of every option.

    Columns: ``option, criterion, group, measure, label, unit, better, value``.
    """
    person = impact.UNITS[unit]
    rows = []
    for option, part in burdens.groupby("option", sort=False):
        groups = [("all", impact.ALL_RESIDENTS)]
        groups += [("core20", CORE20)] if (part["group"] == CORE20).any() else []
        groups += [
            ("ethnic_group", g) for g in part.loc[part["dimension"] == "ethnic_group", "group"]
        ]
        index = part.set_index(["dimension", "group"])
        for dim, group in groups:
            row = index.loc[(dim, group)]
            name = "all residents" if group == impact.ALL_RESIDENTS else _short(group)
            rows.append(
                (option, f"added: {group}", group, "added", f"{person} added, {name}", person)
                + ("lower", float(row["added"]))
            )
            rows.append(
                (
                    option,
                    f"newly_far: {group}",
                    group,
                    "newly_far",
                    f"newly beyond {far:g} {unit}, {name}",
                    "people",
                )
                + ("lower", float(row["newly_far"]))
            )
            if dim in ("all", "core20"):
                rows.append(
                    (option, f"removed: {group}", group, "removed", f"{person} removed, {name}")
                    + (person, "higher", float(row["removed"]))
                )
        flagged = part[part["dimension"].isin(FLAG_DIMENSIONS) & part["disproportionate"]]
        flagged = flagged[flagged["group"] != REST]
        rows.append(
            (option, "flags", "", "flags", f"disproportionate flags ({FLAG_SCOPE})", "groups")
            + ("lower",)
            + (float(len(flagged)),)
        )
    out = pd.DataFrame(
        rows,
        columns=["option", "criterion", "group", "measure", "label", "unit", "better", "value"],
    )
    out["value"] = out["value"].round(6)
    return out


def _short(group: str) -> str:
    if group == CORE20:
        return "Core20 residents"
    return f"{ETHNIC_SHORT.get(group, group)} residents"


def score(values: pd.DataFrame, *, equity_weight: float, core20: str = CORE20) -> pd.Series:
    """The equity-weighted score per option (lower is better) from the wide criteria table.

    ``values`` has columns named by criterion (``added: All residents`` …). Score =
    (added − removed) for all residents + (equity_weight − 1) × (added − removed)
    for Core20 residents.
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
    signs = np.array([1.0 if better[c] == "lower" else -1.0 for c in values.columns])
    cost = values.to_numpy(dtype=float) * signs  # lower is better everywhere
    names = list(values.index)
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
    dominated_by = dominance(values, better)
    frame = pd.DataFrame(
        {
            "option": list(values.index),
            "score": [float(scores[o]) for o in values.index],
            "n_dominated_by": [len(dominated_by[o]) for o in values.index],
        }
    )
    key = list(zip(frame["score"], frame["n_dominated_by"], strict=True))
    frame["rank"] = [1 + sum(k2 < k for k2 in key) for k in key]
    frame["dominated_by"] = [dominated_by[o] for o in frame["option"]]
    frame["dominates"] = [
        [x for x, doms in dominated_by.items() if o in doms] for o in frame["option"]
    ]
    frame = frame.sort_values(["rank", "option"], kind="stable").reset_index(drop=True)
    return frame[["option", "rank", "score", "dominated_by", "dominates"]]


def _wide(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    wide = table.pivot_table(
        index="option", columns="criterion", values="value", aggfunc="first", sort=False
    )
    options = list(dict.fromkeys(table["option"]))
    wide = wide.reindex(index=options, columns=list(dict.fromkeys(table["criterion"])))
    better = dict(zip(table["criterion"], table["better"], strict=False))
    return wide, better


#: The criteria dominance is judged on: group outcomes. The flags criterion is reported
#: beside them and never creates or hides a dominance (a flag is a ratio: a smaller burden
#: can be more concentrated).
OUTCOME_MEASURES = ("added", "newly_far", "removed")


def order(table: pd.DataFrame, equity_weight: float) -> pd.DataFrame:
    """Rank the options of a long criteria table (:func:`criteria`); dominance on the group
    outcomes (:data:`OUTCOME_MEASURES`) only."""
    wide, better = _wide(table[table["measure"].isin(OUTCOME_MEASURES)])
    return rank(wide, better, score(wide, equity_weight=equity_weight))


# ---------------------------------------------------------------------------
# Trade-off in words


def _phrases(
    rows: pd.DataFrame, far: float, unit: str, n_groups: int, flags: str = ""
) -> list[str]:
    """What an option does better, one phrase per measure naming the groups."""
    out = []
    thing = "distance" if unit == "km" else "travel time"
    for measure in ("added", "newly_far", "removed", "flags"):
        part = rows[rows["measure"] == measure]
        if not len(part):
            continue
        everyone = impact.ALL_RESIDENTS in set(part["group"])
        names = [
            _short(g).removesuffix(" residents") for g in part["group"] if g != impact.ALL_RESIDENTS
        ]
        every = measure in ("added", "newly_far") and len(part) == n_groups and n_groups > 1
        if measure == "added":
            who = (
                "every group compared"
                if every
                else _named(names, everyone, "all residents", "and for")
            )
            out.append(f"adds less {thing} for {who}")
        elif measure == "newly_far":
            who = (
                "people in every group compared"
                if every
                else _named(names, everyone, "people overall", "and")
            )
            out.append(f"puts fewer {who} newly beyond {far:g} {unit}")
        elif measure == "removed":
            who = (
                "all residents"
                if everyone and not names
                else _join(
                    (["all residents"] if everyone else []) + [f"{n} residents" for n in names]
                )
            )
            out.append(f"saves more {thing} for {who}")
        else:
            out.append(f"has fewer disproportionate flags{flags}")
    return out


def _named(names: list[str], everyone: bool, overall: str, joiner: str) -> str:
    """'{names} residents', led by ``overall`` and ``joiner`` ('all residents and for ...') when
    all residents are among the groups (``overall`` alone when no other group is named)."""
    named = f"{_join(names)} residents"
    if not everyone:
        return named
    return f"{overall} {joiner} {named}" if names else overall


def _better_on(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    a = table[table["option"] == x].set_index("criterion")
    b = table[table["option"] == y].set_index("criterion").reindex(a.index)
    sign = np.where(a["better"] == "lower", 1.0, -1.0)
    return a[(a["value"] * sign) < (b["value"] * sign)]


def tradeoff(table: pd.DataFrame, ranking: pd.DataFrame, *, far: float, unit: str = "km") -> str:
    """The trade-off between the first-ranked option and the runner-up, in words."""
    if len(ranking) < 2:
        return ""
    first, second = ranking.iloc[0], ranking.iloc[1]
    x, y = str(first["option"]), str(second["option"])
    n = int((table[(table["option"] == x)]["measure"] == "added").sum())
    wins = _better_on(table, x, y)
    losses = _better_on(table, y, x)
    if not len(wins) and not len(losses):
        return f"{x} and {y} are equal on every criterion."
    fx, fy = _flag_count(table, x), _flag_count(table, y)
    if not len(losses):
        return (
            f"{x} is no worse than {y} on every criterion and better on {len(wins)} of "
            f"{len(table[table['option'] == x])}: it "
            f"{_clauses(_phrases(wins, far, unit, n, f' ({fx} against {fy}; {FLAG_SCOPE})'))}."
        )
    if not len(wins):  # cannot happen: the order respects dominance
        return f"{y} is no worse than {x} on every criterion."
    if set(losses["measure"]) == {"flags"}:
        return (
            f"{x} {_clauses(_phrases(wins, far, unit, n))}. {y} has fewer disproportionate flags "
            f"({fy} against {fx}; {FLAG_SCOPE}) only because its burden falls more evenly: no "
            f"group compared is better off under {y}."
        )
    person = impact.UNITS[unit]
    return (
        f"{x} {_clauses(_phrases(wins, far, unit, n, f' ({fx} against {fy}; {FLAG_SCOPE})'))}. "
        f"{y} {_clauses(_phrases(losses, far, unit, n, f' ({fy} against {fx}; {FLAG_SCOPE})'))}. "
        f"On the equity-weighted score ({person} added minus removed, so a negative score is "
        f"a net saving) {x} has {fmt_int(first['score'])} against {fmt_int(second['score'])} "
        f"for {y}."
    )


def _flag_count(table: pd.DataFrame, option: str) -> int:
    rows = table[(table["option"] == option) & (table["measure"] == "flags")]
    return int(rows["value"].iloc[0]) if len(rows) else 0


def _clauses(items: Sequence[str]) -> str:
    """Phrases that may contain "and" themselves: "a, b, and c"; two as "a, and b"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


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


def variation_words(name: str, word: str) -> str:
    """'halved', or for a multiplier 'excess over 1 halved' (1.2 halved is 1.1, not 0.6)."""
    return f"excess over 1 {word}" if name in MULTIPLIERS else word


def _flags(burdens: pd.DataFrame) -> set[tuple[str, str, str]]:
    rows = burdens[burdens["disproportionate"].fillna(False).astype(bool)]
    return set(zip(rows["option"], rows["dimension"], rows["group"], strict=True))


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
    rows = []
    for name, word, value in variations(thresholds, unit):
        varied = thresholds.model_copy(update={name: value})
        # The unvaried rows are checked against BURDEN; each variation is the same code on
        # the same inputs with one threshold changed (16 checks, 0.7 s, for nothing new).
        new_burdens = _burdens(
            values, weights, varied, unit, population, margins=False, check=False
        )
        table = criteria(new_burdens, far=getattr(varied, f"distance_{unit}"), unit=unit)
        new = order(table, varied.equity_weight)
        ranks = dict(zip(new["option"], new["rank"], strict=True))
        first = " and ".join(new.loc[new["rank"] == 1, "option"])
        new_flags = _flags(new_burdens)
        rows.append(
            {
                "threshold": name,
                "variation": word,
                "value": value,
                "label": f"{name} {variation_words(name, word)} ({value:g})",
                "holds": ranks == base,
                "first": first,
                "ranks": ranks,
                "flags_lost": sorted(flags - new_flags),
                "flags_gained": sorted(new_flags - flags),
            }
        )
    columns = ["threshold", "variation", "value", "label", "holds", "first", "ranks"]
    frame = pd.DataFrame(rows, columns=[*columns, "flags_lost", "flags_gained"])
    holds = bool(frame["holds"].all()) if len(frame) else True
    return Robustness(holds, frame, list(frame.loc[~frame["holds"], "label"]) if len(frame) else [])


def appraise(
    values: Mapping[str, tuple[pd.Series, pd.Series]],
    weights: Mapping[str, pd.DataFrame],
    thresholds=None,
    *,
    unit: str = "km",
    population: pd.Series | None = None,
    check_robustness: bool = True,
) -> Appraisal:
    """Appraise options: burden per group, criteria, dominance, ranking, trade-off, robustness.

    ``values`` maps each option's name to its (before, after) per-LSOA values in
    ``unit`` (Series indexed by ``lsoa21_code``); ``weights`` and ``population``
    as for :func:`eia.analysis.impact.burden`; ``thresholds`` is a
    :class:`eia.params.Thresholds` (defaults if omitted).
    """
    if thresholds is None:
        thresholds = Thresholds()
    burdens = _burdens(values, weights, thresholds, unit, population)
    far = getattr(thresholds, f"distance_{unit}")
    table = criteria(burdens, far=far, unit=unit)
    ranking = order(table, thresholds.equity_weight)
    robust = (
        robustness(
            values, weights, thresholds, ranking, unit=unit, population=population, burdens=burdens
        )
        if check_robustness and len(ranking) > 1
        else Robustness(True, pd.DataFrame(columns=["label", "holds"]))
    )
    return Appraisal(
        unit=unit,
        options=ranking,
        criteria=table,
        burden=burdens,
        tradeoff=tradeoff(table, ranking, far=far, unit=unit),
        robustness=robust,
        equity_weight=thresholds.equity_weight,
    )
