"""Every judgement a reader sees, computed once (issue 23).

:func:`build` turns an assessment's frames into one :class:`Findings` object: the named
option and why, the disproportionate flags (one definition, one scope), dominance between
options on group outcomes, the trade-offs between options that do not dominate each
other, who loses most, robustness, what is missing before sign-off, the warnings and the
ethnicity × deprivation judgements (:mod:`eia.findings.intersection`). The
report's decision card, its tables' flag columns, the ethnicity × deprivation section, the
index and ``metrics.json``
(``findings`` block, :meth:`Findings.as_dict`) all read it; none decides again.
"""

from eia.findings.build import PROTECTED_DIMENSIONS, build, choose, compare, is_protected
from eia.findings.model import (
    Dominance,
    Findings,
    Flag,
    GroupComparison,
    GroupOutcome,
    Harm,
    IntersectionFinding,
    Missing,
    Reason,
    Robustness,
    Tradeoff,
    Uncounted,
)

__all__ = [
    "PROTECTED_DIMENSIONS",
    "Dominance",
    "Findings",
    "Flag",
    "GroupComparison",
    "GroupOutcome",
    "Harm",
    "IntersectionFinding",
    "Missing",
    "Reason",
    "Robustness",
    "Tradeoff",
    "Uncounted",
    "build",
    "choose",
    "compare",
    "is_protected",
]
