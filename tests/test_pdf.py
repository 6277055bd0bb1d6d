"""The board-pack PDF (eia.report.pdf, ``eia run --pdf``): tagged, bookmarked, A4, nothing half-written.

The end-to-end test prints a real example through headless Chromium and checks
the PDF with poppler's ``pdfinfo``/``pdftotext`` and pypdf's outline reader. It
needs ``make browser-deps`` (Chromium, poppler-utils) and ``eia[pdf]``: it fails
under CI (``CI=true``) when they are missing and is skipped elsewhere.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eia.errors import EIAError
from eia.report import pdf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if _in_ci():
        pytest.fail(f"{message} (CI=true: the PDF checks must run)")
    pytest.skip(message)


def test_missing_chromium_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setattr(pdf, "_playwright_browser", lambda: False)
    problem = pdf.check_engine()
    assert problem is not None and "\n" not in problem
    assert "CHROMIUM" in problem and "chromium" in problem
    page = tmp_path / "report.html"
    page.write_text("<html><body><h1>x</h1></body></html>", encoding="utf-8")
    with pytest.raises(pdf.PDFError) as err:
        pdf.write(page)
    assert err.value.exit_code == 2
    assert list(tmp_path.iterdir()) == [page], "nothing half-written"


def test_run_with_pdf_fails_before_running_and_keeps_the_last_report(
    monkeypatch, tmp_path, refdata_dir
):
    from eia.runner.run import run

    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setattr(pdf, "_playwright_browser", lambda: False)
    out = tmp_path / "out"
    previous = out / "notts-diagnostics-consolidation" / "report.html"
    previous.parent.mkdir(parents=True)
    previous.write_text("last good report", encoding="utf-8")
    with pytest.raises(EIAError, match="PDF output needs Chromium"):
        run(EXAMPLE, out, pdf=True)
    assert previous.read_text(encoding="utf-8") == "last good report"
    assert sorted(p.name for p in previous.parent.iterdir()) == ["report.html"]


def test_cli_pdf_flag_reports_missing_engine(monkeypatch, tmp_path, refdata_dir, capsys):
    from eia.runner.cli import main

    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setattr(pdf, "_playwright_browser", lambda: False)
    code = main(["run", str(EXAMPLE), "--out", str(tmp_path), "--pdf"])
    assert code == 2
    err = capsys.readouterr().err
    assert "PDF output needs Chromium" in err and "Traceback" not in err


def _outline(path: Path) -> list[tuple[int, str]]:
    import pypdf

    entries: list[tuple[int, str]] = []

    def walk(items, depth=0):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                entries.append((depth, " ".join(item.title.split())))

    walk(pypdf.PdfReader(str(path)).outline)
    return entries


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.mark.slow
def test_eia_run_pdf_is_tagged_bookmarked_and_holds_the_summary(tmp_path, refdata_dir):
    from eia.runner.cli import main

    _need(pdf.check_engine() is None, f"no PDF engine: {pdf.check_engine()}")
    _need(shutil.which("pdfinfo") and shutil.which("pdftotext"), "poppler-utils is missing")
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path), "--pdf"]) == 0
    folder = tmp_path / "notts-diagnostics-consolidation"
    report, printed = folder / "report.html", folder / "report.pdf"
    assert printed.is_file() and not list(folder.glob(".report-*"))

    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True)
    fields = dict(
        (k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in info.stdout.splitlines())
    )
    assert fields["Tagged"] == "yes"
    assert "A4" in fields["Page size"]
    pages = int(fields["Pages"])

    markup = report.read_text(encoding="utf-8")
    sections = [_text(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", markup, flags=re.S)]
    outline = _outline(printed)
    top = [title for depth, title in outline if depth == 1]
    assert top == sections, "one bookmark per section, in order"
    assert "Executive summary" in top

    text = subprocess.run(
        ["pdftotext", "-layout", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    lead = re.search(r'<ul class="eia-card">\s*<li>(.*?)</li>', markup, flags=re.S)
    assert lead, "the report opens with the decision card"
    first_words = " ".join(_text(lead.group(1)).split()[:6])
    assert first_words in flat
    assert f"Page 1 of {pages}" in flat and f"Page {pages} of {pages}" in flat
    title = _text(re.search(r"<h1[^>]*>(.*?)</h1>", markup, flags=re.S).group(1))
    assert flat.count(title) >= pages, "the title runs as a header on every page"
