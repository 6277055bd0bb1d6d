"""Service aggregation's fast paths give what the plain paths give.

Counting events, ages stored as text or numbers are banded in Python once per distinct
value (:func:`eia.service.columns.age_band_of`) and joined as a look-up, instead of by the
engine's long expression (:func:`eia.service.columns._age_band`); validation reads only the
columns it needs.
"""

from __future__ import annotations

import math
import warnings

import ibis
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eia.service import aggregate as aggregate_mod
from eia.service.aggregate import read_service
from eia.service.columns import ServiceDataWarning, _age_band, age_band_of

#: Pieces of age texts: numbers, band separators, open-band words, and the whitespace and
#: digits the engine's patterns treat differently from Python's defaults.
_PIECES = st.sampled_from(
    ["0", "4", "5", "17", "18", "24", "84", "85", "89", "90", "129", "130", "999", "1000"]
    + ["007", ".", ".5", "-", "–", " - ", "to", " TO ", "+", " and over", "plus", "Plus"]
    + [" ", "\t", "\v", "\f", "\n", "\u00a0", "\u2003", "٣", "x", "e2", ""]
)
_TEXTS = st.lists(_PIECES, max_size=5).map("".join)


def _engine_bands(values: list, type_: str) -> list:
    """The engine's bands of ``values`` (DuckDB, as for a file)."""
    frame = pd.DataFrame({"i": range(len(values)), "age": pd.Series(values, dtype=object)})
    table = ibis.memtable(frame, schema={"i": "int64", "age": type_})
    out = table.select("i", band=_age_band(table.age)).order_by("i").to_pandas()
    return [None if pd.isna(b) else int(b) for b in out["band"]]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXTS), min_size=1, max_size=60))
@example(
    [
        "\u00a05",
        "5\u00a0",
        "\v5\f",
        "18\v-\v24",
        "20\v-24",
        "20\v-\v24",
        "18\f-\t24",
        "٣",
        "85 PLUS",
        "7\n",
    ]
)
def test_text_ages_band_as_the_engine_bands_them(values):
    assert [age_band_of(v) for v in values] == _engine_bands(values, "string")


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(min_value=-5, max_value=140),
            st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 84.999, 85.0, 129.99, 130.0]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_numeric_ages_band_as_the_engine_bands_them(values):
    assert [age_band_of(v) for v in values] == _engine_bands(values, "float64")


def test_integer_ages_band_as_the_engine_bands_them():
    values = [None, -1, 0, 4, 5, 84, 85, 90, 129, 130, 10_000]
    assert [age_band_of(v) for v in values] == _engine_bands(values, "int64")


def _messy_extract(tmp_path):
    ages = ["34", " 7 ", "18-24", "85+", "90 and over", "80 to 84", "x", "", "130", "12.9"]
    rows = [
        {"lsoa": f"E0103340{i % 3}", "eth": "A", "age": age, "sex": "FM"[i % 2]}
        for i, age in enumerate(ages * 3)
    ]
    path = tmp_path / "messy.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        return read_service(
            path, {"lsoa": "lsoa", "ethnicity": "eth", "age": "age", "sex": "sex"}, **kwargs
        )


@pytest.mark.parametrize("ages", [None, (18, None)])
def test_events_banded_by_look_up_match_the_engine_banding(tmp_path, monkeypatch, ages):
    path = _messy_extract(tmp_path)
    fast = _read(path, ages=ages)
    monkeypatch.setattr(aggregate_mod, "_age_in_python", lambda column: False)
    plain = _read(path, ages=ages)
    pd.testing.assert_frame_equal(fast.by_code_age_sex, plain.by_code_age_sex, check_exact=True)
    pd.testing.assert_frame_equal(fast.by_code, plain.by_code, check_exact=True)
    assert fast.info == plain.info
    assert fast.by_code_age_sex["age_band"].isin(["30-34", "5-9", "85+", "80-84", "10-14"]).any()
