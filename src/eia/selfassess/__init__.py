"""Self-assessment against an equality framework (EDS 2022, a race maturity matrix).

:mod:`eia.params.frameworks` defines and checks frameworks, :mod:`eia.selfassess.scoring`
computes the ratings and ``metrics.json``, :mod:`eia.selfassess.report` shows them.
"""

from eia.params.frameworks import (
    FRAMEWORKS_DIR,
    Band,
    Domain,
    Framework,
    Level,
    Outcome,
    Rating,
    builtin,
    check,
    load_framework,
)
from eia.selfassess.report import (
    FILLS,
    action_plan,
    change,
    domain_table,
    evidence,
    framework_block,
    heat_table,
    provenance,
    signoff,
    summary,
    title,
)
from eia.selfassess.scoring import (
    Result,
    assess,
    band_of,
    band_range,
    changes,
    compute,
    edge_note,
    metrics,
    write_metrics,
)

__all__ = [
    "FILLS",
    "FRAMEWORKS_DIR",
    "Band",
    "Domain",
    "Framework",
    "Level",
    "Outcome",
    "Rating",
    "Result",
    "action_plan",
    "assess",
    "band_of",
    "band_range",
    "builtin",
    "change",
    "changes",
    "check",
    "compute",
    "domain_table",
    "edge_note",
    "evidence",
    "framework_block",
    "heat_table",
    "load_framework",
    "metrics",
    "provenance",
    "signoff",
    "summary",
    "title",
    "write_metrics",
]
