"""The executive summary a board reads first, and the report's plain-English method note.

:func:`executive_paragraph` writes one paragraph that names the area (by name
and code), the proposal, its options, the option the report recommends or
describes and why, who bears the burden with the key figures, any warnings
about the inputs, and the caveats that change how the figures read.
:func:`ratings_table` is the compact ratings table that follows it, always
saying which option it shows. :func:`summary` returns both as one
:class:`eia.report.show.Block`; :func:`how_ratings_work` is the short section that
explains the ratings in the report itself.

Every finding is stated once: the summary gives the headline and says which
section holds the detail; the long sentence behind each rating stays in
"Impacts by group". The judgement itself (ranking, reasons, robustness,
warnings) comes from :mod:`eia.analysis.impact`; nothing here re-decides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from eia.analysis import impact
from eia.analysis.impact import DIMENSION_LABELS, rating_labels
from eia.analysis.uptake import risk_words
from eia.assessment import Assessment
from eia.population.area import ETHNIC_SHORT
from eia.report.show import (
    Block,
    Html,
    Table,
    bullet_list,
    esc,
    fmt_distance,
    fmt_int,
    fmt_pct,
    join_words,
    notice_box,
    plural,
)

#: Where each kind of detail lives in the report (the summary points there).
SECTIONS = {
    "impacts": "Impacts by group",
    "options": "Options comparison",
    "users": "The population and current users",
    "audit": "The population and the service now",
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


def service_label(a: Assessment, *, mark: bool = True) -> str:
    """The service data's label for prose, with "(synthetic)" once at most (``mark=False``:
    without it, for sentences that already say the data is synthetic)."""
    if a.service is None and a.proposal.service is None:
        return ""
    label = a.service.label if a.service is not None else a.proposal.service.label
    bare = re.sub(r"\s*\(synthetic\)", "", label, flags=re.IGNORECASE).strip() or label
    synthetic = a.proposal.service is not None and a.proposal.service.synthetic
    return f"{bare} (synthetic)" if synthetic and mark else bare if synthetic else label


def measure_noun(u) -> str:
    """What the service data counts, as a plural noun for prose: the service's own label
    ("Mental Health Act detentions", "maternity bookings") without "(synthetic)", so the
    report never calls detentions "uptake" or "users". ``u`` is an :class:`eia.analysis.uptake.Uptake`."""
    label = getattr(u, "label", None) or "the service's records"
    bare = re.sub(r"\s*\(synthetic\)", "", label, flags=re.IGNORECASE).strip() or label
    return f"people counted in {bare}" if getattr(u, "counting", "events") == "people" else bare


def short_group(group: str) -> str:
    """A group's name for prose: Census ethnic groups by their short names ("Black"), IMD
    quintiles in words ("IMD quintile 4", not "Q4")."""
    group = str(group)
    quintile = re.fullmatch(r"Q([1-5])(\s*\(.*\))?", group)
    if quintile:
        return f"IMD quintile {quintile.group(1)}{quintile.group(2) or ''}"
    return ETHNIC_SHORT.get(group, group)


def board_warning(warning) -> str:
    """An input warning in the board's words: without the params-file path and key the CLI
    shows an analyst ("(options[1].proposed)", "thresholds.site_outside_km")."""
    text = str(warning)
    where = getattr(warning, "where", "")
    if where:
        text = text.replace(f" ({where})", "")
    return re.sub(r",\s*thresholds\.[a-z_]+\)", ")", text)


def option_names(a: Assessment) -> list[str]:
    """The options appraised (none for a single proposal)."""
    return [o.name for o in a.proposal.options]


# ---------------------------------------------------------------------------
# The judgement, in words


def verdict(a: Assessment) -> Verdict:
    """The option the summary names and why, in words, from the assessment's appraisal."""
    warnings = [board_warning(w) for w in getattr(a, "warnings", None) or []]
    appraisal = getattr(a, "appraisal", None)
    if appraisal is None or not appraisal.compared:
        return Verdict(option=a.rated_option, warnings=warnings)
    ranked = appraisal.options.reset_index(drop=True)
    best = appraisal.best
    first, runner = ranked.iloc[0], ranked.iloc[1]
    unit = impact.UNITS.get(appraisal.unit, appraisal.unit)
    if len(best) > 1:
        why = (
            f"{join_words(best)} tie for the least adverse equity impact: neither is better on "
            "every criterion and their equity-weighted scores are equal"
        )
    elif str(runner["option"]) in list(first["dominates"]):
        why = (
            f"{first['option']} has the least adverse equity impact: it is no worse than "
            f"{runner['option']} on every criterion and better on at least one"
        )
    else:
        why = (
            f"{first['option']} has the least adverse equity impact: its equity-weighted net "
            f"change is {net_words(first['score'], unit)} ({unit} added minus removed, each "
            f"Core20 resident's counted {_times(appraisal.equity_weight)}) against "
            f"{net_words(runner['score'], unit, short=True)} under {runner['option']}, though "
            "it is not better on every criterion"
        )
    return Verdict(
        option=str(best[0]),
        why=why,
        robustness=" ".join(
            x
            for x in (
                _robustness(appraisal.robustness),
                flag_stability(appraisal.robustness, str(best[0]), appraisal.burden),
            )
            if x
        ),
        warnings=warnings,
        compared=True,
    )


def net_words(score: float, unit: str, *, short: bool = False) -> str:
    """A net score (added minus removed) in words: 'an addition of 1,535,252 person-km',
    'a saving of 533,079 person-km', 'no net change'; ``short``: '766,476 added'."""
    if not score:
        return "no net change"
    if short:
        return f"{fmt_int(abs(score))} {'added' if score > 0 else 'saved'}"
    return f"{'an addition' if score > 0 else 'a saving'} of {fmt_int(abs(score))} {unit}"


def _robustness(robustness) -> str:
    """One sentence: whether the choice holds when thresholds are halved and doubled."""
    tried = len(robustness.variations)
    if not tried:
        return ""
    if robustness.holds:
        return (
            f"The ranking is robust: it holds with each threshold halved and doubled "
            f"({plural(tried, 'variation')} tried)."
        )
    flips = robustness.variations[~robustness.variations["holds"].astype(bool)]
    named = [f"{r.label} ({r.first} would rank first)" for r in flips.itertuples()]
    return (
        f"The ranking is not robust: it changes under {plural(len(named), 'variation')} of "
        f"{tried}: {join_words(named)}."
    )


def flag_stability(robustness, option: str, burdens: pd.DataFrame) -> str:
    """One sentence: how ``option``'s disproportionate flags fare when each threshold is
    halved and doubled (the robustness check's variations)."""
    v = robustness.variations
    if not len(v) or "flags_lost" not in v:
        return ""
    rows = burdens[(burdens["option"] == option) & burdens["disproportionate"].fillna(False)]
    flagged = list(dict.fromkeys(zip(rows["dimension"], rows["group"], strict=True)))
    lost = {k: sum(1 for x in v["flags_lost"] if (option, *k) in x) for k in flagged}
    gained = list(
        dict.fromkeys(short_group(g) for x in v["flags_gained"] for o, _, g in x if o == option)
    )
    steady = [short_group(g) for (_, g), k in lost.items() if not k]
    by_count: dict[int, list[str]] = {}
    for (_, g), k in lost.items():
        if k:
            by_count.setdefault(k, []).append(short_group(g))
    parts = []
    if steady:
        parts.append(
            f"the flag{'s' if len(steady) > 1 else ''} for {join_words(steady)} "
            f"hold{'' if len(steady) > 1 else 's'} every time"
        )
    for k, groups in by_count.items():
        parts.append(
            f"the flag{'s' if len(groups) > 1 else ''} for {join_words(groups)} "
            f"{'are each' if len(groups) > 1 else 'is'} lost under {k} of them"
        )
    if gained:
        parts.append(f"some variations add a flag for {join_words(gained)}")
    if not parts:
        return f"No variation flags a group under {option}."
    return (
        f"Under the same {plural(len(v), 'variation')}, for {option}: {'; '.join(parts)} "
        f"(the robustness table in “{SECTIONS['options']}” names each variation)."
    )


# ---------------------------------------------------------------------------
# The paragraph


def executive_paragraph(a: Assessment) -> str:
    """The summary's first paragraph: area, proposal, options, the named option and why,
    who bears the burden, warnings and caveats."""
    v = verdict(a)
    parts = [
        f"This assessment covers {area_name(a)}: {plural(len(a.area), 'neighbourhood')} "
        f"(LSOAs) with {residents(a)}."
    ]
    parts.append(_proposal_sentence(a))
    if v.compared:
        parts.append(f"{v.why}.")
        parts.append(v.robustness)
    parts += _burden(a, v.option)
    if v.warnings:
        parts.append(
            f"Check {'this warning' if len(v.warnings) == 1 else 'these warnings'} about the "
            "inputs before relying on the report: "
            + " ".join(w.rstrip(".") + "." for w in v.warnings)
        )
    parts.append(caveats(a))
    parts.append(incomplete(a))
    parts.append(_pointer(a, v))
    return " ".join(s for s in parts if s)


def residents(a: Assessment) -> str:
    """The area's residents in the assessment's population, in words ("913,557 residents aged
    18 and over"), always whole people."""
    n = round(float(a.area["population"].sum()))
    if a.proposal.population is not None:
        return f"{fmt_int(n)} {a.proposal.population.name}"
    return plural(n, "resident")


def _proposal_sentence(a: Assessment) -> str:
    p = a.proposal
    names = option_names(a)
    if p.template == "equity_audit":
        what = service_label(a) or "the service"
        return (
            f"It is an equity audit of {what} as it is now, not a proposal for change: "
            f"it compares {measure_noun(a.uptake) if a.uptake is not None else 'the service'}, "
            "group by group, with who lives in the area."
        )
    title = p.title.rstrip(".")
    if len(names) > 1:
        return (
            f"The proposal, “{title}”, appraises {plural(len(names), 'option')} against "
            f"doing nothing: {join_words(names)}."
        )
    change = _site_change_words(a, a.primary)
    if names:
        return (
            f"The proposal, “{title}”, has one option, {names[0]}, compared with doing nothing"
            + (f": it {change}." if change else ".")
        )
    return f"The proposal, “{title}”, is compared with doing nothing" + (
        f": it {change}." if change else "."
    )


def _site_change_words(a: Assessment, option: str | None) -> str:
    """What a scenario does to the sites, e.g. "opens Bulwell hub and keeps 3 sites"."""
    if option is None or a.current is None or option not in a.proposed:
        return ""
    from eia.report.maps import site_roles

    roles = site_roles(a.current, a.proposed[option])
    words = []
    new = list(roles.loc[roles["role"] == "new", "name"])
    closing = list(roles.loc[roles["role"] == "closing", "name"])
    kept = int((roles["role"] == "kept").sum())
    if new:
        words.append(f"opens {join_words(new)}")
    if closing:
        words.append(f"closes {join_words(closing)}")
    if kept:
        words.append(f"keeps {'the other ' if closing else ''}{plural(kept, 'current site')}")
    return join_words(words)


def _burden(a: Assessment, option: str | None) -> list[str]:
    """Who bears the burden under ``option``, with the key figures."""
    if option is None or not len(a.impacts):
        return [_audit_burden(a)] if a.uptake is not None else []
    rows = a.impacts[a.impacts["option"] == option]
    if "further" in rows and rows["further"].notna().any():
        return _access_burden(a, option, rows)
    if "expected_uptake_change_pct" in rows:
        return _effects_burden(a, rows)
    return [_audit_burden(a)]


def per_resident(value: float, unit: str = "km") -> str:
    """An amount per resident, always two decimals ("0.84 km", "1.06 km")."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):.2f} {unit}"


def _access_burden(a: Assessment, option: str, rows: pd.DataFrame) -> list[str]:
    t = a.proposal.thresholds
    unit = str(rows["unit"].iloc[0]) if "unit" in rows else "km"
    rules = a.rules if unit == a.unit else None  # minutes: the lead mode's thresholds
    change = rules.change if rules else getattr(t, f"change_{unit}", t.change_km)
    far = rules.far if rules else getattr(t, f"distance_{unit}", t.distance_km)
    away = "further from" if unit == "km" else "longer from"
    whole = rows[rows["dimension"] == "all"]
    if not len(whole):
        return []
    w = whole.iloc[0]
    under = f"Under {option}" if a.proposal.options else "Under the proposal"
    out = []
    if w["further"]:
        lead = (
            f"{under}, {plural(w['further'], 'resident')} ({fmt_pct(w['further'] / w['residents'])}) "
            f"would be more than {change:g} {unit} {away} their nearest site, on average "
            f"{fmt_distance(w['mean_added_among_further'], unit)} more"
        )
        lead += (
            f", and {fmt_int(w['newly_far'])} would newly be more than {far:g} {unit} from one"
            if w["newly_far"]
            else ""
        )
        if w["nearer"]:
            lead += f"; {fmt_int(w['nearer'])} would be more than {change:g} {unit} nearer"
        out.append(lead + ".")
    elif w["nearer"]:
        out.append(
            f"{under}, nobody would be more than {change:g} {unit} {away} their nearest site; "
            f"{plural(w['nearer'], 'resident')} ({fmt_pct(w['nearer'] / w['residents'])}) would be "
            f"more than {change:g} {unit} nearer"
            + (
                f", {fmt_int(w['newly_near'])} of them newly within {far:g} {unit}."
                if w["newly_near"]
                else "."
            )
        )
    else:
        out.append(
            f"{under}, nobody's distance to a site would change by more than {change:g} {unit}."
        )
    core = rows[rows["dimension"] == "core20"]
    if len(core) == 2 and core["residents"].iloc[0] > 0:
        c, rest = core.iloc[0], core.iloc[1]
        column, verb = (
            ("added_per_resident", "added") if w["further"] else ("removed_per_resident", "saved")
        )
        crossing, where = (
            ("newly_far", f"newly be more than {far:g} {unit} from a site")
            if w["further"]
            else ("newly_near", f"newly be within {far:g} {unit} of a site")
        )
        share = (
            f", and {fmt_pct(c[crossing] / c['residents'])} of Core20 residents would {where}, "
            f"against {fmt_pct(rest[crossing] / rest['residents'])} in the rest"
            if c[crossing] and rest["residents"]
            else ""
        )
        out.append(
            f"Core20 neighbourhoods (the most deprived 20% in England) would have "
            f"{per_resident(c[column], unit)} {verb} per resident, against "
            f"{per_resident(rest[column], unit)} in the rest of the area{share}."
        )
    elif len(core):
        out.append("The area has no Core20 neighbourhoods (the most deprived 20% in England).")
    eth = rows[(rows["dimension"] == "ethnic_group") & (rows["residents"] > 0)]
    if w["further"] and len(eth) and eth["added_per_resident"].notna().any():
        top = eth.loc[eth["added_per_resident"].idxmax()]
        if top["added_per_resident"] > 0:
            out.append(
                f"Among ethnic groups, the most is added for {short_group(top['group'])} "
                f"residents: {per_resident(top['added_per_resident'], unit)} per resident."
            )
    out.append(_disproportionate(rows))
    return out


def _disproportionate(rows: pd.DataFrame) -> str:
    """The flagged groups in words, each with the figures its flag rests on: clear flags
    first, then flags a quarter change in one threshold would remove, then groups whose
    flag concerns their losses although they also gain (mixed); and any group a quarter
    change would flag."""
    rows = rows.drop_duplicates("group")
    flags = rows["disproportionate"].fillna(False).astype(bool)
    marginal = rows.get("flag_margin", pd.Series(None, index=rows.index)) == "marginal"
    mixed = rows["rating"] == "mixed"
    out = []
    clear = rows[flags & ~marginal & ~mixed]
    if len(clear):
        out.append(
            f"{_named(clear)} {'is' if len(clear) == 1 else 'are'} rated as disproportionately "
            "affected; "
            + ("the flag holds" if len(clear) == 1 else "each flag holds")
            + " with each threshold a quarter higher or lower."
        )
    edge = rows[flags & marginal & ~mixed]
    if len(edge):
        out.append(
            f"{join_words(short_group(g) for g in edge['group'])} "
            f"{'is' if len(edge) == 1 else 'are'} flagged as disproportionately affected only "
            f"at the margin: {_named(edge)}."
        )
    share = rows[flags & mixed]
    if len(share):
        firm, thin = share[~marginal[share.index]], share[marginal[share.index]]
        how = [f"clearly for {_named(firm, gains=True)}"] if len(firm) else []
        how += [f"only at the margin for {_named(thin, gains=True)}"] if len(thin) else []
        out.append(
            f"{join_words(short_group(g) for g in share['group'])} "
            f"{'bears' if len(share) == 1 else 'bear'} a disproportionate share of the losses "
            f"while also gaining: {'; '.join(how)}."
        )
    if not out:
        out.append("No group is rated as disproportionately affected.")
    near = rows[~flags & marginal & rows["rating"].isin(["negative", "mixed"])]
    if len(near):
        out.append(f"Not flagged, but close: {_named(near)}.")
    return " ".join(out)


def _named(rows: pd.DataFrame, *, gains: bool = False) -> str:
    """Groups with the figures behind their flags: 'Black (ratio 1.23, +0.25 km per resident
    against the rest; not flagged at ratio 1.25)'."""
    parts = []
    for _, row in rows.iterrows():
        figures = [impact.flag_basis(row)]
        unit = row.get("unit", "km") if isinstance(row.get("unit"), str) else "km"
        if gains and "removed_per_resident" in row:
            net = row["net_per_resident"]
            figures.append(
                f"{per_resident(row['added_per_resident'], unit)} added and "
                f"{per_resident(row['removed_per_resident'], unit)} removed per resident, "
                f"a net {'gain' if net < 0 else 'loss'} of {per_resident(abs(net), unit)}"
            )
        caveat = impact.flag_caveat(row)
        text = ", ".join(f for f in figures if f)
        text += f"; {caveat}" if caveat else ""
        parts.append(f"{short_group(row['group'])} ({text})" if text else short_group(row["group"]))
    return join_words(parts)


def _effects_burden(a: Assessment, rows: pd.DataFrame) -> list[str]:
    neg = rows[rows["rating"] == "negative"].sort_values(
        "expected_uptake_change_pct", kind="stable"
    )
    if (neg["dimension"] == "imd_quintile").any():  # Core20 is quintile 1: say it once
        neg = neg[neg["dimension"] != "core20"]
    if not len(neg):
        return ["No group is expected to lose access by enough to be rated negative."]
    groups = [
        f"{short_group(g)} by {abs(c):.0f}%"
        for g, c in zip(neg["group"], neg["expected_uptake_change_pct"], strict=True)
    ]
    return [
        f"The proposal's owner expects uptake to fall for {join_words(groups)}.",
        _disproportionate(rows),
    ]


def _audit_burden(a: Assessment) -> str:
    """The groups with a material gap of concern among current users (eia.analysis.uptake's rule)."""
    reps = [t for d, t in a.representation.items() if d != "core20"]
    if not reps:
        return ""
    frame = pd.concat(reps, ignore_index=True)
    frame = frame[frame["representation_upper"].notna()]
    which = "under" if getattr(a.uptake, "higher_use_is", "better") == "better" else "over"
    noun = measure_noun(a.uptake)
    if "concern" in frame:
        flagged = frame[frame["concern"].astype(bool)]
    else:
        flagged = frame[frame["representation_upper"] < 1]
    if not len(flagged):
        return f"No group is {which}-represented in {noun} by a material gap."
    flagged = flagged.sort_values("representation", ascending=which == "under")
    worst = flagged.iloc[0]
    return (
        f"{plural(len(flagged), 'group')} {'is' if len(flagged) == 1 else 'are'} "
        f"{which}-represented in {noun} by a material gap; the largest gap is for "
        f"{short_group(worst['group'])}: {fmt_pct(worst['user_share'])} of {noun} against "
        f"{fmt_pct(worst['population_share'])} of {a.uptake.population}."
    )


def caveats(a: Assessment) -> str:
    """The caveats that change how the figures read, as one sentence."""
    items = caveat_items(a)
    if not items:
        return ""
    return "Caveats: " + "; ".join(items) + "."


def caveat_items(a: Assessment) -> list[str]:
    """The caveats that change how the figures read, one phrase each."""
    items = []
    if a.proposal.service is not None and a.proposal.service.synthetic:
        items.append("the service data is synthetic, made for illustration")
    if a.travel:
        synthetic = [m for m, x in a.travel.items() if x.synthetic]
        if synthetic:
            items.append(
                "the journey times are synthetic, made for illustration from a speed model"
            )
    elif a.proposal.sites is not None:
        items.append("distances are straight lines, not travel times")
    if a.uptake is not None:
        if a.uptake.counting == "events":
            items.append("the service figures count events, not people")
        items.append(
            "ethnic group rates are crude, not adjusted for age"
            if a.uptake.standardised
            else "rates are crude, not adjusted for age"
        )
    if a.proposal.effects:
        items.append("expected effects are the proposal owner's assumptions")
    return items


def incomplete(a: Assessment) -> str:
    """What must be done before the assessment is complete: prompts without answers, no
    mitigations, no sign-off (one sentence, or empty when nothing is missing)."""
    from eia.params import NARRATIVE_KEYS

    p = a.proposal
    missing = []
    unanswered = [k for k in NARRATIVE_KEYS if not str(p.narrative.get(k) or "").strip()]
    if unanswered:
        missing.append(
            f"{len(unanswered)} of {len(NARRATIVE_KEYS)} questions on other protected "
            f"characteristics and inclusion health groups {'is' if len(unanswered) == 1 else 'are'} "
            "not yet answered"
        )
    if not p.mitigations:
        missing.append("no mitigations are recorded")
    if not p.signoff:
        missing.append("it has not been signed off")
    if not missing:
        return ""
    return f"The assessment is not complete: {join_words(missing)}."


def _pointer(a: Assessment, v: Verdict) -> str:
    where = [SECTIONS["impacts"]]
    if v.compared:
        where.append(SECTIONS["options"])
    if a.proposal.template == "equity_audit":
        where = [SECTIONS["audit"], SECTIONS["impacts"]]
    return (
        f"The figures behind each rating are in {join_words(f'“{w}”' for w in where)}; "
        f"“{SECTIONS['method']}” explains the rules."
    )


# ---------------------------------------------------------------------------
# The compact ratings table


def ratings_caption(a: Assessment, option: str | None) -> str:
    """A ratings table's caption, always naming what it rates."""
    if a.proposal.template == "equity_audit":
        subject = "the service now"
        noun = measure_noun(a.uptake) if a.uptake is not None else "its records"
        return f"Impact ratings by group for {subject}: {noun} compared with the area's residents"
    if a.proposal.options and option:
        subject = option
    else:
        subject = "the proposal" if not option or option == "Proposed" else option
    return f"Impact ratings by group for {subject}, compared with doing nothing"


def key_figure(row: pd.Series, a: Assessment) -> str:
    """The figures a rating rests on, short enough for a table cell."""
    t = a.proposal.thresholds
    if "further" in row and not pd.isna(row.get("further")):
        unit = row.get("unit", "km") if isinstance(row.get("unit"), str) else "km"
        change = a.rules.change if unit == a.unit else getattr(t, f"change_{unit}", t.change_km)
        pop = row["residents"]
        if not pop:
            return "no residents"
        losses = (
            f"{fmt_pct(row['further'] / pop)} more than {change:g} {unit} further; "
            f"{per_resident(row['added_per_resident'], unit)} added per resident"
        )
        if row.get("rating") == "mixed":
            return (
                f"losses: {losses}; gains: {fmt_pct(row['nearer'] / pop)} more than {change:g} "
                f"{unit} nearer; {per_resident(row['removed_per_resident'], unit)} saved per "
                "resident"
            )
        if row["further"] or not row["nearer"]:
            return losses
        return (
            f"{fmt_pct(row['nearer'] / pop)} more than {change:g} {unit} nearer; "
            f"{per_resident(row['removed_per_resident'], unit)} saved per resident"
        )
    if "expected_uptake_change_pct" in row and not pd.isna(row.get("expected_uptake_change_pct")):
        return f"expected change in uptake {row['expected_uptake_change_pct']:+.0f}%"
    if "representation" in row and not pd.isna(row.get("representation")):
        return (
            f"representation {row['representation']:.2f} "
            f"(95% CI {row['representation_lower']:.2f} to {row['representation_upper']:.2f})"
        )
    return "figures withheld (small numbers)"


def ratings_table(
    a: Assessment, option: str | None = None, rows: pd.DataFrame | None = None
) -> Table:
    """One row per group: dimension, group, rating (words and symbols) and its key figures.

    ``rows``: rating rows already chosen (e.g. ``a.ratings(option)``); by default those of
    ``option``, itself by default the option the summary names.
    """
    if rows is not None and len(rows) and "option" in rows:
        option = str(rows["option"].iloc[0])
    option = option if option is not None else verdict(a).option
    if rows is None:
        rows = a.impacts
        if option is not None and len(rows):
            rows = rows[rows["option"] == option]
    merged = impact.merge_core20(rows) if len(rows) else rows
    same = len(merged) < len(rows)
    rows = merged
    frame = pd.DataFrame(
        {
            "Dimension": rows["dimension"].map(lambda d: DIMENSION_LABELS.get(d, d)),
            "Group": rows["group"],
            "Rating": rating_labels(rows),
            "Key figures": [key_figure(r, a) for _, r in rows.iterrows()],
        }
    )
    flags = [flag_cell(r) for _, r in rows.iterrows()]
    caption = ratings_caption(a, option)
    if same:
        caption += " (IMD quintile 1 and Core20 are the same people, shown once)"
    if any(flags):
        frame["Disproportionate? (against the rest)"] = flags
        caption += f". {flag_rule(a, rows)}"
    if "at_risk" in rows:
        gaps = rows["uptake_gap"] if "uptake_gap" in rows else rows["at_risk"]
        frame["Service data now"] = [
            risk_words(gap) if risk is True else ""
            for risk, gap in zip(rows["at_risk"], gaps, strict=True)
        ]
    return Table(frame.reset_index(drop=True), caption)


def flag_cell(row: pd.Series) -> str:
    """The figures a disproportionate decision rests on and whether it is clear or marginal:
    'ratio 1.23, +0.25 km per resident against the rest: flagged, marginal (not flagged at
    ratio 1.25)'. Empty where no flag is assessed (positive, neutral, not rated)."""
    dispro = row.get("disproportionate")
    caveat = impact.flag_caveat(row)
    if dispro is None or pd.isna(dispro):
        return ""
    if row.get("rating") not in ("negative", "mixed") and not caveat:
        return ""
    basis = impact.flag_basis(row)
    if not basis:
        return ""
    verdict = "flagged" if dispro else "not flagged"
    if caveat:
        verdict += f", marginal ({caveat})"
    elif dispro and row.get("flag_margin") == "clear":
        verdict += ", clear"
    return f"{basis}: {verdict}"


def flag_rule(a: Assessment, rows: pd.DataFrame) -> str:
    """The flag's rule for a ratings table's caption, with this report's thresholds."""
    t = a.proposal.thresholds
    marginal = (
        "“marginal”: one threshold a quarter higher or lower (a ratio: a quarter of its excess "
        "over 1) would change the decision"
    )
    if "burden_ratio" in rows and rows["burden_ratio"].notna().any():
        unit = str(rows["unit"].dropna().iloc[0]) if "unit" in rows else "km"
        r = a.rules if unit == a.unit else impact.Rules.from_thresholds(t, unit)
        return (
            f"A negative or mixed rating is disproportionate when the {unit} added per resident "
            f"is at least {r.ratio:g} times that of the rest of the area and {r.difference:g} "
            f"{unit} more; {marginal}"
        )
    return (
        f"A negative rating is disproportionate when the group's expected change is at least "
        f"{t.uptake_change_pct:g} points below the rest of its dimension (and at least "
        f"{t.disproportionate_ratio:g} times its loss when the rest also loses); {marginal}"
    )


def lead(a: Assessment) -> Block:
    """The summary's text: the paragraph, the input warnings, the proposal's own description."""
    v = verdict(a)
    parts: list = [Html(f'<p class="eia-lead">{esc(executive_paragraph(a))}</p>')]
    if v.warnings:
        parts.append(notice_box(" ".join(v.warnings), "warning"))
    if a.proposal.description:
        parts.append(Html(f"<p>In the proposal owner's words: {esc(a.proposal.description)}</p>"))
    return Block(*parts)


def named_option(a: Assessment) -> str | None:
    """The option the summary names (the findings' named option)."""
    return a.findings.named_option if a.findings is not None else verdict(a).option


def summary(a: Assessment) -> Block:
    """The executive summary: :func:`lead`, then the ratings table for the option it names."""
    return Block(lead(a), ratings_table(a) if len(a.impacts) else None)


# ---------------------------------------------------------------------------
# How the ratings work (the report's own method note)


def how_ratings_work(a: Assessment) -> Block:
    """A short plain-English section on how each rating is reached, with this report's thresholds."""
    t = a.proposal.thresholds
    items = []
    if a.travel:
        from eia.analysis.traveltime import MODE_LABELS

        r = a.rules
        items.append(
            f"For every neighbourhood we take the journey time by "
            f"{MODE_LABELS[a.lead_mode].lower()} to the quickest site from the journey-time "
            f"matrix, now and under each option. A resident counts as affected when that time "
            f"would rise by more than {r.change:g} min, and as benefiting when it would fall by "
            f"more than {r.change:g} min; far from a site means more than {r.far:g} min."
        )
    elif a.proposal.sites is not None:
        items.append(
            f"For every neighbourhood we measure the straight-line distance from where its residents "
            f"live to the nearest site, now and under each option. A resident counts as affected when "
            f"that distance would rise by more than {t.change_km:g} km, and as benefiting when it "
            f"would fall by more than {t.change_km:g} km."
        )
    if a.proposal.sites is not None:
        r = getattr(a, "rules", None)
        unit = r.unit if r is not None else "km"
        material = r.material if r is not None else t.material_km
        far = r.far if r is not None else t.distance_km
        difference = r.difference if r is not None else t.disproportionate_km
        items += [
            f"For each group we add up the extra {'distance' if unit == 'km' else 'time'} its "
            f"affected residents would face and divide by all its residents. A group is rated "
            f"negative when that comes to {material:g} {unit} or more per resident, or when at "
            f"least {t.material_share:.0%} of its residents would newly be more than {far:g} "
            f"{unit} from a site; positive in the same way for {'distance' if unit == 'km' else 'time'} "
            "saved; mixed when both happen; neutral when neither does. Groups of fewer than "
            f"{plural(t.min_people, 'resident')} are not rated, and the report says so.",
            f"A negative or mixed rating is disproportionate when the group's added "
            f"{'distance' if unit == 'km' else 'time'} per resident is at least "
            f"{t.disproportionate_ratio:g} times, and {difference:g} {unit} more than, that of the "
            "rest of the area.",
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
        u = a.uptake
        worse = u.higher_use_is == "worse"
        items.append(
            f"With service data, each group's share of {measure_noun(u)} is compared with its "
            f"share of {u.population} (its representation; 1 means in proportion). A group has a "
            f"material gap only when its whole 95% confidence interval lies on one side of 1 and "
            f"its representation lies outside {u.material_band[0]:g} to {u.material_band[1]:g}; a "
            f"higher rate is {'worse (harm)' if worse else 'better'} for this service, so a gap of "
            f"{'over' if worse else 'under'}-representation is the concern"
            + (
                " and rated negative, and a gap the other way positive."
                if a.proposal.template == "equity_audit"
                else ", and is flagged beside its rating."
            )
        )
        if a.proposal.template == "equity_audit":
            r = t.disproportionate_ratio
            items.append(
                "In an audit, disproportionate means a gap of concern well beyond the material "
                + (
                    f"band: a representation above {r:g} (a group's share of {measure_noun(u)} at "
                    f"least {r:g} times its share of {u.population})."
                    if worse
                    else f"band: a representation below {1 / r:.2f} (a group's share of "
                    f"{measure_noun(u)} at most 1 ÷ {r:g} of its share of {u.population})."
                )
            )
    if a.proposal.options:
        items.append(
            "Options: one option dominates another when it is no worse for every group on every "
            "criterion and better on at least one; it is then always ranked above it. Otherwise "
            f"options are ordered by the total extra distance they add, with each Core20 "
            f"resident's counted {_times(t.equity_weight)}. The ranking is then repeated with each "
            "threshold halved and doubled (a ratio or weight: its excess over 1), and the report "
            "says whether it holds and which disproportionate flags change."
        )
    items.append(
        "Ratings use words and symbols (▲ positive, ● neutral, ▼ negative, ◆ mixed, ○ not "
        "rated), never colour alone. The full rules, with the reasons for each default, are in "
        "the methods guide that comes with the eia software."
    )
    return Block(bullet_list(items))


def _times(weight: float) -> str:
    """'twice', or '1.5 times': how often a Core20 resident's burden counts in the score."""
    return "twice" if weight == 2 else f"{weight:g} times"
