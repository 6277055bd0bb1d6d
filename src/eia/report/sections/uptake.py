"""Current users and the service now: uptake charts and maps, representation gaps, the
published uptake tables and their quality.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.analysis.uptake import protect_map
from eia.assessment import Assessment
from eia.population.area import ETHNIC_SHORT
from eia.report import figures, maps
from eia.report import summary as summary_mod
from eia.report.ahead import ahead
from eia.report.sections.headline import representation
from eia.report.show import (
    Block,
    Figure,
    Html,
    Table,
    fmt_pct,
    notice_box,
    paragraphs,
    plural,
)
from eia.report.wording import month_words, say, say_text
from eia.stats import disclosure

__all__ = [
    "data_dates_sentence",
    "UPTAKE_CAPTIONS",
    "UPTAKE_KEYS",
    "current_users",
    "gaps",
    "gaps_table",
    "quality_frame",
    "uptake_chart",
    "uptake_completeness",
    "uptake_frame",
    "uptake_gaps_rule",
    "uptake_headline",
    "uptake_intro",
    "uptake_map",
    "uptake_quality",
    "uptake_section",
    "uptake_sii",
    "uptake_table",
]


# ---------------------------------------------------------------------------
# Current users (service data)


def current_users(a: Assessment) -> Block:
    """Current users of the service by deprivation and ethnic group (when service data is given)."""
    if a.uptake is None:
        return Block(
            paragraphs(
                "No service data was supplied with this proposal, so current users are not profiled; "
                "the assessment rests on where people live."
            )
        )
    return uptake_section(a.uptake.result)


def uptake_chart(a: Assessment, table: pd.DataFrame | str | None = None) -> Block | None:
    """Uptake rate per year by IMD quintile and ethnic group, with 95% intervals.

    ``table`` is one published uptake table (``a.uptake.result.table("by_imd_quintile")``)
    or its name; by default both the quintile and the ethnic group charts.
    """
    if a.uptake is None:
        return None
    if table is None:
        return Block(*(uptake_chart(a, k) for k in ("by_imd_quintile", "by_ethnic_group")))
    key = table if isinstance(table, str) else None
    frame = a.uptake.result.table(key) if key else table
    if frame is None:
        return None
    disclosure.require_published(frame, "sections.uptake_chart", a.uptake.result.min_count)
    ethnic = key == "by_ethnic_group" or (key is None and "in_rates" in frame)
    what = "ethnic group" if ethnic else "IMD 2025 quintile"
    if "in_rates" in frame:
        frame = frame[frame["in_rates"].astype(bool)]
    frame = frame.assign(group=frame["group"].map(lambda g: ETHNIC_SHORT.get(g, g)))
    numeric = frame[["rate", "lower", "upper"]].apply(pd.to_numeric, errors="coerce")
    chart = pd.concat([frame[["group"]], numeric], axis=1)
    top = chart.loc[chart["rate"].idxmax()] if chart["rate"].notna().any() else None
    bottom = chart.loc[chart["rate"].idxmin()] if chart["rate"].notna().any() else None
    alt = f"Bar chart of {a.uptake.service.label} {a.uptake.result.unit} by {what} with 95% confidence intervals."
    if top is not None:
        alt += (
            f" Highest: {top['group']} at {top['rate']:.1f}; lowest: {bottom['group']} at "
            f"{bottom['rate']:.1f}."
        )
    fig = maps.bar_with_ci(
        chart,
        value="rate",
        lower="lower",
        upper="upper",
        label=f"{a.uptake.service.label} {a.uptake.result.unit} (95% CI)",
    )
    return Block(
        Figure(
            fig,
            alt=alt,
            caption=f"Rate of {summary_mod.measure_noun(a.uptake.result)} {a.uptake.result.unit} (crude) by {what}, "
            "with 95% confidence intervals.",
        ),
        Table(
            chart.assign(
                **{
                    c: chart[c].map(lambda v: "withheld" if pd.isna(v) else f"{v:.1f}")
                    for c in ("rate", "lower", "upper")
                }
            ).rename(
                columns={
                    "group": "Group",
                    "rate": f"Rate {a.uptake.result.unit}",
                    "lower": "Lower 95%",
                    "upper": "Upper 95%",
                }
            ),
            f"Data for the chart of rates by {what}",
        ),
    )


@ahead
def uptake_map(a: Assessment) -> Figure | Html | None:
    """Uptake rate per year by LSOA, in quintile classes; small counts withheld.

    The map is protected as a table linked to the uptake tables
    (:func:`eia.analysis.uptake.protect_map`): LSOAs with fewer than ``min_count`` users, zero
    included, are grey, and so are any more that would let a withheld count be worked out.
    """
    if a.uptake is None:
        return None

    m = a.proposal.disclosure.min_count
    noun = summary_mod.measure_noun(a.uptake.result)
    classes = protect_map(
        a.uptake.service,
        a.area.lsoas,
        a.uptake.result,
        per=a.uptake.result.per / float(a.uptake.result.period["years"]),
    )
    if classes.withheld_all:
        return paragraphs(
            say(
                "disclosure.j2",
                "map_withheld",
                code=classes.withheld_all,
                label=a.uptake.service.label,
                unit=a.uptake.result.unit,
                min_count=m,
            )
        )
    fig = maps.rate_map(
        a.area.lsoas,
        classes.table().set_index("lsoa21_code")["rate"].astype(float),
        label=a.uptake.result.unit,
        outline=a.area.outline,
        withheld_label=f"withheld: fewer than {m} (or none), or to protect them",
        sites=a.access.current if a.access else None,
        places=a.area.places,
    )
    return Figure(
        fig,
        alt=(
            f"Map of {a.uptake.service.label} {a.uptake.result.unit} in each of {len(a.area.lsoas)} LSOAs, shaded in five "
            f"classes of equal numbers of LSOAs; {classes.withheld} LSOAs are withheld (grey): those "
            f"with fewer than {m} {noun}, none included, and any whose rate with the tables would "
            "let a small count be worked out. Lighter (yellow) neighbourhoods have higher rates, darker "
            "(blue) lower. "
            + figures.extent_sentence(a)
            + (
                f" The {plural(len(a.access.current), 'current site')} "
                f"{'is' if len(a.access.current) == 1 else 'are'} marked with circles."
                if a.access is not None and len(a.access.current)
                else ""
            )
        ),
        caption=f"Rate of {noun} {a.uptake.result.unit} by LSOA; classes are quintiles of LSOAs, "
        f"so the map shows ranges, never counts; grey does not tell fewer than {m} from none.",
    )


def gaps_table(a: Assessment, reps: pd.DataFrame | None = None) -> Block:
    """Groups by representation (``reps`` from :func:`representation`), with intervals and flags.

    A group has a material gap only when its interval excludes 1 and its representation
    lies outside ``thresholds.material_band``; the gap is of concern in the direction set by
    ``service.higher_use_is`` (:func:`eia.analysis.uptake.gap_flags`).
    """
    reps = representation(a) if reps is None else reps
    reps = reps[reps["representation_upper"].notna()].sort_values("representation")
    concern = reps[reps["concern"].astype(bool)]
    low_b, high_b = a.uptake.result.material_band
    which = "under" if a.uptake.result.higher_use_is == "better" else "over"
    noun = summary_mod.measure_noun(a.uptake.result)
    return Block(
        paragraphs(
            f"{plural(len(concern), 'group')} {'is' if len(concern) == 1 else 'are'} "
            f"{which}-represented in {noun} by a material "
            f"gap (the representation interval excludes 1 and the representation lies outside "
            f"{low_b:g} to {high_b:g}); a higher rate is "
            f"{'worse (harm)' if which == 'over' else 'better'} for this service."
            if len(concern)
            else f"No group is {which}-represented in {noun} by a material gap "
            f"(interval excluding 1 and representation outside {low_b:g} to {high_b:g})."
        ),
        Table(
            pd.DataFrame(
                {
                    "Group": reps["group"].map(lambda g: ETHNIC_SHORT.get(g, g)),
                    f"Share of {noun}": reps["user_share"].map(fmt_pct),
                    f"Share of {a.uptake.result.population}": reps["population_share"].map(fmt_pct),
                    "Representation (95% CI)": [
                        f"{r:.2f} ({lo:.2f} to {hi:.2f})"
                        for r, lo, hi in zip(
                            reps["representation"],
                            reps["representation_lower"],
                            reps["representation_upper"],
                            strict=True,
                        )
                    ],
                    "Material gap": [
                        (("of concern: " if c else "") + f"{g}-represented")
                        if g in ("under", "over")
                        else "no"
                        for g, c in zip(reps["gap"], reps["concern"], strict=True)
                    ],
                }
            ),
            "Groups ordered from the least represented to the most",
        ),
    )


def gaps(a: Assessment, reps: pd.DataFrame | None = None) -> Block:
    """Groups with the largest gaps: representation furthest below 1, with intervals."""
    if a.uptake is None:
        return Block(paragraphs("Gaps need service data; this proposal has none."))
    return gaps_table(a, reps)


# ---------------------------------------------------------------------------
# Uptake tables (moved here from eia.analysis.uptake, which only computes)


def uptake_frame(
    published: pd.DataFrame,
    min_count: int,
    *,
    ethnic: bool = False,
    counting: str = "events",
    per: float = 1_000,
) -> pd.DataFrame:
    """A published uptake table as report strings: "<5", "*", rates to 1 decimal, ratios to 2.

    Columns: group, the total count (headed "People" or "Events"), the count per year,
    residents, the crude rate per year and its interval, the age-standardised rate and its
    interval (when the table has them), for ethnic groups the observed rate (a lower bound)
    and the rate with not-stated records reallocated, then the rate ratio and representation.
    """

    def num(value, digits=1):
        if value is None or pd.isna(value):
            return "–"
        return f"{float(value):,.{digits}f}"

    def interval(lo, hi, digits=1):
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            return "–"
        return f"{float(lo):,.{digits}f} to {float(hi):,.{digits}f}"

    rate_head = f"rate per {per:,.0f} per year"
    who = "People" if counting == "people" else "Events"
    has_dsr = "dsr" in published.columns
    rows = []
    for record in published.to_dict(orient="records"):
        reason = record.get("suppressed")
        in_rates = record.get("in_rates", True)
        per_year = record.get("count_per_year")
        row = {
            "Group": ETHNIC_SHORT.get(record["group"], record["group"])
            if ethnic
            else record["group"],
            who: disclosure.label(record["count"], reason, min_count),
            "Per year": "–"
            if per_year is None or pd.isna(per_year) or reason
            else f"{float(per_year):,.1f}",
            "Residents": "–"
            if record["population"] is None or pd.isna(record["population"])
            else f"{int(record['population']):,}",
        }
        if ethnic:
            row[f"Observed {rate_head} (lower bound)"] = (
                num(record["rate"]) if in_rates else "not included"
            )
            row["95% CI"] = interval(record["lower"], record["upper"]) if in_rates else ""
            row["Adjusted rate (not stated reallocated)"] = (
                num(record.get("adjusted_rate")) if in_rates else ""
            )
            row["Adjusted 95% CI"] = (
                interval(record.get("adjusted_lower"), record.get("adjusted_upper"))
                if in_rates
                else ""
            )
        else:
            row[f"Crude {rate_head}"] = num(record["rate"])
            row["95% CI"] = interval(record["lower"], record["upper"])
        if has_dsr and in_rates:
            row["Age-standardised rate"] = num(record.get("dsr"))
            row["Standardised 95% CI"] = interval(record.get("dsr_lower"), record.get("dsr_upper"))
        elif has_dsr:
            row["Age-standardised rate"] = row["Standardised 95% CI"] = ""
        row["Rate ratio"] = num(record["ratio"], 2) if in_rates else ""
        row["Ratio 95% CI"] = (
            interval(record["ratio_lower"], record["ratio_upper"], 2) if in_rates else ""
        )
        row["Representation"] = num(record["representation"], 2) if in_rates else ""
        rows.append(row)
    return pd.DataFrame(rows)


UPTAKE_CAPTIONS = {
    "by_imd_quintile": "by national IMD 2025 quintile",
    "by_imd_decile": "by national IMD 2025 decile",
    "by_core20": "for Core20 (the most deprived fifth nationally) and the rest of the area",
    "by_ethnic_group": "by Census 2021 ethnic group: observed (lower bounds) and with not-stated "
    "records reallocated",
}


#: The column that tells each published uptake table apart (ethnic groups first).
UPTAKE_KEYS = {
    "by_ethnic_group": "in_rates",
    "by_core20": "core20",
    "by_imd_decile": "imd_decile",
    "by_imd_quintile": "imd_quintile",
}


def uptake_table(u, table: pd.DataFrame | str, caption: str | None = None) -> Table | None:
    """One published (suppressed) uptake table, e.g. ``u.table("by_imd_quintile")``, as shown.

    ``u`` is the :class:`eia.analysis.uptake.Uptake` (``a.uptake.result``); ``table`` a frame
    from :meth:`~eia.analysis.uptake.Uptake.table` or its name.
    """
    key = table if isinstance(table, str) else None
    frame = u.table(key) if key else table
    if frame is None:
        return None
    disclosure.require_published(frame, "sections.uptake_table", u.min_count)
    if key is None:  # a frame: which table it is, from its columns
        key = next(
            (k for k, column in UPTAKE_KEYS.items() if column in frame.columns), "by_imd_quintile"
        )
    ethnic = key == "by_ethnic_group"
    synthetic = " (synthetic data)" if u.synthetic else ""
    noun = summary_mod.measure_noun(u)
    caption = f"{caption or noun[:1].upper() + noun[1:] + ' ' + UPTAKE_CAPTIONS[key]}, {u.unit}"
    frame_ = uptake_frame(frame, u.min_count, ethnic=ethnic, counting=u.counting, per=u.per)
    return Table(frame_, f"{caption}{synthetic}")


def uptake_headline(u) -> str:
    """The section's first sentence: what was counted, over what period, among whom."""

    quality = u.published_quality
    synthetic = " (synthetic data)" if u.synthetic and "synthetic" not in u.label.lower() else ""
    in_area = quality.get("count_in_area")
    total = "a withheld number of" if in_area is None else disclosure.label(in_area, None)
    who = "people" if u.counting == "people" else "events"

    years = float(u.period["years"])
    per_year = (
        ""
        if in_area is None or round(years, 2) == 1
        else f" ({float(in_area) / years:,.0f} a year)"
    )
    span = (
        f" from {say_text('uptake.j2', 'span', period=u.period)}"
        if u.period.get("start")
        else " (period not known; one year assumed)"
    )
    sexes = (
        ""
        if u.population == "residents"
        else " (persons of those ages: the reference data has no split by sex)"
    )
    return (
        f"{u.label}{synthetic}: {total} {who}{per_year}{span} among {u.population} of the "
        f"assessment area{sexes}. Rates are {u.unit} (Census 2021 residents) with 95% confidence "
        "intervals; the rate ratio compares each group with the least deprived (or, for "
        f"ethnicity, the {ETHNIC_SHORT[u.reference_ethnic_group]}) group, and representation is a "
        f"group's share of the service's {who} divided by its share of {u.population} "
        "(1 = in proportion)."
    )


def uptake_gaps_rule(u) -> str:
    """How a material gap is decided, and which direction is a concern."""
    low, high = u.material_band
    noun = summary_mod.measure_noun(u)
    concern = (
        f"under-representation (a smaller share of {noun} than of the population)"
        if u.higher_use_is == "better"
        else f"over-representation (a larger share of {noun} than of the population)"
    )
    return (
        "A group is flagged only for a material gap: its interval excludes 1 and its "
        f"representation or rate ratio lies outside {low:g} to {high:g}. A higher rate is "
        f"{'worse (harm)' if u.higher_use_is == 'worse' else 'better'} for this service, so the "
        f"concern is {concern}."
    )


def data_dates_sentence(period: dict) -> str | None:
    """The extract's own first and last months beside a declared period (None otherwise)."""
    if period.get("source") != "params" or not period.get("data_first"):
        return None
    first, last = month_words(period["data_first"]), month_words(period["data_last"])
    return (
        f"The extract's own records run from {first} to {last} (before keeping those within "
        "the stated period)."
    )


def _ages_words(ages) -> str:
    low, high = ages
    return f"{low} and over" if high is None else f"{low} to {high}"


def ages_sentence(ages: dict | None) -> str | None:
    """How the records were restricted to the population's ages (:func:`eia.analysis.uptake.ages_restriction`)."""
    if not ages:
        return None
    declared, covered = _ages_words(ages["declared"]), _ages_words(ages["covered"])
    if ages["form"] == "none":
        return (
            "The extract has no age column, so all its records are counted against residents "
            f"aged {declared}."
        )
    if ages["form"] == "unknown":
        return f"No record in the extract has a known age, so none is counted for ages {declared}."
    if ages["form"] == "bands":
        return (
            f"The extract gives ages in bands only, so records are counted when their band lies "
            f"wholly within ages {declared}: they cover ages {covered}, and residents of the same "
            f"ages are counted with them."
        )
    return (
        f"Only records of people aged {declared} are counted, each by its own age; every table "
        "(deprivation, ethnic group, sex, site) counts those records."
    )


def uptake_intro(u) -> Html:
    """What the uptake figures count, over what period, among whom, and how they are defined."""
    texts = [
        uptake_headline(u),
        say("uptake.j2", "counting", counting=u.counting),
        say("uptake.j2", "period", period=u.period),
    ]
    dates = data_dates_sentence(u.period)
    if dates:
        texts.append(dates)
    ages = ages_sentence(u.published.uptake.get("ages"))
    if ages:
        texts.append(ages)
    texts += [say("uptake.j2", "standardisation", standardised=u.standardised), uptake_gaps_rule(u)]
    if (u.by_imd_decile["count"] % 1 != 0).any():
        texts.append(
            "Some counts are fractional: events recorded against an LSOA 2011 code whose area "
            "was split in 2021 are shared between its 2021 parts in proportion to their "
            "residents."
        )
    return paragraphs(*texts)


def uptake_completeness(u) -> Block | None:
    """Ethnicity completeness overall and by IMD quintile, with warnings and the assumption."""
    comp = u.table("ethnicity_completeness")
    if comp is None:
        return None
    synthetic = " (synthetic data)" if u.synthetic else ""
    return Block(
        *(notice_box(say("uptake.j2", "warning", w=w), "warning") for w in u.warnings),
        paragraphs(
            say(
                "uptake.j2",
                "ethnicity",
                standardised=u.published.notes["ethnic_standardised"],
                supplied=u.published.notes["ethnic_by_age_supplied"],
            )
        ),
        Table(
            pd.DataFrame(
                {
                    "Group": comp["group"].map(lambda g: "Whole area" if g == "All" else g),
                    "Records with a stated ethnic group": [
                        "withheld" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"
                        for v in comp["completeness"]
                    ],
                }
            ),
            f"Ethnicity completeness, overall and by IMD quintile{synthetic}",
        ),
    )


def uptake_sii(u) -> Html | None:
    """The slope index of inequality in words, or why it is not given."""
    if u.sii.get("sii") is not None or u.sii.get("reason"):
        return paragraphs(say("uptake.j2", "sii", s=u.sii, unit=u.unit))
    return None


def uptake_section(u) -> Block:
    """Current users in one call: intro, tables by quintile, decile and Core20, SII, ethnic
    group table and ethnicity completeness."""
    ethnic = u.table("by_ethnic_group")
    return Block(
        uptake_intro(u),
        uptake_table(u, "by_imd_quintile"),
        uptake_table(u, "by_imd_decile"),
        uptake_table(u, "by_core20"),
        uptake_sii(u),
        uptake_table(u, "by_ethnic_group") if ethnic is not None else None,
        uptake_completeness(u) if ethnic is not None else None,
    )


def quality_frame(published_quality, min_count: int) -> pd.DataFrame:
    """The data-quality counts as report rows (measure, value), suppression applied."""

    names = {
        "records_read": "Records read",
        "count_read": "Count read (sum of the count column, or records)",
        "count_in_area": "In the assessment area (LSOA 2021)",
        "count_converted_from_2011": "Converted from LSOA 2011 codes",
        "count_outside_area": "Outside the area (including Wales)",
        "count_welsh": "In Wales",
        "count_unmatched": "Not matched to an LSOA (blank, malformed or unknown code)",
        "count_matched_by_name": "Matched by LSOA name rather than code",
        "count_outside_ages": "Outside the population's ages (not counted)",
        "count_age_unknown": "Age not known (not counted for a population of ages)",
    }
    rows = []
    withheld = published_quality.get("suppressed", {})
    for key, name in names.items():
        value = published_quality.get(key)
        if value is None and key not in withheld:
            continue
        rows.append(
            {"Measure": name, "Value": disclosure.label(value, withheld.get(key), min_count)}
        )
    for key, name in (
        ("ethnicity_not_stated_share", "Ethnicity not stated (share in area)"),
        ("ethnicity_not_known_share", "Ethnicity not known (share in area)"),
    ):
        value = published_quality.get(key)
        rows.append({"Measure": name, "Value": "–" if value is None else f"{100 * value:.1f}%"})
    return pd.DataFrame(rows)


def uptake_quality(u) -> Block:
    """The data-quality part: the extract's quality table, examples, disclosure policy."""

    quality = u.published_quality
    synthetic = " (synthetic data)" if u.synthetic else ""
    return Block(
        Table(
            quality_frame(quality, u.min_count), f"Data quality of the service extract{synthetic}"
        ),
        paragraphs(
            "Examples of LSOA values that could not be matched (values only, never records): "
            + ", ".join(quality["unmatched_examples"])
        )
        if quality.get("unmatched_examples")
        else None,
        paragraphs(
            "Ethnic category values not recognised (counted as Not known): "
            + ", ".join(quality["ethnicity_unrecognised"])
        )
        if quality.get("ethnicity_unrecognised")
        else None,
        paragraphs(say("disclosure.j2", "policy", p=disclosure.policy_statement(u.min_count))),
    )
