"""Impact ratings per group: positive, neutral or negative, and whether harm is disproportionate.

The rules are deliberately simple so a board can check them by hand; every
threshold comes from the proposal's ``thresholds`` block (defaults in
``eia.params.Thresholds``).

Access (site changes), for each group *g* with *P_g* people in the area:

* *A_g* — people of *g* living in LSOAs whose distance to the nearest site
  rises by more than ``change_km`` (adversely affected);
* *B_g* — people of *g* whose distance falls by more than ``change_km``;
* rating is **negative** if *A_g* ≥ ``min_people`` and *A_g* > *B_g*;
  **positive** if *B_g* ≥ ``min_people`` and *B_g* > *A_g*; else **neutral**;
* a negative rating is **disproportionate** when the group's share of all
  adversely affected people, divided by its share of the population,
  (*A_g*/ΣA) ÷ (*P_g*/ΣP), is at least ``disproportionate_ratio``.

Expected effects (service changes): a group whose expected uptake change is
at most −``uptake_change_pct`` is negative, at least +``uptake_change_pct``
positive, else neutral; a negative rating is disproportionate when the group's
expected loss is at least ``disproportionate_ratio`` times the population-average
loss of its dimension.

Uptake (when service data is given): a group's representation ratio is its
share of the service's users divided by its share of residents; its 95%
interval is the Wilson interval of the user share divided by the population
share. A group whose upper limit is below 1 is **under-represented now**, and
is flagged ``at_risk`` beside its rating. An equity audit rates groups on it:
**negative** when the upper limit is below 1, **positive** when the lower
limit is above 1, else neutral; a negative rating is disproportionate when the
upper limit is below 1 / ``disproportionate_ratio`` (users' share at most
1/1.2 of the population share by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.align import by_lsoa, series_by_lsoa
from eia.params import Thresholds
from eia.stats import proportion_ci
from eia.text import fmt_pct

RATINGS = ("positive", "neutral", "negative", "mixed", "not rated")
#: The rating of a group a service change declares no effect for: nobody assessed it, so it is
#: neither neutral nor rated; :func:`assessed_effects` splits such rows out.
NOT_ASSESSED = "not assessed"

DIMENSION_LABELS = {
    "all": "Everyone",
    "imd_quintile": "Deprivation (IMD 2025 quintile)",
    "core20": "Core20 (most deprived 20%)",
    "ethnic_group": "Ethnic group",
    "religion": "Religion",
    "disability": "Disability",
    "language": "Proficiency in English (MSOA, apportioned)",
    "rurality": "Rurality (RUC 2021)",
    "age": "Age",
    "sex": "Sex",
    "other": "Other",
}


#: Units the access rules work in: distance (km) or travel time (min).
UNITS = {"km": "person-km", "min": "person-minutes"}

#: The row describing every resident of the area (the denominator of each dimension).
ALL_RESIDENTS = "All residents"


@dataclass(frozen=True)
class Rules:
    """The access rules in one unit (``km`` or ``min``); every number comes from ``thresholds``.

    ``change``: a change larger than this counts as an effect (smaller ones are
    ignored in every burden figure); ``far``: people beyond this are far from a
    site; ``min_residents``: smallest group that is rated; ``material``: added
    (or removed) amount per resident that is material; ``material_share``: share
    of a group newly beyond (or within) ``far`` that is material; ``ratio`` and
    ``difference``: how much more a group must bear per resident than the rest of
    the area to be disproportionate.
    """

    unit: str = "km"
    change: float = 1.0
    far: float = 5.0
    min_residents: int = 100
    material: float = 0.1
    material_share: float = 0.01
    ratio: float = 1.2
    difference: float = 0.1

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {self.unit!r}")

    @classmethod
    def from_thresholds(cls, thresholds=None, unit: str = "km") -> Rules:
        """The rules from a proposal's :class:`eia.params.Thresholds` (fields ``*_km`` or ``*_min``)."""
        if thresholds is None:
            thresholds = Thresholds()
        try:
            return cls(
                unit=unit,
                change=getattr(thresholds, f"change_{unit}"),
                far=getattr(thresholds, f"distance_{unit}"),
                min_residents=thresholds.min_people,
                material=getattr(thresholds, f"material_{unit}"),
                material_share=thresholds.material_share,
                ratio=thresholds.disproportionate_ratio,
                difference=getattr(thresholds, f"disproportionate_{unit}"),
            )
        except AttributeError as exc:
            raise ValueError(f"thresholds have no fields in unit {unit!r}: {exc}") from None

    @property
    def person_unit(self) -> str:
        """``person-km`` or ``person-minutes``."""
        return UNITS[self.unit]


BURDEN_COLUMNS = {
    "residents": "people",
    "further": "people",
    "nearer": "people",
    "added": "person-UNIT",
    "removed": "person-UNIT",
    "net_per_resident": "UNIT per resident",
    "added_per_resident": "UNIT per resident",
    "removed_per_resident": "UNIT per resident",
    "mean_added_among_further": "UNIT",
    "mean_removed_among_nearer": "UNIT",
    "newly_far": "people",
    "newly_near": "people",
    "rest_added_per_resident": "UNIT per resident",
    "burden_ratio": "ratio",
    "burden_difference": "UNIT per resident",
}


def burden_units(unit: str = "km") -> dict[str, str]:
    """The unit of every figure :func:`burden` returns (for metrics.json and tables)."""
    person = UNITS[unit].removeprefix("person-")
    return {
        k: v.replace("person-UNIT", UNITS[unit]).replace("UNIT", unit if unit == "km" else person)
        for k, v in BURDEN_COLUMNS.items()
    }


def burden(
    before: pd.Series,
    after: pd.Series,
    weights: Mapping[str, pd.DataFrame],
    rules: Rules | None = None,
    *,
    option: str = "Proposed",
    population: pd.Series | None = None,
    margins: bool = True,
) -> pd.DataFrame:
    """The burden of a change, group by group, and its rating (the rules in the module docstring).

    ``before`` and ``after`` are per-LSOA values in ``rules.unit`` (distance to the
    nearest site, or travel time), Series indexed by ``lsoa21_code``; ``weights``
    maps a dimension to an LSOA × group frame of residents indexed by
    ``lsoa21_code``. Everything is aligned on ``before``'s index by code, never by
    position: a missing, repeated or unexpected LSOA in ``after``, a weights frame
    or ``population`` raises :class:`~eia.errors.DataMismatchError`. ``population``
    (residents per LSOA) gives the ``All residents`` row; by default the row sums
    of the ``imd_quintile`` (else the first) dimension.

    Returns one row per (dimension, group), the ``All residents`` row first, with
    the figures of :data:`BURDEN_COLUMNS`, ``rating``, ``rating_note``,
    ``disproportionate`` and a ``sentence`` stating them. With ``margins`` (the
    default), also ``flag_margin`` and ``flag_flips`` (:func:`flag_margins`): whether
    the disproportionate decision holds with each threshold a quarter higher and lower.
    """
    rules = rules or Rules()
    before = series_by_lsoa(before, "before")
    index = before.index
    aligned = series_by_lsoa(after, "after", index)
    b = before.to_numpy(dtype=float)
    a = aligned.to_numpy(dtype=float)
    frames = {
        dim: by_lsoa(_keyed(w), f"{dim} weights", index).fillna(0).astype(float)
        for dim, w in weights.items()
    }
    if population is None:
        first = frames.get("imd_quintile", next(iter(frames.values()), None))
        population = first.sum(axis=1) if first is not None else pd.Series(1.0, index=index)
    pop = series_by_lsoa(population, "population", index).fillna(0).to_numpy(dtype=float)
    out = _burden_rows(b, a, frames, pop, rules, option)
    if margins:
        out = out.join(
            flag_margins(
                lambda varied: _burden_rows(b, a, frames, pop, varied, option),
                out,
                margin_variations(rules),
            )
        )
    out["unit"] = rules.unit
    out["sentence"] = [access_sentence(r, rules) for r in out.itertuples()]
    return out


def _burden_rows(
    b: np.ndarray,
    a: np.ndarray,
    frames: Mapping[str, pd.DataFrame],
    pop: np.ndarray,
    rules: Rules,
    option: str,
) -> pd.DataFrame:
    """:func:`burden`'s figures, ratings and flags (no sentences) for aligned arrays."""
    with np.errstate(invalid="ignore"):
        d = a - b
    d = np.where(np.isnan(d), 0.0, d)  # inf - inf: no site before or after, no change
    further = d > rules.change
    nearer = d < -rules.change
    vectors = np.column_stack(
        [
            np.ones(len(d)),
            further,
            nearer,
            np.where(further, d, 0.0),
            np.where(nearer, -d, 0.0),
            (b <= rules.far) & (a > rules.far) & further,
            (b > rules.far) & (a <= rules.far) & nearer,
        ]
    ).astype(float)
    keys = ["residents", "further", "nearer", "added", "removed", "newly_far", "newly_near"]
    rows = [
        {"option": option, "dimension": "all", "group": ALL_RESIDENTS}
        | dict(zip(keys, pop @ vectors, strict=True))
        | {"rest": None}
    ]
    for dimension, frame in frames.items():
        w = frame.to_numpy()
        sums = w.T @ vectors
        total = w.sum(axis=1) @ vectors
        for j, group in enumerate(frame.columns):
            rows.append(
                {"option": option, "dimension": dimension, "group": str(group)}
                | dict(zip(keys, sums[j], strict=True))
                | {"rest": total - sums[j]}
            )
    return pd.DataFrame([_judge(row, rules) for row in rows])


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """An unnamed index is taken as LSOA codes (they are still checked against ``before``'s)."""
    return frame.rename_axis("lsoa21_code") if frame.index.name is None else frame


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return np.inf if num > 0 else np.nan


def _judge(row: dict, rules: Rules) -> dict:
    """Per-resident figures, the rating and the disproportion test for one group."""
    rest = row.pop("rest")
    p = row["residents"]
    row["net_per_resident"] = (row["added"] - row["removed"]) / p if p > 0 else np.nan
    row["added_per_resident"] = row["added"] / p if p > 0 else np.nan
    row["removed_per_resident"] = row["removed"] / p if p > 0 else np.nan
    row["mean_added_among_further"] = _ratio(row["added"], row["further"])
    row["mean_removed_among_nearer"] = _ratio(row["removed"], row["nearer"])
    if rest is not None and rest[0] > 0:
        row["rest_added_per_resident"] = rest[3] / rest[0]
        row["burden_ratio"] = _ratio(row["added_per_resident"], row["rest_added_per_resident"])
        row["burden_difference"] = row["added_per_resident"] - row["rest_added_per_resident"]
    else:
        row["rest_added_per_resident"] = row["burden_ratio"] = row["burden_difference"] = np.nan
    loss, gain = material_loss(row, rules), material_gain(row, rules)
    rated = p > 0 and p >= rules.min_residents
    if not rated:
        rating = "not rated"
        note = f"fewer than {rules.min_residents:,} residents" if p > 0 else "no residents"
    else:
        rating = (
            "mixed" if loss and gain else "negative" if loss else "positive" if gain else "neutral"
        )
        note = ""
    dispro = bool(
        rated
        and loss
        and row["added_per_resident"] >= rules.material
        and row["burden_ratio"] >= rules.ratio
        and row["burden_difference"] >= rules.difference
    )
    return row | {"rating": rating, "rating_note": note, "disproportionate": dispro}


def material_loss(row: Mapping, rules: Rules) -> bool:
    """Whether a group's loss is material: enough added per resident, or enough newly far."""
    p = row["residents"]
    return bool(
        p > 0
        and (
            (row["added"] > 0 and row["added"] / p >= rules.material)
            or (row["newly_far"] > 0 and row["newly_far"] >= rules.material_share * p)
        )
    )


def material_gain(row: Mapping, rules: Rules) -> bool:
    """Whether a group's gain is material: enough removed per resident, or enough newly near."""
    p = row["residents"]
    return bool(
        p > 0
        and (
            (row["removed"] > 0 and row["removed"] / p >= rules.material)
            or (row["newly_near"] > 0 and row["newly_near"] >= rules.material_share * p)
        )
    )


#: How far each threshold is moved to see whether a disproportionate decision is at a knife
#: edge: a quarter up and a quarter down (for a ratio, a quarter of its excess over 1).
MARGIN = 0.25

#: The access thresholds (:class:`Rules` fields) a flag is tested against, in words.
MARGIN_WORDS = {
    "ratio": "ratio",
    "difference": "difference",
    "material": "material burden",
    "change": "change threshold",
    "far": "far threshold",
    "material_share": "material share",
    "min_residents": "fewest residents",
}


def scaled(base: float, factor: float, kind: str = "amount") -> float:
    """A threshold scaled by ``factor``: ``amount`` (km, minutes) plainly; ``multiplier``
    (a ratio or weight) by its excess over 1 (1.2 × 1.25 → 1.25); ``count`` rounded to a
    whole number; ``share`` capped at 1."""
    if kind == "multiplier":
        return round(1 + (base - 1) * factor, 6)
    if kind == "count":
        return int(round(base * factor))
    if kind == "share":
        return round(min(1.0, base * factor), 6)
    return round(base * factor, 6)


def _kind(field: str) -> str:
    return {"ratio": "multiplier", "min_residents": "count", "material_share": "share"}.get(
        field, "amount"
    )


def margin_phrase(field: str, value: float, unit: str = "km") -> str:
    """One varied threshold in words: 'ratio 1.25', 'difference 0.125 km', 'material share 1.25%'."""
    if field == "material_share":
        shown = f"{value * 100:g}%"
    elif field in ("ratio", "min_residents", "uptake_change_pct"):
        shown = f"{value:g}" + ("%" if field == "uptake_change_pct" else "")
    else:
        shown = f"{value:g} {unit}"
    words = MARGIN_WORDS.get(field, {"uptake_change_pct": "effect threshold"}.get(field, field))
    return f"{words} {shown}"


def margin_variations(rules: Rules) -> list[tuple[str, Rules]]:
    """Each threshold of ``rules`` a quarter (:data:`MARGIN`) higher, then lower, one at a
    time: (the variation in words, the varied rules). Values equal to the base are skipped."""
    from dataclasses import replace

    out = []
    for field in MARGIN_WORDS:
        base = getattr(rules, field)
        for factor in (1 + MARGIN, 1 - MARGIN):
            value = scaled(base, factor, _kind(field))
            if value != base:
                out.append(
                    (margin_phrase(field, value, rules.unit), replace(rules, **{field: value}))
                )
    return out


def flag_margins(compute, base: pd.DataFrame, variations) -> pd.DataFrame:
    """Whether each row's disproportionate decision holds under every variation tried.

    ``compute(varied)`` returns rating rows (``dimension``, ``group``,
    ``disproportionate``) under one variation; ``variations`` are (words, varied)
    pairs (:func:`margin_variations`). Returns, indexed like ``base``:
    ``flag_margin`` — ``clear`` when the decision (flagged or not) is the same under
    every variation, ``marginal`` when one of them changes it, missing where the
    flag cannot be assessed — and ``flag_flips``, the variations that change it.
    """
    key = ["dimension", "group"]
    own = base.set_index(key)["disproportionate"]
    assessed = own.notna().to_numpy()
    flags = own.fillna(False).astype(bool).to_numpy()
    flips: list[list[str]] = [[] for _ in range(len(base))]
    for words, varied in variations:
        other = compute(varied).set_index(key)["disproportionate"].reindex(own.index)
        changed = other.fillna(False).astype(bool).to_numpy() != flags
        for i in np.flatnonzero(changed & assessed):
            flips[i].append(words)
    margin = [
        None if not ok else "marginal" if f else "clear"
        for ok, f in zip(assessed, flips, strict=True)
    ]
    return pd.DataFrame({"flag_margin": margin, "flag_flips": flips}, index=base.index)


def _field(row, name: str, default=None):
    value = (
        row.get(name, default)
        if isinstance(row, Mapping | pd.Series)
        else getattr(row, name, default)
    )
    return default if value is None or (not isinstance(value, list) and pd.isna(value)) else value


def flag_flips(row) -> list[str]:
    """The variations (in words) that change a row's disproportionate decision."""
    flips = _field(row, "flag_flips", [])
    return list(flips) if isinstance(flips, list | tuple | np.ndarray) else []


def flag_caveat(row) -> str:
    """'not flagged at ratio 1.25' (a marginal flag), 'flagged at ratio 1.15' (a marginal
    non-flag), or '' when the decision holds with each threshold a quarter higher and lower."""
    flips = flag_flips(row)
    if not flips:
        return ""
    return f"{'not flagged' if _field(row, 'disproportionate', False) else 'flagged'} at " + (
        " or ".join(flips)
    )


def ratio_text(row) -> str:
    """A row's burden ratio to 2 decimals, or 3 when its flag is marginal (so that 1.247 is
    not shown as 1.25 beside 'not flagged at ratio 1.25')."""
    ratio = _field(row, "burden_ratio")
    if ratio is None:
        return "–"
    return f"{ratio:.{3 if _field(row, 'flag_margin') == 'marginal' else 2}f}"


def flag_basis(row) -> str:
    """The figures the disproportionate decision rests on, short: 'ratio 1.23, +0.25 km per
    resident against the rest' (access) or '5.0 points below the rest' (expected effects)."""
    ratio = _field(row, "burden_ratio")
    if ratio is not None:
        unit = _field(row, "unit", "km")
        shown = "no burden for the rest" if np.isinf(ratio) else f"ratio {ratio_text(row)}"
        return (
            f"{shown}, {amount(_field(row, 'burden_difference'), unit, signed=True, digits=2)} "
            "per resident against the rest"
        )
    points = _field(row, "difference_pct_points")
    if points is not None:
        side = "below" if points < 0 else "above"
        return f"{abs(points):.1f} points {side} the rest of its dimension"
    return ""


def amount(value: float, unit: str, *, signed: bool = False, digits: int = 1) -> str:
    """A distance or time with its unit (``2.3 km``, ``+4.0 min``), or an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    if np.isinf(value):
        return "no site"
    return f"{float(value):{'+' if signed else ''}.{digits}f} {unit}"


#: A deciding figure within this share of its threshold is "close to the threshold": a small
#: change of threshold would change the rating, and the sentence says so.
NEAR = 0.1


def near(value: float, threshold: float) -> bool:
    """Whether ``value`` lies within :data:`NEAR` (10%) of ``threshold``, either side."""
    if value is None or pd.isna(value) or np.isinf(value) or not threshold:
        return False
    return bool(abs(float(value) - threshold) <= NEAR * abs(threshold))


def _close(value: float, threshold: float, words: str = ", close to the threshold") -> str:
    return words if near(value, threshold) else ""


def _side(row, rules: Rules, loss: bool) -> str:
    """The figure one side (losses or gains) rests on: the amount per resident, or, when that
    is not material but the share crossing the far threshold is, that share."""
    u = rules.unit
    per = row.added_per_resident if loss else row.removed_per_resident
    crossing = row.newly_far if loss else row.newly_near
    verb = "added" if loss else "saved"
    share = crossing / row.residents if row.residents else np.nan
    if per >= rules.material or not share >= rules.material_share:
        return (
            f"{amount(per, u, digits=2)} {verb} per resident (material from {rules.material:g} "
            f"{u}{_close(per, rules.material, '; close to it')})"
        )
    where = f"newly beyond {rules.far:g} {u}" if loss else f"newly within {rules.far:g} {u}"
    return (
        f"{fmt_pct(share)} {where} (material from {fmt_pct(rules.material_share)}"
        f"{_close(share, rules.material_share, '; close to it')})"
    )


def access_sentence(row, rules: Rules) -> str:
    """A rating in a few words: the rating, the one or two figures it rests on (each shown in
    the impacts table beside it) and the rule, saying when a figure is close to its threshold.

    The full rules are in the report's "How the ratings work"; every other figure (people
    further and nearer, person-km) is in the same row of :func:`burden`'s frame.
    """
    u = rules.unit
    word = row.rating.capitalize()
    if row.rating == "not rated":
        return f"Not rated: {row.rating_note or 'too few residents'}."
    if row.rating == "negative":
        text = f"{word}: {_side(row, rules, True)}."
    elif row.rating == "positive":
        text = f"{word}: {_side(row, rules, False)}."
    elif row.rating == "mixed":
        text = f"{word}: {_side(row, rules, True)}, and {_side(row, rules, False)}."
    else:
        text = f"{word}: {_side(row, rules, True)}"
        if row.newly_far:
            share = row.newly_far / row.residents if row.residents else np.nan
            text += (
                f"; {fmt_pct(share)} newly beyond {rules.far:g} {u} (material from "
                f"{fmt_pct(rules.material_share)}{_close(share, rules.material_share, '; close to it')})"
            )
        text += "."
    if row.rating in ("negative", "mixed") and not pd.isna(row.rest_added_per_resident):
        if np.isinf(row.burden_ratio):
            compared = "the rest of the area has none added"
        else:
            compared = f"{ratio_text(row)} times the rest of the area"
        if row.disproportionate:
            text += f" Disproportionate: {compared} (from {rules.ratio:g})."
        elif row.burden_ratio >= rules.ratio:
            text += (
                f" Not disproportionate: {compared}, but only "
                f"{amount(row.burden_difference, u, signed=True, digits=2)} per resident more "
                f"(needs {rules.difference:g} {u})."
            )
        else:
            text += f" Not disproportionate: {compared} (needs {rules.ratio:g})."
    caveat = flag_caveat(row)
    if caveat:
        text += f" Marginal: {caveat}."
    return text


def rate_access(
    distances: pd.DataFrame,
    weights: Mapping[str, pd.DataFrame],
    thresholds=None,
    *,
    option: str = "Proposed",
    population: pd.Series | None = None,
) -> pd.DataFrame:
    """Rate the change in distance (:func:`eia.analysis.access.measure`'s frame) for every group.

    A convenience over :func:`burden` in km: ``thresholds`` is a
    :class:`eia.params.Thresholds` or :class:`Rules` (defaults if omitted).
    """
    rules = thresholds if isinstance(thresholds, Rules) else Rules.from_thresholds(thresholds)
    codes = distances["lsoa21_code"].to_numpy()
    return burden(
        pd.Series(distances["km_before"].to_numpy(), index=codes),
        pd.Series(distances["km_after"].to_numpy(), index=codes),
        weights,
        rules,
        option=option,
        population=population,
    )


def rate_effects(
    effects: list[Mapping],
    populations: Mapping[str, pd.Series],
    *,
    uptake_change_pct: float = 5.0,
    disproportionate_ratio: float = 1.2,
    min_people: int = 100,
    option: str = "Proposed",
    margins: bool = True,
) -> pd.DataFrame:
    """Rate declared expected effects of a service change, group by group.

    ``effects`` are mappings with ``dimension``, ``group``, ``uptake_change_pct``
    and ``rationale``. ``populations`` maps a dimension to a Series of people
    per group (for ``age``: residents of each declared age group and of the other
    ages, from the pack's single-year ages by LSOA). A group with no declared
    effect is :data:`NOT_ASSESSED` (its expected change is left empty), never
    neutral; for the rest of its dimension it counts as unchanged (0%), which is
    what declaring no effect for it states.

    A group is negative at −``uptake_change_pct`` or below, positive at
    +``uptake_change_pct`` or above, else neutral; a group with fewer than
    ``min_people`` residents is *not rated*. A negative rating is
    disproportionate when the group's expected change is at least
    ``uptake_change_pct`` points below the rest of its dimension's
    (population-weighted) and, if the rest also loses, at least
    ``disproportionate_ratio`` times the rest's loss. Dimensions without
    small-area populations (age, sex, other) are rated, but their disproportion
    cannot be assessed and is left empty; age groups have populations when the
    caller supplies them (:func:`eia.assessment.assess` does), and are then tested
    like any other group.

    With ``margins`` (the default), ``flag_margin`` and ``flag_flips`` say whether the
    disproportionate decision holds with ``uptake_change_pct``, ``disproportionate_ratio``
    (its excess over 1) and ``min_people`` each a quarter higher and lower
    (:func:`flag_margins`).
    """
    out = _effect_rows(
        effects, populations, uptake_change_pct, disproportionate_ratio, min_people, option
    )
    if margins:
        base = {"uptake_change_pct": uptake_change_pct, "ratio": disproportionate_ratio}
        base["min_residents"] = min_people
        variations = []
        for field, value in base.items():
            kind = _kind(field)
            for factor in (1 + MARGIN, 1 - MARGIN):
                varied = scaled(value, factor, kind)
                if varied != value:
                    variations.append((margin_phrase(field, varied), base | {field: varied}))
        out = out.join(
            flag_margins(
                lambda v: _effect_rows(
                    effects,
                    populations,
                    v["uptake_change_pct"],
                    v["ratio"],
                    v["min_residents"],
                    option,
                ),
                out,
                variations,
            )
        )
    out["sentence"] = [
        effect_sentence(r, uptake_change_pct, disproportionate_ratio) for r in out.itertuples()
    ]
    return out


def _effect_rows(
    effects: list[Mapping],
    populations: Mapping[str, pd.Series],
    uptake_change_pct: float,
    disproportionate_ratio: float,
    min_people: int,
    option: str,
) -> pd.DataFrame:
    """:func:`rate_effects`'s ratings and flags (no sentences)."""
    declared: dict[tuple[str, str], Mapping] = {
        (e["dimension"], str(e["group"])): e for e in effects
    }
    rows = []
    dims = list(populations) + sorted({d for d, _ in declared if d not in populations}, key=str)
    for dimension in dims:
        pops = populations.get(dimension)
        groups = list(pops.index) if pops is not None else []
        groups += [g for d, g in declared if d == dimension and g not in groups]
        changes = {
            g: float(declared.get((dimension, g), {}).get("uptake_change_pct", 0.0)) for g in groups
        }
        known = pops.reindex(groups).fillna(0) if pops is not None else None
        average = np.nan
        if known is not None and known.sum() > 0:
            average = float(sum(changes[g] * known[g] for g in groups) / known.sum())
        n_declared = sum(1 for d, _ in declared if d == dimension)
        for g in groups:
            change = changes[g]
            pop = int(known[g]) if known is not None else None
            rest = np.nan
            if known is not None and known.sum() - known[g] > 0:
                rest = float(
                    sum(changes[h] * known[h] for h in groups if h != g) / (known.sum() - known[g])
                )
            note = ""
            entry = declared.get((dimension, g), {})
            if not entry:
                rating = NOT_ASSESSED
            elif pop is not None and pop < max(min_people, 1):
                rating = "not rated"
                note = f"fewer than {min_people:,} residents" if pop else "no residents"
            elif change <= -uptake_change_pct and change < 0:
                rating = "negative"
            elif change >= uptake_change_pct and change > 0:
                rating = "positive"
            else:
                rating = "neutral"
            ratio = change / rest if rest < 0 and change < 0 else np.nan
            difference = change - rest if not np.isnan(rest) else np.nan
            dispro = None
            if pops is not None:
                dispro = bool(
                    rating == "negative"
                    and difference <= -uptake_change_pct
                    and (rest >= 0 or ratio >= disproportionate_ratio)
                )
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": g,
                    "population": pop,
                    "expected_uptake_change_pct": change if entry else np.nan,
                    "average_change_pct": average,
                    "rest_change_pct": rest,
                    "difference_pct_points": difference,
                    "disproportion_ratio": ratio,
                    "rating": rating,
                    "rating_note": note,
                    "disproportionate": dispro,
                    "declared": bool(entry),
                    "single_declared_effect": bool(entry) and n_declared == 1,
                    "rationale": entry.get("rationale", ""),
                }
            )
    return pd.DataFrame(rows)


def assessed_effects(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split :func:`rate_effects`' rows into the rated ones and those :data:`NOT_ASSESSED`
    (``option, dimension, group``: groups with no declared effect, shown once, collapsed)."""
    if not len(rows) or "rating" not in rows:
        return rows, pd.DataFrame(columns=["option", "dimension", "group"])
    skipped = rows["rating"] == NOT_ASSESSED
    rest = rows[~skipped].reset_index(drop=True)
    return rest, rows.loc[skipped, ["option", "dimension", "group"]].reset_index(drop=True)


def effect_sentence(row, uptake_change_pct: float = 5.0, ratio_threshold: float = 1.2) -> str:
    """An expected-effect rating in a few words: the expected change and the rest of its
    dimension's (both in the impacts table), the rule, and that it is the owner's assumption."""
    if row.rating == NOT_ASSESSED:
        return "Not assessed: no effect is declared for this group."
    if row.rating == "not rated":
        return f"Not rated: {getattr(row, 'rating_note', '') or 'too few residents'}."
    change = row.expected_uptake_change_pct
    text = f"{row.rating.capitalize()}: expected change {change:+.0f}%"
    rest = getattr(row, "rest_change_pct", np.nan)
    if not pd.isna(rest):
        text += f" against {rest:+.1f}% for the rest of its dimension"
    text += f" (an effect from ±{uptake_change_pct:g}%{_close(abs(change), uptake_change_pct)})."
    if row.rating == "negative" and row.disproportionate is not None and not pd.isna(rest):
        gap = abs(row.difference_pct_points)
        if row.disproportionate:
            text += f" Disproportionate: {gap:.1f} points below the rest."
        else:
            text += (
                f" Not disproportionate: {gap:.1f} points below the rest (needs "
                f"{uptake_change_pct:g})."
            )
    caveat = flag_caveat(row)
    if caveat and row.rating == "negative":
        text += f" Marginal: {caveat}."
    if getattr(row, "single_declared_effect", False) and row.rating != "neutral":
        text += " It rests on a single declared effect: the owner's assumption."
    elif getattr(row, "declared", False) and row.rating != "neutral":
        text += " Declared by the owner: an assumption."
    return text


def add_expected_users(
    impacts: pd.DataFrame,
    representation: Mapping[str, pd.DataFrame],
    uptake_change_pct: float = 5.0,
    disproportionate_ratio: float = 1.2,
) -> pd.DataFrame:
    """Expected effects in users, not only per cent: users now × expected change.

    ``representation`` maps a dimension to a frame with ``group`` and ``count``
    (current users, from the service data). Adds ``users_now`` and
    ``expected_users_change`` to expected-effect rows and restates their sentences.
    """
    if "expected_uptake_change_pct" not in impacts:
        return impacts
    impacts = impacts.copy()
    now = []
    for row in impacts.itertuples():
        table = representation.get(row.dimension)
        value = np.nan
        if table is not None and not pd.isna(row.expected_uptake_change_pct):
            match = table[table["group"].astype(str) == str(row.group)]
            if len(match):
                value = pd.to_numeric(match["count"], errors="coerce").iloc[0]
        now.append(value)
    impacts["users_now"] = now
    impacts["expected_users_change"] = (
        impacts["users_now"] * impacts["expected_uptake_change_pct"] / 100
    )
    effect_rows = impacts["expected_uptake_change_pct"].notna()
    impacts.loc[effect_rows, "sentence"] = [
        effect_sentence(r, uptake_change_pct, disproportionate_ratio)
        for r in impacts[effect_rows].itertuples()
    ]
    return impacts


def representation(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Representation ratio with its interval for each group of an uptake table.

    ``table`` has ``group``, ``count`` and ``population`` (counts withheld by
    disclosure control are missing and give missing results). Returns ``group,
    count, population, user_share, population_share, representation,
    representation_lower, representation_upper``.
    """
    count = pd.to_numeric(table["count"], errors="coerce")
    pop = pd.to_numeric(table["population"], errors="coerce")
    total_count = count.sum(min_count=1) if count.notna().all() else np.nan
    pop_share = pop / pop.sum()
    out = pd.DataFrame({"group": table["group"].astype(str), "count": count, "population": pop})
    out["population_share"] = pop_share
    if np.isfinite(total_count) and total_count > 0:
        share, lower, upper = proportion_ci(
            count.to_numpy(float), np.full(len(count), total_count), confidence
        )
    else:
        share = lower = upper = np.full(len(count), np.nan)
    out["user_share"] = share
    out["representation"] = np.asarray(share) / pop_share.to_numpy()
    out["representation_lower"] = np.asarray(lower) / pop_share.to_numpy()
    out["representation_upper"] = np.asarray(upper) / pop_share.to_numpy()
    return out.reset_index(drop=True)


def standardised_representation(table: pd.DataFrame, area_dsr: Mapping | None) -> pd.DataFrame:
    """Representation on age-standardised rates where every group has one, else crude.

    ``table`` has ``group``, ``count``, ``population`` and, when the extract has age,
    ``dsr``, ``dsr_lower``, ``dsr_upper`` (a published uptake table); ``area_dsr`` the
    whole area's ``dsr`` (:attr:`eia.analysis.uptake.Uptake.dsr_area`). Crude
    representation is a group's rate over the area's (share of users over share of
    residents, :func:`representation`); age-standardised, it is the group's DSR over the
    area's DSR, with the group's Dobson limits over the area's DSR, so groups with older
    or younger residents are compared like for like. The crude shares stay in the frame
    (``user_share``, ``population_share``, ``crude_representation``); ``basis`` says which
    the ``representation`` columns are: ``age-standardised`` or ``crude``.
    """
    out = representation(table)
    out["crude_representation"] = out["representation"]
    out["basis"] = "crude"
    if area_dsr is None or "dsr" not in table or not area_dsr.get("dsr"):
        return out
    dsr = pd.to_numeric(table["dsr"], errors="coerce").to_numpy(float)
    if not np.isfinite(dsr).all():  # a group below 10 events or withheld: all stay crude
        return out
    base = float(area_dsr["dsr"])
    out["representation"] = dsr / base
    out["representation_lower"] = pd.to_numeric(table["dsr_lower"]).to_numpy(float) / base
    out["representation_upper"] = pd.to_numeric(table["dsr_upper"]).to_numpy(float) / base
    out["basis"] = "age-standardised"
    return out


#: The Core20 row's group, and the one row shown when IMD quintile 1 is the same people.
CORE20_GROUP = "Core20 (IMD deciles 1-2)"
Q1_GROUP = "Q1 (most deprived)"
MERGED_Q1 = "Most deprived 20% (IMD quintile 1, Core20)"
REST_GROUP = "Rest of area (deciles 3-10)"
MERGED_REST = "Rest of area (IMD quintiles 2–5, not Core20)"
SAME_PEOPLE = (
    "IMD quintile 1 and Core20 are the same people here (Core20 is the most deprived 20% of "
    "neighbourhoods in England, national IMD 2025 deciles 1–2, which make up quintile 1), so "
    "their figures are identical and they are shown once, as “" + MERGED_Q1 + "”."
)


def merge_core20(rows: pd.DataFrame) -> pd.DataFrame:
    """Rating rows with IMD quintile 1 and Core20 shown once when they are the same people.

    When the Core20 row's figures and rating equal quintile 1's (Core20 is national IMD
    deciles 1–2, i.e. quintile 1), the quintile 1 row is relabelled :data:`MERGED_Q1`, the
    Core20 row is dropped and the rest of the area follows quintile 5 as :data:`MERGED_REST`.
    When they differ (another deprivation measure, declared effects that differ), the rows are
    returned unchanged. For display only: ``metrics.json`` keeps every row.
    """
    q1 = rows[(rows["dimension"] == "imd_quintile") & (rows["group"] == Q1_GROUP)]
    core = rows[(rows["dimension"] == "core20") & (rows["group"] == CORE20_GROUP)]
    if len(q1) != 1 or len(core) != 1 or not same_figures(q1.iloc[0], core.iloc[0]):
        return rows
    out = rows.copy()
    out.loc[q1.index, "group"] = MERGED_Q1
    out = out.drop(index=core.index)
    rest = out[(out["dimension"] == "core20") & (out["group"] == REST_GROUP)]
    out.loc[rest.index, ["dimension", "group"]] = ["imd_quintile", MERGED_REST]
    order = [i for i in out.index if i not in rest.index]
    quintiles = [k for k, i in enumerate(order) if out.at[i, "dimension"] == "imd_quintile"]
    at = quintiles[-1] + 1 if quintiles else len(order)
    order[at:at] = list(rest.index)
    return out.loc[order]


def same_figures(a: pd.Series, b: pd.Series) -> bool:
    """Whether two rating rows have the same rating and the same figures (labels aside)."""
    skip = {"option", "dimension", "group", "sentence", "rating_note", "rationale"}
    for key in a.index:
        if key in skip or key not in b.index:
            continue
        x, y = a[key], b[key]
        numbers = (int, float, np.number)
        if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
            same = bool(np.isclose(float(x), float(y), equal_nan=True))
        elif x is None or y is None or (np.isscalar(x) and np.isscalar(y)):
            same = x == y or (pd.isna(x) and pd.isna(y))
        else:
            same = str(x) == str(y)
        if not same:
            return False
    return True


def rating_labels(rows: pd.DataFrame) -> list[str]:
    """:func:`rating_label` for every row of a ratings frame (``rating``, ``disproportionate``,
    optional ``rating_note``)."""
    notes = rows["rating_note"] if "rating_note" in rows else [None] * len(rows)
    return [
        rating_label(r, d, n)
        for r, d, n in zip(rows["rating"], rows["disproportionate"], notes, strict=True)
    ]


def rating_label(rating: str, disproportionate: bool | None, note: str | None = None) -> str:
    """Text shown in ratings tables: a word, never colour alone (e.g. 'Negative – disproportionate').

    ``note`` says why a group is not rated ('fewer than 100 residents'). A mixed rating's
    flag concerns its losses only, so it reads 'Mixed – disproportionate losses'.
    """
    word = {
        "positive": "▲ Positive",
        "neutral": "● Neutral",
        "negative": "▼ Negative",
        "mixed": "◆ Mixed",
        "not rated": "○ Not rated",
    }[rating]
    if note and isinstance(note, str):
        word += f" ({note})"
    if not disproportionate or pd.isna(disproportionate):
        return word
    return f"{word} – disproportionate{' losses' if rating == 'mixed' else ''}"


def rating_words(rating: str, disproportionate: bool | None, note: str | None = None) -> str:
    """:func:`rating_label` for a sentence: no symbol, lower case ('negative – disproportionate')."""
    label = rating_label(rating, disproportionate, note).split(" ", 1)[1]
    return label[0].lower() + label[1:]


def access_rules_sentence(rules) -> str:
    """The access rating rules in two sentences, with this proposal's thresholds.

    ``rules`` is a :class:`Rules` (any unit) or a :class:`eia.params.Thresholds` (km).
    """
    r = rules if isinstance(rules, Rules) else Rules.from_thresholds(rules)
    u = r.unit
    thing = "distance" if u == "km" else "travel time"
    return (
        f"Only changes of more than {r.change:g} {u} count. A group is rated negative when the "
        f"{thing} added per resident reaches {r.material:g} {u} or {r.material_share:.1%} of "
        f"its residents newly live more than {r.far:g} {u} away (positive likewise for "
        f"{thing} removed; mixed when both gains and losses reach it; neutral when neither); "
        f"groups of fewer than {r.min_residents:,} residents are not rated. A negative or mixed "
        f"rating is disproportionate when the group's {thing} added per resident is at least "
        f"{r.ratio:g} times, and {r.difference:g} {u} more than, that of the rest of the area."
    )


def ratings_count_sentence(impacts: pd.DataFrame, option: str | None) -> str:
    """How many groups got each rating, counting each resident once per dimension.

    The ``all`` row and the ``core20`` dimension are left out of the count: Core20
    is IMD quintile 1, so counting it again would count the same residents twice.
    """
    rows = impacts[impacts["option"] == option] if option is not None else impacts
    counted = rows[~rows["dimension"].isin(["all", "core20"])]
    counts = counted["rating"].value_counts()
    parts = [f"{int(counts[r])} {r}" for r in RATINGS if r in counts]
    flagged = counted[counted["disproportionate"].fillna(False).astype(bool)]
    text = (
        f"Of {len(counted)} groups rated for {option} (IMD quintiles, Core20 being quintile 1, "
        f"and other dimensions): {', '.join(parts)}"
    )
    if len(flagged):
        return text + f"; disproportionately affected: {', '.join(flagged['group'])}."
    return text + "; none disproportionately affected."
