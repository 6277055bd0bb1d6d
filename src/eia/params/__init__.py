"""The proposal file: a documented, validated schema for ``params/*.yaml``.

A proposal describes one proposed change and how to assess it. The smallest
valid file is::

    id: notts-community-hub          # slug: lower-case letters, digits, hyphens
    title: "Illustrative: open a community hub"
    template: site_change            # site_change | service_change | equity_audit
    area: {icb: E54000060}           # or {ltla: [E06000018, ...]} or {lsoa: [E01..., ...]}
    sites:
      current:  [{hospital: "King's Mill Hospital"}]
      proposed: [{name: Hub, lat: 52.95, lon: -1.15}]

Every field is described on its model below; ``docs/params.md`` is the guide.
:func:`load` (:mod:`eia.params.load`) reads YAML safely, validates the structure (every problem at
once), then checks codes and hospital names against the reference pack
(:func:`check_against_pack`). Problems are raised together as one
:class:`~eia.errors.ParamsError`, each with its field path and what is allowed.
"""

from eia.params.base import (
    DATE_FORMS,
    DEFAULT_CHANGE_MINUTES,
    DEFAULT_MATERIAL_MINUTES,
    DEFAULT_MINUTES,
    ENGLAND_BOUNDS,
    ICB_PATTERN,
    INTERNAL_FIELDS,
    LSOA_PATTERN,
    LTLA_PATTERN,
    MAX_DEPTH,
    MAX_LSOAS,
    MAX_OPTIONS,
    MAX_SITES,
    MAX_VALUES,
    MODES,
    NARRATIVE_KEYS,
    SLUG_PATTERN,
    TEMPLATES,
    Date,
    LongText,
    Slug,
    Text,
    template_label,
)
from eia.params.checks import check_against_pack, in_england, site_choices
from eia.params.data import (
    EFFECT_GROUPS,
    HIGHER_USE_IS,
    OPT_IN_DIMENSIONS,
    AccessSpec,
    Denominators,
    Disclosure,
    Effect,
    MatrixColumns,
    MatrixSynthesis,
    Period,
    Population,
    Service,
    ServiceColumns,
    Synthesis,
    TravelTimes,
    age_range,
)
from eia.params.explore import Explore
from eia.params.load import from_notebook, load, service_path, to_notebook
from eia.params.parse import parse, read_yaml
from eia.params.proposal import (
    RESERVED_SCENARIOS,
    Action,
    Limits,
    OutcomeScore,
    PlanAction,
    Proposal,
    Publish,
    Rater,
    SelfAssessment,
    SignOff,
)
from eia.params.reference import schema_markdown
from eia.params.sites import Area, Site, Sites
from eia.params.thresholds import ModeThresholds, Option, Thresholds

__all__ = [
    "TEMPLATES",
    "SLUG_PATTERN",
    "ICB_PATTERN",
    "LTLA_PATTERN",
    "LSOA_PATTERN",
    "MODES",
    "DEFAULT_MINUTES",
    "DEFAULT_CHANGE_MINUTES",
    "DEFAULT_MATERIAL_MINUTES",
    "ENGLAND_BOUNDS",
    "NARRATIVE_KEYS",
    "Slug",
    "INTERNAL_FIELDS",
    "DATE_FORMS",
    "Date",
    "Text",
    "LongText",
    "MAX_SITES",
    "MAX_OPTIONS",
    "MAX_LSOAS",
    "MAX_VALUES",
    "MAX_DEPTH",
    "Site",
    "Sites",
    "Area",
    "Thresholds",
    "ModeThresholds",
    "Option",
    "Explore",
    "ServiceColumns",
    "Synthesis",
    "Period",
    "HIGHER_USE_IS",
    "Service",
    "MatrixColumns",
    "MatrixSynthesis",
    "TravelTimes",
    "AccessSpec",
    "Population",
    "Denominators",
    "Disclosure",
    "EFFECT_GROUPS",
    "Effect",
    "OPT_IN_DIMENSIONS",
    "age_range",
    "Action",
    "SignOff",
    "Rater",
    "OutcomeScore",
    "PlanAction",
    "SelfAssessment",
    "Limits",
    "Publish",
    "RESERVED_SCENARIOS",
    "Proposal",
    "parse",
    "read_yaml",
    "template_label",
    "check_against_pack",
    "site_choices",
    "in_england",
    "load",
    "service_path",
    "to_notebook",
    "from_notebook",
    "schema_markdown",
]
