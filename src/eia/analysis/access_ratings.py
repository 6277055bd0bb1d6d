"""Rating access changes per group from the burden table (distance or journey time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.align import by_lsoa, series_by_lsoa
from eia.analysis.burden import Rules, _burden_records, _burden_rows, _keyed
from eia.analysis.flags import flag_margins, margin_variations

__all__ = [
    "Aligned",
    "align",
    "burden",
    "burden_records",
    "NEAR",
    "near",
    "rests_on",
    "flag_reason",
    "rate_access",
]


#: A deciding figure within this share of its threshold is "close to the threshold": a small
#: change of threshold would change the rating, and the report says so.
NEAR = 0.1


def near(value: float, threshold: float) -> bool:
    """Whether ``value`` lies within :data:`NEAR` (10%) of ``threshold``, either side."""
    if value is None or pd.isna(value) or np.isinf(value) or not threshold:
        return False
    return bool(abs(float(value) - threshold) <= NEAR * abs(threshold))


def rests_on(row, rules: Rules, loss: bool = True) -> str:
    """The figure one side of a rating (losses, or gains) rests on: ``per_resident`` (the
    amount added, or saved, per resident) or, when that is not material but the share newly
    beyond (or within) the far threshold is, ``share``."""
    per = row.added_per_resident if loss else row.removed_per_resident
    crossing = row.newly_far if loss else row.newly_near
    share = crossing / row.residents if row.residents else np.nan
    if per >= rules.material or not share >= rules.material_share:
        return "per_resident"
    return "share"


def flag_reason(row, rules: Rules) -> str | None:
    """Why a negative or mixed rating is or is not disproportionate: ``flagged``;
    ``no_rest_figure`` (no rest of the area to compare with); ``ratio_short`` (its burden
    ratio is below ``rules.ratio``); ``difference_short`` (the ratio is reached, the
    difference per resident is not); ``amount_short`` (ratio and difference are reached, but
    the amount added per resident is not material: the loss is material by the share newly
    far). None for other ratings."""
    if row.rating not in ("negative", "mixed"):
        return None
    if pd.isna(row.rest_added_per_resident):
        return "no_rest_figure"
    if row.disproportionate:
        return "flagged"
    if not row.burden_ratio >= rules.ratio:
        return "ratio_short"
    if not row.burden_difference >= rules.difference:
        return "difference_short"
    return "amount_short"


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
    the figures of :data:`BURDEN_COLUMNS`, ``rating``, ``rating_note`` (a code:
    ``few_residents``, ``no_residents`` or empty), ``disproportionate`` and ``unit``. The
    report states each rating in words (``src/eia/report/prose/rating.j2``), from these
    figures, :func:`rests_on` and :func:`flag_reason`. With ``margins`` (the
    default), also ``flag_margin`` and ``flag_flips`` (:func:`flag_margins`): whether
    the disproportionate decision holds with each threshold a quarter higher and lower.
    """
    rules = rules or Rules()
    inputs = align(before, after, weights, population)
    out = _burden_rows(*inputs.arrays(), rules, option)
    if margins:
        out = out.join(
            flag_margins(
                lambda varied: _burden_records(*inputs.arrays(), varied, option),
                out,
                margin_variations(rules),
            )
        )
    out["unit"] = rules.unit
    return out


@dataclass(frozen=True)
class Aligned:
    """:func:`burden`'s inputs checked and lined up by LSOA code (:func:`align`): before and
    after values, residents per LSOA, and each dimension's LSOA × group weights."""

    before: np.ndarray
    after: np.ndarray
    frames: dict[str, pd.DataFrame]
    population: np.ndarray

    def arrays(self) -> tuple:
        """``(before, after, frames, population)``, the order the row builders take."""
        return self.before, self.after, self.frames, self.population


def align(
    before: pd.Series,
    after: pd.Series,
    weights: Mapping[str, pd.DataFrame],
    population: pd.Series | None = None,
) -> Aligned:
    """Check and line up :func:`burden`'s inputs once (the same checks and errors as
    :func:`burden`), for code that judges the same change under many rules."""
    before = series_by_lsoa(before, "before")
    index = before.index
    aligned = series_by_lsoa(after, "after", index)
    frames = {
        dim: by_lsoa(_keyed(w), f"{dim} weights", index).fillna(0).astype(float)
        for dim, w in weights.items()
    }
    if population is None:
        first = frames.get("imd_quintile", next(iter(frames.values()), None))
        population = first.sum(axis=1) if first is not None else pd.Series(1.0, index=index)
    pop = series_by_lsoa(population, "population", index).fillna(0).to_numpy(dtype=float)
    return Aligned(before.to_numpy(dtype=float), aligned.to_numpy(dtype=float), frames, pop)


def burden_records(inputs: Aligned, rules: Rules, *, option: str = "Proposed") -> list[dict]:
    """:func:`burden`'s rows without flag margins or ``unit``, as row dicts, for inputs
    already :func:`align`-ed (the figures, rating and ``disproportionate`` of every group)."""
    return _burden_records(*inputs.arrays(), rules, option)


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
