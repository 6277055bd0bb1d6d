"""`OUT/index.html`: every assessment listed, escaped, sortable, self-contained and accessible.

Built from hand-made ``OUT/<id>/metrics.json`` files, so no reference data
or notebook run is needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from eia.report import index
from eia.report.html import BANNER

HOSTILE = "<script>alert(1)</script> & \"quotes\" 'single'"


class _Page(HTMLParser):
    """Tags, attributes and text of a page, and the text of each table row."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.scripts: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        if "script" in self._stack:
            self.scripts.append(data)
            return
        self.text.append(data)
        if self.rows and self.rows[-1] and ("td" in self._stack or "th" in self._stack):
            self.rows[-1][-1] += data

    def all(self, tag: str) -> list[dict]:
        return [attrs for t, attrs in self.tags if t == tag]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _impact(option, rating, disproportionate=False, group="Q1 (most deprived)"):
    return {
        "option": option,
        "rating": rating,
        "disproportionate": disproportionate,
        "group": group,
    }


def _assessment(
    out: Path,
    pid: str,
    *,
    title: str,
    when: str,
    impacts=None,
    scenario=None,
    template: str = "site_change",
    report: bool = True,
) -> Path:
    folder = out / pid
    folder.mkdir(parents=True)
    metrics = {
        "id": pid,
        "title": title,
        "template": template,
        "impacts": impacts or [],
        "provenance": {"run time (UTC)": when, "proposal id": pid},
    }
    if scenario is not None:
        metrics["access"] = {"scenario": scenario}
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    if report:
        (folder / "report.html").write_text("<!DOCTYPE html><title>r</title>", encoding="utf-8")
    return folder


def _sample(out: Path) -> None:
    _assessment(
        out,
        "notts-a",
        title="Older proposal",
        when="2026-01-02T09:00:00+00:00",
        scenario="Option A",
        impacts=[
            _impact("Option A", "negative", True),
            _impact("Option A", "negative"),
            _impact("Option A", "neutral"),
            _impact("Option B", "negative", True),  # another option: not the headline
            _impact(None, "positive"),  # an expected effect: counts for every option
        ],
    )
    _assessment(
        out,
        "newer",
        title=HOSTILE,
        when="2026-03-04T10:30:00+00:00",
        template="service_change",
        impacts=[_impact(None, "positive"), _impact(None, "negative", True)],
        scenario=f"Option {HOSTILE}",
    )


def test_rating_summary_counts_the_headline_option():
    metrics = {
        "access": {"scenario": "Option A"},
        "impacts": [
            _impact("Option A", "negative", True),
            _impact("Option A", "negative"),
            _impact("Option A", "neutral"),
            _impact("Option B", "negative", True),
            _impact(None, "positive"),
        ],
    }
    assert index.rating_summary(metrics) == {
        "scenario": "Option A",
        "groups": 4,
        "negative": 2,
        "mixed": 0,
        "disproportionate": 1,
        "marginal": 0,
        "neutral": 1,
        "positive": 1,
        "not rated": 0,
    }
    everything = index.rating_summary({"impacts": metrics["impacts"]})
    assert everything["groups"] == 5 and everything["disproportionate"] == 2
    assert index.rating_summary({})["groups"] == 0


def test_index_lists_every_assessment_newest_first_with_links(tmp_path):
    _sample(tmp_path)
    path = index.write(tmp_path)
    assert path == tmp_path / "index.html"
    page = _parse(path.read_text(encoding="utf-8"))
    links = [a["href"] for a in page.all("a") if a.get("href") != "#main"]
    assert links == ["newer/report.html", "notts-a/report.html"]  # newest first
    body = page.rows[1:]
    assert len(body) == 2
    older = body[1]
    assert older[:3] == ["Older proposal", "notts-a", "site_change"]
    assert "2 Jan 2026, 09:00 UTC" in older[3]
    assert (
        "2 negative, 0 mixed, 1 neutral, 1 positive of 4 group ratings; 1 disproportionate"
        in older[4]
    )
    assert "for Option A" in older[4]
    assert older[5] == "Up to date"
    times = [t["datetime"] for t in page.all("time")]
    assert times == ["2026-03-04T10:30:00+00:00", "2026-01-02T09:00:00+00:00"]


def test_every_params_string_is_escaped(tmp_path):
    _sample(tmp_path)
    html = index.write(tmp_path).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = _parse(html)
    text = "".join(page.text)
    assert HOSTILE in text  # shown as text, exactly
    assert f"for Option {HOSTILE}" in text
    assert len(page.all("script")) == 1  # the index's own sort script, nothing else
    assert "alert" not in "".join(page.scripts)
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]


def test_only_slug_folders_with_a_report_or_a_failure_are_listed(tmp_path):
    _sample(tmp_path)
    (tmp_path / ".notts-a.staging-abc").mkdir()  # a run in progress
    (tmp_path / ".notts-a.staging-abc" / "metrics.json").write_text("{}")
    (tmp_path / "Not A Slug").mkdir()
    (tmp_path / "empty").mkdir()
    _assessment(tmp_path, "no-report", title="x", when="2026-01-01T00:00:00+00:00", report=False)
    bad = tmp_path / "bad-json"
    bad.mkdir()
    (bad / "metrics.json").write_text("{not json")
    (bad / "report.html").write_text("")
    (tmp_path / "stray.txt").write_text("")
    assert [e.id for e in index.entries(tmp_path)] == ["newer", "notts-a"]


def test_failed_runs_are_shown_beside_the_last_good_report(tmp_path):
    _sample(tmp_path)
    failed = tmp_path / "notts-a" / "failed"
    failed.mkdir()
    (failed / "error.txt").write_text(
        "cell 5 failed in section 'Impacts': ValueError: <b>bad</b>\n"
    )
    never = tmp_path / "never-ran" / "failed"
    never.mkdir(parents=True)
    (never / "error.txt").write_text("the kernel died (out of memory or crashed): Kernel died\n")
    notebook = {
        "cells": [],
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "papermill": {
                "start_time": "2026-05-06T07:08:09.123456+00:00",
                "parameters": {"proposal": {"title": "Never ran <i>", "template": "equity_audit"}},
            }
        },
    }
    (never / "assessment.ipynb").write_text(json.dumps(notebook))

    html = index.write(tmp_path).read_text(encoding="utf-8")
    page = _parse(html)
    rows = {row[1]: row for row in page.rows[1:]}
    assert rows["notts-a"][5].startswith("Last run failed: cell 5 failed in section 'Impacts'")
    assert "showing the last good report" in rows["notts-a"][5]
    assert "&lt;b&gt;bad&lt;/b&gt;" in html
    assert rows["never-ran"][:3] == ["Never ran <i>", "never-ran", "equity_audit"]
    assert "6 May 2026, 07:08 UTC" in rows["never-ran"][3]
    assert "no report yet" in rows["never-ran"][5]
    links = [a["href"] for a in page.all("a")]
    assert "never-ran/report.html" not in links and "notts-a/report.html" in links


def test_index_is_self_contained_accessible_and_looks_like_the_reports(tmp_path):
    _sample(tmp_path)
    html = index.write(tmp_path).read_text(encoding="utf-8")
    page = _parse(html)
    assert page.all("html") == [{"lang": "en-GB"}]
    assert len(page.all("h1")) == 1
    assert len(page.all("caption")) == 1
    assert all(th.get("scope") in {"col", "row"} for th in page.all("th"))
    assert page.all("main")[0]["id"] == "main"
    assert page.all("header")[0]["class"] == "eia-banner" and BANNER in html
    assert page.all("footer")[0]["class"] == "eia-footer"
    assert ".eia-banner" in html  # the reports' stylesheet, inlined
    # No external URL: every link is relative, no src or stylesheet anywhere.
    for _, attrs in page.tags:
        for key in ("src", "href", "action"):
            value = attrs.get(key, "")
            assert not re.match(r"^\s*([a-z]+:|//)", value, re.I), value
    assert not page.all("link")
    assert len(page.all("script")) == 1 and "src" not in page.all("script")[0]
    # The Content-Security-Policy allows this inline script (by hash) and nothing else.
    csp = next(
        m["content"] for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"
    )
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    # Sortable: the Date column states its order without scripts; the script adds buttons.
    assert [th.get("aria-sort") for th in page.all("th") if th.get("scope") == "col"] == [
        None,
        None,
        None,
        "descending",
        None,
        None,
    ]
    assert "aria-sort" in script and "button" in script


def test_an_empty_folder_gets_an_index_that_says_so(tmp_path):
    html = index.write(tmp_path / "new").read_text(encoding="utf-8")
    assert "No assessments in this folder yet" in html
    assert not _parse(html).all("table")


def test_index_is_written_atomically_and_is_deterministic(tmp_path):
    _sample(tmp_path)
    first = index.write(tmp_path).read_bytes()
    second = index.write(tmp_path).read_bytes()
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["index.html"]


def test_the_index_reads_the_option_flags_and_robustness_from_findings(tmp_path):
    folder = _assessment(
        tmp_path,
        "notts-b",
        title="With findings",
        when="2026-03-04T10:30:00+00:00",
        impacts=[
            _impact("Option A", "negative", True),  # the first option is not the named one
            _impact("Option B", "negative", True, group="Q4"),
            _impact("Option B", "negative", True, group="Black"),
            _impact("Option B", "negative", True, group="Mixed"),
        ],
        scenario="Option A",
    )
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    metrics["findings"] = {
        "named_option": "Option B",
        "disproportionate": [
            {"option": "Option B", "dimension": "imd_quintile", "group": "Q4", "margin": "clear"},
            {
                "option": "Option B",
                "dimension": "ethnic_group",
                "group": "Black",
                "margin": "marginal",
            },
            {
                "option": "Option B",
                "dimension": "ethnic_group",
                "group": "Mixed",
                "margin": "clear",
            },
        ],
        "flag_counts": {"Option B": {"protected": 2, "other": 1}},
        "robustness": {"assessed": True, "holds": True},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    summary = index.rating_summary(metrics)
    assert (summary["scenario"], summary["protected"], summary["other"]) == ("Option B", 2, 1)
    assert (summary["disproportionate"], summary["marginal"], summary["robustness"]) == (
        3,
        1,
        "holds",
    )
    page = _parse(index.write(tmp_path).read_text(encoding="utf-8"))
    cell = page.rows[1][4]
    assert "for Option B" in cell and "Option A" not in cell
    assert "2 among groups the equality duty protects, 1 among others" in cell
