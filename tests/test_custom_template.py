"""Custom templates: a copy made with `eia template new`, changed by an analyst, runs like a built-in."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
import yaml

from eia.errors import ParamsError
from eia.params import load
from eia.runner import template
from eia.runner.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
CAPTION = "Access by ethnic group within IMD quintile 1 (custom cell)"
CUSTOM_CELL = f"""# Access by ethnic group for residents of the most deprived fifth only
q1 = a.area.lsoas.loc[a.area.lsoas["imd_quintile"] == 1, "lsoa21_code"]
q1_access = access.summarise(
    a.access.distances[a.primary], a.area.weights["ethnic_group"], a.threshold_km, within=q1
)
sections.access_table(a, q1_access, "{CAPTION}")"""


def _custom_project(folder: Path, capsys) -> Path:
    assert main(["template", "new", "custom", "--from", "site_change", "--dir", str(folder)]) == 0
    assert "custom.ipynb" in capsys.readouterr().out
    path = folder / "custom.ipynb"
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if template.shared_name(c) == "mitigations-heading")
    nb.cells.insert(at, nbformat.v4.new_code_cell(CUSTOM_CELL))
    nbformat.write(nb, path)
    params = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    params.pop("service")  # keep the run small: no synthetic extract to generate
    params |= {"id": "custom-q1", "template": "./custom.ipynb"}
    target = folder / "custom.yaml"
    target.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return target


def test_new_copies_a_builtin_with_its_parameters_cell(tmp_path, capsys):
    assert main(["template", "new", "mine", "--dir", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / "mine.ipynb", as_version=4)
    assert nb.metadata["eia"]["template"] == "site_change"
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert template.check_notebook(tmp_path / "mine.ipynb") == []
    assert main(["template", "list", "--dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "./mine.ipynb" in listed and "site_change" in listed
    with pytest.raises(ParamsError, match="already exists"):
        template.new("mine", folder=tmp_path)


def test_template_path_is_relative_to_the_params_file(tmp_path, pack, capsys, monkeypatch):
    params = _custom_project(tmp_path, capsys)
    monkeypatch.setenv(template.TRUST_ENV, str(tmp_path))  # a custom template is code: trusted
    proposal = load(params, pack)
    assert proposal.template == "site_change"
    assert Path(proposal.template_file) == (tmp_path / "custom.ipynb").resolve()
    bad = tmp_path / "bad.yaml"
    bad.write_text(params.read_text().replace("./custom.ipynb", "./missing.ipynb"))
    with pytest.raises(ParamsError, match="template: template notebook .*missing.ipynb not found"):
        load(bad, pack)
    plain = tmp_path / "plain.ipynb"
    nb = nbformat.v4.new_notebook()
    nbformat.write(nb, plain)
    bad.write_text(params.read_text().replace("./custom.ipynb", "./plain.ipynb"))
    with pytest.raises(ParamsError, match="does not say which built-in"):
        load(bad, pack)


@pytest.mark.slow
def test_custom_template_runs_through_run_and_batch(tmp_path, refdata_dir, capsys, monkeypatch):
    params = _custom_project(tmp_path, capsys)
    out = tmp_path / "out"
    monkeypatch.setenv(template.TRUST_ENV, "")  # restored after the test
    assert main(["run", str(params), "--out", str(out)]) == 2  # not trusted: refused
    assert "a template is code" in capsys.readouterr().err
    assert not (out / "custom-q1").exists()
    trusted = ["--trust-template", str(tmp_path / "custom.ipynb")]
    assert main(["run", str(params), "--out", str(out), *trusted]) == 0
    html = (out / "custom-q1" / "report.html").read_text(encoding="utf-8")
    assert CAPTION in html
    assert "Q1 (most deprived)" in html
    assert "made with the custom notebook custom.ipynb" in html  # the report says which notebook
    metrics = json.loads((out / "custom-q1" / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["template"], metrics["template_notebook"]) == ("site_change", "custom.ipynb")
    digest = hashlib.sha256((tmp_path / "custom.ipynb").read_bytes()).hexdigest()
    assert metrics["provenance"]["template sha256"] == digest  # which version of the notebook ran

    out2 = tmp_path / "batch"
    assert main(["batch", str(params), "--out", str(out2), "--no-progress", *trusted]) == 0
    assert CAPTION in (out2 / "custom-q1" / "report.html").read_text(encoding="utf-8")
    index = (out2 / "index.html").read_text(encoding="utf-8")
    assert "custom-q1" in index and "custom.ipynb (custom site_change)" in index


@pytest.mark.slow
def test_a_failing_custom_template_names_its_cell(tmp_path, refdata_dir, capsys, monkeypatch):
    params = _custom_project(tmp_path, capsys)
    monkeypatch.setenv(template.TRUST_ENV, str(tmp_path))
    path = tmp_path / "custom.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.source.startswith("# Access by ethnic group"))
    cell.source = "raise ValueError('analyst mistake')"
    nbformat.write(nb, path)
    assert main(["run", str(params), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "cell" in err and "failed" in err and "ValueError" in err
    # named by its first line, which the analyst can find in their own notebook
    assert "the cell starting \"raise ValueError('analyst mistake')\" failed in section" in err


def test_a_team_branches_from_its_own_template_and_list_says_what_cannot_run(tmp_path, capsys):
    assert main(["template", "new", "mine", "--dir", str(tmp_path)]) == 0
    branch = template.new("branch", str(tmp_path / "mine.ipynb"), folder=tmp_path)
    nb = nbformat.read(branch, as_version=4)
    assert nb.metadata["eia"]["template"] == "site_change"
    assert nb.metadata["eia"]["copied_from"] == "mine.ipynb"
    with pytest.raises(ParamsError, match="did you mean site_change"):
        template.new("x", "site-change", folder=tmp_path)
    broken = nbformat.v4.new_notebook(metadata={"eia": {"template": "site_change"}})
    nbformat.write(broken, tmp_path / "broken.ipynb")
    assert main(["template", "list", "--dir", str(tmp_path)]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "cannot run" in listed["./broken.ipynb"] and "parameters" in listed["./broken.ipynb"]
    assert "cannot run" not in listed["./branch.ipynb"]
