"""NHS ETHNIC CATEGORY codes and labels → Census 2021 groups."""

from __future__ import annotations

import pandas as pd
import pytest

from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import (
    CATEGORIES,
    NHS_CODES,
    NOT_KNOWN,
    NOT_STATED,
    classify,
    mapping_table,
    to_census_group,
    unrecognised,
)

ASIAN, BLACK, MIXED, WHITE, OTHER = ETHNIC_GROUPS

# The NHS Data Dictionary's national codes and the Census 2021 high-level group of each.
EXPECTED = {
    "A": WHITE,
    "B": WHITE,
    "C": WHITE,
    "D": MIXED,
    "E": MIXED,
    "F": MIXED,
    "G": MIXED,
    "H": ASIAN,
    "J": ASIAN,
    "K": ASIAN,
    "L": ASIAN,
    "M": BLACK,
    "N": BLACK,
    "P": BLACK,
    "R": ASIAN,  # Chinese is in the Asian group under Census 2021
    "S": OTHER,
    "Z": NOT_STATED,
    "99": NOT_KNOWN,
}


def test_every_national_code_is_mapped():
    assert set(NHS_CODES) == set(EXPECTED)
    for code, group in EXPECTED.items():
        assert classify(code) == (group, True), code


@pytest.mark.parametrize(
    ("value", "group"),
    [
        ("a", WHITE),
        (" A ", WHITE),
        ("h ", ASIAN),
        ("\tn", BLACK),
        ("z", NOT_STATED),
        (" 99 ", NOT_KNOWN),
        (99, NOT_KNOWN),
        ("CA", WHITE),  # local sub-code: the first character is the national code
        ("Nx", BLACK),
        ("X", NOT_KNOWN),  # HES's not known
        ("", NOT_KNOWN),
        (None, NOT_KNOWN),
        (float("nan"), NOT_KNOWN),
        ("NA", NOT_KNOWN),
    ],
)
def test_codes_in_any_case_with_stray_spaces(value, group):
    assert classify(value)[0] == group


@pytest.mark.parametrize(
    ("label", "group"),
    [
        ("White - British", WHITE),
        ("White British", WHITE),
        ("white - any other white background", WHITE),
        ("Gypsy or Irish Traveller", WHITE),
        ("Mixed - White and Black Caribbean", MIXED),
        ("Mixed: White and Asian", MIXED),
        ("Asian or Asian British - Indian", ASIAN),
        ("Pakistani", ASIAN),
        ("Chinese", ASIAN),
        ("Other Ethnic Groups - Chinese", ASIAN),
        ("Black or Black British - African", BLACK),
        ("Caribbean", BLACK),
        ("Arab", OTHER),
        ("Any other ethnic group", OTHER),
        ("Other Ethnic Groups - Any other ethnic group", OTHER),
        ("A - White British", WHITE),
        ("Not stated", NOT_STATED),
        ("Patient declined", NOT_STATED),
        ("Not known", NOT_KNOWN),
        ("Unknown", NOT_KNOWN),
        ("Asian, Asian British or Asian Welsh", ASIAN),
        ("Black, Black British, Black Welsh, Caribbean or African", BLACK),
        ("White \u2013 British", WHITE),  # en dash, as Windows exports write it
    ],
)
def test_common_text_labels(label, group):
    assert classify(label) == (group, True)


def test_unrecognised_values_are_not_known_and_reported():
    assert classify("Q") == (NOT_KNOWN, False)
    assert classify("hello") == (NOT_KNOWN, False)
    assert unrecognised(["A", "Q", "hello", "Q", None, ""]) == ["Q", "hello"]


def test_to_census_group_keeps_index_and_categories():
    values = pd.Series(["A", "r", None, "99", "Z", "S", "j "], index=list("abcdefg"))
    out = to_census_group(values)
    assert list(out.index) == list("abcdefg")
    assert out.tolist() == [WHITE, ASIAN, NOT_KNOWN, NOT_KNOWN, NOT_STATED, OTHER, ASIAN]
    assert set(out) <= set(CATEGORIES)
    assert to_census_group([]).tolist() == []


def test_mapping_table_lists_codes_and_groups():
    table = mapping_table()
    assert list(table.columns) == ["code", "description", "census_group"]
    assert table.set_index("code").loc["R", "census_group"] == ASIAN
    assert table.set_index("code").loc["Z", "description"] == "Not stated"
