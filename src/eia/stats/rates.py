"""Rates and proportions with confidence intervals, standardised rates and the SII.

Proportions (Wilson score) and rates (exact Poisson below 10 events, Byar's from 10 up), and rate ratios; see :mod:`eia.stats` for the methods' sources."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from eia.errors import StatsInputError
from eia.stats.inputs import (
    SMALL_COUNT,
    Estimate,
    _byars_lower,
    _byars_upper,
    _check_multiplier,
    _check_non_negative,
    _coerce,
    _where,
    _z,
)

__all__ = ["proportion_ci", "rate_ci", "rate_ratio"]


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
