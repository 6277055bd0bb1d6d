"""Synthetic extracts: reproducible, exercising every path, with recoverable rate differences."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from eia.analysis import uptake
from eia.errors import ServiceDataError
from eia.population.area import group_populations
from eia.service import synth
from eia.service.aggregate import ServiceDataWarning, load_service


@pytest.fixture(scope="module")
def area(notts_area):
    return notts_area


@pytest.fixture(scope="module")
def codes(area):
    return list(area["lsoa21_code"])


def load(frame, tmp_path, pack, codes, name="synth.csv"):
    path = synth.write(frame, tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        return load_service(synth.service_spec(path), pack, codes)


def test_same_seed_same_rows(pack, codes):
    a = synth.generate(pack, codes, n_events=2_000, seed=7)
    b = synth.generate(pack, codes, n_events=2_000, seed=7)
    c = synth.generate(pack, codes, n_events=2_000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert list(a.columns) == list(synth.COLUMNS.values())
    assert len(a) == 2_000


def test_extract_exercises_every_path(pack, codes, tmp_path):
    frame = synth.generate(pack, codes, n_events=20_000, seed=1)
    categories = frame["ethnic_category"].fillna("")
    assert (categories == "Z").any() and (categories == "99").any() and (categories == "").any()
    assert categories.str.contains(" - ").any()  # text labels
    assert categories.str.islower().any()  # lower-case letters
    data = load(frame, tmp_path, pack, codes)
    q = data.quality
    assert q["count_converted_from_2011"] > 0
    assert q["count_outside_area"] > 0 and q["count_welsh"] >= 1
    assert q["count_unmatched"] > 0 and q["count_matched_by_name"] > 0
    assert q["ethnicity_not_stated_share"] > 0 and q["ethnicity_not_known_share"] > 0
    assert q["ethnicity_unrecognised"] == []
    assert q["count_read"] == 20_000
    assert data.synthetic and q["synthetic"] is True


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_write_other_formats(pack, codes, tmp_path, suffix):
    frame = synth.generate(pack, codes, n_events=500, seed=2)
    data = load(frame, tmp_path, pack, codes, name=f"synth{suffix}")
    assert data.quality["records_read"] == 500


def test_write_refuses_unknown_suffix(pack, codes, tmp_path):
    frame = synth.generate(pack, codes[:5], n_events=10, seed=2)
    with pytest.raises(ServiceDataError, match="use .csv"):
        synth.write(frame, tmp_path / "x.json")


def test_declared_deprivation_differences_are_recovered(pack, area, codes, tmp_path):
    ratios = {"imd_quintile": {1: 1.6, 2: 1.4, 3: 1.2, 4: 1.1, 5: 1.0}, "ethnic_group": {}}
    frame = synth.generate(pack, codes, n_events=60_000, seed=3, rate_ratios=ratios)
    data = load(frame, tmp_path, pack, codes)
    table = uptake.imd_table(data.by_lsoa, area, "quintile").set_index("imd_quintile")
    for q, declared in ratios["imd_quintile"].items():
        assert table.loc[q, "ratio"] == pytest.approx(declared, rel=0.05)
        if q != 5:
            assert table.loc[q, "ratio_lower"] < declared < table.loc[q, "ratio_upper"]


def test_declared_ethnic_differences_are_recovered(pack, area, codes, tmp_path):
    ratios = {"imd_quintile": {}, "ethnic_group": {"Asian": 0.7, "Black": 1.5, "Other": 1.2}}
    frame = synth.generate(pack, codes, n_events=60_000, seed=4, rate_ratios=ratios)
    data = load(frame, tmp_path, pack, codes)
    table = uptake.ethnic_table(data.by_lsoa_ethnicity, group_populations(pack, codes))
    table = table.set_index("group")
    expected = {
        "Asian, Asian British or Asian Welsh": 0.7,
        "Black, Black British, Black Welsh, Caribbean or African": 1.5,
        "Mixed or Multiple ethnic groups": 1.0,
        "Other ethnic group": 1.2,
    }
    for group, declared in expected.items():
        assert table.loc[group, "ratio"] == pytest.approx(declared, rel=0.1), group
        assert table.loc[group, "ratio_lower"] < declared < table.loc[group, "ratio_upper"]


def test_default_model_margins_match_recovered_rates(pack, area, codes, tmp_path):
    """With both factors at once, the recovered quintile ratios match the model's margins."""
    model = synth.expected_counts(pack, codes)
    margins = model.groupby("imd_quintile")[["weight", "population"]].sum()
    rate = margins["weight"] / margins["population"]
    expected = rate / rate[5]
    frame = synth.generate(pack, codes, n_events=60_000, seed=5)
    data = load(frame, tmp_path, pack, codes)
    table = uptake.imd_table(data.by_lsoa, area, "quintile").set_index("imd_quintile")
    for q in range(1, 5):
        assert table.loc[q, "ratio"] == pytest.approx(expected[q], rel=0.05)


def test_bad_rate_ratio_names(pack, codes):
    with pytest.raises(ServiceDataError, match="unknown group 'Purple'"):
        synth.generate(pack, codes, n_events=10, rate_ratios={"ethnic_group": {"Purple": 2}})
    with pytest.raises(ServiceDataError, match="quintiles are 1 to 5"):
        synth.generate(pack, codes, n_events=10, rate_ratios={"imd_quintile": {6: 2}})
    with pytest.raises(ServiceDataError, match="at least 1"):
        synth.generate(pack, codes, n_events=0)
