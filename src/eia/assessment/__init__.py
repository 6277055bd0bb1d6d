"""Putting it together: everything one proposal's report shows, computed once.

:func:`assess` runs the library's steps in order — area, group populations, sites,
access per scenario, journey times, impact ratings, service uptake — and returns an
:class:`Assessment` made of typed parts (:mod:`eia.assessment.parts`):

* ``a.area`` — :class:`Area`: the LSOAs, group weights, proficiency in English, map outlines;
* ``a.access`` — :class:`Access`: current and proposed sites, distances, access summaries
  (``None`` when no sites move);
* ``a.travel`` — :class:`Travel`: journey times, summaries and appraisals per mode
  (``None`` without journey-time matrices);
* ``a.appraisal`` — the options appraisal the judgement rests on (``None`` when no sites move);
* ``a.rated`` — :class:`Ratings`: the impact ratings and the groups not assessed;
* ``a.uptake`` — :class:`ServiceUptake`: the service extract, uptake, representation
  (``None`` without a service extract);
* ``a.ethnicity_deprivation`` — :class:`EthnicityDeprivation` tables;
* ``a.frontier``, ``a.warnings``, ``a.findings``.

Templates show the parts with :mod:`eia.report.sections`; :func:`metrics`
(:mod:`eia.assessment.metrics`) turns the assessment into ``metrics.json``.
"""

from __future__ import annotations

from eia.assessment.build import (
    assess,
    build_findings,
    core20_effects,
    declared_age_populations,
    population_name,
    population_share,
    representation_tables,
)
from eia.assessment.metrics import (
    ACCESS_COLUMNS,
    adversely_affected,
    appraisal_metrics,
    intersect_metrics,
    metrics,
    records,
    travel_metrics,
    write_metrics,
)
from eia.assessment.parts import (
    Access,
    Area,
    Assessment,
    EthnicityDeprivation,
    Ratings,
    ServiceUptake,
    Travel,
)
from eia.assessment.profile import ethnic_composition, profile_by_decile, profile_by_quintile

__all__ = [
    "ACCESS_COLUMNS",
    "Access",
    "Area",
    "Assessment",
    "EthnicityDeprivation",
    "Ratings",
    "ServiceUptake",
    "Travel",
    "adversely_affected",
    "appraisal_metrics",
    "assess",
    "build_findings",
    "core20_effects",
    "declared_age_populations",
    "ethnic_composition",
    "intersect_metrics",
    "metrics",
    "population_name",
    "population_share",
    "profile_by_decile",
    "profile_by_quintile",
    "records",
    "representation_tables",
    "travel_metrics",
    "write_metrics",
]
