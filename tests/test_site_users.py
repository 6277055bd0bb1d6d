"""Users of each site and of each closing site (eia.analysis.site_users), with disclosure control."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eia.analysis import site_users
from eia.stats import disclosure

ROOT = Path(__file__).resolve().parents[1]

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
    assert pd.isna(quint.loc["Q1 (most deprived)", "users"])
    assert pd.isna(quint.loc["Q1 (most deprived)", "share"])
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
    assume(counts)  # no users at all: nothing to publish
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


@pytest.mark.slow
def test_report_shows_users_per_site_and_who_uses_each_closing_site(refdata_dir, pack, tmp_path):
    """End to end with the engine's ``by_site``: an extract with a site column, a real area."""
    import yaml

    from eia import assessment, params
    from eia.analysis.access import nearest_km, resolve_sites
    from eia.population.area import build_area
    from eia.report import sections
    from eia.service import synth

    example = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
    spec = yaml.safe_load(example.read_text(encoding="utf-8"))
    area = build_area(pack, spec["area"])
    current = resolve_sites(pack, spec["sites"]["current"])
    frame = synth.generate(pack, list(area["lsoa21_code"]), n_events=3000, seed=5)
    points = area.set_index("lsoa21_code")["point"]
    known = frame["lsoa_code"].isin(points.index).to_numpy()
    _, nearest = nearest_km(
        points.reindex(frame.loc[known, "lsoa_code"]).reset_index(drop=True), current
    )
    frame["clinic"] = current["name"].iloc[0].upper()  # codes outside the area: any site
    frame.loc[known, "clinic"] = [current["name"].iloc[i].upper() for i in nearest]  # case differs
    frame.loc[frame.index[:3], "clinic"] = "Somewhere else"
    synth.write(frame, tmp_path / "activity.csv")
    spec["service"] = {
        "path": "activity.csv",
        "columns": {**synth.COLUMNS, "site": "clinic"},
        "label": "test appointments",
        "synthetic": True,
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    a = assessment.assess(params.load(tmp_path / "p.yaml", pack), tmp_path / "p.yaml")
    block = sections.site_users(a)
    markup = block.markup
    tables = [p for p in block.parts if hasattr(p, "frame")]
    users = tables[0].frame
    assert list(users["Site"]) == list(current["name"])
    assert users.set_index("Site").loc["King's Mill Hospital", "Closes under"] == (
        "Option A: close King's Mill"
    )
    # Issue 26.1: the count of records naming no current site is protected like any count.
    assert "&lt;5 records of test appointments (withheld: small numbers) name no" in markup
    assert "3 records" not in markup
    assert "Somewhere else" not in markup  # unmatched names are counted, never quoted
    captions = [t.caption for t in tables[1:]]
    assert any(
        c.startswith("Who uses King's Mill Hospital, which closes under Option A") for c in captions
    )
    assert any(
        c.startswith("Who uses City Hospital, which closes under Option B") for c in captions
    )
    for table in tables[1:]:
        published = [v for v in table.frame["Users"] if v not in ("<5", "*")]
        assert all(int(v.replace(",", "")) == 0 or int(v.replace(",", "")) >= 5 for v in published)
