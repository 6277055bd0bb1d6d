"""eia — equity impact assessments of proposed health service changes.

The public API, for analysts working cell by cell in JupyterLab::

    import eia

    proposal = eia.load_params("params/examples/notts-community-hub.yaml")
    a = eia.assess(proposal, "params/examples/notts-community-hub.yaml")
    a.ratings()                     # one row per group: rating, disproportionate, figures
    eia.run("params/examples/notts-community-hub.yaml")   # the whole report, as `eia run`

The package is built in floors; each imports only the floors below it (enforced by
import-linter, see docs/architecture.md):

* :mod:`eia.runner` — templates, one run, a batch, the command line
* :mod:`eia.selfassess` — self-assessment against an equality framework
* :mod:`eia.report` — sections, maps, figures, the board's HTML and PDF, the index
* :mod:`eia.assessment` — one proposal's results, computed once; ``metrics.json``
* :mod:`eia.findings` — every judgement a reader sees, computed once
* :mod:`eia.analysis` — access, travel time, uptake, impact ratings, options appraisal
* :mod:`eia.service` — service data read where it lives, aggregated by LSOA
* :mod:`eia.population` — the area's LSOAs, deprivation, ethnicity, ages, proficiency
* :mod:`eia.stats` — rates, proportions, DSRs, SII, disclosure control
* :mod:`eia.params` — the params file: schema, loading, checks
* :mod:`eia.refdata` — the reference data pack: install, verify, load, look up
* :mod:`eia.errors` — one exception type per kind of user error

Importing ``eia`` is instant: each name below is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from eia._version import __version__

if TYPE_CHECKING:  # the names below, for type checkers and editors
    from eia.assessment import Assessment, assess
    from eia.errors import (
        DataMismatchError,
        DisclosureError,
        EIAError,
        OutputError,
        ParamsError,
        RefDataError,
        RunError,
        ServiceDataError,
        StatsInputError,
        TravelTimeError,
    )
    from eia.params import Proposal
    from eia.params import load as load_params
    from eia.refdata import Pack, load_pack
    from eia.runner.batch import BatchResult, run_batch
    from eia.runner.run import RunResult, run

#: Public name -> (module, attribute).
_API = {
    "load_params": ("eia.params", "load"),
    "Proposal": ("eia.params", "Proposal"),
    "assess": ("eia.assessment", "assess"),
    "Assessment": ("eia.assessment", "Assessment"),
    "run": ("eia.runner.run", "run"),
    "RunResult": ("eia.runner.run", "RunResult"),
    "run_batch": ("eia.runner.batch", "run_batch"),
    "BatchResult": ("eia.runner.batch", "BatchResult"),
    "load_pack": ("eia.refdata", "load_pack"),
    "Pack": ("eia.refdata", "Pack"),
    **{
        name: ("eia.errors", name)
        for name in (
            "EIAError",
            "ParamsError",
            "RefDataError",
            "ServiceDataError",
            "TravelTimeError",
            "StatsInputError",
            "OutputError",
            "RunError",
            "DataMismatchError",
            "DisclosureError",
        )
    },
}

__all__ = [
    "__version__",
    "load_params",
    "Proposal",
    "assess",
    "Assessment",
    "run",
    "RunResult",
    "run_batch",
    "BatchResult",
    "load_pack",
    "Pack",
    "EIAError",
    "ParamsError",
    "RefDataError",
    "ServiceDataError",
    "TravelTimeError",
    "StatsInputError",
    "OutputError",
    "RunError",
    "DataMismatchError",
    "DisclosureError",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562), so ``import eia`` stays instant."""
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'eia' has no attribute {name!r}") from None
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
