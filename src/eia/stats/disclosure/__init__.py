"""Statistical disclosure control for every count an assessment publishes.

The policy (params ``disclosure: {min_count: 5}`` by default):

* **Primary suppression.** A count greater than 0 and below ``min_count`` (1–4
  when counts are whole numbers) is published as ``"<5"`` (``null`` in JSON), and
  the rates, ratios and intervals computed from it are withheld too, since a
  rate times its (published) population gives the count back. Zeros are shown.
* **Secondary suppression.** Nothing withheld may be worked out from what *is*
  published: a table's total, its row and column totals, or another table
  derived from the same records (deprivation quintiles are pairs of deciles;
  all tables add up to the in-area total; completeness shares split each
  quintile into stated and not-stated records; the per-site tables add up to
  the quintiles and ethnic groups). Whenever a withheld count, or a sum of
  withheld counts of one row or column, or a count never published (e.g. the
  users of the sites whose profiles are not shown) could be pinned down by
  adding and subtracting published figures — to any value for a withheld
  count, to a value from 1 to ``min_count - 1`` for a sum or an unpublished
  count — a published count on the same line (preferring cells to totals,
  the smallest first) is withheld as well, shown as ``"*"``, and the check is
  repeated until nothing can be pinned. The check (:class:`Audit`) is exact
  linear algebra plus linear programming over what a reader of this policy
  knows ("<5" means 1–4, "*" means at least 5), not a rule of thumb.

Modules: :mod:`~eia.stats.disclosure.policy` (the threshold, reasons and
labels), :mod:`~eia.stats.disclosure.audit` (what a reader can work out),
:mod:`~eia.stats.disclosure.protect` (choosing what to withhold),
:mod:`~eia.stats.disclosure.publish` (the allow-lists and the one gate every
published table passes) and :mod:`~eia.stats.disclosure.maps` (rate maps as
linked tables). Every public name is importable from ``eia.stats.disclosure``.
"""

from __future__ import annotations

from eia.stats.disclosure.audit import (
    MAX_SUBSETS,
    Audit,
    Constraint,
    Exposure,
    Linked,
    reader_bounds,
)
from eia.stats.disclosure.maps import MapClasses, protect_map, quantile_classes
from eia.stats.disclosure.policy import (
    DEFAULT_MIN_COUNT,
    GREY,
    HIDDEN,
    LATENT,
    PRIMARY,
    REASON,
    SECONDARY,
    SECONDARY_MARK,
    TABLE,
    is_small,
    label,
    policy_statement,
    primary_label,
)
from eia.stats.disclosure.protect import (
    protect,
    recoverable,
    suppress,
    suppress_two_way,
)
from eia.stats.disclosure.publish import (
    PUBLISHED,
    Publishable,
    UnpublishableError,
    display,
    publishable,
    published_record,
    require_published,
)

__all__ = [
    "DEFAULT_MIN_COUNT",
    "GREY",
    "HIDDEN",
    "LATENT",
    "MAX_SUBSETS",
    "PRIMARY",
    "PUBLISHED",
    "REASON",
    "SECONDARY",
    "SECONDARY_MARK",
    "TABLE",
    "Audit",
    "Constraint",
    "Exposure",
    "Linked",
    "MapClasses",
    "Publishable",
    "UnpublishableError",
    "display",
    "is_small",
    "label",
    "policy_statement",
    "primary_label",
    "protect",
    "protect_map",
    "publishable",
    "published_record",
    "quantile_classes",
    "recoverable",
    "reader_bounds",
    "require_published",
    "suppress",
    "suppress_two_way",
]
