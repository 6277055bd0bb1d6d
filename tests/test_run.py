"""End to end: each example runs through Papermill to the three outputs, and the HTML is fit for a board."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from eia.runner.cli import main

ROOT = Path(__file__).resolve().parents[1]
# Impact assessments; self-assessments (template self_assessment) are tested in test_selfassess.py.
EXAMPLES = [
    e
    for e in sorted((ROOT / "params" / "examples").glob("*.yaml"))
    if yaml.safe_load(e.read_text())["template"] != "self_assessment"
]
PLACEHOLDER_ALT = "No description has been provided for this image"


def html_text(markup: str) -> str:
    """A page's text with tags dropped and entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[dict] = []
        self.urls: list[str] = []
        self.h1: list[str] = []
        self.title = ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.imgs.append(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.urls.append(attrs[key])
        self._in = tag

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        if self._in == "h1":
            self.h1.append(data)

    def handle_endtag(self, tag):
        self._in = None


@pytest.fixture
def results(example_runs):
    """Every example's RunResult, from the session's one batch (tests/conftest.py)."""
    return example_runs


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_produces_three_outputs(results, example):
    """report.html is a whole page, the notebook ran every cell without an error, and
    metrics.json is the proposal's."""
    result = results[example.stem]
    proposal = yaml.safe_load(example.read_text())
    html = result.report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "</html>" in html
    notebook = nbformat.read(result.notebook, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    assert code and all(c.execution_count for c in code), "every code cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    metrics = json.loads(result.metrics.read_text(encoding="utf-8"))
    assert metrics["title"] == proposal["title"]
    assert metrics["provenance"]["proposal id"] == proposal["id"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_report_html_has_no_code_and_embedded_described_figures(results, example):
    html = results[example.stem].report.read_text(encoding="utf-8")
    scan = _Scan()
    scan.feed(html)
    title = yaml.safe_load(example.read_text())["title"]
    assert scan.title.strip() == title
    assert len(scan.h1) == 1
    assert "from eia import" not in html and "sections." not in html
    assert "Traceback" not in html and "jp-InputArea-editor" not in html
    assert scan.imgs, "a report without figures"
    for img in scan.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        assert img.get("alt") and img["alt"] != PLACEHOLDER_ALT
    external = [u for u in scan.urls if re.match(r"^(https?:)?//", u)]
    assert external == []
    assert "<script" not in html.lower()


def test_nottingham_metrics_match_the_reference_data(results, pack):
    metrics = json.loads(results["notts-diagnostics-consolidation"].metrics.read_text())
    assert metrics["area"]["lsoa_count"] == 684
    imd = pack.imd2025()
    notts = set(pack.lookup().query("icb24_code == 'E54000060'")["lsoa21_code"])
    expected = (imd[imd["lsoa21_code"].isin(notts)]["IMD_decile"] == 1).mean()
    assert metrics["area"]["share_lsoas_imd_decile1"] == pytest.approx(expected, abs=1e-6)
    assert metrics["area"]["population"] == int(pack.population().loc[sorted(notts)].sum())
    keys = {
        "group",
        "population",
        "mean_km_before",
        "mean_km_after",
        "pop_beyond_threshold_before",
        "pop_beyond_threshold_after",
    }
    for table in ("by_imd_quintile", "by_ethnic_group"):
        rows = metrics["access"][table]
        assert rows and keys <= set(rows[0])
    assert metrics["provenance"]["proposal id"] == "notts-diagnostics-consolidation"


def test_options_appraisal_ranks_options_and_agrees_with_the_report(results):
    metrics = json.loads(results["notts-diagnostics-consolidation"].metrics.read_text())
    options = {o["name"]: o for o in metrics["options"]}
    assert set(options) == {"Option A: close King's Mill", "Option B: close City Hospital"}
    for option in options.values():
        assert {"name", "rank", "dominated_by", "criteria"} <= set(option)
        assert all(c["unit"] for c in option["criteria"])
        # never rank a dominated option first
        if option["rank"] == 1:
            assert option["dominated_by"] == []
    assert isinstance(metrics["robustness"]["holds"], bool)
    assert metrics["robustness"]["variations_tried"]
    assert metrics["warnings"] == []
    html = results["notts-diagnostics-consolidation"].report.read_text()
    first = next(o["name"] for o in metrics["options"] if o["rank"] == 1)
    assert metrics["findings"]["named_option"] == first
    assert f"Favoured: {first}." in html_text(html)  # the decision card names the same option
    assert metrics["robustness"]["holds"] is metrics["findings"]["robustness"]["holds"]


@pytest.mark.slow
def test_another_icb_runs_end_to_end(refdata_dir, tmp_path):
    params = tmp_path / "bsol.yaml"
    params.write_text(
        "id: bsol-test\n"
        "title: 'Illustrative: Birmingham test, not a real proposal'\n"
        "template: site_change\n"
        "area: {icb: E54000055}\n"
        "sites:\n"
        "  current: [{hospital: 'Queen Elizabeth Hospital Birmingham'}]\n"
        "  proposed: [{name: Hub, lat: 52.48, lon: -1.90}]\n"
    )
    assert main(["run", str(params), "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "bsol-test" / "metrics.json").read_text())
    assert metrics["area"]["lsoa_count"] > 500
    assert metrics["access"]["by_imd_quintile"][0]["group"] == "Q1 (most deprived)"


SECTIONS = [
    "Executive summary",
    None,  # "The proposal and options" or, for an audit, "The service"
    None,  # "The population and current users" or, for an audit, "... and the service now"
    "Impacts by group",
    "Options comparison",
    "Mitigations and action plan",
    "Data quality and limitations",
    "How the ratings work",
    "Methods, sources and attribution",
    "Provenance",
    "Sign-off",
]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_report_has_every_section_in_order(results, example):
    html = results[example.stem].report.read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html, flags=re.S)
    headings = [re.sub(r"<[^>]+>", "", h).strip() for h in headings]
    explores = "explore" in yaml.safe_load(example.read_text())
    assert ("Alternatives considered" in headings) == explores  # only with an explore: block
    headings = [h for h in headings if h != "Alternatives considered"]
    assert len(headings) == len(SECTIONS), headings
    for expected, found in zip(SECTIONS, headings, strict=True):
        if expected:
            assert found == expected
    assert headings[1] in {"The proposal and options", "The service"}
    assert headings[2] in {"The population and current users", "The population and the service now"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_ratings_cover_every_quintile_core20_and_ethnic_group(results, example):
    metrics = json.loads(results[example.stem].metrics.read_text())
    rows = metrics["impacts"]
    first = rows[0]["option"]
    rated = {(r["dimension"], r["group"]) for r in rows if r["option"] == first}
    # A service change rates only the groups its effects touch; the rest are "not assessed",
    # listed once (issue 25): together they still cover every group.
    rated |= {(r["dimension"], r["group"]) for r in metrics.get("not_assessed", [])}
    quintiles = {g for d, g in rated if d == "imd_quintile"}
    assert len(quintiles) == 5
    assert {g for d, g in rated if d == "core20"} == {
        "Core20 (IMD deciles 1-2)",
        "Rest of area (deciles 3-10)",
    }
    assert len({g for d, g in rated if d == "ethnic_group"}) == 5
    for r in rows:
        assert r["rating"] in {"positive", "neutral", "negative"}
        assert "sentence" not in r  # numbers and codes: the report words them


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_synthetic_service_data_is_labelled_and_shown_with_intervals(results, example):
    html = results[example.stem].report.read_text(encoding="utf-8")
    metrics = json.loads(results[example.stem].metrics.read_text())
    assert "is synthetic" in html
    uptake = metrics["uptake"]
    assert uptake["synthetic"] is True
    for table in ("by_imd_quintile", "by_ethnic_group"):
        for row in uptake[table]:
            if row["rate"] is not None:
                assert row["lower"] <= row["rate"] <= row["upper"]
    assert "Disclosure control" in html
    assert metrics["data_quality"]["records_read"] > 0


@pytest.mark.slow  # the kernel starts, and reports the bad input
def test_bad_service_extract_is_a_user_error_and_publishes_nothing(refdata_dir, tmp_path, capsys):
    (tmp_path / "data.csv").write_text("lsoa_code,other\nE01013810,3\n")
    params = tmp_path / "p.yaml"
    params.write_text(
        "id: bad-service\ntitle: 'Illustrative: bad extract'\ntemplate: equity_audit\n"
        "area: {icb: E54000060}\nservice: {path: data.csv, columns: {lsoa: lsoa_code, count: n}}\n"
    )
    assert main(["run", str(params), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "mapped column(s) not found: count: 'n'" in err and "Columns found" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "bad-service" / "report.html").exists()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_ethnicity_by_deprivation_is_in_metrics_and_report(results, example):
    """Area-based populations by ethnic group × IMD quintile add up both ways (issue 16)."""
    metrics = json.loads(results[example.stem].metrics.read_text())
    html = results[example.stem].report.read_text(encoding="utf-8")
    area = metrics["area"]
    rows = area["by_ethnic_group_imd_quintile"]
    assert len(rows) == 25
    for group in area["by_ethnic_group"]:
        total = sum(r["population"] for r in rows if r["ethnic_group"] == group["group"])
        assert total == pytest.approx(group["population"], abs=1e-3)
    for quint, q in zip(area["by_imd_quintile"], range(1, 6), strict=True):
        total = sum(r["population"] for r in rows if r["imd_quintile"] == q)
        assert total == pytest.approx(quint["population"], abs=1e-3)
    assert "Ethnicity and deprivation together" in html
    concentration = metrics["findings"]["ethnicity_deprivation"]["concentration"]
    assert concentration["code"] in ("most_concentrated", "no_core20")
    assert 0 < area["language"]["share"] < 1
    assert "Proficiency in English" in html
    if "access" in metrics:
        assert len(metrics["access"]["burden_by_ethnic_group_core20"]) == 10
    if "uptake" in metrics and metrics["uptake"].get("by_ethnic_group"):
        assert len(metrics["uptake"]["by_ethnic_group_imd_quintile"]) == 35


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_detailed_ethnic_codes_add_up_to_the_broad_groups(results, example):
    metrics = json.loads(results[example.stem].metrics.read_text())
    rows = metrics.get("uptake", {}).get("by_ethnic_code")
    if not rows:
        pytest.skip(f"{example.stem} publishes no detailed ethnic codes")
    html = results[example.stem].report.read_text(encoding="utf-8")
    assert "Detailed ethnic groups" in html and "only counts and shares" in html.lower()
    for broad in metrics["uptake"]["by_ethnic_group"]:
        parts = [r for r in rows if r["broad_group"] == broad["group"]]
        if broad["count"] is not None and all(r["count"] is not None for r in parts):
            assert sum(r["count"] for r in parts) == pytest.approx(broad["count"], abs=0.01)
        if broad["count"] is None:
            # A withheld broad count is never the sum of published detailed counts.
            assert any(r["count"] is None for r in parts if r["broad_group"] == broad["group"])
