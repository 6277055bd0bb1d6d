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
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eia.errors import ParamsError, Problem

__all__ = [
    "FRAMEWORKS_DIR",
    "FILLS",
    "Level",
    "Outcome",
    "Domain",
    "Band",
    "Rating",
    "Framework",
    "builtin",
    "load_framework",
    "check",
    "band_of",
    "band_range",
    "edge_note",
    "Result",
    "compute",
    "assess",
    "changes",
    "metrics",
    "write_metrics",
    "title",
    "summary",
    "framework_block",
    "heat_table",
    "domain_table",
    "evidence",
    "action_plan",
    "change",
    "signoff",
    "provenance",
]

FRAMEWORKS_DIR = Path(__file__).parents[1] / "frameworks"

#: Light fills for the heat table (level text is always printed; colour only repeats it).
FILLS = ("#f6d5d1", "#fbe3c6", "#fdf3c4", "#dcefd0", "#c3e4c0", "#a9d8b8")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Model):
    """One level an outcome can be scored at."""

    score: int
    label: str = Field(min_length=1)
    descriptor: str = ""


class Outcome(_Model):
    """One outcome (or criterion) of a domain."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Domain(_Model):
    """A domain: a named group of outcomes."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)


class Band(_Model):
    """A rating band: totals from ``min`` up to the next band's ``min`` get ``label``."""

    min: float
    label: str = Field(min_length=1)


class Rating(_Model):
    """How totals become ratings."""

    overall: list[Band] = Field(min_length=1)
    domain: Literal["pro_rata"] | list[Band] = "pro_rata"

    @model_validator(mode="after")
    def _increasing(self) -> Rating:
        for bands in (self.overall, self.domain if isinstance(self.domain, list) else []):
            mins = [b.min for b in bands]
            if mins != sorted(mins) or len(set(mins)) != len(mins):
                raise ValueError("rating bands must have strictly increasing min values")
        return self


class Framework(_Model):
    """A self-assessment framework (see the module docstring)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    illustrative: bool = False
    levels: list[Level] = Field(min_length=2)
    domains: list[Domain] = Field(min_length=1)
    rating: Rating

    @model_validator(mode="after")
    def _unique(self) -> Framework:
        scores = [lv.score for lv in self.levels]
        if scores != sorted(set(scores)):
            raise ValueError("levels must have distinct scores in increasing order")
        ids = [o.id for d in self.domains for o in d.outcomes]
        if len(set(ids)) != len(ids):
            raise ValueError("outcome ids must be unique across domains")
        return self

    @property
    def outcome_ids(self) -> list[str]:
        return [o.id for d in self.domains for o in d.outcomes]

    @property
    def scores(self) -> list[int]:
        return [lv.score for lv in self.levels]

    def level(self, score: int) -> Level:
        return next(lv for lv in self.levels if lv.score == score)

    def max_total(self, domain: Domain | None = None) -> int:
        n = len(domain.outcomes) if domain else len(self.outcome_ids)
        return n * max(self.scores)

    def domain_bands(self, domain: Domain) -> list[Band]:
        """The bands a domain's total is rated on (pro rata from the overall bands by default)."""
        if isinstance(self.rating.domain, list):
            return list(self.rating.domain)
        scale = self.max_total(domain) / self.max_total()
        return [
            Band(min=math.ceil(b.min * scale - 1e-9), label=b.label) for b in self.rating.overall
        ]


# ---------------------------------------------------------------------------
# Frameworks: built in or given


def builtin() -> list[str]:
    """The ids of the built-in frameworks."""
    return sorted(p.stem for p in FRAMEWORKS_DIR.glob("*.yaml"))


@cache
def _builtin(name: str) -> Framework:
    data = yaml.safe_load((FRAMEWORKS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return Framework.model_validate(data)


def load_framework(spec: str | dict, base_dir: Path | str = ".") -> Framework:
    """A framework from a built-in id, a YAML file (relative to ``base_dir``) or a mapping.

    Raises :class:`ParamsError` (field ``self_assessment.framework``) when it cannot.
    """
    where = "self_assessment.framework"
    if isinstance(spec, str):
        if spec in builtin():
            return _builtin(spec)
        path = Path(base_dir) / spec
        if spec.endswith((".yaml", ".yml")) and path.is_file():
            try:
                spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                raise ParamsError(where, [Problem(where, f"{spec} is not valid YAML")]) from None
        else:
            known = ", ".join(builtin())
            raise ParamsError(
                where,
                [
                    Problem(
                        where,
                        f"unknown framework {spec!r}: use one of {known} or a .yaml file",
                    )
                ],
            )
    try:
        return Framework.model_validate(spec)
    except ValidationError as exc:
        problems = [
            Problem(
                ".".join([where, *(str(x) for x in err["loc"])]),
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors(include_url=False)
        ]
        raise ParamsError(where, problems) from None


def check(block, base_dir: Path | str = ".", *, follow_previous: bool = True) -> list[Problem]:
    """Problems with a validated ``self_assessment`` block, judged against its framework.

    One problem per line: an unknown framework, an unknown or repeated outcome, a score
    outside the framework's levels, an action naming an unknown outcome, a previous
    assessment that is missing or uses another framework.
    """
    try:
        fw = load_framework(block.framework, base_dir)
    except ParamsError as exc:
        return list(exc.problems)
    problems: list[Problem] = []
    known = set(fw.outcome_ids)
    seen: set[str] = set()
    allowed = ", ".join(str(s) for s in fw.scores)
    for i, entry in enumerate(block.scores):
        where = f"self_assessment.scores[{i}]"
        if entry.outcome not in known:
            problems.append(
                Problem(
                    f"{where}.outcome",
                    f"unknown outcome {entry.outcome!r} in {fw.id}; outcomes are "
                    + ", ".join(fw.outcome_ids),
                )
            )
        elif entry.outcome in seen:
            problems.append(Problem(f"{where}.outcome", f"outcome {entry.outcome} is scored twice"))
        seen.add(entry.outcome)
        if entry.score not in fw.scores:
            problems.append(
                Problem(
                    f"{where}.score",
                    f"{entry.score} is not a level of {fw.id}; allowed: {allowed}",
                )
            )
    for i, action in enumerate(block.actions):
        for j, outcome in enumerate(action.outcomes):
            if outcome not in known:
                problems.append(
                    Problem(
                        f"self_assessment.actions[{i}].outcomes[{j}]",
                        f"unknown outcome {outcome!r} in {fw.id}",
                    )
                )
    if block.previous and follow_previous:
        problems += _check_previous(block.previous, Path(base_dir), fw)
    return problems


def _check_previous(previous: str, base: Path, fw: Framework) -> list[Problem]:
    from eia import params

    where = "self_assessment.previous"
    path = base / previous
    if not path.is_file():
        return [Problem(where, f"{previous} does not exist (relative to the params file)")]
    try:
        earlier = params.load(path, check_data=False)
    except ParamsError as exc:
        return [
            Problem(where, f"{previous} is not a valid params file ({len(exc.problems)} problems)")
        ]
    if earlier.self_assessment is None:
        return [Problem(where, f"{previous} is not a self-assessment")]
    try:
        other = load_framework(earlier.self_assessment.framework, path.parent)
    except ParamsError:
        return [Problem(where, f"{previous} names a framework that cannot be loaded")]
    if other.id != fw.id:
        return [Problem(where, f"{previous} uses framework {other.id}, not {fw.id}")]
    return []


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
    from eia import params

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
    from eia.assessment import _clean, records

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
    from eia.jsonable import write_json

    if folder is None:
        return None
    return write_json(metrics(r), Path(folder) / "metrics.json")


# ---------------------------------------------------------------------------
# Presentation: each returns a displayable object (eia.report.show)


def _score_text(score, label: str) -> str:
    return "not scored" if score is None or score != score else f"{score} – {label}"


def title(r: Result):
    from eia.report import show

    p, b = r.proposal, r.block
    parts = [
        show.Html(
            '<header class="eia-title"><p class="eia-kicker">Self-assessment against '
            f"{show.esc(r.framework.name)}</p><h1>{show.esc(p.title)}</h1>"
            f'<p class="eia-meta">{show.esc(b.organisation)} · {show.esc(b.period)} · '
            f"assessment <code>{show.esc(p.id)}</code></p></header>"
        )
    ]
    if r.framework.illustrative:
        parts.append(
            show.notice_box(
                f"{r.framework.name} is an illustrative framework, not a published one: "
                "its criteria, levels and bands are examples.",
                "warning",
            )
        )
    if p.id.endswith("illustrative") or p.title.lower().startswith("illustrative"):
        parts.append(
            show.notice_box(
                "The scores, evidence and actions in this report are illustrative: they "
                "describe no real organisation's assessment.",
                "synthetic",
            )
        )
    return show.Block(*parts)


def summary(r: Result):
    """Overall rating, domain ratings in sentences, what changed."""
    from eia.report import show

    o = r.overall
    facts = []
    if o["score"] is not None:
        facts.append(
            f"Overall rating: {o['rating']} — a total of {o['score']} out of {o['max']} across "
            f"{o['outcomes']} outcomes (band {o['band']} under the framework's rules)."
            + (f" At a band edge: {o['note']}." if o["note"] else "")
        )
    else:
        facts.append(f"Overall rating withheld: {o['note']}.")
    for _, d in r.domains.iterrows():
        score = "not rated" if _fmt(d["score"]) == "–" else f"{d['score']} of {d['max']}"
        facts.append(f"Domain {d['domain_id']}, {d['domain']}: {d['rating']} ({score}).")
    low = r.outcomes.dropna(subset=["score"])
    if len(low):
        floor = low["score"].min()
        weakest = low[low["score"] == floor]
        facts.append(
            "Lowest-scored outcome(s): "
            + "; ".join(f"{x.outcome} ({x.level})" for x in weakest.itertuples())
            + "."
        )
    if r.change is not None:
        all_row = r.change[r.change["level"] == "overall"].iloc[0]
        facts.append(
            f"Since {r.previous.block.period}: overall {all_row['change']} "
            f"({_fmt(all_row['before'])} → {_fmt(all_row['now'])}); "
            f"{(r.change[r.change['level'] == 'outcome']['change'] == 'improved').sum()} outcomes "
            f"improved, {(r.change[r.change['level'] == 'outcome']['change'] == 'declined').sum()} "
            "declined."
        )
    open_actions = [a for a in r.block.actions if a.status != "done"]
    facts.append(f"Action plan: {len(r.block.actions)} actions, {len(open_actions)} not yet done.")
    return show.bullet_list(facts, intro="Headline findings:")


def _fmt(value) -> str:
    import pandas as pd

    return "–" if value is None or pd.isna(value) else str(int(value))


def framework_block(r: Result):
    """The framework: source, levels with descriptors, rating bands (overall and per domain)."""
    import pandas as pd

    from eia.report import show

    fw = r.framework
    levels = pd.DataFrame(
        [{"Score": lv.score, "Level": lv.label, "Descriptor": lv.descriptor} for lv in fw.levels]
    )
    bands = [
        {
            "Applies to": "Overall (all outcomes)",
            "Maximum": fw.max_total(),
            **{
                "Bands": "; ".join(
                    f"{b.label}: {band_range(fw.rating.overall, b, fw.max_total())}"
                    for b in fw.rating.overall
                )
            },
        }
    ]
    for d in fw.domains:
        db = fw.domain_bands(d)
        bands.append(
            {
                "Applies to": f"Domain {d.id}: {d.name}",
                "Maximum": fw.max_total(d),
                "Bands": "; ".join(f"{b.label}: {band_range(db, b, fw.max_total(d))}" for b in db),
            }
        )
    rule = (
        "Each outcome is scored at one level. The overall rating bands the total of every "
        "outcome's score. "
        + (
            "A domain's total is banded pro rata: each overall threshold is scaled by the "
            "domain's maximum over the overall maximum and rounded up (the framework bands only "
            "the overall total)."
            if fw.rating.domain == "pro_rata"
            else "Domains have bands of their own."
        )
    )
    return show.Block(
        show.paragraphs(f"Framework: {fw.name}. Source: {fw.source}", rule),
        show.Table(levels, f"{fw.name}: the levels an outcome is scored at"),
        show.Table(pd.DataFrame(bands), "Rating bands: totals of whole-number scores"),
    )


def heat_table(r: Result):
    """Outcomes × (score, level) as an accessible heat table: the words carry the meaning."""
    from eia.report import show

    fw = r.framework
    order = {lv.score: i for i, lv in enumerate(fw.levels)}
    step = max(1, (len(FILLS) - 1) // max(1, len(fw.levels) - 1))
    prev = {}
    if r.previous is not None:
        prev = dict(zip(r.previous.outcomes["outcome"], r.previous.outcomes["level"], strict=True))
    head = ["Domain", "Outcome", "Score and level"] + (["Previously"] if prev else [])
    rows = []
    for d in fw.domains:
        part = r.outcomes[r.outcomes["domain_id"] == d.id]
        drow = r.domains[r.domains["domain_id"] == d.id].iloc[0]
        for i, o in enumerate(part.itertuples()):
            fill = (
                FILLS[min(len(FILLS) - 1, order[int(o.score)] * step)]
                if o.score is not None and o.score == o.score
                else "#ffffff"
            )
            cells = []
            if i == 0:
                cells.append(
                    f'<th scope="rowgroup" rowspan="{len(part)}">{show.esc(d.id)}. '
                    f"{show.esc(d.name)}<br><small>Domain rating: {show.esc(drow['rating'])}"
                    f"</small></th>"
                )
            cells.append(
                f'<th scope="row">{show.esc(o.outcome)}: {show.esc(o.text)}</th>'
                f'<td style="background:{fill};color:#1a1a1a">'
                f"{show.esc(_score_text(o.score, o.level))}</td>"
            )
            if prev:
                cells.append(f"<td>{show.esc(prev.get(o.outcome, ''))}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
    o = r.overall
    total = "withheld" if o["score"] is None else f"{o['score']} of {o['max']} – {o['rating']}"
    rows.append(
        f'<tr><th scope="row" colspan="2">Overall</th><td><strong>{show.esc(total)}</strong></td>'
        + (f"<td>{show.esc(r.previous.overall['rating'])}</td>" if prev else "")
        + "</tr>"
    )
    caption = (
        f"Scores by outcome ({fw.name}); each cell names its score and level in words — "
        "the shading repeats the level and carries no other meaning"
    )
    header = "".join(f'<th scope="col">{show.esc(h)}</th>' for h in head)
    return show.Html(
        f'<table class="eia-table eia-heat"><caption>{show.esc(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def domain_table(r: Result):
    """Domain ratings with their totals, bands and band-edge notes."""
    import pandas as pd

    from eia.report import show

    frame = pd.DataFrame(
        {
            "Domain": [
                f"{a}. {b}"
                for a, b in zip(r.domains["domain_id"], r.domains["domain"], strict=True)
            ],
            "Total": [_fmt(v) for v in r.domains["score"]],
            "Maximum": r.domains["max"],
            "Rating": r.domains["rating"],
            "Band (totals)": r.domains["band"],
            "Sensitivity": [n or "not at a band edge" for n in r.domains["note"]],
        }
    )
    o = r.overall
    frame.loc[len(frame)] = [
        "Overall",
        _fmt(o["score"]),
        o["max"],
        o["rating"],
        o["band"],
        o["note"] or "not at a band edge",
    ]
    return show.Table(frame, "Domain and overall ratings computed by the framework's rules")


def evidence(r: Result):
    """Every outcome's evidence, raters and notes."""
    import pandas as pd

    from eia.report import show

    frame = pd.DataFrame(
        {
            "Outcome": r.outcomes["outcome"],
            "Level": r.outcomes["level"],
            "Evidence": ["; ".join(e) for e in r.outcomes["evidence"]],
            "Rated by": ["; ".join(x) or "not recorded" for x in r.outcomes["raters"]],
            "Notes": r.outcomes["notes"],
        }
    )
    kinds: dict[str, int] = {}
    for s in r.block.scores:
        for rater in s.raters:
            kinds[rater.kind] = kinds.get(rater.kind, 0) + 1
    community = kinds.get("community partner", 0) + kinds.get("patient or carer", 0)
    scored = len(r.block.scores)
    with_partner = sum(
        any(x.kind in ("community partner", "patient or carer") for x in s.raters)
        for s in r.block.scores
    )
    lead = (
        f"{with_partner} of {scored} scored outcomes were rated with community partners, "
        f"patients or carers ({community} ratings in all)."
    )
    parts = [show.paragraphs(lead), show.Table(frame, "Evidence and raters for each outcome")]
    if with_partner < scored:
        parts.append(
            show.notice_box(
                "Some outcomes were scored without community partners, patients or carers; "
                "frameworks such as EDS 2022 expect scores to be agreed with them.",
                "warning",
            )
        )
    return show.Block(*parts)


def action_plan(r: Result):
    """The action plan: what, which outcomes, owner, due date, status."""
    import pandas as pd

    from eia.report import show

    actions = r.block.actions
    if not actions:
        return show.notice_box("No action plan was given.", "warning")
    frame = pd.DataFrame(
        [
            {
                "Action": a.action,
                "Outcomes": ", ".join(a.outcomes) or "–",
                "Owner": a.owner,
                "Due": a.due.isoformat() if a.due else "not set",
                "Status": a.status,
            }
            for a in actions
        ]
    )
    return show.Table(frame, "Action plan")


def change(r: Result):
    """Change since the previous assessment, or a note that none was given."""
    from eia.report import show

    if r.change is None:
        return show.paragraphs(
            "No previous assessment was given (self_assessment.previous), so no change is shown."
        )
    c = r.change
    frame = c.assign(before=[_fmt(v) for v in c["before"]], now=[_fmt(v) for v in c["now"]]).rename(
        columns={
            "level": "Level",
            "id": "Id",
            "name": "Outcome or domain",
            "before": f"Score {r.previous.block.period}",
            "now": f"Score {r.block.period}",
            "rating_before": "Rating then",
            "rating_now": "Rating now",
            "change": "Change",
        }
    )
    return show.Table(frame, f"Change since the previous assessment ({r.previous.block.period})")


def signoff(r: Result):
    """Sign-off rows from the params file."""
    from eia.report import show

    return show.signoff_table(r.proposal.signoff, "self-assessment")


def provenance(r: Result):
    """How the report was produced: params file, version, commit, time."""
    from eia import __version__
    from eia.report import show
    from eia.runner.provenance import git_commit, run_time

    return show.definition_table(
        {
            "proposal id": r.proposal.id,
            "params file": r.params_file.name if r.params_file else "(injected)",
            "framework": f"{r.framework.id} ({r.framework.name})",
            "eia version": __version__,
            "git commit": git_commit(),
            "run time (UTC)": run_time(),
        },
        "How this report was produced",
    )
