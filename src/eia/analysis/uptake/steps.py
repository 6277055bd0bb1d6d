"""All the uptake results for one service extract, in named steps, disclosure control applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from eia.analysis.uptake.ethnic import (
    ADJUSTED_COLUMNS,
    COMPLETENESS_GAP,
    COMPLETENESS_THRESHOLD,
    completeness_table,
    completeness_warnings,
    ethnic_dsr,
    ethnic_table,
)
from eia.analysis.uptake.gaps import MATERIAL_BAND
from eia.analysis.uptake.inequality import inequality_slope
from eia.analysis.uptake.period import (
    counting_of,
    resolve_period,
    unit_label,
)
from eia.analysis.uptake.protect import (
    _json_rows,
    _json_value,
    _publish,
    _published_completeness,
    _published_quality,
    protect_linked_tables,
)
from eia.analysis.uptake.rates import (
    CONFIDENCE,
    CORE20_LABELS,
    DECILE_LABELS,
    DSR_COLUMNS,
    PER,
    age_counts,
    core20_table,
    dsr_tables,
    imd_table,
    reference_group,
)
from eia.analysis.uptake.restrict import ages_restriction, restrict_to_ages
from eia.analysis.uptake.result import Published, Uptake
from eia.population.area import ETHNIC_GROUPS, QUINTILE_LABELS
from eia.stats import disclosure

__all__ = [
    "compute",
    "deprivation_tables",
    "ethnic_tables",
    "publish_tables",
    "fit_slope",
    "published",
]


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

    ``service`` is a :class:`eia.service.load.ServiceData`; ``area`` the frame of
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
    quint, dec, core, area_dsr = deprivation_tables(
        service, area, age_populations, per=per, years=years
    )
    standardised = area_dsr is not None
    ethnic, completeness, ethnic_standardised, warnings_ = ethnic_tables(
        service,
        area,
        populations,
        reference=reference,
        per=per,
        years=years,
        ethnicity_by_age=ethnicity_by_age,
        ages=ages,
    )
    counted_rows = "count" not in getattr(service, "columns", {}) and counting == "events"
    linked = protect_linked_tables(
        quint,
        dec,
        ethnic,
        service.quality,
        min_count,
        counted_rows=counted_rows,
        completeness=completeness,
    )
    reasons = {k: r for k, r in linked.reasons.items() if r != disclosure.HIDDEN}
    tables = publish_tables(quint, dec, core, ethnic, completeness, reasons, reference, min_count)
    if tables["ethnicity_completeness"] is not None:
        # Warnings quote published shares only (never one computed from withheld counts).
        warnings_ = completeness_warnings(
            tables["ethnicity_completeness"],
            threshold=completeness_threshold,
            gap=completeness_gap,
        )
    sii = fit_slope(dec, quint, reasons, per=per, standardised=standardised)
    band = (float(material_band[0]), float(material_band[1]))
    quality = dict(service.quality)
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
        dsr_area=None if area_dsr is None or "count_in_area" in reasons else area_dsr,
    )
    notes = {
        "counting": counting,
        "period": span["source"],
        "standardised": standardised,
        "ethnic_standardised": ethnic_standardised,
        "ethnic_by_age_supplied": ethnicity_by_age is not None,
    }
    result.published = published(result, tables, reasons, notes, ethnic_standardised, linked)
    return result


def deprivation_tables(
    service,
    area: pd.DataFrame,
    age_populations: pd.DataFrame | None,
    *,
    per: float,
    years: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict | None]:
    """Step 1: the IMD quintile, decile and Core20 tables, with DSRs when the extract has age.

    Returns ``(quintiles, deciles, core20, area_dsr)``; ``area_dsr`` (``dsr``,
    ``dsr_lower``, ``dsr_upper``, ``dsr_count`` of the whole area, the base of
    age-standardised representation) is None without age-standardised rates.
    """
    quint = imd_table(service.by_lsoa, area, "quintile", per=per, years=years)
    dec = imd_table(service.by_lsoa, area, "decile", per=per, years=years)
    core = core20_table(service.by_lsoa, area, per=per, years=years)
    codes = list(area["lsoa21_code"])
    by_age = age_counts(service, codes) if age_populations is not None else None
    if by_age is None:
        return quint, dec, core, None
    pops = age_populations.reindex(codes).fillna(0.0)
    level = area.set_index("lsoa21_code")
    groupings = {
        "imd_quintile": level["imd_quintile"],
        "imd_decile": level["imd_decile"],
        "core20": level["imd_decile"] <= 2,
        "all": pd.Series("all", index=level.index),
    }
    rates = dsr_tables(by_age, pops, groupings, per=per, years=years)
    for table, key in ((quint, "imd_quintile"), (dec, "imd_decile"), (core, "core20")):
        for column in (*DSR_COLUMNS, "dsr_count"):
            table[column] = table[key].map(rates[key][column]).astype(float).to_numpy()
    whole = rates["all"]
    area_dsr = {k: float(whole[k].iloc[0]) for k in (*DSR_COLUMNS, "dsr_count")}
    return quint, dec, core, area_dsr


def ethnic_tables(
    service,
    area: pd.DataFrame,
    populations: pd.DataFrame | None,
    *,
    reference: str,
    per: float,
    years: float,
    ethnicity_by_age: pd.DataFrame | None,
    ages: Sequence[int | None] | None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, bool, list[str]]:
    """Step 2: ethnic group rates (age-standardised with supplied denominators) and completeness.

    Returns ``(ethnic, completeness, ethnic_standardised, warnings)``; the first two
    are None without an ethnicity column or ethnic group populations. ``warnings`` is
    empty here: completeness warnings quote only published shares, so they are made
    once the tables are protected (:func:`compute`).
    """
    if service.by_lsoa_ethnicity is None or populations is None:
        return None, None, False, []
    ethnic = ethnic_table(
        service.by_lsoa_ethnicity, populations, reference=reference, per=per, years=years, area=area
    )
    standardised = False
    if ethnicity_by_age is not None:
        codes = list(area["lsoa21_code"])
        rates = ethnic_dsr(service, ethnicity_by_age, codes, ages=ages, per=per, years=years)
        if rates is not None:
            standardised = True
            for column in (*DSR_COLUMNS, "dsr_count"):
                ethnic[column] = ethnic["group"].map(rates[column]).astype(float).to_numpy()
    completeness = completeness_table(service.by_lsoa_ethnicity, area)
    return ethnic, completeness, standardised, []


def publish_tables(
    quint: pd.DataFrame,
    dec: pd.DataFrame,
    core: pd.DataFrame,
    ethnic: pd.DataFrame | None,
    completeness: pd.DataFrame | None,
    reasons: Mapping,
    reference: str,
    min_count: int,
) -> dict[str, pd.DataFrame | None]:
    """Step 3: every table as it may be published, given :func:`protect_tables`' ``reasons``.

    Returns ``{by_imd_quintile, by_imd_decile, by_core20, by_ethnic_group,
    ethnicity_completeness}`` (the last two None without ethnicity).
    """
    in_area_withheld = "count_in_area" in reasons
    out: dict[str, pd.DataFrame | None] = {}
    out["by_imd_quintile"] = _publish(
        quint,
        "by_imd_quintile",
        reasons,
        "quintile",
        "imd_quintile",
        min_count,
        reference_withheld=("quintile", 5) in reasons,
        total_withheld=in_area_withheld,
    )
    out["by_imd_decile"] = _publish(
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
    out["by_core20"] = _publish(
        core,
        "by_core20",
        core_reasons,
        "core20",
        "core20",
        min_count,
        reference_withheld=("core20", False) in core_reasons,
        total_withheld=in_area_withheld,
    )
    out["by_ethnic_group"] = out["ethnicity_completeness"] = None
    if ethnic is not None:
        shown = ethnic
        if any(("ethnic", g) in reasons for g in ETHNIC_GROUPS):
            # Adjusted counts add up to the in-area count: one withheld would follow from the rest.
            shown = ethnic.assign(**{column: None for column in ADJUSTED_COLUMNS})
        out["by_ethnic_group"] = _publish(
            shown,
            "by_ethnic_group",
            reasons,
            "ethnic",
            "group",
            min_count,
            reference_withheld=("ethnic", reference) in reasons,
            total_withheld="stated" in reasons,
        )
        out["ethnicity_completeness"] = disclosure.publishable(
            _published_completeness(completeness, reasons),
            disclosure.PUBLISHED["uptake.ethnicity_completeness"],
            min_count=min_count,
        )
    return out


def fit_slope(
    dec: pd.DataFrame,
    quint: pd.DataFrame,
    reasons: Mapping,
    *,
    per: float,
    standardised: bool,
) -> dict:
    """Step 4: the slope index of inequality, fitted only to levels whose rates are all published
    (deciles, else quintiles, else withheld: ``reason`` ``"withheld"``); ``note`` says when
    it fell back (``"quintiles"``: a decile's count is suppressed; ``"crude"``: a decile has
    under 10 events, too few for an age-standardised rate)."""
    if any(("decile", d) in reasons for d in range(1, 11)):
        if any(("quintile", q) in reasons for q in range(1, 6)):
            return {
                "quantiles": None,
                "per": per,
                "sii": None,
                "sii_lower": None,
                "sii_upper": None,
                "reason": "withheld",
            }
        sii = inequality_slope(dec, quint, use="quintile", per=per)
        sii["note"] = "quintiles"
        return sii
    sii = inequality_slope(dec, quint, use="decile", per=per)
    if standardised and not sii.get("standardised") and sii.get("sii") is not None:
        sii["note"] = "crude"
    return sii


def published(
    result: Uptake,
    tables: Mapping[str, pd.DataFrame | None],
    reasons: Mapping,
    notes: Mapping[str, Any],
    ethnic_standardised: bool,
    linked: disclosure.Linked | None = None,
) -> Published:
    """Step 5: what may be published: the tables, and metrics.json's ``uptake`` and
    ``data_quality`` blocks."""
    quality, span, standardised = result.quality, result.period, result.standardised
    published_quality = _published_quality(quality, reasons, result.by_ethnic_group is not None)
    pub_e, pub_comp = tables["by_ethnic_group"], tables["ethnicity_completeness"]
    return Published(
        by_imd_quintile=tables["by_imd_quintile"],
        by_imd_decile=tables["by_imd_decile"],
        by_core20=tables["by_core20"],
        by_ethnic_group=pub_e,
        ethnicity_completeness=pub_comp,
        reasons=reasons,
        notes=notes,
        uptake={
            "label": result.label,
            "synthetic": bool(result.synthetic),
            "counting": result.counting,
            "period": {
                k: span.get(k)
                for k in ("start", "end", "years", "source", "data_first", "data_last")
            },
            "unit": result.unit,
            "per": result.per,
            "population": result.population,
            "confidence": CONFIDENCE,
            "higher_use_is": result.higher_use_is,
            "material_band": list(result.material_band),
            "standardised": standardised,
            "ethnic_standardised": ethnic_standardised,
            "ages": ages_restriction(quality),
            "standard_population": "2013 European Standard Population" if standardised else None,
            "dsr_area": None  # the rate and its limits; its count is the tables'
            if result.dsr_area is None
            else _json_value({k: result.dsr_area[k] for k in DSR_COLUMNS}),
            "reference": {
                "imd_quintile": QUINTILE_LABELS[5],
                "imd_decile": DECILE_LABELS[10],
                "core20": CORE20_LABELS[1],
                "ethnic_group": result.reference_ethnic_group,
            },
            "by_imd_quintile": _json_rows(tables["by_imd_quintile"]),
            "by_imd_decile": _json_rows(tables["by_imd_decile"]),
            "by_core20": _json_rows(tables["by_core20"]),
            "by_ethnic_group": None
            if pub_e is None
            else _json_rows(pub_e.drop(columns=["adjusted_count"])),
            "ethnicity_completeness": None if pub_comp is None else _json_rows(pub_comp),
            "sii": _json_value(result.sii),
            "ethnic_by_age_supplied": bool(notes["ethnic_by_age_supplied"]),
            "warnings": list(result.warnings),
            "disclosure": {"min_count": result.min_count},
        },
        data_quality=disclosure.published_record(
            published_quality, disclosure.PUBLISHED["data_quality"], min_count=result.min_count
        ),
        linked=linked,
    )
