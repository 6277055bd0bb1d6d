"""eia lookup: names and codes both ways, and suggestions with names near the area."""

from __future__ import annotations

import pytest

from eia.errors import ParamsError
from eia.params import parse
from eia.refdata import lookup
from eia.runner.cli import main


def test_icb_by_name_prints_its_code(refdata_dir, capsys):
    assert main(["lookup", "icb", "leicester"]) == 0
    count, first = capsys.readouterr().out.splitlines()[:2]
    assert count == "1 ICB matches, shown"
    assert first.startswith("E54000015")
    assert "Leicester, Leicestershire and Rutland" in first


def test_hospital_near_an_area_is_ranked_by_distance(refdata_dir, capsys):
    assert main(["lookup", "hospital", "royal infirmary", "--near", "E54000015"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert " Leicester Royal Infirmary, Leicester  (52.6" in lines[0]
    assert len(lines) > 1


def test_codes_and_names_both_ways_any_case(pack):
    assert lookup.find(pack, "icb", "e54000060")[0].name.startswith("NHS Nottingham")
    assert lookup.find(pack, "icb", "QT1")[0].code == "E54000060"
    assert lookup.find(pack, "ltla", "NOTTINGHAM")[0].code == "E06000018"
    assert lookup.find(pack, "lsoa", "E01013810")[0].name == "Nottingham 018A"


def test_unknown_icb_code_suggests_names_with_codes(pack):
    hint = lookup.suggest(pack, "icb", "E54000099")
    assert "E54000059 (NHS " in hint


def _sites_params(hospital: str) -> dict:
    return {
        "id": "x",
        "title": "Illustrative",
        "template": "site_change",
        "area": {"icb": "E54000015"},
        "sites": {
            "current": [{"hospital": "Leicester Royal Infirmary"}],
            "proposed": [{"hospital": hospital}],
        },
    }


def test_lower_case_hospital_names_are_accepted_and_unknown_ones_get_local_suggestions(pack):
    from eia.params import check_against_pack

    assert check_against_pack(parse(_sites_params("leicester royal infirmary")), pack) == []
    problems = check_against_pack(_sites_params("Royal Infirmary"), pack)
    assert problems and "close matches: Leicester Royal Infirmary" in str(problems[0])
    with pytest.raises(ParamsError):
        raise ParamsError("x", problems)


def _area_params(area: dict) -> dict:
    return _sites_params("Leicester General Hospital") | {"area": area}


def test_unknown_icb_code_suggests_the_icb_holding_the_sites_first(pack):
    from eia.params import check_against_pack

    (problem,) = check_against_pack(_area_params({"icb": "E54000099"}), pack)
    hint = str(problem).split("did you mean ", 1)[1]
    assert hint.startswith(
        "E54000015 (NHS Leicester, Leicestershire and Rutland Integrated Care Board, "
        "where the proposal's sites are)"
    )


def test_unknown_local_authority_suggests_the_one_holding_the_sites_first(pack):
    from eia.params import check_against_pack

    (problem,) = check_against_pack(_area_params({"ltla": ["E06000099"]}), pack)
    assert str(problem).startswith("area.ltla[0]: unknown local authority code 'E06000099'")
    assert "did you mean E06000016 (Leicester, where the proposal's sites are)" in str(problem)


def test_unknown_lsoa_suggests_lsoas_beside_the_others_listed(pack):
    from eia.params import check_against_pack

    area = {"lsoa": ["E01099999", "E01013810"]}  # the second is Nottingham 018A
    (problem,) = check_against_pack(_area_params(area), pack)
    suggestions = str(problem).split("did you mean ", 1)[1].split("; ")
    assert all("Nottingham " in s and "in the proposal's local authority" in s for s in suggestions)


def test_in_an_area_lists_what_lies_there_and_names_are_taken_as_areas(refdata_dir, capsys):
    assert main(["lookup", "ltla", "--in", "E54000015"]) == 0
    codes = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"E06000016", "E06000017", "E07000129"} <= codes  # Leicester, Rutland, Blaby
    assert not any(c.startswith("W") for c in codes)
    assert main(["lookup", "hospital", "royal infirmary", "--near", "leicester"]) == 0
    captured = capsys.readouterr()
    assert "(--near taken as E54000015 NHS Leicester" in captured.err
    first = captured.out.splitlines()[1].split("  ", 1)[1]
    assert first.startswith(("Leicester Royal Infirmary", "Cuh At Leicester"))
    assert main(["lookup", "icb", "x", "--near", "nowhere at all"]) == 2


def test_an_unknown_code_is_said_to_be_unknown_before_the_closest(refdata_dir, capsys):
    assert main(["lookup", "icb", "E54000099"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("No icb has the code E54000099; the closest codes:")
    assert "E54000099" not in captured.out
    assert main(["lookup", "ltla", "E06000099"]) == 0
    assert not any(line.startswith("W") for line in capsys.readouterr().out.splitlines())
