"""``OUT/index.html``: one page listing every assessment in an output folder.

Built from each ``OUT/<id>/metrics.json`` alone (nothing is re-run): the
proposal's title, id and template, when it was run (from the ``provenance``
block), a summary of its ratings and a link to ``<id>/report.html``. The
rating summary counts every rating (negative, mixed, neutral, positive, not
rated) and the disproportionate flags, of which how many are marginal, for the
option the report's summary names (``metrics["named_option"]``: the least
adverse when options are compared) or, without one, of every rating. When
``metrics.json`` has a ``findings`` block, the named option, the flags (counted
among the groups the duty protects and among others) and robustness are read
from it, so the index says what the report says.

A folder whose last run failed (``OUT/<id>/failed/``) is shown with that
status beside its last good report, or without a link when it has none yet.

``eia run`` and ``eia batch`` regenerate the index after every run (the
runner itself, :func:`eia.runner.run.run`, does not, so parallel workers never write
it at once); call :func:`write` after running proposals from Python.

The page is self-contained (the report stylesheet inlined, no external URL, a
Content-Security-Policy that allows only its own inline script), looks like
the reports (same banner, main and footer), has one ``h1``, ``lang="en-GB"``
and a captioned table with row and column headers. Every value is
HTML-escaped. The table is in order of date run, newest first, and fully
usable without scripts; the small inline script adds sort buttons to the
column headers (with ``aria-sort``) and announces the new order.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, Template

from eia._version import __version__
from eia.params import SLUG_PATTERN, template_label
from eia.report.html import BANNER

INDEX_NAME = "index.html"
PAGE_TITLE = "Equity impact assessments"
ASSETS = Path(__file__).parents[1] / "assets" / "eia"
_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True)
class Entry:
    """One assessment folder as the index shows it."""

    id: str
    title: str
    template: str
    run_time: str  # ISO 8601 (UTC), or "" when unknown
    ratings: dict[str, Any]
    report: str | None  # link relative to OUT, or None when there is no report
    last_run_failed: bool = False
    failure: str = ""

    @property
    def run_time_label(self) -> str:
        """The run time for people: ``24 Nov 2026, 17:15 UTC``."""
        when = _parse_time(self.run_time)
        return f"{when.day} {when:%b %Y, %H:%M} UTC" if when else "unknown"


def _parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when


#: The ratings the index counts, in the order it lists them.
RATINGS = ("negative", "mixed", "neutral", "positive", "not rated")


def rating_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """Counts of each rating for the option the report's summary names (or all ratings).

    The option is ``named_option``; for metrics.json written before it existed, the
    appraisal's first least adverse option, else ``access.scenario``. Ratings with no
    option (expected effects) count towards every option.
    """
    impacts = [row for row in metrics.get("impacts") or [] if isinstance(row, dict)]
    scenario = metrics.get("named_option")
    if scenario is None:
        best = (metrics.get("appraisal") or {}).get("least_adverse") or []
        scenario = best[0] if best else (metrics.get("access") or {}).get("scenario")
    if scenario is not None:
        impacts = [row for row in impacts if row.get("option") in (None, scenario)]
    counts = dict.fromkeys(RATINGS, 0) | {"disproportionate": 0, "marginal": 0}
    for row in impacts:
        rating = row.get("rating")
        if rating in counts:
            counts[rating] += 1
        if row.get("disproportionate") is True:
            counts["disproportionate"] += 1
            counts["marginal"] += row.get("flag_margin") == "marginal"
    out = {"scenario": scenario, "groups": len(impacts), **counts}
    found = metrics.get("findings")
    if isinstance(found, dict):  # the findings decide the option, the flags and robustness
        out |= findings_summary(found)
    if out["scenario"] == "Proposed":  # never the internal key
        out["scenario"] = "the proposal"
    return out


def findings_summary(found: dict[str, Any]) -> dict[str, Any]:
    """From ``metrics["findings"]``: the named option, its counted flags among the groups the
    duty protects and among others, and robustness (``holds``, ``changes`` or ``""``)."""
    named = found.get("named_option")
    counts = (found.get("flag_counts") or {}).get(named) or {"protected": 0, "other": 0}
    robust = found.get("robustness") or {}
    return {
        "scenario": named,
        "protected": int(counts.get("protected", 0)),
        "other": int(counts.get("other", 0)),
        "disproportionate": int(counts.get("protected", 0)) + int(counts.get("other", 0)),
        "marginal": sum(
            1
            for f in found.get("disproportionate") or []
            if f.get("option") == named and f.get("margin") == "marginal"
        ),
        "robustness": ("holds" if robust.get("holds") else "changes")
        if robust.get("assessed")
        else "",
    }


def _summary_text(ratings: dict[str, Any]) -> str:
    if not ratings.get("groups"):
        return "No ratings"
    parts = [f"{ratings.get(r, 0)} {r}" for r in RATINGS if ratings.get(r, 0) or r != "not rated"]
    flags = f"{ratings['disproportionate']} disproportionate"
    if "protected" in ratings:
        flags = (
            f"disproportionate: {ratings['protected']} among groups the equality duty protects, "
            f"{ratings['other']} among others"
        )
    if ratings.get("marginal"):
        flags += f" ({ratings['marginal']} marginal)"
    return f"{', '.join(parts)} of {ratings['groups']} group ratings; {flags}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _first_line(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _failed_attempt(notebook: Path) -> dict[str, str]:
    """Title, template and start time of a failed run, from Papermill's notebook metadata."""
    data = _read_json(notebook) if notebook.is_file() else None
    papermill = ((data or {}).get("metadata") or {}).get("papermill") or {}
    proposal = (papermill.get("parameters") or {}).get("proposal") or {}
    if not isinstance(proposal, dict):
        proposal = {}
    when = _parse_time(str(papermill.get("start_time") or ""))
    return {
        "title": str(proposal.get("title") or ""),
        "template": template_label(
            str(proposal.get("template") or ""),
            Path(str(proposal["template_file"])).name if proposal.get("template_file") else None,
        ),
        "run_time": when.replace(microsecond=0).isoformat() if when else "",
    }


def entries(out: Path | str) -> list[Entry]:
    """Every assessment folder in ``out``, newest run first, then by id.

    Only folders named as slugs count (never the staging or hidden folders a
    run uses); a folder needs a readable ``metrics.json`` and ``report.html``,
    or a ``failed/`` folder, to be listed.
    """
    out = Path(out)
    found: list[Entry] = []
    if not out.is_dir():
        return found
    for folder in sorted(out.iterdir()):
        if not folder.is_dir() or not _SLUG.fullmatch(folder.name):
            continue
        failed = folder / "failed"
        failure = _first_line(failed / "error.txt") if failed.is_dir() else ""
        metrics = _read_json(folder / "metrics.json")
        has_report = (folder / "report.html").is_file() and metrics is not None
        if not has_report and not failed.is_dir():
            continue
        metrics = metrics or {}
        provenance = metrics.get("provenance") or {}
        attempt = {} if has_report else _failed_attempt(failed / "assessment.ipynb")
        found.append(
            Entry(
                id=folder.name,
                title=str(metrics.get("title") or attempt.get("title") or folder.name),
                template=template_label(metrics.get("template"), metrics.get("template_notebook"))
                or attempt.get("template")
                or "–",
                run_time=str(provenance.get("run time (UTC)") or attempt.get("run_time") or ""),
                ratings=rating_summary(metrics),
                report=f"{quote(folder.name)}/report.html" if has_report else None,
                last_run_failed=failed.is_dir(),
                failure=failure,
            )
        )
    found.sort(key=lambda e: e.id)
    found.sort(
        key=lambda e: _parse_time(e.run_time) or dt.datetime.min.replace(tzinfo=dt.UTC),
        reverse=True,
    )
    return found


# ---------------------------------------------------------------------------
# The page

#: Sort buttons for the column headers, added only when scripts run.
SCRIPT = """
(function () {
  var table = document.getElementById("assessments");
  if (!table || !table.tBodies.length) { return; }
  var heads = table.tHead.rows[0].cells;
  var status = document.getElementById("sort-status");
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.trim().toLowerCase() : v;
  }
  function sortBy(index, type) {
    var th = heads[index];
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      if (type === "number") { x = parseFloat(x) || 0; y = parseFloat(y) || 0; }
      var c = x < y ? -1 : x > y ? 1 : 0;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { table.tBodies[0].appendChild(r); });
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir);
    status.textContent = "Sorted by " + th.textContent.trim() + ", " + dir + ".";
  }
  for (var i = 0; i < heads.length; i++) {
    (function (index) {
      var th = heads[index];
      var button = document.createElement("button");
      button.type = "button";
      button.className = "eia-sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(index, th.getAttribute("data-type"));
      });
    })(i);
  }
  document.getElementById("sort-hint").hidden = false;
})();
""".strip()

EXTRA_CSS = """
button.eia-sort { font: inherit; font-weight: 700; color: var(--nhs-blue); background: none;
  border: 0; padding: 0; cursor: pointer; text-align: left; text-decoration: underline; }
button.eia-sort:focus { background: var(--nhs-focus); outline: 4px solid transparent; }
th[aria-sort="ascending"] button.eia-sort::after { content: " \\25B2"; }
th[aria-sort="descending"] button.eia-sort::after { content: " \\25BC"; }
table.eia-table tbody th { background: none; }
.eia-status-failed { font-weight: 700; }
.eia-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); }
""".strip()

TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="generator" content="eia {{ version }}">
<title>{{ page_title }}</title>
<style>
{{ css }}
</style>
</head>
<body>
<a class="eia-skip" href="#main">Skip to main content</a>
<header class="eia-banner" role="banner">
  <p class="eia-banner-title">{{ banner }}</p>
</header>
<main id="main" class="eia-main">
<h1>{{ page_title }}</h1>
{%- if entries %}
<p class="eia-meta">{{ entries | length }} assessment{{ "" if entries | length == 1 else "s" }}
in this folder, most recently run first.
<span id="sort-hint" hidden>Select a column heading to sort the table by it.</span></p>
<p id="sort-status" class="eia-visually-hidden" aria-live="polite"></p>
<table class="eia-table" id="assessments">
<caption>Assessments: title, id, template, date run, ratings and status</caption>
<thead>
<tr>
<th scope="col">Title</th>
<th scope="col">Id</th>
<th scope="col">Template</th>
<th scope="col" aria-sort="descending">Date run</th>
<th scope="col" data-type="number">Ratings</th>
<th scope="col">Status</th>
</tr>
</thead>
<tbody>
{%- for e in entries %}
<tr>
<th scope="row">
{%- if e.report %}<a href="{{ e.report }}">{{ e.title }}</a>{% else %}{{ e.title }}{% endif -%}
</th>
<td><code>{{ e.id }}</code></td>
<td>{{ e.template }}</td>
<td data-sort="{{ e.run_time }}">
{%- if e.run_time %}<time datetime="{{ e.run_time }}">{{ e.run_time_label }}</time>
{%- else %}unknown{% endif -%}
</td>
<td data-sort="{{ e.ratings.disproportionate * 1000 + e.ratings.negative + e.ratings.mixed }}">
{{- summary(e.ratings) }}
{%- if e.ratings.scenario %}<br><span class="eia-meta">for {{ e.ratings.scenario }}
{%- if e.ratings.robustness == "holds" %} (the option named; the choice holds when thresholds are halved or doubled)
{%- elif e.ratings.robustness == "changes" %} (the option named; the choice changes when some thresholds are halved or doubled)
{%- endif %}</span>
{%- endif -%}
</td>
<td>
{%- if e.last_run_failed %}<span class="eia-status-failed">Last run failed</span>
{%- if e.failure %}: {{ e.failure }}{% endif %}
{%- if e.report %} (showing the last good report){% else %} (no report yet){% endif %}
{%- else %}Up to date{% endif -%}
</td>
</tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<p>No assessments in this folder yet.
Run <code>eia run FILE</code> or <code>eia batch FOLDER</code>.</p>
{%- endif %}
</main>
<footer class="eia-footer" role="contentinfo">
  <p>Produced with eia {{ version }}, an open-source equity impact assessment framework.</p>
</footer>
<script>
{{ script }}
</script>
</body>
</html>
"""


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


@cache
def _template() -> Template:
    """The index page's template, compiled once per process (a batch rebuilds the page
    after every proposal)."""
    return Environment(autoescape=True, keep_trailing_newline=True).from_string(TEMPLATE)


def render(items: list[Entry]) -> str:
    """The index page's HTML for ``items`` (every value escaped)."""
    template = _template()
    css = (ASSETS / "report.css").read_text(encoding="utf-8") + "\n" + EXTRA_CSS
    # The script sits between <script> tags verbatim: it is a constant, never params text.
    script = SCRIPT
    return template.render(
        entries=items,
        page_title=PAGE_TITLE,
        banner=BANNER,
        version=__version__,
        css=_safe_raw(css),
        script=_safe_raw(script),
        csp=_csp("\n" + script + "\n"),
        summary=_summary_text,
    )


def _safe_raw(text: str):
    from markupsafe import Markup

    return Markup(text)  # constant assets of this package only


def write(out: Path | str) -> Path:
    """Regenerate ``OUT/index.html`` from the folders in ``out`` (atomically replaced)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html = render(entries(out))
    fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".html", dir=out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / INDEX_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out / INDEX_NAME
