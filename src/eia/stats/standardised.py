"""Directly standardised rates with Dobson limits (``phe_dsr``), on the 2013 European Standard Population."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from eia.errors import StatsInputError
from eia.stats.inputs import (
    SMALL_COUNT,
    Estimate,
    _byars_lower,
    _byars_upper,
    _check_multiplier,
    _check_non_negative,
    _to_float_array,
    _z,
)

__all__ = ["dsr"]


# --------------------------------------------------------------------------------------
# Directly standardised rates
# --------------------------------------------------------------------------------------


def dsr(
    counts: Any,
    populations: Any,
    standard_populations: Any,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> Estimate:
    """Directly standardised rate with Dobson confidence limits, as ``phe_dsr``.

    Method: with *x_i* events and population *n_i* in standardisation category
    (e.g. age band) *i*, standard population *w_i* and *O* = Σ x_i::

        DSR      = Σ (w_i x_i / n_i) / Σ w_i × multiplier
        var(DSR) = Σ (x_i (w_i / n_i)²) / (Σ w_i)²      (unscaled)
        lower    = DSR + sqrt(var(DSR) / O) (O_L − O) × multiplier
        upper    = DSR + sqrt(var(DSR) / O) (O_U − O) × multiplier

    where *O_L*, *O_U* are Byar's limits for the total count *O* (see
    :func:`rate_ci`). This is Dobson et al.'s (1991) method for a weighted sum
    of Poisson parameters with Byar's approximation for the Poisson limits, as
    PHE uses. As in PHE practice a DSR is **not calculated (NaN) when the total
    count is below 10**, where it is unreliable.

    Missing (NaN) counts are taken as zero, as ``phe_dsr`` does. A group with a
    NaN or zero population in a category whose standard population is positive
    gives NaN (the category's rate is undefined); categories with zero standard
    population do not contribute.

    Args:
        counts: events per category. 1-D (one group, a scalar result) or 2-D
            with one row per group and one column per category (NumPy array,
            nested sequence or pandas DataFrame, which gives a Series indexed by
            the DataFrame's index).
        populations: population per category, same shape as ``counts`` (≥ 0).
        standard_populations: standard population per category, one value per
            column of ``counts`` in the same order, e.g. :data:`ESP2013` for the
            19 age bands of :data:`ESP2013_AGE_BANDS` (≥ 0, not all zero).
        multiplier: scale of the result (positive); default 100,000.
        confidence: two-sided confidence level in (0, 1); default 0.95.

    Returns:
        ``Estimate(value, lower, upper)``: floats for 1-D input, arrays (or a
        Series for DataFrame input) with one value per group for 2-D input.

    Raises:
        StatsInputError: negative values, shapes that do not match, non-finite
            values, a non-positive multiplier, or confidence outside (0, 1).

    References:
        Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for
        weighted sums of Poisson parameters. Stat Med 1991;10:457–462.
        Breslow NE, Day NE. Statistical Methods in Cancer Research, Vol II.
        Lyon: IARC; 1987.
        Eurostat. Revision of the European Standard Population. Luxembourg:
        Publications Office of the European Union; 2013.
    """
    z = _z(confidence)
    mult = _check_multiplier(multiplier, positive=True)
    x, x_index = _to_2d("counts", counts)
    n, n_index = _to_2d("populations", populations)
    w, _ = _to_float_array("standard_populations", standard_populations)
    single = x.ndim == 1
    x2, n2 = np.atleast_2d(x), np.atleast_2d(n)
    if x.shape != n.shape:
        raise StatsInputError(
            f"populations has shape {n.shape} but counts has shape {x.shape}; they must match"
        )
    if x_index is not None and n_index is not None and not x_index.equals(n_index):
        raise StatsInputError(
            "populations is a DataFrame whose index differs from that of counts; align them first"
        )
    if w.ndim != 1 or w.shape[0] != x2.shape[1]:
        raise StatsInputError(
            f"standard_populations has {w.size} value(s) but counts has {x2.shape[1]} "
            "categories (columns); give one standard population per category"
        )
    _check_non_negative("counts", x2)
    _check_non_negative("populations", n2)
    _check_non_negative("standard_populations", w)
    if np.isnan(w).any() or not w.sum() > 0:
        raise StatsInputError("standard_populations must be known and not all zero")

    x2 = np.nan_to_num(x2, nan=0.0)  # phe_dsr: missing counts are zero
    used = w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(used, w / n2, 0.0)  # w_i / n_i
        ratio = np.where(used & ~(n2 > 0), np.nan, ratio)  # undefined category rate
    total = x2.sum(axis=1)
    w_total = w.sum()
    value = (x2 * ratio).sum(axis=1) / w_total * mult
    var = (x2 * ratio**2).sum(axis=1) / w_total**2
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(var / total) * mult
    safe_total = np.where(total >= SMALL_COUNT, total, SMALL_COUNT)
    lower = value + spread * (_byars_lower(safe_total, z) - total)
    upper = value + spread * (_byars_upper(safe_total, z) - total)
    unreliable = total < SMALL_COUNT
    value, lower, upper = (np.where(unreliable, np.nan, a) for a in (value, lower, upper))
    if single:
        return Estimate(float(value[0]), float(lower[0]), float(upper[0]))
    if x_index is not None:
        return Estimate(*(pd.Series(a, index=x_index) for a in (value, lower, upper)))
    return Estimate(value, lower, upper)


def _to_2d(name: str, x: Any) -> tuple[np.ndarray, pd.Index | None]:
    """A 1-D (one group) or 2-D (groups × categories) float array, and a DataFrame's index."""
    index = None
    if isinstance(x, pd.DataFrame):
        index = x.index
        x = x.to_numpy()
    elif isinstance(x, pd.Series):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim not in (1, 2):
        raise StatsInputError(
            f"{name} must be 1-D (one group) or 2-D (one row per group); got {arr.ndim}-D"
        )
    arr, _ = _to_float_array(name, arr)
    if arr.shape[-1] == 0:
        raise StatsInputError(f"{name} has no categories")
    return arr, index
