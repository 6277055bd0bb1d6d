"""Names and tables the executive summary uses, and the report's plain-English method note.

The summary itself is the decision card (:mod:`eia.report.decision`, rendered from the
Jinja2 templates in ``report/prose`` and fed by :mod:`eia.findings`). This module gives it
the area's name (:func:`area_name`), the service's label, group names in words
(:func:`short_group`), the caveats (:func:`caveat_items`) and the compact ratings table
(:func:`ratings_table`, always saying which option it shows); :func:`how_ratings_work` is
the short section that explains the ratings in the report itself. Nothing here decides a
judgement: the named option, the flags and the trade-offs come from the findings.
"""

from __future__ import annotations

import re

import pandas as pd

from eia.analysis import impact
from eia.analysis.impact import DIMENSION_LABELS
from eia.analysis.traveltime import MODE_LABELS
from eia.assessment import Assessment, build_findings
from eia.population.area import ETHNIC_SHORT
from eia.report import ratings
from eia.report.show import (
    Block,
    Table,
    bullet_list,
    fmt_int,
    fmt_pct,
    join_words,
    plural,
)
from eia.report.wording import warning_text

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


# ---------------------------------------------------------------------------
# Names


def area_name(a: Assessment) -> str:
    """The area in words with its code(s): "NHS … Integrated Care Board (E54000060)"."""
    spec = a.proposal.area.spec
    area = a.area.lsoas
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
    if a.uptake is None and a.proposal.service is None:
        return ""
    label = a.uptake.service.label if a.uptake is not None else a.proposal.service.label
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
    """An input warning in the board's words (``prose/warnings.j2``): without the params-file
    path and key the command line shows an analyst."""
    return warning_text(warning, analyst=False)


def option_names(a: Assessment) -> list[str]:
    """The options appraised (none for a single proposal)."""
    return [o.name for o in a.proposal.options]


# ---------------------------------------------------------------------------
# The judgement, in words


# ---------------------------------------------------------------------------
# The paragraph


def residents(a: Assessment) -> str:
    """The area's residents in the assessment's population, in words ("913,557 residents aged
    18 and over"), always whole people."""
    n = round(float(a.area.lsoas["population"].sum()))
    if a.proposal.population is not None:
        return f"{fmt_int(n)} {a.proposal.population.name}"
    return plural(n, "resident")


def per_resident(value: float, unit: str = "km") -> str:
    """An amount per resident, always two decimals ("0.84 km", "1.06 km")."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):.2f} {unit}"


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
        synthetic = [m for m, x in a.travel.matrices.items() if x.synthetic]
        if synthetic:
            items.append(
                "the journey times are synthetic, made for illustration from a speed model"
            )
    elif a.proposal.sites is not None:
        items.append("distances are straight lines, not travel times")
    if a.uptake is not None:
        if a.uptake.result.counting == "events":
            items.append("the service figures count events, not people")
        items.append(
            "ethnic group rates are crude, not adjusted for age"
            if a.uptake.result.standardised
            else "rates are crude, not adjusted for age"
        )
    if a.proposal.effects:
        items.append("expected effects are the proposal owner's assumptions")
    return items


# ---------------------------------------------------------------------------
# The compact ratings table


def ratings_caption(a: Assessment, option: str | None) -> str:
    """A ratings table's caption, always naming what it rates."""
    if a.kind.rates == "uptake":
        subject = "the service now"
        noun = measure_noun(a.uptake.result) if a.uptake is not None else "its records"
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
    option = option if option is not None else named_option(a)
    if rows is None:
        rows = a.rated.impacts
        if option is not None and len(rows):
            rows = rows[rows["option"] == option]
    merged = impact.merge_core20(rows) if len(rows) else rows
    same = len(merged) < len(rows)
    rows = merged
    frame = pd.DataFrame(
        {
            "Dimension": rows["dimension"].map(lambda d: DIMENSION_LABELS.get(d, d)),
            "Group": rows["group"],
            "Rating": ratings.rating_labels(rows, a.proposal.thresholds.min_people),
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
            ratings.risk_words(gap) if risk is True else ""
            for risk, gap in zip(rows["at_risk"], gaps, strict=True)
        ]
    return Table(frame.reset_index(drop=True), caption)


def flag_cell(row: pd.Series) -> str:
    """The figures a disproportionate decision rests on and whether it is clear or marginal
    (:func:`eia.report.ratings.flag_cell`)."""
    return ratings.flag_cell(row)


def flag_rule(a: Assessment, rows: pd.DataFrame) -> str:
    """The flag's rule for a ratings table's caption, with this report's thresholds."""
    t = a.proposal.thresholds
    if "burden_ratio" in rows and rows["burden_ratio"].notna().any():
        unit = str(rows["unit"].dropna().iloc[0]) if "unit" in rows else "km"
        r = a.rules if unit == a.unit else impact.Rules.from_thresholds(t, unit)
        return ratings.flag_rule(True, r)
    return ratings.flag_rule(False, effect_rules=ratings.EffectRules.from_thresholds(t))


def named_option(a: Assessment) -> str | None:
    """The option the summary names (the findings' named option)."""
    if a.findings is None:
        a.findings = build_findings(a)
    return a.findings.named_option


# ---------------------------------------------------------------------------
# How the ratings work (the report's own method note)


def how_ratings_work(a: Assessment) -> Block:
    """A short plain-English section on how each rating is reached, with this report's thresholds."""
    t = a.proposal.thresholds
    items = []
    if a.travel:
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
        u = a.uptake.result
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
                if a.kind.rates == "uptake"
                else ", and is flagged beside its rating."
            )
        )
        if a.kind.rates == "uptake":
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
