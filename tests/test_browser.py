"""Accessibility of the board's HTML in a real browser (``pytest -m browser``).

Reads every ``params/examples/*.yaml``'s report and ``OUT/index.html`` from the
session's one batch of the examples (``example_runs``), then
``tests/browser/axe_check.mjs`` opens each page in headless Chromium (Debian's
``chromium``, driven by ``playwright-core``), runs axe-core's
WCAG 2.0/2.1/2.2 A and AA rules and the checks axe cannot make (real alt text,
table captions, heading order, print to A4 without cut-off figures, reflow,
nothing fetched). A page fails on any serious or critical axe violation or
failed check; each is listed with its rule, impact, element and help text.

Screenshots of each page's first screen, the A4 PDFs and the JSON results are
kept in the session's temporary folder, printed at the start of the run.

Needs ``make browser-deps`` (Debian's chromium, ``npm ci``). Without them the
tests fail under CI (``CI=true``) and are skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "axe_check.mjs"
KNOWN_BAD = ROOT / "tests" / "browser" / "fixtures" / "inaccessible.html"
NODE_MODULES = ROOT / "node_modules"
EXAMPLES = sorted((ROOT / "params" / "examples").glob("*.yaml"))
HAS_INDEX = importlib.util.find_spec("eia.report.index") is not None
PAGES = [p.stem for p in EXAMPLES] + (["index"] if HAS_INDEX else [])
FAILING_IMPACTS = {"serious", "critical"}
TIMEOUT_S = 900


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(message: str) -> None:
    if _in_ci():
        pytest.fail(f"{message} (CI=true: the browser checks must run)")
    pytest.skip(message)


def _show(config: pytest.Config, line: str) -> None:
    """Print a line to the terminal even while output is captured."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if capture is None or reporter is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def browser_tools() -> dict[str, str]:
    """Node, Chromium and the npm packages, or a skip (failure under CI) saying what is missing."""
    missing = []
    node = shutil.which("node")
    if node is None:
        missing.append("node (Node.js 20+)")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        missing.append(f"chromium ({chromium}; Debian package 'chromium')")
    for package, entry in (("axe-core", "axe.min.js"), ("playwright-core", "package.json")):
        if not (NODE_MODULES / package / entry).is_file():
            missing.append(f"node_modules/{package} (npm ci)")
    if missing:
        _unavailable("browser checks need " + ", ".join(missing) + ": run `make browser-deps`")
    return {"node": node, "chromium": chromium}


def _run_checks(tools: dict[str, str], files: list[Path], out: Path) -> dict[Path, dict]:
    """Run the Node script on ``files``; results by resolved file path."""
    env = {**os.environ, "CHROMIUM": tools["chromium"], "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    proc = subprocess.run(
        [tools["node"], str(SCRIPT), "--out", str(out), *map(str, files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    (out / "axe_check.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    results_file = out / "results.json"
    if proc.returncode not in (0, 1) or not results_file.is_file():
        pytest.fail(
            f"the browser checks could not run (exit {proc.returncode}):\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}",
            pytrace=False,
        )
    data = json.loads(results_file.read_text(encoding="utf-8"))
    return {Path(r["file"]).resolve(): r for r in data["results"]}


def failures(result: dict) -> list[str]:
    """Every serious or critical axe violation (one line per element) and every failed check."""
    lines = []
    for violation in result["axe"]["violations"]:
        impact = violation.get("impact") or ""
        if impact not in FAILING_IMPACTS:
            continue
        for node in violation["nodes"]:
            detail = " ".join((node.get("summary") or "").split())[:240]
            line = (
                f"axe {violation['id']} [{node.get('impact') or impact}] at {node['target']}: "
                f"{violation['help']} ({violation['helpUrl']})"
            )
            lines.append(f"{line}\n      {detail}" if detail else line)
    for check in result["checks"]:
        if check["ok"] or check.get("warning"):
            continue
        targets = "".join(f"\n      - {t}" for t in check["targets"])
        lines.append(f"check {check['id']} [serious]: {check['message']}{targets}")
    return lines


@pytest.fixture(scope="session")
def rendered(example_runs) -> dict[str, Path | str]:
    """Each example's report.html (or why its run failed) and index.html, by page name.

    From the session's one batch of the examples (``example_runs`` in tests/conftest.py).
    """
    pages: dict[str, Path | str] = {}
    for params_file in EXAMPLES:
        stem = params_file.stem
        if stem in example_runs.errors:
            pages[stem] = f"eia run {params_file.name} failed: {example_runs.errors[stem]}"
        else:
            pages[stem] = example_runs[stem].report
    if HAS_INDEX:
        pages["index"] = example_runs.index
    return pages


@pytest.fixture(scope="session")
def page_results(browser_tools, rendered, tmp_path_factory, pytestconfig) -> dict[str, dict]:
    """The browser checks' results for every rendered page, by page name (one Chromium run)."""
    files = {name: path for name, path in rendered.items() if isinstance(path, Path)}
    out = tmp_path_factory.mktemp("browser")
    _show(pytestconfig, f"\nbrowser checks: screenshots, A4 PDFs and axe results in {out}")
    if not files:
        return {}
    by_file = _run_checks(browser_tools, list(files.values()), out)
    return {name: by_file[path.resolve()] for name, path in files.items()}


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_serious_accessibility_problems(page, browser_tools, rendered, page_results):
    if isinstance(rendered[page], str):
        pytest.fail(rendered[page], pytrace=False)
    result = page_results[page]
    assert Path(result["screenshot"]).is_file(), "no screenshot of the first screen"
    found = failures(result)
    if found:
        listing = "\n".join(f"  {i}. {line}" for i, line in enumerate(found, 1))
        pytest.fail(
            f"{page}: {len(found)} serious or critical accessibility problem(s) in "
            f"{result['file']}\n{listing}\n(screenshot: {result['screenshot']})",
            pytrace=False,
        )


def test_checks_find_known_problems(browser_tools, tmp_path):
    """The checks themselves work: a page with known problems fails each one of them."""
    result = _run_checks(browser_tools, [KNOWN_BAD], tmp_path)[KNOWN_BAD.resolve()]
    found = "\n".join(failures(result))
    expected_axe = {"button-name", "color-contrast", "html-has-lang"}
    expected_checks = {
        "html-lang",
        "main-landmark",
        "figure-alt-text",
        "figure-not-cropped",
        "table-caption",
        "one-h1",
        "heading-order",
        "reflow-320px",
        "print-no-horizontal-overflow",
        "self-contained",
    }
    missed = [f"axe {rule} " for rule in sorted(expected_axe) if f"axe {rule} " not in found]
    missed += [f"check {c} " for c in sorted(expected_checks) if f"check {c} " not in found]
    assert not missed, f"the checks missed known problems: {missed}\nthey found:\n{found}"
    assert Path(result["screenshot"]).is_file()
    assert result["pdf"] and Path(result["pdf"]).is_file()
