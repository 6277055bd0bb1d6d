"""Build the API reference from the docstrings with pdoc: ``python -m eia.runner.apidocs DIR``.

``make docs`` runs it into ``docs/api/`` (not committed: it is built from the code). The
reference covers the public API (:mod:`eia`) and every floor of the package.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = ["MODULES", "build"]

#: The modules the reference documents: the public API, then each floor, top to bottom.
MODULES = (
    "eia",
    "eia.runner",
    "eia.selfassess",
    "eia.report",
    "eia.assessment",
    "eia.findings",
    "eia.analysis",
    "eia.service",
    "eia.population",
    "eia.stats",
    "eia.params",
    "eia.refdata",
    "eia.provenance",
    "eia.errors",
    "eia.text",
    "eia.align",
    "eia.redact",
    "eia.jsonable",
    "eia.handoff",
)


def build(out: Path | str) -> Path:
    """Write the HTML reference into ``out``; returns its ``index.html``."""
    import pdoc  # an optional dependency (extra "docs"): only `make docs` needs it

    out = Path(out)
    pdoc.render.configure(docformat="restructuredtext", show_source=False)
    with warnings.catch_warnings():
        # pdoc cannot evaluate a few string annotations (type aliases); the page still shows them.
        warnings.filterwarnings(
            "ignore", message="Error parsing type annotation", category=UserWarning
        )
        pdoc.pdoc(*MODULES, output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "docs/api"))
