"""Frames between modules line up by lsoa21_code: shuffled ones agree, mismatched ones raise."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eia.align import by_lsoa
from eia.analysis import access
from eia.errors import DataMismatchError, EIAError


def _frames(n: int, seed: int):
    rng = np.random.default_rng(seed)
    codes = [f"E0100{i:04d}" for i in range(n)]
    distances = pd.DataFrame(
        {
            "lsoa21_code": codes,
            "km_before": rng.uniform(0, 20, n),
            "km_after": rng.uniform(0, 20, n),
        }
    )
    distances["km_change"] = distances["km_after"] - distances["km_before"]
    weights = pd.DataFrame(
        {"Asian": rng.integers(0, 500, n), "White": rng.integers(0, 500, n)},
        index=pd.Index(codes, name="lsoa21_code"),
    )
    return distances, weights


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000))
def test_shuffled_weights_give_the_same_summary(n, seed):
    distances, weights = _frames(n, seed)
    expected = access.summarise(distances, weights, 5)
    shuffled = weights.sample(frac=1, random_state=seed)
    pd.testing.assert_frame_equal(access.summarise(distances, shuffled, 5), expected)
    reversed_distances = distances.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(access.summarise(reversed_distances, shuffled, 5), expected)


def test_mislabelled_or_partial_weights_raise_the_projects_error():
    distances, weights = _frames(6, 1)
    with pytest.raises(DataMismatchError, match="weights does not cover the same LSOAs"):
        access.summarise(distances, weights.iloc[1:], 5)
    relabelled = weights.rename(index={weights.index[0]: "E01999999"})
    with pytest.raises(DataMismatchError, match="1 missing, 1 not in the area"):
        access.summarise(distances, relabelled, 5)
    with pytest.raises(DataMismatchError, match="no lsoa21_code"):
        access.summarise(distances, weights.reset_index(drop=True), 5)
    assert issubclass(DataMismatchError, EIAError)


def test_repeated_codes_raise():
    distances, _ = _frames(3, 2)
    twice = pd.concat([distances, distances.iloc[:1]])
    with pytest.raises(DataMismatchError, match="repeats 1 LSOA code"):
        by_lsoa(twice, "distances")


def test_importing_eia_changes_no_global_state():
    code = """
import os, sys, warnings, json
import matplotlib
# Third-party libraries eia uses add warnings filters of their own when imported: load them first.
import geopandas, scipy.spatial, scipy.special, papermill, nbconvert, jupyter_client.manager
def rc():  # read without resolving the backend (reading rcParams["backend"] would)
    return {k: v for k, v in dict.items(matplotlib.rcParams) if k != "backend"}
before = (matplotlib.rcParams._get_backend_or_none(), rc(), dict(os.environ),
          list(warnings.filters))
import eia, eia.report.maps, eia.report.sections, eia.report.show, eia.assessment, eia.runner.run, eia.runner.batch, eia.runner.cli
import eia.analysis.uptake, eia.analysis.impact, eia.analysis.access, eia.population.area, eia.params, eia.runner.template
after = (matplotlib.rcParams._get_backend_or_none(), rc(), dict(os.environ),
         list(warnings.filters))
names = ["backend", "rcParams", "environment", "warnings filters"]
print(json.dumps([n for n, b, a in zip(names, before, after) if b != a]))
print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
"""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert out[0] == "[]", f"importing eia changed: {out[0]}"
    assert out[1] == "no pyplot"


def test_maps_use_no_pyplot_state(notts_area):
    import matplotlib

    from eia.report import maps

    backend = matplotlib.rcParams._get_backend_or_none()

    def rc():  # without resolving the backend
        return {k: v for k, v in dict.items(matplotlib.rcParams) if k != "backend"}

    before = rc()
    fig = maps.imd_map(notts_area.head(50), None, None)
    assert fig.axes  # drawn on the object API
    assert matplotlib.rcParams._get_backend_or_none() == backend
    assert rc() == before
    assert "matplotlib.pyplot" not in sys.modules or fig.canvas.manager is None


def test_within_takes_codes_of_the_area_not_a_mask():
    distances, weights = _frames(6, 3)
    codes = distances["lsoa21_code"]
    part = access.summarise(distances, weights, 5, within=codes[:3])
    assert part.loc[part["group"] == "All people", "population"].item() == int(
        weights.iloc[:3].to_numpy().sum()
    )
    with pytest.raises(DataMismatchError, match="not a true/false mask"):
        access.summarise(distances, weights, 5, within=codes.str.endswith("1"))
    with pytest.raises(DataMismatchError, match="1 LSOA code"):
        access.summarise(distances, weights, 5, within=[codes[0], "E01999999"])


def test_ethnicity_by_core20_matches_residents_by_code(notts_area, pack):
    from eia.analysis import ethnicity_deprivation as intersect
    from eia.population.area import group_populations

    area = notts_area.head(40)
    ethnic = group_populations(pack, list(area["lsoa21_code"]))
    expected = intersect.core20_weights(area, ethnic)
    shuffled = intersect.core20_weights(area, ethnic.sample(frac=1, random_state=1))
    pd.testing.assert_frame_equal(shuffled, expected)
    with pytest.raises(DataMismatchError, match="ethnic group residents"):
        intersect.core20_weights(area, ethnic.iloc[1:])
