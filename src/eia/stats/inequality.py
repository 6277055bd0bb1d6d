"""Slope and relative index of inequality with simulated confidence limits (``phe_sii``)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from eia.errors import StatsInputError
from eia.stats.inputs import (
    MAX_QUANTILES,
    MIN_QUANTILES,
    MIN_REPETITIONS,
    _check_multiplier,
    _plain,
    _to_float_array,
    _z,
)

__all__ = ["ValueType", "sii"]

# Most normal draws held in memory at once by the SII simulation (16 MB).
_SII_CHUNK_DRAWS = 2_000_000


# --------------------------------------------------------------------------------------
# Slope and relative index of inequality
# --------------------------------------------------------------------------------------

ValueType = Literal["normal", "rate", "proportion"]


def sii(
    quantile: Any,
    population: Any,
    value: Any,
    *,
    se: Any = None,
    lower_cl: Any = None,
    upper_cl: Any = None,
    value_type: ValueType = "normal",
    multiplier: float = 1,
    confidence: float = 0.95,
    repetitions: int = 100_000,
    rii: bool = False,
    seed: int | np.random.Generator | None = None,
) -> dict[str, float]:
    """Slope index of inequality (and optionally the RII) with simulated limits, as ``phe_sii``.

    Method (Low & Low 2004, as implemented by ``phe_sii`` with its default
    ``transform = FALSE``):

    1. Quantiles are sorted by their label, ascending; **label 1 (the lowest)
       must be the most deprived** (e.g. IMD decile 1). Each quantile *i* gets
       its population share *a_i* = pop_i / Σ pop and a relative rank *b_i*,
       the midpoint of its range in the cumulative population distribution::

           b_i = Σ_{j<i} a_j + a_i / 2          (so 0 < b_i < 1)

    2. The value *y_i* is regressed on *b_i* by least squares weighted by
       *a_i* — ``phe_sii`` fits ``y √a = β₀ √a + β₁ b √a`` without intercept,
       which is the same fit. In closed form, with b̄ = Σ a_i b_i::

           β₁ = Σ a_i (b_i − b̄) y_i / Σ a_i (b_i − b̄)²,   β₀ = Σ a_i y_i − β₁ b̄

       **SII** = multiplier × β₁: the modelled difference between the least
       deprived end (rank 1) and the most deprived end (rank 0). It is positive
       when the value rises from most to least deprived (e.g. life expectancy)
       and negative when it falls (e.g. mortality). **RII** = (β₀ + β₁) / β₀,
       the ratio of the fitted values at rank 1 and rank 0, inverted when the
       multiplier is negative (as ``phe_sii``).

    3. Confidence limits by simulation: each repetition draws every quantile's
       value from a normal distribution on the analysis scale — the value itself
       for ``"normal"``, its log for ``"rate"``, its logit for ``"proportion"``
       — with the quantile's standard error as SD, transforms back (exp or
       inverse logit), and refits β₀, β₁ (the closed form above applied to a
       repetitions × quantiles matrix at once). The limits are the order
       statistics at positions round(R (1 − c)) and round(R c) of the R sorted
       simulated SIIs (RIIs), with c = confidence + (1 − confidence)/2, as
       ``phe_sii`` takes them. The draws are
       ``rng.standard_normal((R, k))`` in quantile order, scaled and shifted,
       from ``rng = numpy.random.default_rng(seed)``, so a fixed ``seed``
       reproduces the limits exactly.

    Standard errors come from ``se`` when it is given (then on the analysis
    scale: of the value for "normal", of **ln(value)** for "rate", of
    **logit(value)** for "proportion"). Otherwise they are derived from the 95%
    confidence limits, transformed to the analysis scale, as
    ``(T(upper_cl) − T(lower_cl)) / (2 × 1.959964)``. As in ``phe_sii`` the
    limits supplied are taken to be **95%** limits whatever ``confidence`` is;
    ``confidence`` is the level of the SII's interval.

    Args:
        quantile: quantile labels (e.g. deprivation deciles 1–10), one per
            quantile, sortable and distinct, lowest = most deprived. Between 5
            and 100 quantiles.
        population: population of each quantile (> 0 for every quantile).
        value: indicator value of each quantile; > 0 for "rate", in (0, 1) for
            "proportion" (give proportions, not percentages, and use
            ``multiplier=100`` for an SII in percentage points).
        se: standard error of each quantile's value on the analysis scale (≥ 0).
        lower_cl: lower 95% confidence limit of each value (used when ``se`` is
            not given; then ``upper_cl`` is needed too).
        upper_cl: upper 95% confidence limit of each value.
        value_type: "normal" (default), "rate" or "proportion".
        multiplier: factor applied to the SII and its limits (non-zero); a
            negative multiplier reverses the SII's polarity and inverts the RII.
        confidence: two-sided confidence level of the SII's limits, in (0, 1).
        repetitions: number of simulations, at least 1,000; default 100,000.
        rii: also return the relative index of inequality and its limits.
        seed: seed or ``numpy.random.Generator`` for the simulation.

    Returns:
        ``{"sii", "sii_lower", "sii_upper"}`` and, when ``rii`` is true,
        ``{"rii", "rii_lower", "rii_upper"}``, all floats.

    Raises:
        StatsInputError: fewer than 5 or more than 100 quantiles, repeated
            quantile labels, a zero, negative or missing population, mismatched
            lengths, neither ``se`` nor both confidence limits, negative standard
            errors, a lower limit above its upper limit, values outside the
            domain of ``value_type``, an unknown ``value_type``, a zero
            multiplier, fewer than 1,000 repetitions, or confidence outside (0, 1).

    References:
        Low A, Low A. Measuring the gap: quantifying and comparing local health
        inequalities. J Public Health 2004;26:388–395.
        Office for Health Improvement and Disparities. PHEindicatormethods:
        ``phe_sii`` (R package).
    """
    _z(confidence)  # validates it; the limits are order statistics, not z-based
    mult = _check_multiplier(multiplier, positive=False)
    if value_type not in ("normal", "rate", "proportion"):
        raise StatsInputError(
            f"value_type must be 'normal', 'rate' or 'proportion'; got {value_type!r}"
        )
    if isinstance(repetitions, bool) or not isinstance(repetitions, int | np.integer):
        raise StatsInputError(f"repetitions must be a whole number; got {repetitions!r}")
    if repetitions < MIN_REPETITIONS:
        raise StatsInputError(
            f"repetitions must be at least {MIN_REPETITIONS:,}; got {repetitions!r}"
        )

    labels = _quantile_labels(quantile)
    k = labels.size
    if not MIN_QUANTILES <= k <= MAX_QUANTILES:
        raise StatsInputError(
            f"quantile: the SII needs {MIN_QUANTILES} to {MAX_QUANTILES} quantiles; got {k}"
        )
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    repeated = sorted_labels[1:] == sorted_labels[:-1]
    if repeated.any():
        raise StatsInputError(
            "quantile labels must be distinct; "
            f"{_plain(sorted_labels[1:][repeated][0])!r} appears more than once"
        )

    given = {"population": population, "value": value}
    if se is not None:
        given["se"] = se
    else:
        if lower_cl is None or upper_cl is None:
            raise StatsInputError(
                "se is needed, or else both lower_cl and upper_cl (95% limits) to derive it from"
            )
        given["lower_cl"] = lower_cl
        given["upper_cl"] = upper_cl
    arrays: dict[str, np.ndarray] = {}
    for name, x in given.items():
        arr, _ = _to_float_array(name, x)
        if arr.ndim != 1 or arr.size != k:
            size = arr.size if arr.ndim else "a scalar"
            raise StatsInputError(f"{name} has {size} value(s) but there are {k} quantiles")
        arr = arr[order]
        if np.isnan(arr).any():
            bad = np.isnan(arr)
            raise StatsInputError(
                f"{name} is missing (NaN) for quantile {_plain(sorted_labels[bad][0])!r}; "
                "the SII needs every quantile"
            )
        arrays[name] = arr

    pop, val = arrays["population"], arrays["value"]
    if (pop <= 0).any():
        bad = pop <= 0
        raise StatsInputError(
            f"population must be greater than 0 for every quantile; quantile "
            f"{_plain(sorted_labels[bad][0])!r} has {pop[bad][0]:g}"
        )
    _check_domain("value", val, value_type, sorted_labels)
    if "se" in arrays:
        se_t = arrays["se"]
        if (se_t < 0).any():
            bad = se_t < 0
            raise StatsInputError(
                f"se must not be negative; quantile {_plain(sorted_labels[bad][0])!r} "
                f"has {se_t[bad][0]:g}"
            )
    else:
        lo, hi = arrays["lower_cl"], arrays["upper_cl"]
        _check_domain("lower_cl", lo, value_type, sorted_labels)
        _check_domain("upper_cl", hi, value_type, sorted_labels)
        if (lo > hi).any():
            bad = lo > hi
            raise StatsInputError(
                f"lower_cl must not exceed upper_cl; quantile {_plain(sorted_labels[bad][0])!r} "
                f"has {lo[bad][0]:g} > {hi[bad][0]:g}"
            )
        z95 = float(special.ndtri(0.975))  # scipy.stats.norm.ppf
        se_t = (_transform(hi, value_type) - _transform(lo, value_type)) / (2.0 * z95)

    # Relative ranks and the closed-form weighted least-squares coefficients:
    # slope = c @ y and intercept = d @ y for any vector of values y.
    share = pop / pop.sum()
    rank = np.cumsum(share) - share / 2.0
    mean_rank = share @ rank
    centred = rank - mean_rank
    c = share * centred / (share @ centred**2)
    d = share - mean_rank * c

    slope, intercept = float(c @ val), float(d @ val)
    result = {"sii": mult * slope}
    point_rii = (intercept + slope) / intercept if intercept != 0 else math.nan
    if mult < 0:
        point_rii = 1.0 / point_rii

    # Simulation, vectorised over repetitions (in chunks to bound memory).
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    mean_t = _transform(val, value_type)
    sim_slope = np.empty(repetitions)
    sim_intercept = np.empty(repetitions) if rii else None
    chunk = max(1, _SII_CHUNK_DRAWS // k)
    for start in range(0, repetitions, chunk):
        stop = min(start + chunk, repetitions)
        y = mean_t + se_t * rng.standard_normal((stop - start, k))
        y = _untransform(y, value_type)
        sim_slope[start:stop] = y @ c
        if sim_intercept is not None:
            sim_intercept[start:stop] = y @ d

    lower_pos, upper_pos = _order_positions(repetitions, float(confidence))
    result["sii_lower"], result["sii_upper"] = _order_stats(mult * sim_slope, lower_pos, upper_pos)
    if rii:
        assert sim_intercept is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            sim_rii = (sim_intercept + sim_slope) / sim_intercept
            if mult < 0:
                sim_rii = 1.0 / sim_rii
        result["rii"] = point_rii
        result["rii_lower"], result["rii_upper"] = _order_stats(sim_rii, lower_pos, upper_pos)
    return result


def _quantile_labels(quantile: Any) -> np.ndarray:
    if isinstance(quantile, pd.DataFrame):
        raise StatsInputError("quantile must be a sequence, array or Series, not a DataFrame")
    labels = np.asarray(quantile.to_numpy() if isinstance(quantile, pd.Series) else quantile)
    if labels.ndim != 1:
        raise StatsInputError(f"quantile must be 1-D, one label per quantile; got {labels.ndim}-D")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise StatsInputError("quantile labels must not be missing (NaN)")
    try:
        np.argsort(labels)
    except TypeError:
        raise StatsInputError("quantile labels must be sortable (e.g. all numbers)") from None
    return labels


def _check_domain(name: str, arr: np.ndarray, value_type: str, labels: np.ndarray) -> None:
    if value_type == "rate":
        bad, need = arr <= 0, "greater than 0 for value_type 'rate' (it is log-transformed)"
    elif value_type == "proportion":
        bad = (arr <= 0) | (arr >= 1)
        need = "strictly between 0 and 1 for value_type 'proportion' (it is logit-transformed)"
    else:
        return
    if bad.any():
        raise StatsInputError(
            f"{name} must be {need}; quantile {_plain(labels[bad][0])!r} has {arr[bad][0]:g}"
        )


#: The scale each value type is modelled on: (transform, inverse); other types as given.
_LINKS = {"rate": (np.log, np.exp), "proportion": (special.logit, special.expit)}


def _transform(x: np.ndarray, value_type: str) -> np.ndarray:
    return _LINKS[value_type][0](x) if value_type in _LINKS else x


def _untransform(y: np.ndarray, value_type: str) -> np.ndarray:
    return _LINKS[value_type][1](y) if value_type in _LINKS else y


def _order_positions(repetitions: int, confidence: float) -> tuple[int, int]:
    """Zero-based positions of the limits among the sorted simulations (as ``phe_sii``).

    ``phe_sii`` takes the R-rounded (half to even, as Python's ``round``) 1-based
    positions R (1 − c) and R c with c = confidence + (1 − confidence) / 2; they
    are kept within 1..R for confidence levels so high that R (1 − c) < 0.5.
    """
    c = confidence + (1.0 - confidence) / 2.0
    lower = min(max(round(repetitions * (1.0 - c)), 1), repetitions)
    upper = min(max(round(repetitions * c), 1), repetitions)
    return lower - 1, upper - 1


def _order_stats(sims: np.ndarray, lower_pos: int, upper_pos: int) -> tuple[float, float]:
    if np.isnan(sims).any():
        return math.nan, math.nan
    part = np.partition(sims, (lower_pos, upper_pos))
    return float(part[lower_pos]), float(part[upper_pos])
