"""Smaller disclosure cases: dates of single records (26.13), sentences that say a count is
withheld (26.13), the map classifier without mapclassify (24.7), the package's shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from test_publish_allowlist import toy_area, toy_populations, toy_service

import eia.stats.disclosure as disclosure
from eia.analysis import uptake


def test_the_first_and_last_dates_are_published_as_months_only():
    service = toy_service({(i, "A"): 20 for i in range(20)})
    service.quality |= {"date_first": "2023-04-17", "date_last": "2024-03-09"}
    result = uptake.compute(service, toy_area(), toy_populations())
    quality = result.published.data_quality
    assert quality["date_first"] == "2023-04" and quality["date_last"] == "2024-03"
    period = result.published.uptake["period"]
    assert (period["start"], period["end"]) == ("2023-04-01", "2024-03-31")
    text = str(result.published.notes) + str(result.published.uptake)
    assert "2023-04-17" not in text and "2024-03-09" not in text
    assert "17 April" not in text and "9 March" not in text


def test_a_published_count_is_never_said_to_be_withheld():
    table = pd.DataFrame(
        {
            "group": ["Q1", "Q2"],
            "population": [1000.0, 1200.0],
            "count": [40.0, np.nan],  # Q1 published; Q2 withheld
            "representation": [np.nan, np.nan],  # withheld with the total
            "representation_lower": [np.nan, np.nan],
            "representation_upper": [np.nan, np.nan],
        }
    )
    rated = uptake.rate_representation({"imd_quintile": table})
    # Q1's own count is published: only the total it is compared with is withheld.
    assert dict(zip(rated["group"], rated["withheld"], strict=True)) == {
        "Q1": "total",
        "Q2": "count",
    }


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(2, 7))
def test_quantile_classes_are_the_quantile_classification(values, k):
    # mapclassify.Quantiles: upper edges at the 100/k, 200/k, ... 100th percentiles (equal
    # edges merged); each value's class is the first edge it does not exceed.
    classes, edges = disclosure.quantile_classes(values, k)
    expected = np.unique(np.percentile(values, [100 * (i + 1) / k for i in range(k)]))
    assert np.allclose(edges, expected)
    for value, c in zip(values, classes, strict=True):
        assert value <= edges[c] + 1e-9
        assert c == 0 or value > edges[c - 1]
    assert edges[-1] == max(values)


def test_mapclassify_is_not_a_dependency():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert "mapclassify" not in text


def test_the_package_keeps_its_public_names_and_small_modules():
    for name in disclosure.__all__:
        assert hasattr(disclosure, name), name
    for name in ("protect", "suppress", "publishable", "PUBLISHED", "protect_map", "Audit"):
        assert name in disclosure.__all__
    folder = Path(disclosure.__file__).parent
    for module in folder.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 800, module.name
