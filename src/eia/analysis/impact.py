"""Impact ratings per group: positive, neutral or negative, and whether harm is disproportionate.

The rules are deliberately simple so a board can check them by hand; every
threshold comes from the proposal's ``thresholds`` block (defaults in
``eia.params.Thresholds``).

Access (site changes), for each group *g* with *P_g* people in the area:

* *A_g* — people of *g* living in LSOAs whose distance to the nearest site
  rises by more than ``change_km`` (adversely affected);
* *B_g* — people of *g* whose distance falls by more than ``change_km``;
* rating is **negative** if *A_g* ≥ ``min_people`` and *A_g* > *B_g*;
  **positive** if *B_g* ≥ ``min_people`` and *B_g* > *A_g*; else **neutral**;
* a negative rating is **disproportionate** when the group's share of all
  adversely affected people, divided by its share of the population,
  (*A_g*/ΣA) ÷ (*P_g*/ΣP), is at least ``disproportionate_ratio``.

Expected effects (service changes): a group whose expected uptake change is
at most −``uptake_change_pct`` is negative, at least +``uptake_change_pct``
positive, else neutral; a negative rating is disproportionate when the group's
expected loss is at least ``disproportionate_ratio`` times the population-average
loss of its dimension.

Uptake (when service data is given): a group's representation ratio is its
share of the service's users divided by its share of residents; its 95%
interval is the Wilson interval of the user share divided by the population
share. A group whose upper limit is below 1 is **under-represented now**, and
is flagged ``at_risk`` beside its rating. An equity audit rates groups on it:
**negative** when the upper limit is below 1, **positive** when the lower
limit is above 1, else neutral; a negative rating is disproportionate when the
upper limit is below 1 / ``disproportionate_ratio`` (users' share at most
1/1.2 of the population share by default).

The parts live in modules of their own — :mod:`eia.analysis.burden`, :mod:`~eia.analysis.flags`,
:mod:`~eia.analysis.access_ratings`, :mod:`~eia.analysis.effects`,
:mod:`~eia.analysis.representation`, :mod:`~eia.analysis.rating_labels` — and this module is
their one public face (``impact.burden``, ``impact.Rules``, ``impact.rate_access``, …).
"""

from __future__ import annotations

from eia.analysis.access_ratings import (
    NEAR,
    Aligned,
    align,
    burden,
    burden_records,
    flag_reason,
    near,
    rate_access,
    rests_on,
)
from eia.analysis.burden import (
    ALL_RESIDENTS,
    BURDEN_COLUMNS,
    DIMENSION_LABELS,
    NOT_ASSESSED,
    NOTES,
    RATINGS,
    UNITS,
    Rules,
    burden_units,
    material_gain,
    material_loss,
)
from eia.analysis.effects import (
    add_expected_users,
    assessed_effects,
    rate_effects,
)
from eia.analysis.flags import (
    MARGIN,
    MARGIN_FIELDS,
    flag_flips,
    flag_margins,
    margin_variations,
    scaled,
    variation,
)
from eia.analysis.rating_labels import (
    MERGED_REST,
    REST_GROUP,
    merge_core20,
    same_figures,
)
from eia.analysis.representation import (
    CORE20_GROUP,
    MERGED_Q1,
    Q1_GROUP,
    representation,
    standardised_representation,
)

__all__ = [
    "ALL_RESIDENTS",
    "Aligned",
    "BURDEN_COLUMNS",
    "CORE20_GROUP",
    "DIMENSION_LABELS",
    "MARGIN",
    "MARGIN_FIELDS",
    "MERGED_Q1",
    "MERGED_REST",
    "NEAR",
    "NOT_ASSESSED",
    "NOTES",
    "Q1_GROUP",
    "RATINGS",
    "REST_GROUP",
    "Rules",
    "UNITS",
    "add_expected_users",
    "align",
    "assessed_effects",
    "burden",
    "burden_records",
    "burden_units",
    "flag_flips",
    "flag_margins",
    "flag_reason",
    "margin_variations",
    "material_gain",
    "material_loss",
    "merge_core20",
    "near",
    "rate_access",
    "rate_effects",
    "representation",
    "rests_on",
    "same_figures",
    "scaled",
    "standardised_representation",
    "variation",
]
