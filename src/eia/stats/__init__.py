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

from eia.stats.inequality import sii
from eia.stats.inputs import (
    ESP2013,
    ESP2013_AGE_BANDS,
    MAX_QUANTILES,
    MIN_QUANTILES,
    Estimate,
    Values,
)
from eia.stats.rates import proportion_ci, rate_ci, rate_ratio
from eia.stats.standardised import dsr

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
