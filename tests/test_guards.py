"""Input guards, and the issue's two cases: a superset option and a far-away site."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from eia import assessment, params
from eia.analysis import appraisal, guards
from eia.refdata import WGS84
from eia.report.sections.options import criterion_label
from eia.runner.cli import main
from eia.service import synth

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = sorted((ROOT / "params" / "examples").glob("*.yaml"))
SUPERSET = FIXTURES / "params" / "leicester-maternity-superset.yaml"
FAR_SITE = FIXTURES / "params" / "leicester-far-site.yaml"
QMC = "Nottingham University Hospitals NHS Trust - Queen's Medical Centre Campus"
CITY = "Nottingham University Hospitals NHS Trust - City Campus"


@pytest.fixture(scope="module")
def superset(pack):
    return assessment.assess(params.load(SUPERSET, pack), SUPERSET, pack)


@pytest.fixture(scope="module")
def far_site(pack):
    return assessment.assess(params.load(FAR_SITE, pack), FAR_SITE, pack)


def test_an_option_keeping_a_superset_of_sites_ranks_first(superset):
    ap = superset.appraisal
    ranks = dict(zip(ap.options["option"], ap.options["rank"], strict=True))
    a, b = "Option A: Royal Infirmary only", "Option B: Royal Infirmary and Melton Mowbray"
    assert ranks[b] == 1 and ranks[a] == 2
    assert ap.best == [b]
    # nobody is further under B than under A: B adds less for every group compared
    head = ap.head_to_head()
    outcomes = head[head["measure"].isin(appraisal.OUTCOME_MEASURES)]
    assert set(outcomes["better_option"].dropna()) == {b}
    assert ap.robustness.tried == 16
    assert superset.warnings == []
    metrics = assessment.metrics(superset)
    assert [o["name"] for o in metrics["options"]] == [b, a]
    assert [o["rank"] for o in metrics["options"]] == [1, 2]
    assert metrics["options"][0]["dominated_by"] == []
    assert metrics["robustness"]["holds"] is ap.robustness.holds


def test_a_far_away_site_is_warned_about_by_name_and_distance(far_site):
    [warning] = far_site.warnings
    assert warning.kind == "far_site"
    assert warning.where == "options[1].proposed[1]"
    assert warning.figures["site"] == "Leicester General Hospital"
    assert round(warning.figures["km"]) == 103 and warning.figures["limit"] == 20
    metrics = assessment.metrics(far_site)
    [record] = metrics["warnings"]  # codes and figures, no words
    assert record == pytest.approx(warning.as_dict())
    assert guards.Warning.from_dict(record).kind == "far_site"
    # the flipped site serves nobody, so both options do the same: they tie, and say so
    assert far_site.appraisal.best == [
        "Option A: Royal Infirmary only",
        "Option B: move Glenfield to the General",
    ]
    assert far_site.appraisal.head_to_head()["better_option"].isna().all()  # equal throughout


def test_validate_warns_and_strict_makes_it_an_error(refdata_dir, capsys):
    assert main(["validate", str(FAR_SITE), str(SUPERSET)]) == 0
    captured = capsys.readouterr()
    assert "1 warning" in captured.out
    assert "warning: Site 'Leicester General Hospital'" in captured.err
    assert main(["validate", "--strict", str(SUPERSET)]) == 0
    capsys.readouterr()
    assert main(["validate", "--strict", str(FAR_SITE)]) == 2
    captured = capsys.readouterr()
    assert "options[1].proposed[1]: warning (an error with --strict)" in captured.err


def test_run_strict_stops_before_running(refdata_dir, tmp_path, capsys):
    assert main(["run", "--strict", str(FAR_SITE), "--out", str(tmp_path)]) == 2
    assert "Leicester General Hospital" in capsys.readouterr().err
    assert not (tmp_path / "leicester-far-site").exists()


def test_batch_strict_marks_the_proposal_invalid(refdata_dir, tmp_path):
    from eia.runner.batch import INVALID, run_batch

    result = run_batch([FAR_SITE], tmp_path, jobs=1, progress=False, strict=True)
    [item] = result.items
    assert item.status == INVALID
    assert "Leicester General Hospital" in item.error
    assert result.exit_code != 0


def _notts(pack, options: list[dict]) -> params.Proposal:
    return params.parse(
        {
            "id": "guards-test",
            "title": "Illustrative: guards test",
            "template": "site_change",
            "area": {"icb": "E54000060"},
            "sites": {
                "current": [
                    {"hospital": QMC},
                    {"hospital": CITY},
                    {"hospital": "King's Mill Hospital"},
                ]
            },
            "options": options,
        }
    )


def test_options_that_change_nothing_repeat_or_affect_nobody_are_warned_about(pack):
    kings_mill = (
        pack.hospitals().set_index("hospital22_name").to_crs(WGS84).geometry["King's Mill Hospital"]
    )
    now = [{"hospital": QMC}, {"hospital": CITY}, {"hospital": "King's Mill Hospital"}]
    nudge = now[:2] + [
        {"name": "King's Mill annexe", "lat": kings_mill.y + 0.0005, "lon": kings_mill.x}
    ]
    proposal = _notts(
        pack,
        [
            {"name": "Same", "proposed": list(reversed(now))},
            {"name": "Close King's Mill", "proposed": now[:2]},
            {"name": "Close King's Mill again", "proposed": now[:2]},
            {"name": "Nudge", "proposed": nudge},
        ],
    )
    found = {(w.kind, w.where) for w in guards.check_proposal(proposal, pack)}
    assert found == {
        ("same_as_current", "options[0].proposed"),
        ("identical_options", "options[2].proposed"),
        ("affects_nobody", "options[3].proposed"),
    }
    figures = {w.kind: w.figures for w in guards.check_proposal(proposal, pack)}
    assert figures["identical_options"] == {
        "option": "Close King's Mill again",
        "same_as": "Close King's Mill",
    }
    assert figures["affects_nobody"]["option"] == "Nudge"


def test_examples_raise_no_warnings_and_never_rank_a_dominated_option_first(
    pack, example_assessment
):
    for example in EXAMPLES:
        proposal = params.load(example, pack)
        assert guards.check_proposal(proposal, pack) == [], example.name
        if not proposal.options:
            continue
        if proposal.service is not None and proposal.service.generate is not None:
            synth.ensure(proposal, example.parent, pack)  # as `eia run` does on a fresh clone
        a = example_assessment(example.stem)
        first = a.appraisal.options[a.appraisal.options["rank"] == 1]
        assert all(not d for d in first["dominated_by"]), example.name
        assert len(a.appraisal.head_to_head()) and a.appraisal.robustness.tried, example.name


@pytest.mark.slow
def test_the_superset_report_states_the_judgement_and_agrees_with_metrics(refdata_dir, tmp_path):
    import html as html_mod

    from eia.runner.run import run

    result = run(SUPERSET, tmp_path)
    metrics = json.loads(result.metrics.read_text())
    text = html_mod.unescape(result.report.read_text())
    first = metrics["options"][0]
    assert first["rank"] == 1
    found = metrics["findings"]
    assert found["named_option"] == first["name"]
    assert f'data-named="{first["name"]}"' in text, "the decision card names the option"
    for entry in found["dominance"]:  # every dominance is said in the decision card
        for other in entry["dominates"]:
            assert re.search(
                rf'data-dominates="{re.escape(entry["option"])}"[^>]*data-over="[^"]*{re.escape(other)}',
                text,
            )
    # the criteria table shows every option's rank and criteria as metrics has them (the
    # flags as the findings count them)
    ap = SimpleNamespace(
        unit=metrics["appraisal"]["unit"], far=metrics["appraisal"]["far_threshold"]
    )
    for option in metrics["options"]:
        assert option["name"] in text
        for criterion in option["criteria"]:
            if criterion["measure"] == "flags":
                continue
            assert criterion_label(ap, criterion["measure"], criterion["group"]) in text
            assert f"{round(criterion['value']):,}" in text


def test_the_options_section_shows_what_metrics_holds(superset):
    from eia.report import sections, show

    block = sections.options(superset)
    m = assessment.metrics(superset)
    tables = [p for p in block.parts if isinstance(p, show.Table)]
    crit = tables[0].frame.set_index("Criterion")
    for option in m["options"]:
        assert crit.loc["Rank (1 = least adverse)", option["name"]] == str(option["rank"])
        assert crit.loc["Dominated by (on group outcomes)", option["name"]] == (
            ", ".join(option["dominated_by"]) or "none"
        )
        flags = crit[crit.index.str.startswith("Disproportionate flags")][option["name"]]
        counts = m["findings"]["flag_counts"][option["name"]]
        assert [int(v) for v in flags] == [counts["protected"], counts["other"]]
        for c in option["criteria"]:
            if c["measure"] == "flags":  # shown as the findings count them, above
                continue
            label = criterion_label(superset.appraisal, c["measure"], c["group"])
            assert crit.loc[label, option["name"]] == show.fmt_int(c["value"])
            assert crit.loc[label, "Unit"] == c["unit"]
    for entry in m["findings"]["dominance"]:  # the section opens with each dominance
        for other in entry["dominates"]:
            assert show.esc(entry["option"]) in block.markup and show.esc(other) in block.markup
    robust = tables[1].frame
    assert len(robust) == len(m["robustness"]["variations_tried"])
    assert set(robust["Ranking"]) == (
        {"holds"} if m["robustness"]["holds"] else {"holds", "changes"}
    )
