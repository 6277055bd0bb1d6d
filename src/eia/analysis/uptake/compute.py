"""All the uptake results for one service extract, in named steps, disclosure control applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from eia.analysis.uptake.ethnic import (
    ADJUSTED_COLUMNS,
    COMPLETENESS_GAP,
    COMPLETENESS_THRESHOLD,
    ETHNICITY_ASSUMPTION,
    completeness_table,
    completeness_warnings,
    ethnic_dsr,
    ethnic_table,
)
from eia.analysis.uptake.gaps import MATERIAL_BAND
from eia.analysis.uptake.inequality import inequality_slope
from eia.analysis.uptake.period import (
    counting_of,
    counting_sentence,
    period_sentence,
    resolve_period,
    unit_label,
)
from eia.analysis.uptake.protect import (
    _json_rows,
    _json_value,
    _publish,
    _published_completeness,
    _published_quality,
    protect_tables,
)
from eia.analysis.uptake.rates import (
    CONFIDENCE,
    CORE20_LABELS,
    DECILE_LABELS,
    DSR_COLUMNS,
    PER,
    age_counts,
    core20_table,
    dsr_table,
    imd_table,
    reference_group,
)
from eia.analysis.uptake.restrict import ages_restriction, restrict_to_ages
from eia.analysis.uptake.result import Published, Uptake
from eia.population.area import ETHNIC_GROUPS, QUINTILE_LABELS
from eia.population.ethnicity import NOT_KNOWN, NOT_STATED
from eia.stats import disclosure

__all__ = ["compute", "ethnic_standardisation_sentence", "standardisation_sentence"]


def compute(
    service,
    area: pd.DataFrame,
    populations: pd.DataFrame | None = None,
    *,
    reference_ethnic_group: str = "White",
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    per: float = PER,
    period: Mapping | Any | None = None,
    age_populations: pd.DataFrame | None = None,
    ages: Sequence[int | None] | None = None,
    population: str = "residents",
    higher_use_is: str = "better",
    material_band: Sequence[float] = MATERIAL_BAND,
    completeness_threshold: float = COMPLETENESS_THRESHOLD,
    completeness_gap: float = COMPLETENESS_GAP,
    ethnicity_by_age: pd.DataFrame | None = None,
) -> Uptake:
    """All the uptake results for one service extract, with disclosure control applied.

    ``service`` is a :class:`eia.service.aggregate.ServiceData`; ``area`` the frame of
    :func:`eia.population.area.build_area` (its ``population`` the population of interest);
    ``populations`` the wide LSOA × ethnic group table of
    :func:`eia.population.area.group_populations` (needed for ethnicity). ``period`` is
    ``service.period`` (see :func:`resolve_period`); ``per`` the multiplier.
    ``age_populations`` (residents per LSOA and ESP band,
    :func:`eia.population.ages.band_populations`) gives age-standardised rates when the
    extract has age. ``ages`` restricts the service counts to the population of
    interest (:func:`restrict_to_ages`); ``population`` names it ("residents aged
    15 to 44"). ``higher_use_is`` and ``material_band`` decide which ratios are
    gaps of concern (:func:`gap_flags`). ``ethnicity_by_age``
    (:func:`read_ethnicity_by_age`) makes ethnic group rates age-standardised too,
    when the extract crosses ethnic group with age (:func:`ethnic_dsr`).
    """
    reference = reference_group(reference_ethnic_group)
    service = restrict_to_ages(service, ages)
    counting = counting_of(service)
    span = resolve_period(period, service.quality)
    years = float(span["years"])
    unit = unit_label(per, population)
    quint = imd_table(service.by_lsoa, area, "quintile", per=per, years=years)
    dec = imd_table(service.by_lsoa, area, "decile", per=per, years=years)
    core = core20_table(service.by_lsoa, area, per=per, years=years)
    codes = list(area["lsoa21_code"])
    by_age = age_counts(service, codes) if age_populations is not None else None
    standardised = by_age is not None
    if standardised:
        pops = age_populations.reindex(codes).fillna(0.0)
        level = area.set_index("lsoa21_code")
        for table, key, groups in (
            (quint, "imd_quintile", level["imd_quintile"]),
            (dec, "imd_decile", level["imd_decile"]),
            (core, "core20", level["imd_decile"] <= 2),
        ):
            rates = dsr_table(by_age, pops, groups, per=per, years=years)
            for column in (*DSR_COLUMNS, "dsr_count"):
                table[column] = table[key].map(rates[column]).astype(float).to_numpy()
    ethnic = completeness = None
    ethnic_standardised = False
    warnings_: list[str] = []
    if service.by_lsoa_ethnicity is not None and populations is not None:
        ethnic = ethnic_table(
            service.by_lsoa_ethnicity,
            populations,
            reference=reference,
            per=per,
            years=years,
            area=area,
        )
        ethnic_standardised = False
        if ethnicity_by_age is not None:
            rates = ethnic_dsr(service, ethnicity_by_age, codes, ages=ages, per=per, years=years)
            if rates is not None:
                ethnic_standardised = True
                for column in (*DSR_COLUMNS, "dsr_count"):
                    ethnic[column] = ethnic["group"].map(rates[column]).astype(float).to_numpy()
        completeness = completeness_table(service.by_lsoa_ethnicity, area)
        warnings_ = completeness_warnings(
            completeness, threshold=completeness_threshold, gap=completeness_gap
        )
    counted_rows = "count" not in getattr(service, "columns", {}) and counting == "events"
    reasons = protect_tables(
        quint, dec, ethnic, service.quality, min_count, counted_rows=counted_rows
    )

    in_area_withheld = "count_in_area" in reasons
    pub_q = _publish(
        quint,
        "by_imd_quintile",
        reasons,
        "quintile",
        "imd_quintile",
        min_count,
        reference_withheld=("quintile", 5) in reasons,
        total_withheld=in_area_withheld,
    )
    pub_d = _publish(
        dec,
        "by_imd_decile",
        reasons,
        "decile",
        "imd_decile",
        min_count,
        reference_withheld=("decile", 10) in reasons,
        total_withheld=in_area_withheld,
    )
    # Core20 is quintile 1; the rest is the in-area count minus it.
    core_reasons = {("core20", True): reasons.get(("quintile", 1))}
    if ("quintile", 1) in reasons or in_area_withheld:
        core_reasons[("core20", False)] = reasons.get(("quintile", 1)) or reasons["count_in_area"]
    core_reasons = {k: v for k, v in core_reasons.items() if v is not None}
    pub_c = _publish(
        core,
        "by_core20",
        core_reasons,
        "core20",
        "core20",
        min_count,
        reference_withheld=("core20", False) in core_reasons,
        total_withheld=in_area_withheld,
    )
    pub_e = pub_comp = None
    if ethnic is not None:
        unknown_withheld = any(("ethnic", g) in reasons for g in (NOT_STATED, NOT_KNOWN))
        shown = ethnic
        if any(("ethnic", g) in reasons for g in ETHNIC_GROUPS):
            # Adjusted counts add up to the in-area count: one withheld would follow from the rest.
            shown = ethnic.assign(**{column: None for column in ADJUSTED_COLUMNS})
        pub_e = _publish(
            shown,
            "by_ethnic_group",
            reasons,
            "ethnic",
            "group",
            min_count,
            reference_withheld=("ethnic", reference) in reasons,
            total_withheld="stated" in reasons,
        )
        pub_comp = disclosure.publishable(
            _published_completeness(completeness, unknown_withheld or in_area_withheld, min_count),
            disclosure.PUBLISHED["uptake.ethnicity_completeness"],
            min_count=min_count,
        )

    # The SII is a function of the rates: fit it only to levels whose rates are all published.
    if any(("decile", d) in reasons for d in range(1, 11)):
        if any(("quintile", q) in reasons for q in range(1, 6)):
            sii = {
                "quantiles": None,
                "per": per,
                "sii": None,
                "sii_lower": None,
                "sii_upper": None,
                "reason": "withheld: a deprivation quintile's count is suppressed",
            }
        else:
            sii = inequality_slope(dec, quint, use="quintile", per=per, unit=unit)
            sii["note"] = "fitted across quintiles because a decile's count is suppressed"
    else:
        sii = inequality_slope(dec, quint, use="decile", per=per, unit=unit)
        if standardised and not sii.get("standardised") and sii.get("sii") is not None:
            sii["note"] = (
                "fitted to crude rates because an IMD decile has under 10 events, too few for an "
                "age-standardised rate"
            )

    band = (float(material_band[0]), float(material_band[1]))
    quality = dict(service.quality)
    published_quality = _published_quality(quality, reasons, ethnic is not None)
    result = Uptake(
        label=service.label,
        synthetic=service.synthetic,
        min_count=min_count,
        reference_ethnic_group=reference,
        by_imd_quintile=quint,
        by_imd_decile=dec,
        by_ethnic_group=ethnic,
        sii=sii,
        quality=quality,
        by_core20=core,
        completeness=completeness,
        counting=counting,
        period=span,
        per=per,
        population=population,
        unit=unit,
        higher_use_is=higher_use_is,
        material_band=band,
        standardised=standardised,
        warnings=warnings_,
    )
    notes = {
        "counting": counting_sentence(counting),
        "period": period_sentence(span),
        "standardisation": standardisation_sentence(standardised),
        "ethnicity": ETHNICITY_ASSUMPTION
        + " "
        + ethnic_standardisation_sentence(ethnic_standardised, ethnicity_by_age is not None),
    }
    result.published = Published(
        by_imd_quintile=pub_q,
        by_imd_decile=pub_d,
        by_core20=pub_c,
        by_ethnic_group=pub_e,
        ethnicity_completeness=pub_comp,
        reasons=reasons,
        notes=notes,
        uptake={
            "label": service.label,
            "synthetic": bool(service.synthetic),
            "counting": counting,
            "period": {
                k: span.get(k)
                for k in ("start", "end", "years", "source", "data_first", "data_last")
            },
            "unit": unit,
            "per": per,
            "population": population,
            "confidence": CONFIDENCE,
            "higher_use_is": higher_use_is,
            "material_band": list(band),
            "standardised": standardised,
            "ethnic_standardised": ethnic_standardised,
            "ages": ages_restriction(quality),
            "standard_population": "2013 European Standard Population" if standardised else None,
            "reference": {
                "imd_quintile": QUINTILE_LABELS[5],
                "imd_decile": DECILE_LABELS[10],
                "core20": CORE20_LABELS[1],
                "ethnic_group": reference,
            },
            "by_imd_quintile": _json_rows(pub_q),
            "by_imd_decile": _json_rows(pub_d),
            "by_core20": _json_rows(pub_c),
            "by_ethnic_group": None
            if pub_e is None
            else _json_rows(pub_e.drop(columns=["adjusted_count"])),
            "ethnicity_completeness": None if pub_comp is None else _json_rows(pub_comp),
            "sii": _json_value(sii),
            "ethnicity_note": notes["ethnicity"],
            "notes": notes,
            "warnings": list(warnings_),
            "disclosure": {
                "min_count": min_count,
                "statement": disclosure.policy_statement(min_count),
            },
        },
        data_quality=disclosure.published_record(
            published_quality, disclosure.PUBLISHED["data_quality"], min_count=min_count
        ),
    )
    return result


def ethnic_standardisation_sentence(standardised: bool, supplied: bool) -> str:
    """Whether ethnic group rates are age-standardised, and why not."""
    if standardised:
        return (
            "Ethnic group rates are also age-standardised (2013 European Standard Population) with "
            "the ethnic group by age denominators supplied with the proposal, from "
            "stated records only (lower bounds, like the observed rates); none below 10 events."
        )
    if supplied:
        return (
            "Ethnic group rates are crude (not age-standardised): ethnic group by age denominators "
            "were supplied, but the extract's aggregation does not cross ethnic group with age."
        )
    return (
        "Ethnic group rates are crude (not age-standardised): the reference data has no ethnic "
        "group by age, so groups with younger or older populations are not compared like for like."
    )


def standardisation_sentence(standardised: bool) -> str:
    """Which rates are age-standardised, and why the others are crude."""
    if standardised:
        return (
            "Rates by deprivation and for Core20 are also given age-standardised: directly "
            "standardised to the 2013 European Standard Population with Dobson limits, using ONS "
            "mid-2020 residents by age (persons) scaled to Census 2021 totals; none is given for a "
            "group with fewer than 10 events (PHE practice). Records of unknown age are left out of "
            "them."
        )
    return (
        "All rates are crude (not age-standardised): the extract has no age column, so groups "
        "with older or younger populations cannot be compared like for like."
    )
