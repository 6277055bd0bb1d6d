"""Rates and proportions with confidence intervals, standardised rates and the SII.

The methods are those of the Office for Health Improvement and Disparities
(formerly Public Health England) R package *PHEindicatormethods*, which are the
methods used for the indicators on Fingertips, so that the numbers in an
equity impact assessment can be checked against published indicators:

* :func:`proportion_ci` — Wilson score interval (``phe_proportion``);
* :func:`rate_ci` — exact Poisson limits below 10 events, Byar's approximation
  from 10 up (``phe_rate``);
* :func:`dsr` — directly standardised rate with Dobson limits (``phe_dsr``),
  with :data:`ESP2013` the 2013 European Standard Population;
* :func:`rate_ratio` — ratio of two crude rates, log-scale (Wald) limits;
* :func:`sii` — slope and relative index of inequality with simulated limits
  (``phe_sii``).

Conventions shared by every function here:

* **Vectorised.** Arguments may be scalars, sequences, NumPy arrays or pandas
  Series (a scalar broadcasts against an array; two arrays must have the same
  length). Scalar input gives Python floats, array input NumPy arrays, and
  Series input Series with the same index (Series arguments must share it).
* **Results** of the interval functions are an :class:`Estimate`, a named tuple
  ``(value, lower, upper)`` that unpacks like a plain tuple.
* **Missing and undefined values are NaN, not errors.** A NaN input gives NaN in
  that position, and so does a zero denominator: a group with no population has
  no rate or proportion.
* **Impossible input is an error.** Negative counts or populations, a numerator
  above its denominator for a proportion, infinite values, arrays of different
  lengths and a confidence level outside (0, 1) raise
  :class:`eia.errors.StatsInputError` (a ``ValueError``) whose message starts
  with the name of the offending argument.
* ``confidence`` is a two-sided level as a fraction (0.95, not 95); *z* below is
  the standard normal quantile ``scipy.stats.norm.ppf(1 - (1 - confidence) / 2)``.

Methods, formulas and references are set out in each function's docstring and
in ``docs/methods.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

# scipy.special, not scipy.stats: the same functions (norm.ppf is ndtri, gamma.ppf is
# gammaincinv), without scipy.stats' import time (about 0.8 s) in every run's kernel.
from scipy import special

from eia.errors import StatsInputError

__all__ = [
    "MIN_QUANTILES",
    "Values",
    "MAX_QUANTILES",
    "ESP2013",
    "ESP2013_AGE_BANDS",
    "Estimate",
    "dsr",
    "proportion_ci",
    "rate_ci",
    "rate_ratio",
    "sii",
]

#: Result type of a vectorised statistic: float for scalar input, ndarray for
#: array input, Series (same index) for Series input.
Values: TypeAlias = float | npt.NDArray[np.float64] | pd.Series

#: The 19 five-year age bands of the 2013 European Standard Population.
ESP2013_AGE_BANDS: tuple[str, ...] = (
    "0-4",
    "5-9",
    "10-14",
    "15-19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70-74",
    "75-79",
    "80-84",
    "85-89",
    "90+",
)

#: 2013 European Standard Population (Eurostat 2013; as ``esp2013`` in
#: PHEindicatormethods): standard population per age band of
#: :data:`ESP2013_AGE_BANDS`, summing to 100,000. Read-only.
ESP2013: npt.NDArray[np.float64] = np.array(
    [
        5000,
        5500,
        5500,
        5500,
        6000,
        6000,
        6500,
        7000,
        7000,
        7000,
        7000,
        6500,
        6000,
        5500,
        5000,
        4000,
        2500,
        1500,
        1000,
    ],
    dtype=float,
)
ESP2013.flags.writeable = False

#: Counts below this use exact Poisson limits in :func:`rate_ci`; DSRs whose
#: total count is below it are not calculated (PHE practice).
SMALL_COUNT = 10

#: SII needs between these numbers of quantiles (as ``phe_sii``).
MIN_QUANTILES, MAX_QUANTILES = 5, 100

#: Fewest simulation repetitions :func:`sii` accepts (as ``phe_sii``).
MIN_REPETITIONS = 1000

# Most normal draws held in memory at once by the SII simulation (16 MB).
_SII_CHUNK_DRAWS = 2_000_000


class Estimate(NamedTuple):
    """A statistic with its lower and upper confidence limits."""

    value: Values
    lower: Values
    upper: Values


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


class _Out:
    """How to give results back: as floats, arrays or Series with the input's index."""

    def __init__(self, shape: tuple[int, ...], index: pd.Index | None):
        self.shape = shape
        self.index = index

    def __call__(self, arr: np.ndarray) -> Values:
        arr = np.asarray(arr, dtype=float)
        if self.shape == ():
            return float(arr.reshape(()))
        arr = np.broadcast_to(arr, self.shape).copy()
        if self.index is not None:
            return pd.Series(arr, index=self.index)
        return arr


def _plain(x: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds, for readable messages."""
    return x.item() if isinstance(x, np.generic) else x


def _where(arr: np.ndarray, mask: np.ndarray, index: pd.Index | None) -> str:
    """Describe the first position where ``mask`` holds, for an error message."""
    if arr.ndim == 0:
        return f"got {arr.item()!r}"
    pos = tuple(int(i) for i in np.argwhere(mask)[0])
    where = (
        f"index {_plain(index[pos[0]])!r}"
        if index is not None
        else f"position {pos[0] if len(pos) == 1 else pos}"
    )
    n = int(np.count_nonzero(mask))
    more = f" (and {n - 1} more)" if n > 1 else ""
    return f"got {_plain(arr[pos])!r} at {where}{more}"


def _to_float_array(name: str, x: Any) -> tuple[np.ndarray, pd.Index | None]:
    """Convert one argument to a float array, rejecting non-numeric or infinite values."""
    index = None
    if isinstance(x, pd.DataFrame):
        raise StatsInputError(
            f"{name} must be a scalar, sequence, array or Series, not a DataFrame"
        )
    if isinstance(x, pd.Series):
        index = x.index
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        raise StatsInputError(f"{name} must be numeric, not boolean")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise StatsInputError(f"{name} must be numeric; got {x!r}") from None
    if arr.dtype.kind not in "iuf":
        raise StatsInputError(f"{name} must be numeric; got values of type {arr.dtype}")
    arr = arr.astype(float)
    if np.isinf(arr).any():
        raise StatsInputError(f"{name} must be finite; {_where(arr, np.isinf(arr), index)}")
    return arr, index


def _coerce(args: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], _Out]:
    """Convert arguments to float arrays of one common shape (scalars broadcast)."""
    arrays: dict[str, np.ndarray] = {}
    index: pd.Index | None = None
    index_name = ""
    shape: tuple[int, ...] = ()
    shape_name = ""
    for name, x in args.items():
        arr, idx = _to_float_array(name, x)
        if idx is not None:
            if index is None:
                index, index_name = idx, name
            elif not idx.equals(index):
                raise StatsInputError(
                    f"{name} is a Series whose index differs from that of {index_name}; "
                    "align them first (e.g. with .reindex)"
                )
        if arr.ndim > 0:
            if shape == ():
                shape, shape_name = arr.shape, name
            elif arr.shape != shape:
                raise StatsInputError(
                    f"{name} has length {_describe_shape(arr.shape)} but {shape_name} has "
                    f"length {_describe_shape(shape)}; they must match"
                )
        arrays[name] = arr
    out = _Out(shape, index)
    arrays = {k: np.broadcast_to(v, shape) for k, v in arrays.items()}
    return arrays, out


def _describe_shape(shape: tuple[int, ...]) -> str:
    return str(shape[0]) if len(shape) == 1 else str(shape)


def _check_non_negative(name: str, arr: np.ndarray, index: pd.Index | None = None) -> None:
    bad = arr < 0  # NaN compares False: missing values are allowed
    if bad.any():
        raise StatsInputError(f"{name} must not be negative; {_where(arr, bad, index)}")


def _z(confidence: Any) -> float:
    """Two-sided standard normal quantile for ``confidence``, after checking it."""
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise StatsInputError(f"confidence must be a number between 0 and 1; got {confidence!r}")
    c = float(confidence)
    if not 0.0 < c < 1.0:  # also rejects NaN
        raise StatsInputError(
            f"confidence must be strictly between 0 and 1 (e.g. 0.95 for 95%); got {confidence!r}"
        )
    return float(special.ndtri(1.0 - (1.0 - c) / 2.0))  # scipy.stats.norm.ppf


def _check_multiplier(multiplier: Any, *, positive: bool) -> float:
    if isinstance(multiplier, bool) or not isinstance(multiplier, Real):
        raise StatsInputError(f"multiplier must be a number; got {multiplier!r}")
    m = float(multiplier)
    if not math.isfinite(m) or m == 0 or (positive and m < 0):
        need = "a positive number" if positive else "a non-zero number"
        raise StatsInputError(f"multiplier must be {need}; got {multiplier!r}")
    return m


def _byars_lower(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's lower limit for a Poisson count: x (1 - 1/(9x) - z/(3 sqrt x))^3."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3


def _byars_upper(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's upper limit for a Poisson count: (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3."""
    x1 = x + 1.0
    return x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3


# --------------------------------------------------------------------------------------
# Proportions
# --------------------------------------------------------------------------------------


def proportion_ci(numerator: Any, denominator: Any, confidence: float = 0.95) -> Estimate:
    """Proportion with Wilson score confidence limits, as ``phe_proportion``.

    Method: the Wilson (1927) score interval, the set of proportions *p* not
    rejected by the score test ``|x/n - p| <= z sqrt(p (1 - p) / n)``. Solving
    the quadratic gives, for *x* cases out of *n*::

        p      = x / n
        lower  = (2x + z² - z sqrt(z² + 4x (1 - x/n))) / (2 (n + z²))
        upper  = (2x + z² + z sqrt(z² + 4x (1 - x/n))) / (2 (n + z²))

    The limits always lie in [0, 1]; the lower limit is exactly 0 when *x* = 0
    and the upper exactly 1 when *x* = *n*. Numerators need not be whole numbers
    (weighted counts are allowed).

    Args:
        numerator: number of cases with the attribute, *x* (≥ 0).
        denominator: number in the sample, *n* (≥ *x*). Zero gives NaN.
        confidence: two-sided confidence level in (0, 1); default 0.95.

    Returns:
        ``Estimate(value, lower, upper)`` as proportions (0–1); multiply by 100
        for percentages.

    Raises:
        StatsInputError: negative numerator or denominator, numerator above
            denominator, mismatched lengths, non-finite values, or confidence
            outside (0, 1).

    References:
        Wilson EB. Probable inference, the law of succession, and statistical
        inference. J Am Stat Assoc 1927;22:209–212.
        Newcombe RG, Altman DG. Proportions and their differences. In: Altman DG
        et al. (eds) Statistics with Confidence, 2nd edn. BMJ Books; 2000:46–48.
    """
    z = _z(confidence)
    arr, out = _coerce({"numerator": numerator, "denominator": denominator})
    x, n = arr["numerator"], arr["denominator"]
    _check_non_negative("numerator", x, out.index)
    _check_non_negative("denominator", n, out.index)
    above = x > n
    if above.any():
        denom = n[tuple(np.argwhere(above)[0])] if n.ndim else n.item()
        raise StatsInputError(
            "numerator must not exceed denominator for a proportion; "
            f"{_where(x, above, out.index)} with denominator {denom!r}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        root = z * np.sqrt(z * z + 4.0 * x * (1.0 - p))
        lower = (2.0 * x + z * z - root) / (2.0 * (n + z * z))
        upper = (2.0 * x + z * z + root) / (2.0 * (n + z * z))
    lower = np.where(x == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(x == n, 1.0, np.clip(upper, 0.0, 1.0))
    undefined = (n == 0) | np.isnan(x) | np.isnan(n)
    p, lower, upper = (np.where(undefined, np.nan, a) for a in (p, lower, upper))
    return Estimate(out(p), out(lower), out(upper))


# --------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------


def rate_ci(
    numerator: Any,
    denominator: Any,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> Estimate:
    """Crude rate with exact (small counts) or Byar's confidence limits, as ``phe_rate``.

    Method: the count *x* is treated as Poisson and its limits *O_L*, *O_U* are
    divided by the denominator *n*::

        rate = x / n × multiplier
        x < 10  (exact, Garwood 1936):
            O_L = G⁻¹(α/2; shape x)        (0 when x = 0)
            O_U = G⁻¹(1 - α/2; shape x + 1)
          where G⁻¹ is the gamma quantile function (scipy.stats.gamma.ppf),
          equal to half the chi-square quantile with 2x and 2x + 2 degrees of
          freedom;
        x ≥ 10  (Byar's approximation, Breslow & Day 1987):
            O_L = x (1 - 1/(9x) - z/(3 sqrt x))³
            O_U = (x + 1) (1 - 1/(9(x + 1)) + z/(3 sqrt(x + 1)))³
        lower = O_L / n × multiplier,   upper = O_U / n × multiplier

    with α = 1 − confidence. The lower limit is 0 only when the count is 0.

    Args:
        numerator: number of events, *x* (≥ 0).
        denominator: population or person-time, *n* (≥ 0). Zero gives NaN: a
            group with no population has no rate.
        multiplier: scale of the result, e.g. 100,000 for a rate per 100,000
            (must be positive); default 100,000.
        confidence: two-sided confidence level in (0, 1); default 0.95.

    Returns:
        ``Estimate(value, lower, upper)`` per ``multiplier``.

    Raises:
        StatsInputError: negative values, mismatched lengths, non-finite values,
            a non-positive multiplier, or confidence outside (0, 1).

    References:
        Breslow NE, Day NE. Statistical Methods in Cancer Research, Vol II: The
        Design and Analysis of Cohort Studies. Lyon: IARC; 1987 (Byar's method).
        Armitage P, Berry G. Statistical Methods in Medical Research, 4th edn.
        Oxford: Blackwell; 2002 (exact limits).
        Garwood F. Fiducial limits for the Poisson distribution. Biometrika
        1936;28:437–442.
    """
    z = _z(confidence)
    mult = _check_multiplier(multiplier, positive=True)
    arr, out = _coerce({"numerator": numerator, "denominator": denominator})
    x, n = arr["numerator"], arr["denominator"]
    _check_non_negative("numerator", x, out.index)
    _check_non_negative("denominator", n, out.index)
    o_lower, o_upper = _poisson_limits(x, confidence, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, mult / n, np.nan)
    return Estimate(out(x * scale), out(o_lower * scale), out(o_upper * scale))


def _poisson_limits(x: np.ndarray, confidence: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for Poisson counts: exact below 10, Byar's from 10 up (NaN stays NaN)."""
    alpha = 1.0 - confidence
    small = x < SMALL_COUNT
    shape = np.where(small & (x > 0), x, 1.0)  # placeholder shape where unused
    # scipy.stats.gamma.ppf(q, a) is special.gammaincinv(a, q) for 0 < q < 1 and a > 0, as here.
    exact_lower = np.where(x > 0, special.gammaincinv(shape, alpha / 2.0), 0.0)
    exact_upper = special.gammaincinv(np.where(small, x + 1.0, 1.0), 1.0 - alpha / 2.0)
    byars_x = np.where(small, SMALL_COUNT, x)  # avoid evaluating Byar's at 0
    lower = np.where(small, exact_lower, _byars_lower(byars_x, z))
    upper = np.where(small, exact_upper, _byars_upper(byars_x, z))
    missing = np.isnan(x)
    return np.where(missing, np.nan, lower), np.where(missing, np.nan, upper)


def rate_ratio(
    num_a: Any,
    den_a: Any,
    num_b: Any,
    den_b: Any,
    confidence: float = 0.95,
) -> Estimate:
    """Ratio of the rate in group *a* to the rate in reference group *b*, log-scale limits.

    Method: with *a* and *b* events in person-time or populations *N_a*, *N_b*,
    treating the counts as independent Poisson variables, the log rate ratio is
    approximately normal with variance 1/a + 1/b (delta method)::

        RR    = (a / N_a) / (b / N_b)
        SE    = sqrt(1/a + 1/b)             (of ln RR)
        lower = exp(ln RR - z SE),   upper = exp(ln RR + z SE)

    When either count is zero the log-scale interval does not exist: the ratio
    is given (0 when *a* = 0 and *b* > 0, NaN when *b* = 0) with NaN limits.
    Either denominator zero gives NaN throughout.

    Args:
        num_a: events in the group of interest (≥ 0).
        den_a: population or person-time of the group of interest (≥ 0).
        num_b: events in the reference group (≥ 0).
        den_b: population or person-time of the reference group (≥ 0).
        confidence: two-sided confidence level in (0, 1); default 0.95.

    Returns:
        ``Estimate(value, lower, upper)`` where ``value`` is the rate ratio.

    Raises:
        StatsInputError: negative values, mismatched lengths, non-finite values,
            or confidence outside (0, 1).

    References:
        Rothman KJ, Greenland S, Lash TL. Modern Epidemiology, 3rd edn.
        Philadelphia: Lippincott Williams & Wilkins; 2008, ch. 14.
        Kirkwood BR, Sterne JAC. Essential Medical Statistics, 2nd edn. Oxford:
        Blackwell; 2003, ch. 23 (confidence interval for a rate ratio).
    """
    z = _z(confidence)
    arr, out = _coerce({"num_a": num_a, "den_a": den_a, "num_b": num_b, "den_b": den_b})
    a, na, b, nb = arr["num_a"], arr["den_a"], arr["num_b"], arr["den_b"]
    for name in ("num_a", "den_a", "num_b", "den_b"):
        _check_non_negative(name, arr[name], out.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / na) / (b / nb)
        se = np.sqrt(1.0 / a + 1.0 / b)
        log_ratio = np.log(ratio)
        lower = np.exp(log_ratio - z * se)
        upper = np.exp(log_ratio + z * se)
    undefined = (na == 0) | (nb == 0) | (b == 0)
    ratio = np.where(undefined, np.nan, ratio)
    no_interval = undefined | (a == 0)
    lower = np.where(no_interval, np.nan, lower)
    upper = np.where(no_interval, np.nan, upper)
    return Estimate(out(ratio), out(lower), out(upper))


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
