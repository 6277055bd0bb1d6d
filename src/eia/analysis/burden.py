"""Each group's burden of a change (person-km or person-minutes added, people newly far) and its rating rules: a loss or gain is material, a share of the burden disproportionate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.params import Thresholds

__all__ = [
    "NOTES",
    "RATINGS",
    "NOT_ASSESSED",
    "DIMENSION_LABELS",
    "UNITS",
    "ALL_RESIDENTS",
    "Rules",
    "BURDEN_COLUMNS",
    "burden_units",
    "material_loss",
    "material_gain",
]


RATINGS = ("positive", "neutral", "negative", "mixed", "not rated")
#: Why a group is not rated (``rating_note``): fewer residents than the rules' minimum, or
#: none. The report words them (``src/eia/report/prose/rating.j2``).
NOTES = ("few_residents", "no_residents")

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


def _burden_rows(
    b: np.ndarray,
    a: np.ndarray,
    frames: Mapping[str, pd.DataFrame],
    pop: np.ndarray,
    rules: Rules,
    option: str,
) -> pd.DataFrame:
    """:func:`burden`'s figures, ratings and flags (no sentences) for aligned arrays."""
    return pd.DataFrame(_burden_records(b, a, frames, pop, rules, option))


def _burden_records(
    b: np.ndarray,
    a: np.ndarray,
    frames: Mapping[str, pd.DataFrame],
    pop: np.ndarray,
    rules: Rules,
    option: str,
) -> list[dict]:
    """:func:`_burden_rows` as a list of row dicts (no frame: the appraisal's robustness
    check re-judges every option under each of its variations and only reads a few fields)."""
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
    return [_judge(row, rules) for row in rows]


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
        note = "few_residents" if p > 0 else "no_residents"
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
