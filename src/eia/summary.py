"""The executive summary a board reads first, and the report's plain-English method note.

:func:`executive_paragraph` writes one paragraph that names the area (by name
and code), the proposal, its options, the option the report recommends or
describes and why, who bears the burden with the key figures, any warnings
about the inputs, and the caveats that change how the figures read.
:func:`ratings_table` is the compact ratings table that follows it, always
saying which option it shows. :func:`summary` returns both as one
:class:`eia.show.Block`; :func:`how_ratings_work` is the short section that
explains the ratings in the report itself.

Every finding is stated once: the summary gives the headline and says which
section holds the detail; the long sentence behind each rating stays in
"Impacts by group". The judgement itself (ranking, reasons, robustness,
warnings) comes from :mod:`eia.impact`; nothing here re-decides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from eia import impact
from eia.assessment import Assessment
from eia.impact import DIMENSION_LABELS, rating_label
from eia.show import (
    Block,
    Html,
    Table,
    bullet_list,
    esc,
    fmt_int,
    fmt_km,
    fmt_pct,
    join_words,
    notice_box,
    plural,
)
from eia.uptake import risk_words

#: Where each kind of detail lives in the report (the summary points there).
SECTIONS = {
    "impacts": "Impacts by group",
    "options": "Options comparison",
    "users": "The population and current users",
    "quality": "Data quality and limitations",
    "method": "How the ratings work",
}

AREA_KINDS = {"icb": "integrated care board", "ltla": "local authority"}


@dataclass
class Verdict:
    """What the judgement says, in the words the summary needs.

    ``option``: the option recommended (least adverse) or described; ``why``:
    one sentence giving the reason; ``robustness``: one sentence on whether the
    choice holds when thresholds change (empty when not assessed);
    ``warnings``: the input guards' messages.
    """

    option: str | None
    why: str = ""
    robustness: str = ""
    warnings: list[str] = field(default_factory=list)
    compared: bool = False


# ---------------------------------------------------------------------------
# Names


def area_name(a: Assessment) -> str:
    """The area in words with its code(s): "NHS … Integrated Care Board (E54000060)"."""
    spec = a.proposal.area.spec
    area = a.area
    if spec.get("icb"):
        code = str(spec["icb"]).strip().upper()
        lookup = a.pack.lookup()
        rows = lookup[(lookup["icb24_code"] == code) | (lookup["icb24_code_nhs"] == code)]
        name = str(rows["icb24_name"].iloc[0]) if len(rows) else "the integrated care board"
        return f"{name} ({code})"
    if spec.get("ltla"):
        names = (
            area.drop_duplicates("ltla24_code")
            .set_index("ltla24_code")["ltla24_name"]
            .reindex([str(c).upper() for c in spec["ltla"]])
        )
        parts = [f"{n} ({c})" if isinstance(n, str) else c for c, n in names.items()]
        return join_words(parts)
    authorities = list(dict.fromkeys(area["ltla24_name"]))
    where = join_words(authorities[:3]) + (" and others" if len(authorities) > 3 else "")
    return f"{plural(len(area), 'listed neighbourhood')} (LSOAs) in {where}"


def service_label(a: Assessment) -> str:
    """The service data's label for prose, with "(synthetic)" once at most."""
    if a.service is None and a.proposal.service is None:
        return ""
    label = a.service.label if a.service is not None else a.proposal.service.label
    synthetic = a.proposal.service is not None and a.proposal.service.synthetic
    if synthetic and "synthetic" not in label.lower():
        label += " (synthetic)"
    return label


def option_names(a: Assessment) -> list[str]:
    """The options appraised (none for a single proposal)."""
    return [o.name for o in a.proposal.options]


# ---------------------------------------------------------------------------
# The judgement, in words


def verdict(a: Assessment) -> Verdict:
    """The option the summary names and why, from the assessment's judgement."""
    names = option_names(a)
    if len(names) > 1 and len(a.impacts):
        table = impact.summarise_options(a.impacts)
        best, runner = table.iloc[0], table.iloc[1]
        return Verdict(
            option=str(best["option"]),
            why=_why(best, runner),
            robustness="",
            warnings=_warnings(a),
            compared=True,
        )
    return Verdict(option=a.rated_option, warnings=_warnings(a))


def _why(best: pd.Series, runner: pd.Series) -> str:
    """One clause: the first criterion (impact.least_adverse's order) that separates the two."""
    criteria = (
        ("disproportionate", "fewer disproportionate negative ratings"),
        ("core20_adversely_affected", "fewer Core20 residents further from a site"),
        ("negative", "fewer groups rated negative"),
        ("adversely_affected", "fewer residents further from a site"),
    )
    for column, phrase in criteria:
        if best[column] != runner[column]:
            return (
                f"it has {phrase} ({fmt_int(best[column])} against {fmt_int(runner[column])} "
                f"under {runner['option']})"
            )
    return f"it ties with {runner['option']} on every criterion and comes first by name"


def _warnings(a: Assessment) -> list[str]:
    found = getattr(a, "warnings", None)
    return [str(w) for w in found] if found else []


# ---------------------------------------------------------------------------
# The paragraph


def executive_paragraph(a: Assessment) -> str:
    """The summary's first paragraph: area, proposal, options, the named option and why,
    who bears the burden, warnings and caveats."""
    v = verdict(a)
    parts = [
        f"This assessment covers {area_name(a)}: {plural(len(a.area), 'neighbourhood')} "
        f"(LSOAs) with {plural(a.area['population'].sum(), 'resident')}."
    ]
    parts.append(_proposal_sentence(a))
    if v.compared:
        parts.append(
            f"{v.option} has the least adverse equity impact: {v.why}."
            + (f" {v.robustness}" if v.robustness else "")
        )
    parts += _burden(a, v.option)
    if v.warnings:
        parts.append(
            f"{plural(len(v.warnings), 'warning', number=False).capitalize()} about the inputs: "
            + " ".join(w.rstrip(".") + "." for w in v.warnings)
        )
    parts.append(caveats(a))
    parts.append(_pointer(a, v))
    return " ".join(s for s in parts if s)


def _proposal_sentence(a: Assessment) -> str:
    p = a.proposal
    names = option_names(a)
    if p.template == "equity_audit":
        what = service_label(a) or "the service"
        return (
            f"It is an equity audit of {what} as it is now, not a proposal for change: "
            "it compares who uses the service with who lives in the area."
        )
    title = p.title.rstrip(".")
    if len(names) > 1:
        return (
            f"The proposal, “{title}”, appraises {plural(len(names), 'option')} against "
            f"doing nothing: {join_words(names)}."
        )
    if names:
        return f"The proposal, “{title}”, has one option, {names[0]}, compared with doing nothing."
    return f"The proposal, “{title}”, is compared with doing nothing."


def _burden(a: Assessment, option: str | None) -> list[str]:
    """Who bears the burden under ``option``, with the key figures."""
    if option is None or not len(a.impacts):
        return [_audit_burden(a)] if a.uptake is not None else []
    rows = a.impacts[a.impacts["option"] == option]
    if "adversely_affected" in rows and rows["adversely_affected"].notna().any():
        return _access_burden(a, option, rows)
    if "expected_uptake_change_pct" in rows:
        return _effects_burden(a, rows)
    return [_audit_burden(a)]


def _under(a: Assessment, option: str) -> str:
    return f"Under {option}" if a.proposal.options else "Under the proposal"


def _access_burden(a: Assessment, option: str, rows: pd.DataFrame) -> list[str]:
    t = a.proposal.thresholds
    quint = rows[rows["dimension"] == "imd_quintile"]
    affected, benefit = quint["adversely_affected"].sum(), quint["benefiting"].sum()
    total = quint["population"].sum()
    core = rows[rows["dimension"] == "core20"]
    out = []
    lead = f"{_under(a, option)}, {plural(affected, 'resident')} ({fmt_pct(affected / total if total else None)}) would live more than {t.change_km:g} km further from their nearest site"
    lead += (
        f" and {fmt_int(benefit)} ({fmt_pct(benefit / total if total else None)}) more than {t.change_km:g} km nearer."
        if benefit
        else "; nobody would be that much nearer."
    )
    out.append(lead)
    if len(core) == 2 and core["population"].iloc[0]:
        c, rest = core.iloc[0], core.iloc[1]
        share_c = c["adversely_affected"] / c["population"]
        share_r = rest["adversely_affected"] / rest["population"] if rest["population"] else None
        mean = _mean_change(a, option)
        sentence = (
            f"In Core20 neighbourhoods (the most deprived 20% in England) {fmt_pct(share_c)} of "
            f"residents would be further by that much, against {fmt_pct(share_r)} in the rest of the area"
        )
        if mean is not None:
            sentence += (
                f"; the average distance to a site would change by "
                f"{fmt_km(mean[0], signed=True)} for Core20 residents and {fmt_km(mean[1], signed=True)} for the rest"
            )
        out.append(sentence + ".")
    elif len(core):
        out.append("The area has no Core20 neighbourhoods (the most deprived 20% in England).")
    eth = rows[rows["dimension"] == "ethnic_group"]
    if len(eth) and eth["population"].sum():
        share = eth["adversely_affected"] / eth["population"].where(eth["population"] > 0)
        top = eth.loc[share.idxmax()] if share.notna().any() else None
        if top is not None and top["adversely_affected"]:
            out.append(
                f"Among ethnic groups, the largest share further away is in the {top['group']} "
                f"group ({fmt_pct(share.max())} of {fmt_int(top['population'])} residents)."
            )
    out.append(_disproportionate(rows))
    return out


def _mean_change(a: Assessment, option: str) -> tuple[float, float] | None:
    tables = a.access.get(option, {})
    core = tables.get("core20")
    if core is None or len(core) < 2 or "mean_km_change" not in core:
        return None
    return float(core["mean_km_change"].iloc[0]), float(core["mean_km_change"].iloc[1])


def _disproportionate(rows: pd.DataFrame) -> str:
    flagged = rows[rows["disproportionate"].fillna(False).astype(bool)]
    if not len(flagged):
        return "No group is rated as disproportionately affected."
    groups = join_words(list(dict.fromkeys(flagged["group"])))
    verb = "is" if len(flagged) == 1 else "are"
    return f"{groups} {verb} rated as disproportionately affected."


def _effects_burden(a: Assessment, rows: pd.DataFrame) -> list[str]:
    neg = rows[rows["rating"] == "negative"]
    if not len(neg):
        return ["No group is expected to lose access by enough to be rated negative."]
    groups = [
        f"{g} ({c:+.0f}%)"
        for g, c in zip(neg["group"], neg["expected_uptake_change_pct"], strict=True)
    ]
    return [
        f"The declared expected effects would reduce uptake most for {join_words(groups)}; "
        "these are the proposal owner's assumptions, not measurements.",
        _disproportionate(rows),
    ]


def _audit_burden(a: Assessment) -> str:
    reps = [t for d, t in a.representation.items() if d != "core20"]
    if not reps:
        return ""
    frame = pd.concat(reps, ignore_index=True)
    frame = frame[frame["representation_upper"].notna()]
    concern = frame[frame["concern"].astype(bool)] if "concern" in frame else frame.iloc[:0]
    which = "over" if a.uptake.higher_use_is == "worse" else "under"
    low, high = a.uptake.material_band
    if not len(concern):
        return (
            f"No group is {which}-represented among current users by a material gap "
            f"(interval excluding 1 and representation outside {low:g} to {high:g})."
        )
    concern = concern.sort_values("representation", ascending=which == "under")
    worst = concern.iloc[0]
    return (
        f"{plural(len(concern), 'group')} {'is' if len(concern) == 1 else 'are'} "
        f"{which}-represented among current users by a material gap; the largest is "
        f"{worst['group']} ({fmt_pct(worst['user_share'])} of users against "
        f"{fmt_pct(worst['population_share'])} of {a.uptake.population})."
    )


def caveats(a: Assessment) -> str:
    """The caveats that change how the figures read, as one sentence."""
    items = []
    if a.proposal.service is not None and a.proposal.service.synthetic:
        items.append("the service data is synthetic, made for illustration")
    if a.proposal.sites is not None:
        items.append("distances are straight lines, not travel times")
    if a.uptake is not None:
        if a.uptake.counting == "events":
            items.append("uptake figures count events, not people")
        items.append(
            "ethnic group rates are crude (not adjusted for age)"
            if a.uptake.standardised
            else "uptake rates are crude (not adjusted for age)"
        )
    if a.proposal.effects:
        items.append("expected effects are the proposal owner's assumptions")
    if not items:
        return ""
    text = join_words(items)
    return f"Read the figures knowing that {text}."


def _pointer(a: Assessment, v: Verdict) -> str:
    where = [SECTIONS["impacts"]]
    if v.compared:
        where.append(SECTIONS["options"])
    if a.proposal.template == "equity_audit":
        where = [SECTIONS["users"], SECTIONS["impacts"]]
    return (
        f"The figures behind each rating are in {join_words(f'“{w}”' for w in where)}; "
        f"“{SECTIONS['method']}” explains the rules."
    )


# ---------------------------------------------------------------------------
# The compact ratings table


def ratings_caption(a: Assessment, option: str | None) -> str:
    """A ratings table's caption, always naming what it rates."""
    if a.proposal.template == "equity_audit":
        subject = f"the service now ({service_label(a) or 'current users'})"
    elif a.proposal.options and option:
        subject = option
    else:
        subject = "the proposal" if not option or option == "Proposed" else option
    return f"Impact ratings by group for {subject}, compared with doing nothing" + (
        "" if a.proposal.template != "equity_audit" else " (against the area's residents)"
    )


def key_figure(row: pd.Series, a: Assessment) -> str:
    """The one figure a rating rests on, short enough for a table cell."""
    t = a.proposal.thresholds
    if "adversely_affected" in row and not pd.isna(row.get("adversely_affected")):
        pop = row["population"]
        further = row["adversely_affected"] / pop if pop else None
        nearer = row["benefiting"] / pop if pop else None
        return (
            f"{fmt_pct(further)} further by over {t.change_km:g} km; "
            f"{fmt_pct(nearer)} nearer by over {t.change_km:g} km"
        )
    if "expected_uptake_change_pct" in row and not pd.isna(row.get("expected_uptake_change_pct")):
        return f"expected change in uptake {row['expected_uptake_change_pct']:+.0f}%"
    if "representation" in row and not pd.isna(row.get("representation")):
        return (
            f"representation {row['representation']:.2f} "
            f"(95% CI {row['representation_lower']:.2f} to {row['representation_upper']:.2f})"
        )
    return "figures withheld (small numbers)"


def ratings_table(a: Assessment, option: str | None = None) -> Table:
    """One row per group: dimension, group, rating (words and symbols) and its key figure."""
    option = option if option is not None else verdict(a).option
    rows = a.impacts
    if option is not None and len(rows):
        rows = rows[rows["option"] == option]
    frame = pd.DataFrame(
        {
            "Dimension": rows["dimension"].map(lambda d: DIMENSION_LABELS.get(d, d)),
            "Group": rows["group"],
            "Rating": [
                rating_label(r, d)
                for r, d in zip(rows["rating"], rows["disproportionate"], strict=True)
            ],
            "Key figure": [key_figure(r, a) for _, r in rows.iterrows()],
        }
    )
    if "at_risk" in rows:
        gaps = rows["uptake_gap"] if "uptake_gap" in rows else rows["at_risk"]
        frame["Uptake now"] = [
            risk_words(gap) if risk is True else ""
            for risk, gap in zip(rows["at_risk"], gaps, strict=True)
        ]
    return Table(frame.reset_index(drop=True), ratings_caption(a, option))


def summary(a: Assessment) -> Block:
    """The executive summary: the paragraph, the proposal's own description, the ratings table."""
    v = verdict(a)
    parts: list = [Html(f'<p class="eia-lead">{esc(executive_paragraph(a))}</p>')]
    if v.warnings:
        parts.append(notice_box(" ".join(v.warnings), "warning"))
    if a.proposal.description:
        parts.append(Html(f"<p>In the proposal owner's words: {esc(a.proposal.description)}</p>"))
    if len(a.impacts):
        parts.append(ratings_table(a, v.option))
    return Block(*parts)


# ---------------------------------------------------------------------------
# How the ratings work (the report's own method note)


def how_ratings_work(a: Assessment) -> Block:
    """A short plain-English section on how each rating is reached, with this report's thresholds."""
    t = a.proposal.thresholds
    items = []
    if a.proposal.sites is not None:
        items += [
            f"For every neighbourhood we measure the straight-line distance from where its residents "
            f"live to the nearest site, now and under each option. A resident counts as affected when "
            f"that distance would rise by more than {t.change_km:g} km, and as benefiting when it "
            f"would fall by more than {t.change_km:g} km.",
            f"A group is rated negative when at least {plural(t.min_people, 'resident')} of it would "
            "be affected and they outnumber those benefiting; positive in the opposite case; "
            "otherwise neutral.",
            f"A negative rating is called disproportionate when the group's share of everyone "
            f"affected is at least {t.disproportionate_ratio:g} times its share of the area's "
            "residents.",
        ]
    if a.proposal.effects:
        items += [
            f"For a change to how the service works, the proposal's owner states the expected change "
            f"in uptake for each group. A fall of {t.uptake_change_pct:g}% or more is rated "
            f"negative, a rise of {t.uptake_change_pct:g}% or more positive; a negative rating is "
            f"disproportionate when the group's expected fall is at least "
            f"{t.disproportionate_ratio:g} times the average for its dimension.",
        ]
    if a.uptake is not None:
        items.append(
            f"With service data, each group's share of current users is compared with its share of "
            f"{a.uptake.population} (its representation). A group has a material gap only when its "
            f"whole 95% confidence interval lies on one side of 1 and its representation lies "
            f"outside {a.uptake.material_band[0]:g} to {a.uptake.material_band[1]:g}; higher use is "
            f"{a.uptake.higher_use_is} for this service, so a gap of "
            f"{'under' if a.uptake.higher_use_is == 'better' else 'over'}-representation is the "
            "concern"
            + (
                " and rated negative."
                if a.proposal.template == "equity_audit"
                else ", and is flagged beside its rating."
            )
        )
    if a.proposal.options:
        items.append(
            "Options are ordered by, in turn: the fewest disproportionate negative ratings, the "
            "fewest Core20 residents affected, the fewest negative ratings, and the fewest residents "
            "affected in all."
        )
    items.append(
        "Ratings use words and symbols (▲ positive, ● neutral, ▼ negative), never colour alone. "
        "The full rules, with their reasons, are in the project's methods guide for analysts."
    )
    return Block(bullet_list(items))
