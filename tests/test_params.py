"""The params schema: good files pass, bad files report every problem with its field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from eia import params
from eia.cli import main
from eia.errors import ParamsError

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


def test_ambiguous_hospital_names_ask_for_coordinates(pack):
    data = {
        **MINIMAL,
        "sites": {
            "current": [{"hospital": "Queen Elizabeth Hospital"}],
            "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
        },
    }
    found = [str(p) for p in params.check_against_pack(params.parse(data), pack)]
    assert any(
        "sites in the reference data are called 'Queen Elizabeth Hospital'" in p for p in found
    )


def test_params_reference_is_up_to_date():
    doc = (ROOT / "docs" / "params.md").read_text(encoding="utf-8")
    assert doc == params.schema_markdown(), (
        "regenerate docs/params.md from eia.params.schema_markdown()"
    )
