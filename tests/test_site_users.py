"""Users of each site and of each closing site (eia.site_users), with disclosure control."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eia import disclosure, site_users

AREA = pd.DataFrame(
    {"lsoa21_code": [f"E0100000{i}" for i in range(5)], "imd_quintile": [1, 2, 3, 4, 5]}
)
GROUPS = ["White", "Asian, Asian British or Asian Welsh", "Not stated"]


def _by_site(counts: dict[tuple[str, int, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"site": s, "lsoa21_code": AREA["lsoa21_code"][i], "ethnic_group": g, "count": c}
            for (s, i, g), c in counts.items()
        ]
    )


def test_site_names_match_ignoring_case_and_spaces_and_unmatched_are_counted_not_named():
    frame = _by_site(
        {("  king's MILL  hospital", 0, "White"): 40, ("Elsewhere", 1, "White"): 7}
    ).assign(site=lambda f: f["site"])
    matched, unmatched = site_users.match_sites(frame, ["King's Mill Hospital", "City Hospital"])
    assert list(matched["site"]) == ["King's Mill Hospital"]
    assert unmatched == 7


def test_users_per_site_and_closing_profile_add_up():
    frame = _by_site(
        {
            ("A", 0, "White"): 100,
            ("A", 1, "Asian, Asian British or Asian Welsh"): 60,
            ("A", 2, "Not stated"): 40,
            ("B", 3, "White"): 300,
        }
    )
    out = site_users.profiles(frame, AREA, ["A", "B", "C"], ["A"], min_count=5)
    sites = out["sites"].set_index("site")
    assert sites.loc["A", "users"] == 200 and sites.loc["B", "users"] == 300
    assert sites.loc["C", "users"] == 0  # every current site gets a row
    prof = out["profiles"]
    quint = prof[prof["dimension"] == "imd_quintile"]
    assert quint["users"].sum() == 200
    assert list(quint["group"])[0] == "Q1 (most deprived)"
    eth = prof[prof["dimension"] == "ethnic_group"].set_index("group")
    assert eth.loc["Not stated or not known", "users"] == 40
    assert np.isclose(eth.loc["White", "share"], 0.5)


def test_small_counts_are_withheld_with_a_complement_and_shares_too():
    frame = _by_site(
        {("A", 0, "White"): 3, ("A", 1, "White"): 50, ("A", 2, "White"): 60, ("B", 3, "White"): 9}
    )
    out = site_users.profiles(frame, AREA, ["A", "B"], ["A"], min_count=5)
    prof = out["profiles"]
    quint = prof[prof["dimension"] == "imd_quintile"].set_index("group")
    assert quint.loc["Q1 (most deprived)", "suppressed"] == "primary"
    assert np.isnan(quint.loc["Q1 (most deprived)", "users"])
    assert np.isnan(quint.loc["Q1 (most deprived)", "share"])
    # the site's total (113) is published, so another count on the line goes too
    assert (quint["suppressed"] == "secondary").sum() >= 1


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=30), min_size=5, max_size=5),
    st.lists(st.integers(min_value=0, max_value=30), min_size=5, max_size=5),
)
def test_no_published_count_is_small_and_no_withheld_count_can_be_worked_out(a_counts, b_counts):
    counts = {("A", i, "White"): c for i, c in enumerate(a_counts) if c}
    counts |= {("B", i, "White"): c for i, c in enumerate(b_counts) if c}
    if not counts:
        return
    out = site_users.profiles(_by_site(counts), AREA, ["A", "B"], ["A"], min_count=5)
    published = pd.concat(
        [out["sites"]["users"], out["profiles"]["users"]], ignore_index=True
    ).dropna()
    assert ((published == 0) | (published >= 5)).all()
    # re-derive the relations and check nothing withheld is recoverable
    prof, sites = out["profiles"], out["sites"]
    values, reasons = {}, {}
    for r in sites.itertuples():
        values[("site", r.site)] = sum(c for (s, _, _), c in counts.items() if s == r.site)
        if isinstance(r.suppressed, str):
            reasons[("site", r.site)] = r.suppressed
    values["total"] = sum(counts.values())
    keys = []
    for r in prof[prof["dimension"] == "imd_quintile"].itertuples():
        q = int(r.group[1])
        key = ("q", q)
        values[key] = counts.get(("A", q - 1, "White"), 0)
        keys.append(key)
        if isinstance(r.suppressed, str):
            reasons[key] = r.suppressed
    constraints = [("total", [("site", "A"), ("site", "B")]), (("site", "A"), keys)]
    bounds = disclosure.reader_bounds(values, reasons, 5)
    assert disclosure.recoverable(values, constraints, reasons, bounds=bounds) == []


def test_closing_sites_lists_the_options_that_close_each_site():
    roles = {
        "Option A": pd.DataFrame({"name": ["X", "Y"], "role": ["kept", "closing"]}),
        "Option B": pd.DataFrame({"name": ["X", "Y"], "role": ["closing", "closing"]}),
    }
    assert site_users.closing_sites(roles) == {"Y": ["Option A", "Option B"], "X": ["Option B"]}
