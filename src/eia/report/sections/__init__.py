"""The report's sections: presentation functions that RETURN what a template cell shows.

Order (NHS England EHIA / OHID HEAT structure): title and executive summary;
the proposal and options; population and current users; impacts by group;
options comparison; mitigations and action plan; data quality and
limitations; methods, sources and attribution; provenance; sign-off.

Every function here takes an :class:`eia.assessment.Assessment` (and, for the
analytic tables, the frame a library function computed) and returns a
displayable object from :mod:`eia.report.show` — :class:`~eia.report.show.Table`,
:class:`~eia.report.show.Figure`, :class:`~eia.report.show.Block` or :class:`~eia.report.show.Html`
— with escaped text, captions and alt text. Nothing here calls ``display``:
Jupyter shows what a cell returns, and tests inspect the returned object
(``.markup``, ``.frame``, ``.caption``) without a kernel.

Templates show their analysis one level down: a cell computes a frame with
one library call, the next shows it::

    by_quintile = access.summarise(a.access.distances[a.primary], a.area.weights["imd_quintile"], a.threshold_km)

    sections.access_table(a, by_quintile, "Access by national IMD 2025 quintile")

Every table function also computes its frame itself when none is given, so
``sections.area_profile(a)`` still shows a whole section in one call.

The functions live in small modules named for what they hold — :mod:`.headline` (title and
executive summary), :mod:`.proposal`, :mod:`.population`, :mod:`.access`, :mod:`.impacts`,
:mod:`.options`, :mod:`.governance` (mitigations, data quality, methods, provenance,
sign-off) and :mod:`.uptake` — and are all re-exported here, so templates keep calling
``sections.summary(a)``, ``sections.options(a)`` and so on.
"""

from eia.report.sections.access import (
    ACCESS_CAPTIONS,
    access,
    access_frame,
    access_intro,
    access_other_groups,
    access_table,
    change_map,
)
from eia.report.sections.governance import (
    LIMITATIONS,
    STRAIGHT_LINE_LIMITATION,
    TRAVEL_LIMITATION,
    data_quality,
    limitations,
    methods,
    mitigations,
    provenance,
    signoff,
)
from eia.report.sections.headline import (
    TEMPLATE_NAMES,
    headlines,
    how_ratings_work,
    named_option,
    ratings_frame,
    ratings_table,
    representation,
    site_users,
    summary,
    title,
    uptake_facts,
)
from eia.report.sections.impacts import (
    effects,
    impact_frame,
    impacts,
    narrative,
    narrative_table,
    not_assessed_sentence,
)
from eia.report.sections.options import (
    THRESHOLD_WORDS,
    VARIATION_HEADER,
    options,
    options_ratings_table,
    options_table,
    robustness_table,
)
from eia.report.sections.population import (
    area_profile,
    area_summary,
    decile_table,
    ethnic_table,
    quintile_table,
)
from eia.report.sections.proposal import (
    audit_threshold_items,
    imd_map,
    proposal,
)
from eia.report.sections.uptake import (
    UPTAKE_CAPTIONS,
    UPTAKE_KEYS,
    current_users,
    data_dates_sentence,
    gaps,
    gaps_table,
    quality_frame,
    uptake_chart,
    uptake_completeness,
    uptake_frame,
    uptake_gaps_rule,
    uptake_headline,
    uptake_intro,
    uptake_map,
    uptake_quality,
    uptake_section,
    uptake_sii,
    uptake_table,
)

__all__ = [
    "data_dates_sentence",
    "not_assessed_sentence",
    "ACCESS_CAPTIONS",
    "LIMITATIONS",
    "STRAIGHT_LINE_LIMITATION",
    "TEMPLATE_NAMES",
    "THRESHOLD_WORDS",
    "TRAVEL_LIMITATION",
    "UPTAKE_CAPTIONS",
    "UPTAKE_KEYS",
    "VARIATION_HEADER",
    "access",
    "access_frame",
    "access_intro",
    "access_other_groups",
    "access_table",
    "area_profile",
    "area_summary",
    "audit_threshold_items",
    "change_map",
    "current_users",
    "data_quality",
    "decile_table",
    "effects",
    "ethnic_table",
    "gaps",
    "gaps_table",
    "headlines",
    "how_ratings_work",
    "imd_map",
    "impact_frame",
    "impacts",
    "limitations",
    "methods",
    "mitigations",
    "named_option",
    "narrative",
    "narrative_table",
    "options",
    "options_ratings_table",
    "options_table",
    "proposal",
    "provenance",
    "quality_frame",
    "quintile_table",
    "ratings_frame",
    "ratings_table",
    "representation",
    "robustness_table",
    "signoff",
    "site_users",
    "summary",
    "title",
    "uptake_chart",
    "uptake_completeness",
    "uptake_facts",
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
