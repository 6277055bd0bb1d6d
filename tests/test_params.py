"""The params schema: good files pass, bad files report every problem with its field path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eia import params
from eia.errors import ParamsError
from eia.runner.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "params" / "examples").glob("*.yaml"))
BAD = Path(__file__).parent / "fixtures" / "params" / "bad-many-problems.yaml"

MINIMAL = {
    "id": "tiny-hub",
    "title": "Illustrative hub",
    "template": "site_change",
    "area": {"icb": "E54000060"},
    "sites": {
        "current": [{"hospital": "King's Mill Hospital"}],
        "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
    },
}


def problems_of(data) -> list[str]:
    with pytest.raises(ParamsError) as err:
        params.parse(data)
    return [str(p) for p in err.value.problems]


def test_minimal_proposal_gets_documented_defaults():
    p = params.parse(MINIMAL)
    assert p.thresholds.distance_km == 5.0
    assert p.thresholds.disproportionate_ratio == 1.2
    assert p.disclosure.min_count == 5
    assert list(p.scenarios()) == ["Proposed"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "Bad Id"}, "id: 'Bad Id' is not a slug"),
        ({"id": "../../etc"}, "id: '../../etc' is not a slug"),
        ({"template": "magic"}, "template: 'magic' is not allowed"),
        (
            {"area": {"icb": "E54000060", "ltla": ["E06000018"]}},
            "area: give exactly one of icb, ltla or lsoa",
        ),
        ({"area": {"ltla": ["X1"]}}, "area.ltla[0]: 'X1' is not a local authority district code"),
        ({"unknown_key": 1}, "unknown_key: unknown key; allowed: id, title, template"),
        (
            {"sites": {"current": [{"name": "No place"}], "proposed": []}},
            "sites.current[0]: a site needs hospital",
        ),
        (
            {"thresholds": {"distance_km": 0}},
            "thresholds.distance_km: Input should be greater than 0",
        ),
    ],
)
def test_structural_problems_name_the_field(change, expected):
    data = {**MINIMAL, **change}
    assert any(expected in p for p in problems_of(data)), problems_of(data)


def test_every_problem_is_reported_at_once():
    data = {**MINIMAL, "id": "Bad Id", "template": "nope", "extra": True}
    assert len(problems_of(data)) == 3


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("id: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.read_yaml(evil)


def test_checks_against_reference_data(pack):
    with pytest.raises(ParamsError) as err:
        params.load(BAD, pack)
    text = str(err.value)
    assert "id: 'Not A Slug' is not a slug" in text
    assert "colour: unknown key" in text
    assert "thresholds.distance_km" in text


def test_data_problems_suggest_close_matches(pack):
    data = {
        **MINIMAL,
        "area": {"icb": "E54000099"},
        "sites": {
            "current": [
                {"hospital": "Kings Mill Hospitl"},
                {"name": "Paris", "lat": 48.85, "lon": 2.35},
            ],
            "proposed": [
                {"name": "Hub", "lat": 53.0, "lon": -1.2},
                {"name": "Hub", "lat": 53.1, "lon": -1.1},
            ],
        },
    }
    found = [str(p) for p in params.check_against_pack(params.parse(data), pack)]
    assert any(p.startswith("area.icb: unknown ICB code 'E54000099'") for p in found)
    assert any("sites.current[0].hospital" in p and "King's Mill Hospital" in p for p in found)
    assert any(p.startswith("sites.current[1]") and "outside England" in p for p in found)
    assert any(p.startswith("sites.proposed[1].name: duplicate site name 'Hub'") for p in found)


def test_cli_validate_prints_one_line_per_problem_and_exits_2(pack, capsys):
    assert main(["validate", str(BAD)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("  ")]
    assert len(lines) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_examples_are_valid_and_illustrative(example, pack):
    proposal = params.load(example, pack)
    assert proposal.title.startswith("Illustrative")
    assert "not a real proposal" in example.read_text().lower()


def test_ambiguous_hospital_names_list_the_sites_with_their_codes(pack):
    data = {
        **MINIMAL,
        "sites": {
            "current": [{"hospital": "Queen Elizabeth Hospital"}],
            "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
        },
    }
    found = [str(p) for p in params.check_against_pack(params.parse(data), pack)]
    assert any(
        "sites in the reference data are called 'Queen Elizabeth Hospital'" in p
        and "give the one you mean as `hospital: CODE`" in p
        for p in found
    )


def test_params_reference_is_up_to_date():
    doc = (ROOT / "docs" / "params.md").read_text(encoding="utf-8")
    assert doc == params.schema_markdown(), (
        "regenerate docs/params.md from eia.params.schema_markdown()"
    )


def _problems(data: dict, pack) -> list[str]:
    """Every problem ``params.load`` reports for ``data``, as printed (one line each)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        try:
            params.load(path, pack)
        except ParamsError as exc:
            return [str(p) for p in exc.problems]
    return []


SITES = {
    "current": [{"hospital": "Leicester Royal Infirmary"}, {"hospital": "Glenfield Hospital"}],
    "proposed": [{"hospital": "Glenfield Hospital"}],
}


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ({"icb": "qk1"}, []),  # NHS codes in any case
        ({"ltla": "e06000016"}, []),  # one code without a list, any case
        ({"icb": "E5400015"}, ["area.icb: unknown ICB code 'E5400015'; did you mean E54000015"]),
        ({"icb": "Leicester"}, ["area.icb: unknown ICB code 'Leicester'; did you mean E54000015"]),
        ({"ltla": ["E0600016"]}, ["area.ltla[0]: unknown local authority code 'E0600016'"]),
    ],
)
def test_an_area_mistake_is_one_line_that_suggests_the_fix(area, expected, pack):
    found = _problems({**MINIMAL, "area": area, "sites": SITES}, pack)
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start)


@pytest.mark.parametrize("written", ["30-06-2027", "30 June 2027", "30/6/27", "June"])
def test_dates_in_other_forms_say_which_forms_are_accepted(written, pack):
    data = {**MINIMAL, "mitigations": [{"action": "x", "owner": "y", "due": written}]}
    (line,) = _problems(data, pack)
    assert line == (
        f"mitigations[0].due: {written!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY, "
        "e.g. 2027-06-30 or 30/06/2027"
    )


def test_unknown_keys_and_values_suggest_the_near_one(pack):
    (line,) = _problems({**MINIMAL, "threshold": {"distance_km": 5}}, pack)
    assert line.startswith("threshold: unknown key; did you mean thresholds?; allowed: id,")
    assert "template_file" not in line  # eia sets it; users never write it
    (line,) = _problems({**MINIMAL, "template": "site-change"}, pack)
    assert "did you mean 'site_change'?" in line and "./name.ipynb" in line
    (line,) = _problems({**MINIMAL, "thresholds": {"distance_km": "5km"}}, pack)
    assert line == (
        "thresholds.distance_km: '5km' is not a number: write the number alone, without quotes "
        "or units, e.g. distance_km: 5"
    )


def test_validate_names_the_area_and_warns_when_no_site_is_in_it(pack, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({**MINIMAL, "area": {"icb": "E54000015"}, "sites": SITES}))
    assert main(["validate", str(good)]) == 0
    assert "area E54000015 NHS Leicester, Leicestershire and Rutland" in capsys.readouterr().out
    wrong = tmp_path / "wrong.yaml"  # a real ICB, but not the sites' one
    wrong.write_text(yaml.safe_dump({**MINIMAL, "area": {"icb": "E54000051"}, "sites": SITES}))
    assert main(["validate", str(wrong)]) == 0
    err = capsys.readouterr().err
    assert "No current site is in the area: is the ICB code right? E54000051 is NHS " in err
    assert "the current sites are in E54000015 (NHS Leicester" in err
