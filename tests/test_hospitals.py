"""Naming a hospital once is enough (issue 27): one name key, site codes, one site per name,
and `eia lookup hospital` rows that say the code, the authority, the position and the count."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eia.refdata import hospitals
from eia.runner.cli import main

ROW = re.compile(r"^(H[A-Z2-7]{5})  (.+), ([^,]+)  \((-?\d+\.\d{5}), (-?\d+\.\d{5})\)")


@given(st.text(min_size=1, max_size=30), st.sampled_from(["", " ", "  ", "\t"]))
def test_site_key_ignores_case_and_spacing(name, pad):
    spaced = pad + " ".join(name.split(" ")).upper() + pad
    assert hospitals.site_key(spaced) == hospitals.site_key(name.upper())
    assert hospitals.site_key(hospitals.site_key(name)) == hospitals.site_key(name)
    assert hospitals.site_key("Great Ormond Street Hospital ") == hospitals.site_key(
        "great  ormond street hospital"
    )


@pytest.mark.refdata
def test_every_site_has_a_unique_code_and_an_authority(pack):
    table = hospitals.sites(pack)
    assert table["code"].is_unique
    assert table["code"].str.fullmatch(r"H[A-Z2-7]{5}").all()
    assert table["ltla24_name"].notna().all()
    # the same hospital listed twice (trailing space, capitals) is one entry
    assert (table["key"] == "great ormond street hospital").sum() == 1


@pytest.mark.refdata
def test_lookup_in_an_area_lists_all_with_a_count_code_authority_and_position(refdata_dir, capsys):
    assert main(["lookup", "hospital", "--in", "E54000029"]) == 0
    count, *rows = capsys.readouterr().out.splitlines()
    assert count == "17 hospitals in E54000029, all shown"
    assert len(rows) == 17
    for row in rows:
        assert ROW.match(row), row
        assert row.endswith("(inside the area)")
    assert main(["lookup", "hospital", "--in", "E54000029", "--limit", "5"]) == 0
    count, *rows = capsys.readouterr().out.splitlines()
    assert count == "17 hospitals in E54000029; the first 5 shown (--limit N shows more)"
    assert len(rows) == 5


@pytest.mark.refdata
def test_a_site_inside_the_near_area_is_inside_and_exact_names_are_never_hidden(
    refdata_dir, capsys
):
    assert main(["lookup", "hospital", "Royal London Hospital", "--near", "E54000029"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert rows[0].endswith("(inside the area)") and "Tower Hamlets" in rows[0]
    assert main(["lookup", "hospital", "St Mary's Hospital", "--near", "E54000036"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert "St Mary's Hospital, Isles of Scilly" in rows[0] and "(inside the area)" in rows[0]
    exact = [r for r in rows if ROW.match(r) and ROW.match(r).group(2) == "St Mary's Hospital"]
    assert len(exact) >= 4  # every same-named site is listed, each with its own code


@pytest.mark.refdata
def test_every_name_lookup_prints_for_each_icb_resolves_to_that_site(pack):
    from eia.refdata import lookup

    table = pack.lookup()
    icbs = sorted(table["icb24_code"].dropna().unique())
    assert len(icbs) == 42
    for icb in icbs:
        lsoas = list(table.loc[table["icb24_code"] == icb, "lsoa21_code"])
        for match in lookup.search(pack, "hospital", "", inside=icb):
            found = hospitals.resolve(pack, match.name, lsoas)
            assert found.code == match.code, (icb, match.code)


@pytest.mark.refdata
def test_shared_names_take_the_site_in_the_area_and_say_which(pack):
    from eia.params import check_against_pack, site_choices

    data = {
        "id": "x",
        "title": "Illustrative",
        "template": "site_change",
        "area": {"icb": "E54000036"},
        "sites": {
            "current": [{"hospital": "st mary's hospital "}, {"hospital": "Treliske"}],
            "proposed": [{"hospital": "St Mary's Hospital"}],
        },
    }
    problems = check_against_pack(data, pack)
    assert [p.path for p in problems] == ["sites.current[1].hospital"]  # Treliske is unknown
    data["sites"]["current"][1] = {"hospital": "Royal Cornwall Hospital (Treliske)"}
    assert check_against_pack(data, pack) == []
    (line, *_) = site_choices(data, pack)
    assert line.startswith("sites.current[0].hospital: ")
    assert "in Isles of Scilly, the one inside the area" in line
    # the kernel takes the same site as validation
    from eia.analysis.access import resolve_sites

    lsoas = hospitals.area_lsoas(pack, data["area"])
    sites = resolve_sites(pack, data["sites"]["current"], lsoas)
    scilly = hospitals.resolve(pack, "St Mary's Hospital", lsoas)
    assert sites["code"].iloc[0] == scilly.code and scilly.ltla24_name == "Isles of Scilly"


@pytest.mark.refdata
def test_a_site_code_is_accepted_and_a_shared_name_without_an_area_lists_codes(pack):
    from eia.params import check_against_pack

    scilly = hospitals.resolve(
        pack, "St Mary's Hospital", hospitals.area_lsoas(pack, {"icb": "E54000036"})
    )
    data = {
        "id": "x",
        "title": "Illustrative",
        "template": "site_change",
        "area": {"icb": "E54000050"},  # North East: no St Mary's Hospital within 20 km
        "sites": {
            "current": [{"hospital": scilly.code.lower()}, {"hospital": "St Mary's Hospital"}]
        },
    }
    problems = check_against_pack(data, pack)
    assert {p.path for p in problems} == {"sites.current[1].hospital", "sites.current[1].name"}
    problem = next(p for p in problems if p.path.endswith("hospital"))
    assert 'sites in the reference data are called "St Mary\'s Hospital"' in problem.message
    assert scilly.code in problem.message and "hospital: CODE" in problem.message
    with pytest.raises(hospitals.UnknownSite):
        hospitals.resolve(pack, "No Such Hospital At All")


@pytest.mark.refdata
def test_the_trailing_space_name_passes_validation_and_the_kernel_alike(pack):
    from eia.analysis.access import resolve_sites
    from eia.params import check_against_pack

    data = {
        "id": "x",
        "title": "Illustrative",
        "template": "site_change",
        "area": {"icb": "E54000027"},
        "sites": {"current": [{"hospital": "Great Ormond Street Hospital "}]},
    }
    assert check_against_pack(data, pack) == []
    sites = resolve_sites(pack, data["sites"]["current"])
    assert list(sites["name"]) == ["Great Ormond Street Hospital"]


@pytest.mark.refdata
def test_a_site_change_per_icb_naming_the_listed_hospitals_validates(pack):
    from eia.params import check_against_pack
    from eia.refdata import lookup

    icbs = sorted(pack.lookup()["icb24_code"].dropna().unique())
    for icb in icbs:
        names = [m.name for m in lookup.search(pack, "hospital", "", inside=icb)]
        data = {
            "id": "x",
            "title": "Illustrative",
            "template": "site_change",
            "area": {"icb": icb},
            "sites": {
                "current": [{"hospital": n} for n in names],
                "proposed": [{"hospital": n} for n in names[1:]],
            },
        }
        problems = [p for p in check_against_pack(data, pack) if "hospital" in p.path]
        assert problems == [], (icb, problems[:1])
