"""A self-assessment shown for the board: the score heat table, domain ratings, evidence, action plan, change since last time, sign-off and provenance."""

from __future__ import annotations

from eia._version import __version__
from eia.params import NARRATIVE_KEYS
from eia.provenance import git_commit, run_time
from eia.report import show
from eia.selfassess.scoring import (
    Result,
    band_range,
)

#: Light fills for the heat table (level text is always printed; colour only repeats it).
FILLS = ("#f6d5d1", "#fbe3c6", "#fdf3c4", "#dcefd0", "#c3e4c0", "#a9d8b8")

__all__ = [
    "FILLS",
    "action_plan",
    "change",
    "domain_table",
    "evidence",
    "framework_block",
    "heat_table",
    "provenance",
    "signoff",
    "summary",
    "title",
]


def _score_text(score, label: str) -> str:
    return "not scored" if _unscored(score) else f"{score} – {label}"


def _unscored(score) -> bool:
    """True for an outcome without a score (None, NaN or pandas' NA)."""
    if score is None:
        return True
    try:
        return bool(score != score)  # NaN
    except TypeError:  # pandas' NA: its truth value is ambiguous, and it means "no score"
        return True


def title(r: Result):
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
    if p.description:
        parts.append(show.Html(f'<p class="eia-lede">{show.esc(p.description)}</p>'))
    if p.narrative:  # the owner's words, by protected characteristic or group
        rows = "".join(
            f'<tr><th scope="row">{show.esc(NARRATIVE_KEYS.get(k, k))}</th>'
            f"<td>{show.esc(text)}</td></tr>"
            for k, text in p.narrative.items()
        )
        parts.append(
            show.Html(
                '<table class="eia-table"><caption>Assessment by the owner, by group</caption>'
                '<thead><tr><th scope="col">Group</th><th scope="col">Assessment by the owner'
                f"</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        )
    return show.Block(*parts)


def summary(r: Result):
    """Overall rating, domain ratings in sentences, what changed."""
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
                if not _unscored(o.score)
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

    actions = r.block.actions
    mitigations = r.proposal.mitigations  # the params file's own mitigations: shown, not dropped
    if not actions and not mitigations:
        return show.notice_box("No action plan or mitigations were given.", "warning")
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
        + [
            {
                "Action": m.action,
                "Outcomes": "– (a mitigation)",
                "Owner": m.owner,
                "Due": m.due.isoformat() if m.due else "not set",
                "Status": m.status,
            }
            for m in mitigations
        ]
    )
    caption = "Action plan and mitigations" if mitigations else "Action plan"
    return show.Table(frame, caption)


def change(r: Result):
    """Change since the previous assessment, or a note that none was given."""
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
    return show.signoff_table(r.proposal.signoff, "self-assessment")


def provenance(r: Result):
    """How the report was produced: params file, version, commit, time."""
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
