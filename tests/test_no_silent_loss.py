"""No silent loss, tables that print well (issue 27): `eia batch --pdf`, a re-run says what it
removed, header words never broken mid-word, bookmarks keep their spaces, each site once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eia.report import pdf
from eia.runner import batch, cli
from eia.runner import run as run_mod

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
CSS = ROOT / "src" / "eia" / "assets" / "eia" / "report.css"


def _fake_result(tmp_path, pdf_made: bool, removed=()):
    folder = tmp_path / "x"
    return run_mod.RunResult(
        id="x",
        title="X",
        template="site_change",
        folder=folder,
        report=folder / "report.html",
        notebook=folder / "assessment.ipynb",
        metrics=folder / "metrics.json",
        pdf=folder / "report.pdf" if pdf_made else None,
        removed=list(removed),
    )


def test_batch_pdf_is_passed_to_every_run_and_reported(monkeypatch, tmp_path):
    seen = []

    def fake_run(params_file, out, *, strict=False, pdf=None, **kwargs):
        seen.append(pdf)
        return _fake_result(tmp_path, bool(pdf))

    monkeypatch.setattr(run_mod, "run", fake_run)
    outcome = batch.run_one(str(EXAMPLE), str(tmp_path), None, False, True)
    assert seen == [True] and outcome["pdf"].endswith("report.pdf")
    outcome = batch.run_one(str(EXAMPLE), str(tmp_path))
    assert seen[-1] is None  # without --pdf, each params file's publish.pdf decides
    assert outcome["pdf"] is None


def test_batch_command_line_has_pdf(monkeypatch, tmp_path):
    given = {}

    def fake_batch(paths, out, **kwargs):
        given.update(kwargs)
        return batch.BatchResult(out=tmp_path)

    monkeypatch.setattr(batch, "run_batch", fake_batch)
    monkeypatch.setattr(batch, "print_summary", lambda result: None)
    cli.main(["batch", str(EXAMPLE), "--out", str(tmp_path), "--pdf"])
    assert given["pdf"] is True
    cli.main(["batch", str(EXAMPLE), "--out", str(tmp_path)])
    assert given["pdf"] is None


def test_a_rerun_names_what_it_removed(tmp_path, monkeypatch, capsys):
    final, staging = tmp_path / "final", tmp_path / "staging"
    for folder, names in ((final, ["report.html", "report.pdf", "extra.csv"]), (staging, [])):
        folder.mkdir()
        for name in names:
            (folder / name).write_text("x", encoding="utf-8")
    (final / "failed").mkdir()
    (staging / "report.html").write_text("new", encoding="utf-8")
    assert run_mod.superseded(staging, final) == ["extra.csv", "report.pdf"]
    assert run_mod.superseded(staging, tmp_path / "never-published") == []

    monkeypatch.setattr(
        run_mod, "run", lambda *a, **k: _fake_result(tmp_path, False, ["report.pdf"])
    )
    monkeypatch.setattr(cli, "_write_index", lambda out: None)
    assert cli.main(["run", str(EXAMPLE), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Removed report.pdf of the earlier run: this run did not make it again" in out
    assert "--pdf" in out


def test_print_css_never_breaks_a_header_word():
    css = CSS.read_text(encoding="utf-8")
    rules = re.findall(r"table\.eia-table th\s*\{([^}]*)\}", css)
    assert rules
    for rule in rules:
        assert "anywhere" not in rule and "break-all" not in rule
        assert "hyphens: auto" not in rule


def test_bookmark_titles_get_back_the_spaces_of_wrapped_headings(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    top = writer.add_outline_item(
        title="Who would travel further to the servicefrom here", page_number=0
    )
    writer.add_outline_item(title="The leastadverse option", page_number=0, parent=top)
    writer.add_outline_item(title="Executive summary", page_number=0)
    path = tmp_path / "r.pdf"
    with open(path, "wb") as out:
        writer.write(out)
    markup = (
        "<h2>Who would travel further to the service\nfrom here</h2>"
        "<h3>The least <em>adverse</em> option</h3><h2>Executive summary</h2>"
    )
    assert pdf.mend_outline(path, pdf.headings(markup)) == 2
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(pypdf.PdfReader(str(path)).outline)
    assert titles == [
        "Who would travel further to the service from here",
        "The least adverse option",
        "Executive summary",
    ]


@pytest.mark.refdata
def test_the_site_table_lists_each_site_once_with_a_column_per_scenario(refdata_dir):
    from eia import assessment, params
    from eia.report.sites import sites_table

    proposal = params.load(EXAMPLE)
    a = assessment.assess(proposal.model_copy(update={"service": None}), EXAMPLE)
    table = sites_table(a)
    assert table["Site"].is_unique
    assert list(table.columns) == ["Site", "Located by", "Now", *a.access.proposed]
    kings_mill = table.set_index("Site").loc["King's Mill Hospital"]
    assert set(kings_mill[a.scenarios]) == {"closing", "kept"}
    assert not any("Proposed" in c or "_" in c for c in table.columns)


def _need(condition, message):
    import os

    if condition:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message} (CI=true: the PDF checks must run)")
    pytest.skip(message)


@pytest.mark.slow
def test_eia_batch_pdf_writes_pdfs_whose_header_words_are_whole(tmp_path, refdata_dir):
    _need(pdf.check_engine() is None, f"no PDF engine: {pdf.check_engine()}")
    _need(shutil.which("pdftotext"), "poppler-utils is missing")
    folder = tmp_path / "params"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    assert cli.main(["batch", str(folder), "--out", str(tmp_path / "out"), "--pdf"]) == 0
    (printed,) = (tmp_path / "out").glob("*/report.pdf")
    markup = printed.with_suffix(".html").read_text(encoding="utf-8")
    words = {
        w
        for th in re.findall(r"<th[^>]*>(.*?)</th>", markup, flags=re.S)
        for w in re.findall(r"[A-Za-z]{6,}", re.sub(r"<[^>]+>", " ", th))
    }
    text = subprocess.run(
        ["pdftotext", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    for word in words:
        for k in range(2, len(word) - 1):
            pattern = re.escape(word[:k]) + r"-?\s+" + re.escape(word[k:]) + r"\b"
            assert not re.search(pattern, text), f"header word {word!r} broken across lines"
