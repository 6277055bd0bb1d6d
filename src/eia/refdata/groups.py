"""The group names the reference data and service extracts use: Census 2021 ethnic groups and
the two categories an extract adds to them. Kept here, at the bottom of the data floors, so that
the data contracts (:mod:`eia.refdata.schemas`) and the population modules share one definition.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "ETHNIC_GROUPS", "NOT_KNOWN", "NOT_STATED"]

#: Census 2021 high-level ethnic groups, in the order the report shows them.
ETHNIC_GROUPS = (
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
)

#: Categories kept separate from the five groups.
NOT_STATED = "Not stated"
NOT_KNOWN = "Not known"

#: The order tables show categories in: the five Census groups, then the two unknowns.
CATEGORIES = (*ETHNIC_GROUPS, NOT_STATED, NOT_KNOWN)
