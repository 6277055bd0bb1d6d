"""Rating access changes per group from the burden table (distance or journey time)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.align import by_lsoa, series_by_lsoa
from eia.analysis.burden import Rules, _burden_rows, _keyed, amount
from eia.analysis.flags import flag_caveat, flag_margins, margin_variations, ratio_text
from eia.text import fmt_pct

__all__ = ["burden", "NEAR", "near", "access_sentence", "rate_access"]


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
