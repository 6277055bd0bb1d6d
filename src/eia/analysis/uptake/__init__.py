"""Who uses the service now, measured fairly: rates per year, people or events, by group.

From a :class:`eia.service.load.ServiceData` (counts per LSOA 2021, per LSOA and
ethnic group, per LSOA and age band) and the assessment area
(:func:`eia.population.area.build_area`), this module computes, with :mod:`eia.stats`:

* counts, as totals and **per year** of the extract's period, and **rates per
  1,000 (or ``per``) residents per year** with 95% confidence intervals (exact
  Poisson below 10, Byar's from 10), by national IMD 2025 quintile and decile,
  Core20 and the rest, and Census 2021 ethnic group. The period is
  ``service.period`` or the extract's first to last date (:func:`resolve_period`);
* what is counted (:func:`counting_of`): distinct **people** when the extract
  names a person column, else **events**, labelled so everywhere; events of the
  same people are not independent, so their Poisson intervals are too narrow and
  the report says so (PHEindicatormethods' ``calculate_dsr`` widens them from the
  number of events per person, which an events-only extract does not hold);
* **directly standardised rates** (2013 European Standard Population,
  :func:`eia.stats.standardised`, none below 10 events, as PHE) by IMD quintile, decile
  and Core20 when the extract has age, with age-specific denominators from the
  pack's ``population20_age_lsoa21`` (:mod:`eia.population.ages`); the SII is fitted to
  them. Ethnic group rates are crude unless ethnic group by age denominators are supplied;
* the **rate ratio** to a reference group and the **representation ratio**
  (share of users ÷ share of residents), each flagged as a **material gap** only
  when its interval excludes 1 *and* it lies outside ``material_band`` (default
  0.9–1.1), in the direction set by ``higher_use_is`` (:func:`gap_flags`);
* **missing ethnicity**: completeness overall and by IMD quintile, ethnic group
  rates as observed (lower bounds) and with not-stated records reallocated in
  proportion to stated ones within each IMD quintile — the one assumption that
  representation uses too (:func:`ethnic_table`, :func:`completeness_table`);
* the **slope index of inequality** across deciles (quintiles when a decile is
  withheld), on DSRs when there are DSRs for every level, else on crude rates.

All of it can be about a **population of interest** (``population.ages``): the
area frame's ``population`` and the ethnic weights are then residents of those
ages (:func:`eia.assessment.assess` does this), and the service counts are
restricted to those ages when the extract is read, each record by its own age
(:func:`eia.service.load.load_service` with ``ages``; :func:`restrict_to_ages`).

Every published number passes through :mod:`eia.stats.disclosure`:
:func:`protect_tables` withholds small counts and whatever would let them be
worked out, across all the tables and the data-quality counts at once (they
share totals), and withholds rates, ratios, representation and shares derived
from withheld counts. :func:`compute` returns an :class:`Uptake` whose
``metrics()`` is the JSON-ready ``{"uptake": ..., "data_quality": ...}`` and
whose tables :mod:`eia.report.sections` shows (this module only computes).

The package's modules, by what they hold:

* :mod:`~eia.analysis.uptake.period` — people or events, the period, per what;
* :mod:`~eia.analysis.uptake.restrict` — a population of interest's ages;
* :mod:`~eia.analysis.uptake.rates` — IMD and Core20 rates, DSRs;
* :mod:`~eia.analysis.uptake.ethnic` — ethnic group rates and missing ethnicity;
* :mod:`~eia.analysis.uptake.inequality` — the slope index of inequality;
* :mod:`~eia.analysis.uptake.gaps` — material gaps and the equity audit's ratings;
* :mod:`~eia.analysis.uptake.protect` — disclosure control across the tables;
* :mod:`~eia.analysis.uptake.result` — :class:`Uptake` and :class:`Published`;
* :mod:`~eia.analysis.uptake.steps` — :func:`compute`, in named steps.

Every public name is importable from ``eia.analysis.uptake``.
"""

from __future__ import annotations

from eia.analysis.uptake.ethnic import (
    ADJUSTED_COLUMNS,
    COMPLETENESS_GAP,
    COMPLETENESS_THRESHOLD,
    completeness_table,
    completeness_warnings,
    ethnic_dsr,
    ethnic_table,
    published_inflation,
    read_ethnicity_by_age,
    reallocation_inflation,
)
from eia.analysis.uptake.gaps import (
    MATERIAL_BAND,
    NEAR,
    gap_flags,
    mark_risk,
    near,
    rate_representation,
)
from eia.analysis.uptake.inequality import _SII_SEED, inequality_slope  # noqa: F401 - tests seed the SII as uptake._SII_SEED
from eia.analysis.uptake.period import (
    PERIOD_TOLERANCE_DAYS,
    counting_of,
    month_of,
    period_beyond_data,
    resolve_period,
    unit_label,
    years_between,
)
from eia.analysis.uptake.protect import (
    QUALITY_COUNTS,
    protect_linked_tables,
    protect_map,
    protect_tables,
)
from eia.analysis.uptake.rates import (
    COLUMNS,
    CONFIDENCE,
    CORE20_LABELS,
    DECILE_LABELS,
    DSR_COLUMNS,
    PER,
    _rates,  # noqa: F401 - used by tests as uptake._rates
    age_counts,
    core20_table,
    dsr_table,
    dsr_tables,
    imd_table,
    reference_group,
)
from eia.analysis.uptake.restrict import ages_restriction, restrict_to_ages
from eia.analysis.uptake.result import Published, Uptake
from eia.analysis.uptake.steps import (
    compute,
    deprivation_tables,
    ethnic_tables,
    fit_slope,
    publish_tables,
    published,
)

__all__ = [
    "PERIOD_TOLERANCE_DAYS",
    "counting_of",
    "years_between",
    "resolve_period",
    "period_beyond_data",
    "unit_label",
    "month_of",
    "restrict_to_ages",
    "ages_restriction",
    "PER",
    "CONFIDENCE",
    "COLUMNS",
    "DSR_COLUMNS",
    "DECILE_LABELS",
    "CORE20_LABELS",
    "reference_group",
    "imd_table",
    "core20_table",
    "age_counts",
    "dsr_table",
    "dsr_tables",
    "COMPLETENESS_THRESHOLD",
    "COMPLETENESS_GAP",
    "completeness_table",
    "completeness_warnings",
    "ethnic_table",
    "published_inflation",
    "reallocation_inflation",
    "read_ethnicity_by_age",
    "ethnic_dsr",
    "ADJUSTED_COLUMNS",
    "inequality_slope",
    "MATERIAL_BAND",
    "gap_flags",
    "rate_representation",
    "NEAR",
    "near",
    "mark_risk",
    "QUALITY_COUNTS",
    "protect_linked_tables",
    "protect_tables",
    "protect_map",
    "Published",
    "Uptake",
    "compute",
    "deprivation_tables",
    "ethnic_tables",
    "publish_tables",
    "fit_slope",
    "published",
]
