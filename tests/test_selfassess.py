"""Self-assessment: frameworks, validation (one line per problem) and hand-worked ratings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eia import params, selfassess
from eia.errors import ParamsError

ROOT = Path(__file__).resolve().parents[1]
EDS_OUTCOMES = ["1A", "1B", "1C", "1D", "2A", "2B", "2C", "2D", "3A", "3B", "3C"]


def eds(scores: dict[str, int], **extra) -> dict:
    """A minimal self-assessment params mapping for EDS 2022."""
    block = {
        "organisation": "Test trust",
        "period": "2024/25",
        "framework": "eds2022",
        "scores": [
            {"outcome": k, "score": v, "evidence": ["a document"]} for k, v in scores.items()
        ],
        **extra,
    }
    return {
        "id": "sa-test",
        "title": "Illustrative: test",
        "template": "self_assessment",
        "self_assessment": block,
    }


def write(tmp_path: Path, data: dict, name: str = "sa.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def result(tmp_path, scores, **extra):
    path = write(tmp_path, eds(scores, **extra))
    proposal = params.load(path, check_data=False)
    return selfassess.assess(proposal, path)


def all_at(score: int) -> dict[str, int]:
    return dict.fromkeys(EDS_OUTCOMES, score)


def test_eds2022_framework_has_published_structure():
    fw = selfassess.load_framework("eds2022")
    assert [d.id for d in fw.domains] == ["1", "2", "3"]
    assert fw.outcome_ids == EDS_OUTCOMES
    assert fw.scores == [0, 1, 2, 3]
    assert [lv.label for lv in fw.levels] == [
        "Undeveloped activity",
        "Developing activity",
        "Achieving activity",
        "Excelling activity",
    ]
    assert fw.max_total() == 33
    assert not fw.illustrative and "england.nhs.uk" in fw.source


def test_illustrative_matrix_is_labelled_illustrative():
    fw = selfassess.load_framework("race-maturity-illustrative")
    assert fw.illustrative and "illustrative" in fw.name.lower()


# Hand-worked overall ratings under the EDS 2022 bands: <8 Undeveloped, 8-21 Developing,
# 22-32 Achieving, 33 Excelling (sum of all 11 outcome scores).
@pytest.mark.parametrize(
    ("scores", "total", "rating", "note"),
    [
        (all_at(0), 0, "Undeveloped activity", ""),
        ({**all_at(0), "1A": 3, "1B": 3, "1C": 1}, 7, "Undeveloped activity", "one point more"),
        ({**all_at(0), "1A": 3, "1B": 3, "1C": 2}, 8, "Developing activity", "one point less"),
        (all_at(1), 11, "Developing activity", ""),
        ({**all_at(2), "3C": 1}, 21, "Developing activity", "one point more"),
        (all_at(2), 22, "Achieving activity", "one point less"),
        ({**all_at(3), "2B": 2}, 32, "Achieving activity", "one point more"),
        (all_at(3), 33, "Excelling activity", "one point less"),
    ],
)
def test_overall_rating_follows_published_bands(tmp_path, scores, total, rating, note):
    r = result(tmp_path, scores)
    assert r.overall["score"] == total
    assert r.overall["rating"] == rating
    assert note in r.overall["note"]
    if not note:
        assert r.overall["note"] == ""


def test_domain_ratings_pro_rata_hand_worked(tmp_path):
    # Domain 1 (4 outcomes, max 12): thresholds ceil(8*12/33)=3, ceil(22*12/33)=8, 12.
    # Domain 3 (3 outcomes, max 9): ceil(8*9/33)=3, ceil(22*9/33)=6, 9.
    scores = {"1A": 2, "1B": 2, "1C": 2, "1D": 1, "2A": 0, "2B": 0, "2C": 1, "2D": 1}
    scores |= {"3A": 2, "3B": 2, "3C": 2}
    r = result(tmp_path, scores)
    d = r.domains.set_index("domain_id")
    assert (d.loc["1", "score"], d.loc["1", "rating"]) == (7, "Developing activity")
    assert "one point more would rate it Achieving activity" in d.loc["1", "note"]
    assert (d.loc["2", "score"], d.loc["2", "rating"]) == (2, "Undeveloped activity")
    assert (d.loc["3", "score"], d.loc["3", "rating"]) == (6, "Achieving activity")
    assert d.loc["3", "band"] == "6–8"
    assert d.loc["1", "band"] == "3–7"
    assert r.overall["score"] == 15 and r.overall["rating"] == "Developing activity"


def test_unscored_outcome_withholds_overall_and_its_domain(tmp_path):
    scores = all_at(2)
    del scores["2C"]
    r = result(tmp_path, scores)
    assert r.overall["score"] is None and r.overall["rating"] == "Not rated"
    assert "2C" in r.overall["note"]
    d = r.domains.set_index("domain_id")
    assert d.loc["2", "rating"] == "Not rated" and d.loc["1", "rating"] == "Achieving activity"


def problems_of(tmp_path, data) -> list[str]:
    path = write(tmp_path, data)
    with pytest.raises(ParamsError) as info:
        params.load(path, check_data=False)
    return [str(p) for p in info.value.problems]


def test_validation_refuses_out_of_range_unknown_and_missing_evidence(tmp_path):
    data = eds({"1A": 4, "9Z": 1, "1B": 2})
    del data["self_assessment"]["scores"][2]["evidence"]
    lines = problems_of(tmp_path, data)
    # Structural problems first (pydantic), then framework problems: one line each.
    assert lines == ["self_assessment.scores[2].evidence: required field is missing"]
    data["self_assessment"]["scores"][2]["evidence"] = "minutes of the board"
    lines = problems_of(tmp_path, data)
    assert len(lines) == 2
    assert lines[0].startswith("self_assessment.scores[0].score: 4 is not a level of eds2022")
    assert "allowed: 0, 1, 2, 3" in lines[0]
    assert lines[1].startswith("self_assessment.scores[1].outcome: unknown outcome '9Z'")


def test_validation_refuses_blank_evidence_and_repeated_outcomes(tmp_path):
    data = eds({"1A": 1})
    data["self_assessment"]["scores"].append({"outcome": "1A", "score": 2, "evidence": []})
    lines = problems_of(tmp_path, data)
    assert len(lines) == 1 and lines[0].startswith("self_assessment.scores[1].evidence")
    data["self_assessment"]["scores"][1]["evidence"] = ["x"]
    lines = problems_of(tmp_path, data)
    assert lines == ["self_assessment.scores[1].outcome: outcome 1A is scored twice"]


def test_unknown_framework_and_action_outcome(tmp_path):
    data = eds({"1A": 1}, framework="eds2099")
    lines = problems_of(tmp_path, data)
    assert len(lines) == 1 and "unknown framework 'eds2099'" in lines[0]
    data = eds({"1A": 1}, actions=[{"action": "x", "owner": "y", "outcomes": ["1A", "4Q"]}])
    assert problems_of(tmp_path, data) == [
        "self_assessment.actions[0].outcomes[1]: unknown outcome '4Q' in eds2022"
    ]


def test_template_and_block_must_agree(tmp_path):
    data = eds({"1A": 1})
    del data["self_assessment"]
    assert any("needs a self_assessment block" in x for x in problems_of(tmp_path, data))


def test_custom_framework_in_params(tmp_path):
    framework = {
        "id": "local",
        "name": "Local matrix",
        "source": "Our board, 2025",
        "levels": [{"score": 1, "label": "Low"}, {"score": 2, "label": "High"}],
        "domains": [
            {"id": "A", "name": "Alpha", "outcomes": [{"id": "A1", "text": "x"}]},
            {"id": "B", "name": "Beta", "outcomes": [{"id": "B1", "text": "y"}]},
        ],
        "rating": {"overall": [{"min": 0, "label": "Low"}, {"min": 4, "label": "High"}]},
    }
    data = eds({"A1": 2, "B1": 2}, framework=framework)
    path = write(tmp_path, data)
    r = selfassess.assess(params.load(path, check_data=False), path)
    assert r.overall["rating"] == "High" and r.overall["score"] == 4
    assert list(r.domains["rating"]) == ["High", "High"]  # pro rata: ceil(4 * 2/4) = 2
    broken = {**framework, "levels": [{"score": 1, "label": "only"}]}
    lines = problems_of(tmp_path, eds({"A1": 1}, framework=broken))
    assert lines and all(x.startswith("self_assessment.framework") for x in lines)


def test_change_since_previous(tmp_path):
    before = eds(all_at(1))
    before["id"] = "sa-before"
    before["self_assessment"]["period"] = "2023/24"
    write(tmp_path, before, "before.yaml")
    r = result(tmp_path, {**all_at(1), "1A": 3, "2B": 0}, previous="before.yaml")
    c = r.change.set_index("id")
    assert c.loc["1A", "change"] == "improved" and c.loc["2B", "change"] == "declined"
    assert c.loc["3A", "change"] == "no change"
    assert (c.loc["overall", "before"], c.loc["overall", "now"]) == (11, 12)
    m = selfassess.metrics(r)["self_assessment"]
    assert m["previous"]["period"] == "2023/24" and m["overall"]["score"] == 12


def test_previous_must_exist_and_share_framework(tmp_path):
    data = eds(all_at(1), previous="missing.yaml")
    assert problems_of(tmp_path, data) == [
        "self_assessment.previous: missing.yaml does not exist (relative to the params file)"
    ]
    other = eds({"D1": 2}, framework="race-maturity-illustrative")
    other["id"] = "sa-other"
    write(tmp_path, other, "other.yaml")
    lines = problems_of(tmp_path, eds(all_at(1), previous="other.yaml"))
    assert lines == [
        "self_assessment.previous: other.yaml uses framework race-maturity-illustrative, not eds2022"
    ]


def test_heat_table_states_levels_in_words(tmp_path):
    r = result(tmp_path, {**all_at(2), "1B": 0})
    markup = selfassess.heat_table(r).markup
    assert "0 – Undeveloped activity" in markup and "2 – Achieving activity" in markup
    assert "<caption>" in markup and 'scope="row"' in markup
    assert "Overall" in markup and "20 of 33 – Developing activity" in markup


def test_example_is_valid_and_illustrative():
    path = ROOT / "params" / "examples" / "notts-eds2022-self-assessment.yaml"
    proposal = params.load(path, check_data=False)
    r = selfassess.assess(proposal, path)
    assert proposal.title.startswith("Illustrative")
    assert r.overall["score"] == 17 and r.change is not None


def test_example_runs_end_to_end(example_runs):
    import json
    import re

    out = example_runs["notts-eds2022-self-assessment"]
    html = out.report.read_text(encoding="utf-8")
    metrics = json.loads(out.metrics.read_text(encoding="utf-8"))
    sa = metrics["self_assessment"]
    assert sa["overall"] == {
        "score": 17,
        "max": 33,
        "rating": "Developing activity",
        "band": "8–21",
        "note": "",
        "scored": 11,
        "outcomes": 11,
    }
    assert [d["rating"] for d in sa["domains"]] == ["Developing activity"] * 3
    assert sa["previous"]["overall"]["score"] == 12
    assert metrics["provenance"]["proposal id"] == "notts-eds2022-self-assessment"
    headings = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]
    assert headings[:3] == ["Executive summary", "Scores by outcome", "Domain and overall ratings"]
    assert "Overall rating: Developing activity — a total of 17 out of 33" in html
    assert "from eia import" not in html and "<script" not in html.lower()
