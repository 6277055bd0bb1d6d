"""Age-standardised rates for several groupings at once equal one grouping at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eia.analysis.uptake.rates import dsr_table, dsr_tables
from eia.population.ages import coarsen, standard_for
from eia.stats import ESP2013_AGE_BANDS

_EXTRACT_BANDS = [*ESP2013_AGE_BANDS[:-2], "85+"]


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=2, max_value=30), st.integers(min_value=0, max_value=2**32 - 1))
def test_groupings_at_once_equal_each_alone(n_lsoas, seed):
    rng = np.random.default_rng(seed)
    codes = [f"E{i:08d}" for i in range(n_lsoas)]
    counts = pd.DataFrame(
        rng.poisson(3.0, (n_lsoas, len(_EXTRACT_BANDS))).astype(float),
        index=codes,
        columns=_EXTRACT_BANDS,
    )
    pops = pd.DataFrame(
        rng.uniform(1, 200, (n_lsoas, len(ESP2013_AGE_BANDS))),
        index=codes,
        columns=list(ESP2013_AGE_BANDS),
    )
    groupings = {
        "quintile": pd.Series(rng.integers(1, 6, n_lsoas), index=codes),
        "two": pd.Series(rng.integers(0, 2, n_lsoas) == 1, index=codes),
        "all": pd.Series("all", index=codes),
    }
    together = dsr_tables(counts, pops, groupings, per=1000, years=2.0)
    for key, groups in groupings.items():
        alone = dsr_table(counts, pops, groups, per=1000, years=2.0)
        pd.testing.assert_frame_equal(together[key], alone, check_exact=True)


def test_the_standard_population_is_a_fresh_series_each_time():
    first = standard_for(["0-4", "85+"])
    first.iloc[0] = -1.0
    again = standard_for(["0-4", "85+"])
    assert again.to_dict() == {"0-4": 5000.0, "85+": 2500.0}


def test_coarsen_sums_esp_bands_into_the_extract_bands():
    pops = pd.DataFrame([[1.0, 2.0, 4.0]], columns=["80-84", "85-89", "90+"], index=["x"])
    out = coarsen(pops, ["80-84", "85+", "0-4"])
    assert out.loc["x"].to_dict() == {"80-84": 1.0, "85+": 6.0, "0-4": 0.0}
