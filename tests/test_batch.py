"""`eia batch`: discovery, parallel isolated runs, the summary, atomic publish, limits, determinism.

The end-to-end tests share one batch (an example and the two broken fixture
proposals, two at a time) and then re-run that example with deliberately
broken fixture templates (``tests/fixtures/templates/*/site_change.ipynb``,
selected with ``EIA_TEMPLATES``) to check that a failing re-run leaves the
last good report byte-identical, and that failing cells, cell and run time
limits and a dead kernel are each reported with the failing section.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from eia.errors import ParamsError, RunError
from eia.runner import batch
from eia.runner.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
BROKEN = sorted((FIXTURES / "params").glob("broken-*.yaml"))
FIXTURE_TEMPLATES = FIXTURES / "templates"

TINY = """\
id: {id}
title: "Test fixture proposal {id}"
template: site_change
area: {{ltla: [E06000018]}}
sites:
  current: [{{hospital: "King's Mill Hospital"}}]
  proposed: [{{name: Hub, lat: 52.95, lon: -1.15}}]
{extra}"""


def _write(folder: Path, name: str, text: str = "id: x\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Discovery and arguments (no reference data needed)


def test_discover_files_folders_and_globs(tmp_path):
    a = _write(tmp_path / "p", "b.yaml")
    b = _write(tmp_path / "p", "a.yml")
    _write(tmp_path / "p", "notes.txt")
    c = _write(tmp_path / "p" / "sub", "c.yaml")
    d = _write(tmp_path / "q", "d.yaml")

    assert batch.discover([tmp_path / "p"]) == [b.resolve(), a.resolve()]  # sorted, not recursive
    assert batch.discover([str(tmp_path / "**" / "*.yaml")]) == sorted(
        p.resolve() for p in (a, c, d)
    )
    assert batch.discover([str(tmp_path / "q" / "*")]) == [d.resolve()]
    # A file named twice, directly and through its folder, runs once; the order given is kept.
    assert batch.discover([d, tmp_path / "q", a]) == [d.resolve(), a.resolve()]


def test_discover_reports_every_missing_path(tmp_path):
    _write(tmp_path / "empty", "readme.txt")
    with pytest.raises(batch.BatchInputError) as info:
        batch.discover([tmp_path / "nope.yaml", tmp_path / "empty", str(tmp_path / "*.yml")])
    message = str(info.value)
    assert "nope.yaml: no such file or folder" in message
    assert "no .yaml or .yml files in this folder" in message
    assert "no params files match this pattern" in message


def test_batch_with_nothing_to_run_is_a_user_error(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_jobs_must_be_a_positive_whole_number(capsys):
    parser = build_parser()
    assert parser.parse_args(["batch", "x", "--jobs", "3"]).jobs == 3
    assert parser.parse_args(["batch", "x"]).jobs is None  # default: the number of cores
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["batch", "x", "--jobs", bad])
    assert batch.default_jobs() >= 1


def test_precheck_fails_invalid_files_and_repeated_ids_without_running(tmp_path):
    first = _write(tmp_path, "a.yaml", TINY.format(id="same-id", extra=""))
    second = _write(tmp_path, "b.yaml", TINY.format(id="same-id", extra=""))
    invalid = _write(tmp_path, "c.yaml", "id: Not A Slug\n")
    items, to_run = batch._precheck([first, second, invalid])
    assert to_run == [first]
    assert items[0] is None
    assert items[1].status == batch.FAILED and "also used by" in items[1].error
    assert items[2].status == batch.INVALID and "not a slug" in items[2].error


# ---------------------------------------------------------------------------
# End to end: one batch of an example and two broken proposals


@pytest.fixture(scope="module")
def batch_run(refdata_dir, tmp_path_factory):
    """``eia batch EXAMPLE broken-*.yaml --out OUT --jobs 2``: exit code, printed text, OUT."""
    out = tmp_path_factory.mktemp("batch") / "out"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    stdout, stderr = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", stdout)
    capture.setattr(sys, "stderr", stderr)
    try:
        code = main(["batch", str(EXAMPLE), *map(str, BROKEN), "--out", str(out), "--jobs", "2"])
    finally:
        capture.undo()
    return {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(), "out": out}


@pytest.mark.slow
def test_batch_exits_non_zero_and_summarises_every_proposal(batch_run):
    assert len(BROKEN) == 2
    assert batch_run["code"] == 1
    text = batch_run["stdout"]
    assert "1 succeeded, 2 failed" in text
    for needle in ("notts-diagnostics-consolidation", "broken-invalid.yaml", "broken-timeout"):
        assert needle in text
    row = next(line for line in text.splitlines() if "notts-diagnostics-consolidation" in line)
    assert "succeeded" in row and "site_change" in row and "report.html" in row
    assert re.search(r"\d+\.\d s", row)
    # Each failure: the proposal (id, or file when the id is invalid) and why, in one place.
    assert re.search(r"FAILED broken-invalid\.yaml .*invalid params \(3 problems\)", text)
    assert "is not a slug" in text
    assert re.search(r"FAILED broken-timeout .*a cell ran past its time limit", text)
    assert "after 1 seconds" in text
    # The progress bar's counts
    assert "done 1" in batch_run["stderr"] and "failed 2" in batch_run["stderr"]


@pytest.mark.slow
def test_batch_publishes_the_good_report_and_keeps_the_failed_notebook(batch_run):
    out = batch_run["out"]
    good = out / "notts-diagnostics-consolidation"
    assert {p.name for p in good.iterdir()} == {"report.html", "assessment.ipynb", "metrics.json"}
    assert (good.stat().st_mode & 0o777) == 0o755
    failed = out / "broken-timeout"
    assert not (failed / "report.html").exists()
    assert (failed / "failed" / "assessment.ipynb").is_file()
    assert "time limit" in (failed / "failed" / "error.txt").read_text()
    # No staging folder is left behind and nothing is written outside OUT.
    assert sorted(p.name for p in out.iterdir()) == [
        "broken-timeout",
        "index.html",
        "notts-diagnostics-consolidation",
    ]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    assert not (out / ".." / ".." / "outside-out").exists()  # broken-invalid's id


@pytest.mark.slow
def test_batch_index_links_every_good_report(batch_run):
    out = batch_run["out"]
    html = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#]+)"', html)
    assert links == ["notts-diagnostics-consolidation/report.html"]
    assert all((out / link).is_file() for link in links)
    assert "Last run failed" in html  # broken-timeout: listed, no link


@pytest.mark.slow
def test_two_runs_give_identical_metrics_and_figures(batch_run, tmp_path):
    from eia.runner.run import run

    first = batch_run["out"] / "notts-diagnostics-consolidation"
    fixed_time = os.environ.get("EIA_RUN_TIME")
    second = run(EXAMPLE, tmp_path / "again").folder
    assert os.environ.get("EIA_RUN_TIME") == fixed_time  # no stale run time for the next run

    a = json.loads((first / "metrics.json").read_text(encoding="utf-8"))
    b = json.loads((second / "metrics.json").read_text(encoding="utf-8"))
    assert set(a.pop("provenance")) == set(b.pop("provenance"))
    assert a == b
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    def pngs(folder: Path) -> list[str]:
        html = (folder / "report.html").read_text(encoding="utf-8")
        found = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
        return [hashlib.sha256(base64.b64decode(x)).hexdigest() for x in found]

    assert pngs(first) and pngs(first) == pngs(second)


@pytest.mark.slow
def test_failing_rerun_leaves_the_last_good_report_byte_identical(batch_run, monkeypatch):
    from eia.report import index
    from eia.runner.run import run

    out = batch_run["out"]
    good = out / "notts-diagnostics-consolidation"
    before = {p.name: p.read_bytes() for p in good.iterdir() if p.is_file()}

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "cell-error"))
    with pytest.raises(RunError) as info:
        run(EXAMPLE, out)
    message = str(info.value)
    assert message.startswith("notts-diagnostics-consolidation: ")
    assert "in section 'Impacts by group'" in message  # the failing cell's heading
    assert "ValueError: last line: the impacts could not be rated" in message  # error's last line

    after = {p.name: p.read_bytes() for p in good.iterdir() if p.is_file()}
    assert after == before
    failed = good / "failed"
    assert (failed / "assessment.ipynb").is_file()
    assert "Impacts by group" in (failed / "error.txt").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]

    index.write(out)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="notts-diagnostics-consolidation/report.html"' in html
    assert "showing the last good report" in html


# ---------------------------------------------------------------------------
# Limits and a dead kernel (fixture templates: each run is a few seconds)


def _tiny(tmp_path: Path, proposal_id: str, extra: str = "") -> Path:
    return _write(tmp_path, f"{proposal_id}.yaml", TINY.format(id=proposal_id, extra=extra))


@pytest.mark.slow
def test_a_dead_kernel_is_reported_as_such(refdata_dir, tmp_path, monkeypatch):
    from eia.runner.run import run

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "dead-kernel"))
    with pytest.raises(RunError) as info:
        run(_tiny(tmp_path, "dead-kernel"), tmp_path / "out")
    assert "the kernel died" in str(info.value)
    assert "in section 'Kernel crash'" in str(info.value)
    assert (tmp_path / "out" / "dead-kernel" / "failed" / "assessment.ipynb").is_file()


@pytest.mark.slow
def test_cell_time_limit_from_params(refdata_dir, tmp_path, monkeypatch):
    from eia.runner.run import run

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "slow-cell"))
    params = _tiny(tmp_path, "slow-cell", "limits: {cell_timeout_s: 2}\n")
    with pytest.raises(RunError) as info:
        run(params, tmp_path / "out")
    message = str(info.value)
    assert "a cell ran past its time limit in section 'Slow section'" in message
    assert "after 2 seconds" in message


@pytest.mark.slow
def test_run_time_limit_from_params(refdata_dir, tmp_path, monkeypatch):
    from eia.runner.run import run

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "slow-cell"))
    params = _tiny(tmp_path, "slow-run", "limits: {cell_timeout_s: 600, run_timeout_s: 4}\n")
    with pytest.raises(RunError) as info:
        run(params, tmp_path / "out")
    assert "the run passed its time limit of 4 s" in str(info.value)


def test_time_limits_have_defaults_and_bounds():
    from eia import params

    base = {
        "id": "x",
        "title": "x",
        "template": "site_change",
        "area": {"icb": "E54000060"},
        "sites": {"current": [{"hospital": "A"}], "proposed": [{"hospital": "B"}]},
    }
    limits = params.parse(base).limits
    assert limits.cell_timeout_s > 0 and limits.run_timeout_s >= limits.cell_timeout_s
    assert params.parse({**base, "limits": {"cell_timeout_s": 5}}).limits.cell_timeout_s == 5
    with pytest.raises(ParamsError, match="limits.run_timeout_s"):
        params.parse({**base, "limits": {"run_timeout_s": 0}})


def _pid_task(params_file, out, log_path=None, strict=False, pdf=None) -> dict:
    """A stand-in for run_one in the workers: dies outright for a file named crash*."""
    if Path(params_file).stem.startswith("crash"):
        os._exit(3)
    return {"params_file": params_file, "status": batch.SUCCEEDED, "title": str(os.getpid())}


def _pool_items(tmp_path: Path, names: list[str], jobs: int) -> dict[str, batch.BatchItem]:
    items: dict[str, batch.BatchItem] = {}
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    batch._run_pool(
        [tmp_path / f"{name}.yaml" for name in names],
        jobs,
        log_dir,
        lambda item: items.setdefault(item.params_file.stem, item),
        {"running": 0},
        lambda: None,
        task_args=(str(tmp_path / "out"), False, None),
        task=_pid_task,
    )
    return items


def test_workers_are_reused_across_proposals(tmp_path):
    items = _pool_items(tmp_path, ["a", "b", "c", "d"], jobs=1)
    assert all(item.ok for item in items.values())
    assert len({item.title for item in items.values()}) == 1  # one worker ran all four


def test_a_dead_worker_fails_only_its_own_proposal(tmp_path):
    items = _pool_items(tmp_path, ["a", "crash", "b", "c"], jobs=2)
    assert sorted(items) == ["a", "b", "c", "crash"]
    assert not items["crash"].ok
    assert items["crash"].error.startswith("the worker process failed")
    assert all(items[name].ok for name in ("a", "b", "c"))
