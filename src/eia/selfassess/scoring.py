"""Self-assessment against a framework: domains → outcomes → scored levels → ratings.

NHS organisations assess themselves against frameworks such as NHS England's
Equality Delivery System 2022 (EDS 2022: 3 domains, 11 outcomes, each scored
0–3) or a local race health inequalities maturity matrix. A framework is
YAML (built in, in ``src/eia/frameworks/``, or given in the params file):

``levels``
    the scores an outcome can take, each with a label and a descriptor;
``domains``
    each with ``outcomes`` (``id``, ``text``);
``rating``
    ``overall``: bands on the total of every outcome's score (the highest band
    whose ``min`` the total reaches); ``domain``: ``pro_rata`` (each overall
    threshold scaled by the domain's maximum over the overall maximum, rounded
    up) or bands of its own.

:func:`check` validates a proposal's ``self_assessment`` block against its
framework (one problem per line); :func:`assess` computes the score table, the
domain and overall ratings and the change since a previous assessment;
:func:`metrics` is the ``metrics.json`` part. The presentation functions at
the end return displayable objects (:mod:`eia.report.show`) for the template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eia import params
from eia.assessment import records
from eia.errors import ParamsError, Problem
from eia.jsonable import clean as _clean
from eia.jsonable import write_json
from eia.params.frameworks import (
    Band,
    Framework,
    check,
    load_framework,
)

__all__ = [
    "band_of",
    "band_range",
    "edge_note",
    "Result",
    "compute",
    "assess",
    "changes",
    "metrics",
    "write_metrics",
]


# ---------------------------------------------------------------------------
# Frameworks: built in or given


# ---------------------------------------------------------------------------
# Computing ratings


def band_of(total: float, bands: list[Band]) -> Band:
    """The highest band whose ``min`` the total reaches (the first band if none)."""
    chosen = bands[0]
    for b in bands:
        if total >= b.min:
            chosen = b
    return chosen


def band_range(bands: list[Band], band: Band, top: float) -> str:
    """A band's range of whole-number totals, e.g. ``8–21``."""
    i = bands.index(band)
    low = math.ceil(band.min)
    high = math.ceil(bands[i + 1].min) - 1 if i + 1 < len(bands) else int(top)
    return f"{low}" if low == high else f"{low}–{high}"


def edge_note(total: int, bands: list[Band], top: float) -> str:
    """Say when one point more or less would change the rating; else an empty string."""
    band = band_of(total, bands)
    i = bands.index(band)
    notes = []
    if i > 0 and total - 1 < band.min:
        notes.append(f"one point less would rate it {bands[i - 1].label}")
    if i + 1 < len(bands) and total + 1 >= bands[i + 1].min:
        notes.append(f"one point more would rate it {bands[i + 1].label}")
    return "; ".join(notes)


@dataclass
class Result:
    """A computed self-assessment: framework, per-outcome scores, domain and overall ratings."""

    proposal: Any
    framework: Framework
    outcomes: Any  # pandas DataFrame: one row per framework outcome
    domains: Any  # pandas DataFrame: one row per domain
    overall: dict[str, Any]
    params_file: Path | None = None
    previous: Result | None = None
    change: Any = None  # DataFrame of outcome and rating changes, when previous is given
    notes: list[str] = field(default_factory=list)

    @property
    def block(self):
        return self.proposal.self_assessment


def compute(block, fw: Framework):
    """(outcomes, domains, overall) for a validated block: frames and a mapping."""
    import pandas as pd

    given = {s.outcome: s for s in block.scores}
    rows = []
    for d in fw.domains:
        for o in d.outcomes:
            s = given.get(o.id)
            rows.append(
                {
                    "domain_id": d.id,
                    "domain": d.name,
                    "outcome": o.id,
                    "text": o.text,
                    "score": s.score if s else None,
                    "level": fw.level(s.score).label if s else "Not scored",
                    "evidence": list(s.evidence) if s else [],
                    "raters": [f"{r.name} ({r.kind})" for r in s.raters] if s else [],
                    "notes": s.notes if s else "",
                }
            )
    outcomes = pd.DataFrame(rows)
    outcomes["score"] = outcomes["score"].astype("Int64")
    drows = []
    for d in fw.domains:
        part = outcomes[outcomes["domain_id"] == d.id]
        bands, top = fw.domain_bands(d), fw.max_total(d)
        missing = part.loc[part["score"].isna(), "outcome"].tolist()
        total = int(part["score"].sum()) if not missing else None
        band = band_of(total, bands) if total is not None else None
        drows.append(
            {
                "domain_id": d.id,
                "domain": d.name,
                "outcomes": len(part),
                "score": total,
                "max": top,
                "rating": band.label if band else "Not rated",
                "band": band_range(bands, band, top) if band else "",
                "note": edge_note(total, bands, top)
                if band
                else "not rated: unscored " + ", ".join(missing),
                "basis": "pro rata from the overall bands"
                if fw.rating.domain == "pro_rata"
                else "the framework's domain bands",
            }
        )
    domains = pd.DataFrame(drows)
    domains["score"] = domains["score"].astype("Int64")
    missing = outcomes.loc[outcomes["score"].isna(), "outcome"].tolist()
    top = fw.max_total()
    if missing:
        overall = {
            "score": None,
            "max": top,
            "rating": "Not rated",
            "band": "",
            "note": f"not rated: {len(missing)} outcome(s) unscored ({', '.join(missing)})",
            "scored": len(outcomes) - len(missing),
            "outcomes": len(outcomes),
        }
    else:
        total = int(outcomes["score"].sum())
        band = band_of(total, fw.rating.overall)
        overall = {
            "score": total,
            "max": top,
            "rating": band.label,
            "band": band_range(fw.rating.overall, band, top),
            "note": edge_note(total, fw.rating.overall, top),
            "scored": len(outcomes),
            "outcomes": len(outcomes),
        }
    return outcomes, domains, overall


def assess(proposal, params_file: Path | str | None = None) -> Result:
    """Compute a proposal's self-assessment (and the previous one, when ``previous`` is given)."""
    block = proposal.self_assessment
    if block is None:
        raise ParamsError("self_assessment", [Problem("self_assessment", "block is missing")])
    base = Path(params_file).resolve().parent if params_file else Path.cwd()
    fw = load_framework(block.framework, base)
    problems = check(block, base)
    if problems:
        raise ParamsError(str(params_file or "self_assessment"), problems)
    outcomes, domains, overall = compute(block, fw)
    result = Result(
        proposal, fw, outcomes, domains, overall, Path(params_file) if params_file else None
    )
    if block.previous:
        path = (base / block.previous).resolve()
        earlier = params.load(path, check_data=False)
        e_out, e_dom, e_all = compute(earlier.self_assessment, fw)
        result.previous = Result(earlier, fw, e_out, e_dom, e_all, path)
        result.change = changes(result, result.previous)
    return result


def changes(now: Result, before: Result):
    """Per outcome, per domain and overall: score then and now, and the change in words."""
    import pandas as pd

    def word(a, b) -> str:
        if a is None or b is None or pd.isna(a) or pd.isna(b):
            return "not comparable (unscored)"
        return "improved" if b > a else "declined" if b < a else "no change"

    rows = []
    for (_, o), (_, p) in zip(now.outcomes.iterrows(), before.outcomes.iterrows(), strict=True):
        rows.append(
            {
                "level": "outcome",
                "id": o["outcome"],
                "name": o["text"],
                "before": p["score"],
                "now": o["score"],
                "rating_before": p["level"],
                "rating_now": o["level"],
                "change": word(p["score"], o["score"]),
            }
        )
    for (_, d), (_, p) in zip(now.domains.iterrows(), before.domains.iterrows(), strict=True):
        rows.append(
            {
                "level": "domain",
                "id": d["domain_id"],
                "name": d["domain"],
                "before": p["score"],
                "now": d["score"],
                "rating_before": p["rating"],
                "rating_now": d["rating"],
                "change": word(p["score"], d["score"]),
            }
        )
    rows.append(
        {
            "level": "overall",
            "id": "overall",
            "name": now.framework.name,
            "before": before.overall["score"],
            "now": now.overall["score"],
            "rating_before": before.overall["rating"],
            "rating_now": now.overall["rating"],
            "change": word(before.overall["score"], now.overall["score"]),
        }
    )
    out = pd.DataFrame(rows)
    for c in ("before", "now"):
        out[c] = out[c].astype("Int64")
    return out


# ---------------------------------------------------------------------------
# metrics.json


def metrics(r: Result) -> dict[str, Any]:
    """The machine-readable self-assessment (no provenance; the runner adds it)."""
    b = r.block
    out: dict[str, Any] = {
        "id": r.proposal.id,
        "title": r.proposal.title,
        "template": r.proposal.template,
        "template_notebook": r.proposal.template_notebook,
        "self_assessment": {
            "organisation": b.organisation,
            "period": b.period,
            "framework": {
                "id": r.framework.id,
                "name": r.framework.name,
                "illustrative": r.framework.illustrative,
                "source": r.framework.source,
            },
            "overall": r.overall,
            "domains": records(r.domains),
            "outcomes": records(r.outcomes.drop(columns=["notes"])),
            "actions": [a.model_dump(mode="json") for a in b.actions],
        },
    }
    if r.change is not None:
        out["self_assessment"]["change"] = records(r.change)
        out["self_assessment"]["previous"] = {
            "period": r.previous.block.period,
            "overall": r.previous.overall,
        }
    return _clean(out)


def write_metrics(r: Result, folder: Path | str | None) -> Path | None:
    """Write ``metrics.json`` into ``folder`` (nothing when ``folder`` is None)."""
    if folder is None:
        return None
    return write_json(metrics(r), Path(folder) / "metrics.json")


# ---------------------------------------------------------------------------
# Presentation: each returns a displayable object (eia.report.show)
