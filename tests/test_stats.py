"""Tests for eia.stats: known values, properties and input errors.

Where a published worked example exists and could be read, its printed values
are checked to the precision printed. PHEindicatormethods keeps its own expected
values in Excel workbooks (tests/testthat/testdata_*.xlsx) that are not readable
as text, so to check to 6+ significant figures every method is also compared
with a reference computed *in the test by a different route*: inverting the
score test or the Poisson distribution by root finding, the Wilson-Hilferty
derivation of Byar's formula, Dobson's weighted-sum form, least squares with
``numpy.linalg.lstsq``, and so on. No reference value here is the function's own
output pasted back in.
"""

from __future__ import annotations

import math
import time
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy import stats as sps

import eia.stats.inequality as stats_module
from eia.errors import EIAError, StatsInputError
from eia.stats import (
    ESP2013,
    ESP2013_AGE_BANDS,
    Estimate,
    dsr,
    proportion_ci,
    rate_ci,
    rate_ratio,
    sii,
)

# Normal quantiles from the standard library, independent of scipy.stats.norm.
Z95 = NormalDist().inv_cdf(0.975)


def z_for(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


# --------------------------------------------------------------------------------------
# Independent reference implementations (different routes from eia.stats)
# --------------------------------------------------------------------------------------


def wilson_by_root_finding(x: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson limits by inverting the score test |x/n - p| / sqrt(p (1 - p) / n) = z."""
    z = z_for(confidence)
    p_hat = x / n

    def score(p: float) -> float:
        return (p_hat - p) / math.sqrt(p * (1 - p) / n)

    tiny, top = 1e-300, 1 - 1e-16
    tol = {"xtol": 1e-300, "rtol": 1e-15}
    lower = 0.0 if x == 0 else optimize.brentq(lambda p: score(p) - z, tiny, min(p_hat, top), **tol)
    upper = 1.0 if x == n else optimize.brentq(lambda p: score(p) + z, max(p_hat, tiny), top, **tol)
    return lower, upper


def wilson_1927_form(x: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson's own form: (x + z²/2 ± z sqrt(x (n - x) / n + z²/4)) / (n + z²)."""
    z = z_for(confidence)
    centre = x + z * z / 2
    half = z * math.sqrt(x * (n - x) / n + z * z / 4)
    return (centre - half) / (n + z * z), (centre + half) / (n + z * z)


def exact_poisson_by_inversion(x: int, confidence: float) -> tuple[float, float]:
    """Exact (Garwood) limits by inverting the Poisson CDF with a root finder.

    Lower: mu with P(X >= x | mu) = alpha/2; upper: mu with P(X <= x | mu) = alpha/2.
    """
    alpha = 1 - confidence
    if x == 0:
        lower = 0.0
    else:
        lower = optimize.brentq(
            lambda mu: sps.poisson.sf(x - 1, mu) - alpha / 2, 1e-12, x + 50, xtol=1e-300, rtol=1e-15
        )
    upper = optimize.brentq(
        lambda mu: sps.poisson.cdf(x, mu) - alpha / 2, 1e-12, 10 * x + 50, xtol=1e-300, rtol=1e-15
    )
    return lower, upper


def byars_by_wilson_hilferty(x: float, confidence: float) -> tuple[float, float]:
    """Byar's limits derived as Wilson-Hilferty approximations to chi-square quantiles.

    Exact limits are chi2_{alpha/2}(2x)/2 and chi2_{1-alpha/2}(2x+2)/2; Wilson-Hilferty
    gives chi2_p(nu) ≈ nu (1 - 2/(9 nu) + z_p sqrt(2/(9 nu)))^3 (Breslow & Day 1987).
    """
    z = z_for(confidence)

    def wh(p_z: float, nu: float) -> float:
        return nu * (1 - 2 / (9 * nu) + p_z * math.sqrt(2 / (9 * nu))) ** 3

    return wh(-z, 2 * x) / 2, wh(z, 2 * x + 2) / 2


def dobson_by_weighted_sum(counts, pops, std, confidence, multiplier=100_000):
    """Dobson et al. (1991) for Y = sum a_i x_i with a_i = w_i / (n_i sum w), Byar's for O."""
    total_w = sum(std)
    a = [w / (n * total_w) for w, n in zip(std, pops, strict=True)]
    y = sum(ai * xi for ai, xi in zip(a, counts, strict=True))
    var_y = sum(ai * ai * xi for ai, xi in zip(a, counts, strict=True))
    o = sum(counts)
    o_lower, o_upper = byars_by_wilson_hilferty(o, confidence)
    half = math.sqrt(var_y / o)
    return (
        y * multiplier,
        (y + half * (o_lower - o)) * multiplier,
        (y + half * (o_upper - o)) * multiplier,
    )


def sii_by_lstsq(pop, value):
    """phe_sii's regression y sqrt(a) ~ sqrt(a) + b sqrt(a) - 1, solved with lstsq."""
    pop = np.asarray(pop, dtype=float)
    a = pop / pop.sum()
    b = np.concatenate([[0.0], np.cumsum(a)[:-1]]) + a / 2  # FindXValues in PHE's utils.R
    design = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    (intercept, slope), *_ = np.linalg.lstsq(design, np.sqrt(a) * np.asarray(value), rcond=None)
    return slope, intercept, a, b


# --------------------------------------------------------------------------------------
# Worked examples
# --------------------------------------------------------------------------------------

# phe_sii documentation example (PHEindicatormethods R/SII_function.R, @examples):
# life expectancy by deprivation decile (1 = most deprived) for two areas.
PHE_SII_EXAMPLE = {
    "Area1": {
        "population": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
        "value": [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3],
        "lower_cl": [72.7, 75.3, 80.9, 80.2, 77.1, 78, 79, 81.4, 75.8, 83.2],
        "upper_cl": [79.1, 81.4, 86.8, 87.1, 83.8, 84.2, 84.4, 86.9, 85.4, 89.4],
        "se": [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57],
    },
    "Area2": {
        "population": [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
        "value": [70.5, 71.6, 72.5, 73.5, 73.1, 76.2, 78.7, 80.6, 80.9, 80],
        "lower_cl": [70.1, 71.1, 72, 73.1, 72.7, 75.7, 78.2, 80.1, 80.4, 79.5],
        "upper_cl": [71, 72.1, 73.2, 73.7, 75.8, 78.8, 79.8, 81.2, 81.3, 80.9],
        "se": [0.23, 0.26, 0.3, 0.16, 0.79, 0.78, 0.4, 0.28, 0.23, 0.35],
    },
}
DECILES = list(range(1, 11))


class TestProportionKnownValues:
    # Newcombe RG. Two-sided confidence intervals for the single proportion:
    # comparison of seven methods. Stat Med 1998;17:857-872, Table II, method 3
    # (Wilson score without continuity correction), printed to 4 decimal places.
    @pytest.mark.parametrize(
        ("x", "n", "lower", "upper"),
        [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0000, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ],
    )
    def test_newcombe_1998_examples(self, x, n, lower, upper):
        value, lo, hi = proportion_ci(x, n)
        assert value == pytest.approx(x / n, rel=1e-15)
        assert lo == pytest.approx(lower, abs=5e-5)
        assert hi == pytest.approx(upper, abs=5e-5)

    # phe_proportion's documented example (65, 82, 100 of 100, at 95% and 99.8%) and a
    # wider grid, against score-test inversion and Wilson's 1927 form: 6+ sig. figs.
    @pytest.mark.parametrize("confidence", [0.9, 0.95, 0.998])
    @pytest.mark.parametrize(
        ("x", "n"),
        [(65, 100), (82, 100), (100, 100), (81, 263), (15, 148), (1, 29), (1045, 5000),
         (0.445, 1), (3, 7), (0, 1), (12345, 67890)],
    )  # fmt: skip
    def test_against_score_test_inversion(self, x, n, confidence):
        _, lo, hi = proportion_ci(x, n, confidence=confidence)
        ref_lo, ref_hi = wilson_by_root_finding(x, n, confidence)
        alt_lo, alt_hi = wilson_1927_form(x, n, confidence)
        assert lo == pytest.approx(ref_lo, rel=1e-9, abs=1e-14)
        assert hi == pytest.approx(ref_hi, rel=1e-9, abs=1e-14)
        assert lo == pytest.approx(alt_lo, rel=1e-12, abs=1e-15)
        assert hi == pytest.approx(alt_hi, rel=1e-12, abs=1e-15)

    def test_vectorised_matches_scalar(self):
        xs, ns = [65, 82, 100, 0], [100, 100, 100, 50]
        value, lo, hi = proportion_ci(xs, ns)
        for i, (x, n) in enumerate(zip(xs, ns, strict=True)):
            sv, sl, sh = proportion_ci(x, n)
            assert (value[i], lo[i], hi[i]) == (sv, sl, sh)


class TestRateKnownValues:
    # Exact 95% Poisson limits for small counts, as tabulated (Garwood F. Fiducial
    # limits for the Poisson distribution. Biometrika 1936;28:437-442) to 4 sig. figs.
    @pytest.mark.parametrize(
        ("x", "lower", "upper"),
        [
            (0, 0.0, 3.689),
            (1, 0.02532, 5.572),
            (2, 0.2422, 7.225),
            (3, 0.6187, 8.767),
            (5, 1.623, 11.67),
            (9, 4.115, 17.08),
        ],
    )
    def test_exact_limits_match_published_table(self, x, lower, upper):
        value, lo, hi = rate_ci(x, 1, multiplier=1)
        assert value == x
        assert lo == pytest.approx(lower, rel=5e-4, abs=1e-12)
        assert hi == pytest.approx(upper, rel=5e-4)

    # The code uses scipy's gamma quantiles; the reference inverts the Poisson CDF.
    @pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99, 0.998])
    @pytest.mark.parametrize("x", range(10))
    def test_exact_limits_against_poisson_inversion(self, x, confidence):
        n, mult = 25_000, 100_000
        _, lo, hi = rate_ci(x, n, multiplier=mult, confidence=confidence)
        ref_lo, ref_hi = exact_poisson_by_inversion(x, confidence)
        assert lo == pytest.approx(ref_lo / n * mult, rel=1e-9, abs=1e-300)
        assert hi == pytest.approx(ref_hi / n * mult, rel=1e-9)

    # Byar's formula (Breslow & Day 1987) is the Wilson-Hilferty approximation to the
    # chi-square quantiles of the exact limits; compare with that derivation.
    @pytest.mark.parametrize("confidence", [0.9, 0.95, 0.998])
    @pytest.mark.parametrize("x", [10, 11, 20, 65, 389, 1045, 123_456])
    def test_byars_against_wilson_hilferty(self, x, confidence):
        n = 1_000_000
        value, lo, hi = rate_ci(x, n, multiplier=100_000, confidence=confidence)
        ref_lo, ref_hi = byars_by_wilson_hilferty(x, confidence)
        assert value == pytest.approx(x / n * 100_000, rel=1e-15)
        assert lo == pytest.approx(ref_lo / n * 100_000, rel=1e-11)
        assert hi == pytest.approx(ref_hi / n * 100_000, rel=1e-11)

    def test_byars_within_0_2_percent_of_exact_from_10(self):
        # PHE Public Health Data Science, Technical Guide: Confidence Intervals (2018):
        # "For 95% confidence intervals, Byar's method is within 0.2% of the exact value
        # for numerators of 10 or more." Exact limits via scipy's chi-square here.
        x = np.arange(10, 2001)
        _, lo, hi = rate_ci(x, 1, multiplier=1)
        exact_lo = sps.chi2.ppf(0.025, 2 * x) / 2
        exact_hi = sps.chi2.ppf(0.975, 2 * x + 2) / 2
        assert np.max(np.abs(lo / exact_lo - 1)) < 0.002
        assert np.max(np.abs(hi / exact_hi - 1)) < 0.002

    def test_switches_from_exact_to_byars_at_10(self):
        _, lo9, _ = rate_ci(9, 1, multiplier=1)
        _, lo10, _ = rate_ci(10, 1, multiplier=1)
        assert lo9 == pytest.approx(exact_poisson_by_inversion(9, 0.95)[0], rel=1e-9)
        assert lo10 == pytest.approx(byars_by_wilson_hilferty(10, 0.95)[0], rel=1e-12)


class TestDsrKnownValues:
    # An area's deaths and populations in the 19 ESP2013 age bands (illustrative data:
    # PHE's expected DSR values are in testdata_DSR_ISR_SMR.xlsx, not readable here).
    COUNTS = [1, 0, 1, 2, 3, 4, 5, 8, 12, 20, 31, 45, 60, 88, 120, 160, 190, 170, 110]
    POPS = [5200, 5600, 5900, 6100, 6800, 7200, 7000, 6600, 6400, 6900, 7100, 6600,
            5900, 5400, 4800, 3600, 2500, 1400, 600]  # fmt: skip

    def test_esp2013(self):
        # Eurostat (2013) revised European Standard Population, 19 five-year bands.
        assert len(ESP2013) == len(ESP2013_AGE_BANDS) == 19
        assert ESP2013.sum() == 100_000
        assert ESP2013_AGE_BANDS[0] == "0-4" and ESP2013_AGE_BANDS[-1] == "90+"
        assert list(ESP2013[:4]) == [5000, 5500, 5500, 5500]
        assert list(ESP2013[-4:]) == [4000, 2500, 1500, 1000]
        with pytest.raises(ValueError):
            ESP2013[0] = 1  # read-only

    @pytest.mark.parametrize("confidence", [0.95, 0.998])
    def test_against_dobson_weighted_sum(self, confidence):
        value, lo, hi = dsr(self.COUNTS, self.POPS, ESP2013, confidence=confidence)
        ref = dobson_by_weighted_sum(self.COUNTS, self.POPS, list(ESP2013), confidence)
        assert value == pytest.approx(ref[0], rel=1e-12)
        assert lo == pytest.approx(ref[1], rel=1e-10)
        assert hi == pytest.approx(ref[2], rel=1e-10)

    def test_standard_shaped_population_gives_crude_rate_and_byars(self):
        # If n_i is proportional to w_i, the DSR equals the crude rate and Dobson's
        # limits reduce exactly to Byar's limits for the total count over the total
        # population (algebra: sqrt(var/O) = 1 / sum(n)).
        pops = ESP2013 * 0.37
        counts = [0, 1, 0, 2, 1, 3, 4, 6, 9, 14, 20, 28, 37, 50, 66, 70, 61, 45, 30]
        d = dsr(counts, pops, ESP2013)
        crude = rate_ci(sum(counts), pops.sum())
        for got, want in zip(d, crude, strict=True):
            assert got == pytest.approx(want, rel=1e-12)

    def test_one_category_is_the_crude_rate(self):
        d = dsr([57], [23_456], [1.0], multiplier=1000, confidence=0.99)
        crude = rate_ci(57, 23_456, multiplier=1000, confidence=0.99)
        for got, want in zip(d, crude, strict=True):
            assert got == pytest.approx(want, rel=1e-12)

    def test_fewer_than_10_events_not_calculated(self):
        value, lo, hi = dsr([1, 2, 6], [100, 200, 300], [1, 1, 1])
        assert math.isnan(value) and math.isnan(lo) and math.isnan(hi)
        value, *_ = dsr([1, 3, 6], [100, 200, 300], [1, 1, 1])
        assert value == pytest.approx((1 / 100 + 3 / 200 + 6 / 300) / 3 * 100_000)

    def test_missing_counts_are_zero_as_phe_dsr(self):
        with_nan = dsr([np.nan, 5, 9], [100, 200, 300], [1, 2, 3])
        with_zero = dsr([0, 5, 9], [100, 200, 300], [1, 2, 3])
        assert with_nan == with_zero

    def test_zero_population_gives_nan_unless_standard_weight_is_zero(self):
        value, lo, hi = dsr([0, 5, 9], [0, 200, 300], [1, 2, 3])
        assert all(math.isnan(v) for v in (value, lo, hi))
        value, *_ = dsr([0, 5, 9], [0, 200, 300], [0, 2, 3])
        assert value == pytest.approx((2 * 5 / 200 + 3 * 9 / 300) / 5 * 100_000)

    def test_groups_as_rows_and_dataframes(self):
        counts = np.array([self.COUNTS, [c * 2 for c in self.COUNTS], [0] * 19])
        pops = np.array([self.POPS, self.POPS, self.POPS])
        value, lo, hi = dsr(counts, pops, ESP2013)
        assert isinstance(value, np.ndarray) and value.shape == (3,)
        one = dsr(self.COUNTS, self.POPS, ESP2013)
        assert (value[0], lo[0], hi[0]) == pytest.approx(tuple(one), rel=1e-14)
        assert value[1] == pytest.approx(2 * one.value, rel=1e-12)
        assert math.isnan(value[2])
        frame_c = pd.DataFrame(counts, index=["Q1", "Q2", "Q3"], columns=ESP2013_AGE_BANDS)
        frame_p = pd.DataFrame(pops, index=["Q1", "Q2", "Q3"], columns=ESP2013_AGE_BANDS)
        result = dsr(frame_c, frame_p, ESP2013)
        assert isinstance(result.value, pd.Series)
        assert list(result.value.index) == ["Q1", "Q2", "Q3"]
        assert result.value["Q1"] == pytest.approx(one.value, rel=1e-14)


class TestRateRatioKnownValues:
    # Breast cancer after repeated fluoroscopy (Boice & Monson 1977): 41 cases in
    # 28,010 person-years exposed vs 15 in 19,017 unexposed. Reference by hand with
    # the standard library: exp(ln RR ± z sqrt(1/a + 1/b)).
    @pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
    def test_by_hand(self, confidence):
        a, na, b, nb = 41, 28_010, 15, 19_017
        rr = (a / na) / (b / nb)
        half = z_for(confidence) * math.sqrt(1 / a + 1 / b)
        value, lo, hi = rate_ratio(a, na, b, nb, confidence=confidence)
        assert value == pytest.approx(rr, rel=1e-14)
        assert value == pytest.approx(1.856, abs=5e-4)
        assert lo == pytest.approx(math.exp(math.log(rr) - half), rel=1e-12)
        assert hi == pytest.approx(math.exp(math.log(rr) + half), rel=1e-12)

    def test_zero_counts(self):
        value, lo, hi = rate_ratio(0, 100, 5, 100)
        assert value == 0 and math.isnan(lo) and math.isnan(hi)
        value, lo, hi = rate_ratio(5, 100, 0, 100)
        assert math.isnan(value) and math.isnan(lo) and math.isnan(hi)
        value, lo, hi = rate_ratio(5, 0, 5, 100)
        assert math.isnan(value)

    def test_against_reference_series(self):
        idx = pd.Index(["white", "asian", "black"], name="group")
        a = pd.Series([120, 40, 25], index=idx)
        na = pd.Series([50_000, 9_000, 6_000], index=idx)
        value, lo, hi = rate_ratio(a, na, 200, 80_000)
        assert isinstance(value, pd.Series) and value.index.equals(idx)
        assert value["asian"] == pytest.approx((40 / 9000) / (200 / 80_000), rel=1e-14)


class TestSiiKnownValues:
    @pytest.mark.parametrize("area", ["Area1", "Area2"])
    def test_point_estimate_against_phe_regression(self, area):
        # phe_sii fits lm(y sqrt(a) ~ sqrt(a) + b sqrt(a) - 1); same regression by lstsq,
        # and by numpy.polyfit with weights sqrt(a) on the residuals.
        data = PHE_SII_EXAMPLE[area]
        slope, intercept, a, b = sii_by_lstsq(data["population"], data["value"])
        poly_slope, poly_intercept = np.polyfit(b, data["value"], 1, w=np.sqrt(a))
        got = sii(DECILES, data["population"], data["value"], se=data["se"], rii=True, seed=1)
        assert got["sii"] == pytest.approx(slope, rel=1e-10)
        assert got["sii"] == pytest.approx(poly_slope, rel=1e-9)
        assert got["rii"] == pytest.approx((intercept + slope) / intercept, rel=1e-10)
        assert got["rii"] == pytest.approx((poly_intercept + poly_slope) / poly_intercept, rel=1e-9)
        # Life expectancy rises from most to least deprived: the SII is positive.
        assert got["sii"] > 0 and got["rii"] > 1

    @pytest.mark.parametrize("area", ["Area1", "Area2"])
    @pytest.mark.parametrize("confidence", [0.95, 0.998])
    def test_normal_limits_within_simulation_error_of_analytic(self, area, confidence):
        # For value_type "normal" the simulated SII is exactly normal: mean SII and
        # variance sum(c_i^2 se_i^2), where SII = sum(c_i y_i) from the regression.
        # Tolerance: 5 Monte Carlo standard errors of the sample quantile.
        data = PHE_SII_EXAMPLE[area]
        slope, _, a, b = sii_by_lstsq(data["population"], data["value"])
        c = a * (b - a @ b) / (a @ (b - a @ b) ** 2)
        sd = math.sqrt(np.sum(c**2 * np.asarray(data["se"]) ** 2))
        z = z_for(confidence)
        reps = 100_000
        p = (1 - confidence) / 2
        mc_se = math.sqrt(p * (1 - p) / reps) / NormalDist().pdf(z) * sd
        got = sii(DECILES, data["population"], data["value"], se=data["se"],
                  confidence=confidence, repetitions=reps, seed=20240601)  # fmt: skip
        assert got["sii_lower"] == pytest.approx(slope - z * sd, abs=5 * mc_se)
        assert got["sii_upper"] == pytest.approx(slope + z * sd, abs=5 * mc_se)

    def test_limits_from_confidence_limits(self):
        # phe_sii derives se = (upper - lower) / (2 z_0.975) when se is not given.
        data = PHE_SII_EXAMPLE["Area1"]
        derived = (np.array(data["upper_cl"]) - np.array(data["lower_cl"])) / (2 * Z95)
        from_cls = sii(DECILES, data["population"], data["value"], lower_cl=data["lower_cl"],
                       upper_cl=data["upper_cl"], rii=True, seed=7)  # fmt: skip
        from_se = sii(DECILES, data["population"], data["value"], se=derived, rii=True, seed=7)
        assert from_cls == pytest.approx(from_se, rel=1e-12)

    @pytest.mark.parametrize(
        ("value_type", "multiplier"),
        [("normal", 1), ("normal", -1), ("rate", 100_000), ("proportion", 100), ("rate", -1)],
    )
    def test_vectorised_simulation_equals_phe_loop(self, value_type, multiplier):
        # The PHE algorithm written out per repetition (an lstsq fit of each simulated
        # data set, sort, positions round(R(1-c)) and round(R c)), fed the same draws.
        rng = np.random.default_rng(11)
        k, reps, confidence = 7, 2_000, 0.95
        pop = rng.integers(1_000, 20_000, k).astype(float)
        if value_type == "normal":
            value, se_t = rng.normal(80, 3, k), rng.uniform(0.2, 2, k)
            sims = value + se_t * np.random.default_rng(99).standard_normal((reps, k))
        elif value_type == "rate":
            value, se_t = rng.uniform(0.001, 0.01, k), rng.uniform(0.05, 0.3, k)
            sims = np.exp(
                np.log(value) + se_t * np.random.default_rng(99).standard_normal((reps, k))
            )
        else:
            value, se_t = rng.uniform(0.1, 0.6, k), rng.uniform(0.05, 0.3, k)
            logit = np.log(value / (1 - value))
            sims = 1 / (
                1 + np.exp(-(logit + se_t * np.random.default_rng(99).standard_normal((reps, k))))
            )
        slopes, riis = [], []
        for row in sims:
            s, i, _, _ = sii_by_lstsq(pop, row)
            slopes.append(multiplier * s)
            riis.append((i + s) / i if multiplier > 0 else i / (i + s))
        c = confidence + (1 - confidence) / 2
        lo_pos, hi_pos = round(reps * (1 - c)) - 1, round(reps * c) - 1
        slopes, riis = np.sort(slopes), np.sort(riis)
        got = sii(np.arange(1, k + 1), pop, value, se=se_t, value_type=value_type,
                  multiplier=multiplier, repetitions=reps, rii=True, seed=99)  # fmt: skip
        assert got["sii_lower"] == pytest.approx(slopes[lo_pos], rel=1e-9)
        assert got["sii_upper"] == pytest.approx(slopes[hi_pos], rel=1e-9)
        assert got["rii_lower"] == pytest.approx(riis[lo_pos], rel=1e-9)
        assert got["rii_upper"] == pytest.approx(riis[hi_pos], rel=1e-9)

    def test_chunked_simulation_is_identical(self, monkeypatch):
        data = PHE_SII_EXAMPLE["Area2"]
        args = (DECILES, data["population"], data["value"])
        whole = sii(*args, se=data["se"], rii=True, repetitions=5_000, seed=3)
        monkeypatch.setattr(stats_module, "_SII_CHUNK_DRAWS", 7 * 10)  # 7 repetitions a chunk
        chunked = sii(*args, se=data["se"], rii=True, repetitions=5_000, seed=3)
        assert chunked == whole

    def test_seed_reproducible_and_row_order_irrelevant(self):
        data = PHE_SII_EXAMPLE["Area1"]
        first = sii(DECILES, data["population"], data["value"], se=data["se"], seed=42)
        again = sii(DECILES, data["population"], data["value"], se=data["se"],
                    seed=np.random.default_rng(42))  # fmt: skip
        perm = np.random.default_rng(0).permutation(10)
        columns = {key: np.array(data[key])[perm] for key in ("population", "value", "se")}
        shuffled = sii(np.array(DECILES)[perm], columns["population"], columns["value"],
                       se=columns["se"], seed=42)  # fmt: skip
        assert first == again == shuffled
        assert set(first) == {"sii", "sii_lower", "sii_upper"}

    def test_sign_convention(self):
        # Value falling from most deprived (decile 1) to least deprived: negative SII
        # (e.g. mortality); rising: positive (e.g. life expectancy).
        pop = [100] * 10
        falling = sii(DECILES, pop, [20 - i for i in range(10)], se=[0.1] * 10, seed=1)
        rising = sii(DECILES, pop, [10 + i for i in range(10)], se=[0.1] * 10, seed=1)
        # Equal populations: ranks 0.05..0.95 step 0.1; a slope of 1 per decile is 10 per rank.
        assert falling["sii"] == pytest.approx(-10, rel=1e-12)
        assert rising["sii"] == pytest.approx(10, rel=1e-12)

    def test_speed_100k_repetitions_10_quantiles(self):
        data = PHE_SII_EXAMPLE["Area1"]
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            sii(DECILES, data["population"], data["value"], se=data["se"],
                repetitions=100_000, rii=True, seed=1)  # fmt: skip
            best = min(best, time.perf_counter() - start)
        assert best < 1.0


# --------------------------------------------------------------------------------------
# Return types and missing values
# --------------------------------------------------------------------------------------


class TestShapes:
    def test_scalar_gives_floats(self):
        for result in (proportion_ci(3, 10), rate_ci(3, 10), rate_ratio(3, 10, 4, 10)):
            assert isinstance(result, Estimate)
            assert all(type(v) is float for v in result)

    def test_array_gives_arrays(self):
        value, lo, hi = rate_ci(np.array([3, 30]), [1000, 2000])
        assert isinstance(value, np.ndarray) and value.shape == (2,)
        assert isinstance(lo, np.ndarray) and isinstance(hi, np.ndarray)

    def test_scalar_broadcasts(self):
        value, *_ = proportion_ci([1, 2, 3], 10)
        assert list(value) == pytest.approx([0.1, 0.2, 0.3])

    def test_series_keeps_index(self):
        idx = pd.Index(["E01000001", "E01000002", "E01000003"], name="lsoa21cd")
        num = pd.Series([3, 0, 12], index=idx)
        den = pd.Series([100, 50, 400], index=idx)
        for result in (proportion_ci(num, den), rate_ci(num, den)):
            for part in result:
                assert isinstance(part, pd.Series) and part.index.equals(idx)

    def test_zero_denominator_and_nan_give_nan(self):
        value, lo, hi = rate_ci([5, 5, np.nan], [0, 10, 10])
        assert np.isnan(value[[0, 2]]).all() and np.isnan(lo[[0, 2]]).all()
        assert np.isnan(hi[[0, 2]]).all() and not np.isnan(value[1])
        value, lo, hi = proportion_ci([0, np.nan], [0, 10])
        assert np.isnan(value).all() and np.isnan(lo).all() and np.isnan(hi).all()


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

confidences = st.floats(min_value=0.5, max_value=0.9999)
counts = st.integers(min_value=0, max_value=1_000_000)
positive_counts = st.integers(min_value=1, max_value=1_000_000)
populations = st.floats(min_value=1.0, max_value=1e9)


@st.composite
def two_confidences(draw):
    low = draw(st.floats(min_value=0.5, max_value=0.99))
    high = draw(st.floats(min_value=low + 0.001, max_value=0.999))
    return low, high


@st.composite
def proportions_data(draw):
    n = draw(st.integers(min_value=1, max_value=10_000_000))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


def assert_contains(value, lower, upper):
    assert lower <= value * (1 + 1e-12) + 1e-300
    assert value <= upper * (1 + 1e-12)


def assert_wider(narrow, wide):
    assert wide.lower <= narrow.lower * (1 + 1e-12) + 1e-300
    assert wide.upper >= narrow.upper * (1 - 1e-12)
    assert wide.upper - wide.lower > narrow.upper - narrow.lower


class TestProperties:
    @settings(deadline=None)
    @given(proportions_data(), confidences)
    def test_proportion_contains_and_within_0_1(self, data, confidence):
        x, n = data
        value, lo, hi = proportion_ci(x, n, confidence)
        assert 0.0 <= lo <= value <= hi <= 1.0
        assert (lo == 0.0) == (x == 0)
        assert (hi == 1.0) == (x == n)

    @settings(deadline=None)
    @given(proportions_data(), two_confidences())
    def test_proportion_wider_at_higher_confidence(self, data, levels):
        x, n = data
        assert_wider(proportion_ci(x, n, levels[0]), proportion_ci(x, n, levels[1]))

    @settings(deadline=None)
    @given(counts, populations, confidences)
    def test_rate_contains_estimate(self, x, n, confidence):
        assert_contains(*rate_ci(x, n, confidence=confidence))

    @settings(deadline=None)
    @given(counts, populations, two_confidences())
    def test_rate_wider_at_higher_confidence(self, x, n, levels):
        assert_wider(rate_ci(x, n, confidence=levels[0]), rate_ci(x, n, confidence=levels[1]))

    @settings(deadline=None)
    @given(counts, populations, st.floats(min_value=0.5, max_value=1 - 1e-12))
    def test_rate_lower_limit_zero_only_for_zero_count(self, x, n, confidence):
        _, lo, _ = rate_ci(x, n, confidence=confidence)
        assert (lo == 0.0) == (x == 0)
        assert lo >= 0.0

    @settings(deadline=None)
    @given(
        st.lists(st.integers(0, 5_000), min_size=1, max_size=19).flatmap(
            lambda c: st.tuples(
                st.just(c),
                st.lists(st.floats(1, 1e6), min_size=len(c), max_size=len(c)),
                st.lists(st.floats(0.5, 1e4), min_size=len(c), max_size=len(c)),
            )
        ),
        two_confidences(),
    )
    def test_dsr_contains_and_wider(self, data, levels):
        c, n, w = data
        assume(sum(c) >= 10)
        narrow = dsr(c, n, w, confidence=levels[0])
        wide = dsr(c, n, w, confidence=levels[1])
        assert_contains(*narrow)
        assert_wider(narrow, wide)

    @settings(deadline=None)
    @given(positive_counts, populations, positive_counts, populations, two_confidences())
    def test_rate_ratio_contains_and_wider(self, a, na, b, nb, levels):
        narrow = rate_ratio(a, na, b, nb, confidence=levels[0])
        wide = rate_ratio(a, na, b, nb, confidence=levels[1])
        assert_contains(*narrow)
        assert_wider(narrow, wide)

    @settings(max_examples=50, deadline=None)
    @given(
        st.integers(5, 12).flatmap(
            lambda k: st.tuples(
                st.lists(st.floats(10, 1e6), min_size=k, max_size=k),
                st.lists(st.floats(-100, 100), min_size=k, max_size=k),
                st.lists(st.floats(0, 10), min_size=k, max_size=k),
            )
        )
    )
    def test_sii_reversing_quantile_order_flips_sign(self, data):
        pop, value, se = data
        k = len(pop)
        forward = sii(range(1, k + 1), pop, value, se=se, repetitions=1000, seed=5)
        reverse = sii(range(k, 0, -1), pop, value, se=se, repetitions=1000, seed=5)
        scale = 1e-9 * (1 + max(abs(v) for v in value))
        assert reverse["sii"] == pytest.approx(-forward["sii"], abs=scale)
        # The normal-type interval contains the SII (the median of its simulations).
        assert forward["sii_lower"] <= forward["sii"] + scale
        assert forward["sii"] <= forward["sii_upper"] + scale

    @settings(max_examples=50, deadline=None)
    @given(
        st.integers(5, 12).flatmap(
            lambda k: st.tuples(
                st.lists(st.floats(10, 1e6), min_size=k, max_size=k),
                st.lists(st.floats(0.001, 0.999), min_size=k, max_size=k),
            )
        )
    )
    def test_sii_reversal_inverts_rii(self, data):
        pop, value = data
        k = len(pop)
        # The RII is Y(1)/Y(0), ill-conditioned when a fitted end value is near 0.
        slope, intercept, _, _ = sii_by_lstsq(pop, value)
        assume(min(abs(intercept), abs(intercept + slope)) > 1e-6)
        se = [0.1] * k
        fwd = sii(range(1, k + 1), pop, value, se=se, value_type="proportion", rii=True,
                  repetitions=1000, seed=5)  # fmt: skip
        rev = sii(range(k, 0, -1), pop, value, se=se, value_type="proportion", rii=True,
                  repetitions=1000, seed=5)  # fmt: skip
        assert rev["sii"] == pytest.approx(-fwd["sii"], abs=1e-9)
        assert rev["rii"] == pytest.approx(1 / fwd["rii"], rel=1e-6)

    def test_sii_reversal_flips_limits_within_simulation_error(self):
        data = PHE_SII_EXAMPLE["Area1"]
        fwd = sii(DECILES, data["population"], data["value"], se=data["se"], seed=1)
        rev = sii(DECILES[::-1], data["population"], data["value"], se=data["se"], seed=2)
        width = fwd["sii_upper"] - fwd["sii_lower"]
        assert rev["sii_lower"] == pytest.approx(-fwd["sii_upper"], abs=0.02 * width)
        assert rev["sii_upper"] == pytest.approx(-fwd["sii_lower"], abs=0.02 * width)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

A1 = PHE_SII_EXAMPLE["Area1"]


def _sii(**overrides):
    kwargs = {"quantile": DECILES, "population": A1["population"], "value": A1["value"],
              "se": A1["se"], "repetitions": 1000, "seed": 1}  # fmt: skip
    kwargs.update(overrides)
    return sii(**kwargs)


BAD_INPUTS = [
    # negative counts or populations
    (lambda: proportion_ci(-1, 10), "numerator"),
    (lambda: proportion_ci([1, 2], [10, -10]), "denominator"),
    (lambda: rate_ci([3, -2], 100), "numerator"),
    (lambda: rate_ci(3, -100), "denominator"),
    (lambda: dsr([1, -2, 30], [10, 10, 10], [1, 1, 1]), "counts"),
    (lambda: dsr([1, 2, 30], [10, -10, 10], [1, 1, 1]), "populations"),
    (lambda: dsr([1, 2, 30], [10, 10, 10], [1, -1, 1]), "standard_populations"),
    (lambda: rate_ratio(-1, 10, 1, 10), "num_a"),
    (lambda: rate_ratio(1, -10, 1, 10), "den_a"),
    (lambda: rate_ratio(1, 10, -1, 10), "num_b"),
    (lambda: rate_ratio(1, 10, 1, -10), "den_b"),
    (lambda: _sii(population=[-5] + A1["population"][1:]), "population"),
    # numerator above denominator for a proportion
    (lambda: proportion_ci([5, 11], [10, 10]), "numerator"),
    # mismatched lengths
    (lambda: proportion_ci([1, 2, 3], [10, 10]), "denominator"),
    (lambda: rate_ci([1, 2], [10, 10, 10]), "denominator"),
    (lambda: rate_ratio([1, 2], [10, 10], [1, 2, 3], 10), "num_b"),
    (lambda: dsr([1, 2, 30], [10, 10], [1, 1, 1]), "populations"),
    (lambda: dsr([1, 2, 30], [10, 10, 10], ESP2013), "standard_populations"),
    (lambda: _sii(value=A1["value"][:-1]), "value"),
    (lambda: _sii(se=A1["se"][:-1]), "se"),
    (
        lambda: rate_ci(pd.Series([1, 2], index=["a", "b"]), pd.Series([9, 9], index=["b", "c"])),
        "denominator",
    ),
    # confidence outside (0, 1)
    (lambda: proportion_ci(1, 10, confidence=95), "confidence"),
    (lambda: proportion_ci(1, 10, confidence=0), "confidence"),
    (lambda: rate_ci(1, 10, confidence=1.0), "confidence"),
    (lambda: rate_ci(1, 10, confidence=-0.5), "confidence"),
    (lambda: dsr([10, 20], [100, 100], [1, 1], confidence=float("nan")), "confidence"),
    (lambda: rate_ratio(1, 10, 1, 10, confidence=99.8), "confidence"),
    (lambda: _sii(confidence=1.5), "confidence"),
    # too few (or too many) quantiles; a quantile with zero population
    (
        lambda: _sii(
            quantile=[1, 2, 3, 4], population=[1, 1, 1, 1], value=[1, 2, 3, 4], se=[1, 1, 1, 1]
        ),
        "quantile",
    ),  # fmt: skip
    (
        lambda: _sii(quantile=range(101), population=[1] * 101, value=[1] * 101, se=[1] * 101),
        "quantile",
    ),  # fmt: skip
    (lambda: _sii(population=[0] + A1["population"][1:]), "population"),
    # other SII input
    (lambda: _sii(quantile=[1, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "quantile"),
    (lambda: _sii(se=None), "se"),
    (lambda: _sii(se=[-1] + A1["se"][1:]), "se"),
    (lambda: _sii(se=None, lower_cl=A1["upper_cl"], upper_cl=A1["lower_cl"]), "lower_cl"),
    (lambda: _sii(value_type="log"), "value_type"),
    (lambda: _sii(value_type="rate", value=[0] + A1["value"][1:]), "value"),
    (lambda: _sii(value_type="proportion"), "value"),
    (lambda: _sii(repetitions=999), "repetitions"),
    (lambda: _sii(multiplier=0), "multiplier"),
    (lambda: _sii(value=[np.nan] + A1["value"][1:]), "value"),
    # other rate input
    (lambda: rate_ci(1, 10, multiplier=-1), "multiplier"),
    (lambda: rate_ci(["a"], [1]), "numerator"),
    (lambda: rate_ci(np.inf, 1), "numerator"),
]


@pytest.mark.parametrize(("call", "argument"), BAD_INPUTS)
def test_bad_input_raises_naming_the_argument(call, argument):
    with pytest.raises(StatsInputError) as err:
        call()
    assert isinstance(err.value, ValueError) and isinstance(err.value, EIAError)
    message = str(err.value)
    assert message.startswith(argument), message


def test_error_messages_say_where_and_why():
    with pytest.raises(
        StatsInputError, match=r"numerator must not be negative; got -3\.0 at position 1"
    ):
        rate_ci([1, -3], 10)
    with pytest.raises(StatsInputError, match=r"index 'b'"):
        proportion_ci(pd.Series([1, 20], index=["a", "b"]), 10)
    with pytest.raises(StatsInputError, match=r"5 to 100 quantiles; got 4"):
        _sii(quantile=[1, 2, 3, 4], population=[1] * 4, value=[1] * 4, se=[1] * 4)
    with pytest.raises(StatsInputError, match=r"quantile 3 has 0"):
        _sii(population=[1, 1, 0, 1, 1, 1, 1, 1, 1, 1])
