"""Notebook templates: the cells every template shares, defined once here.

A template is an ordinary Jupyter notebook. Cells shared by all templates —
the parameters cell, the setup cell (validate, assess, title), the
boilerplate sections (mitigations, data quality, methods, provenance,
sign-off) and the cell writing ``metrics.json`` — carry
``metadata.eia.shared = <name>`` and their source is :data:`SHARED_CELLS`.
Edit a shared cell here, then run ``python -m eia.template sync`` to rewrite
the built-in templates; ``python -m eia.template check`` (and the tests) fail
when a template's shared cells differ from these definitions.

The parameters cell names the example each template runs by hand
(``metadata.eia.example``), so it is the one shared cell whose text varies.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: The shared cells, in report order: (name, cell type, source).
SHARED_CELLS: tuple[tuple[str, str, str], ...] = (
    (
        "parameters",
        "code",
        "# Parameters: `eia run` replaces these with the validated proposal.\n"
        "# Run by hand in JupyterLab, the defaults assess the example named here.\n"
        'params_file = "{example}"\n'
        "proposal = None  # the validated proposal (a dict), injected by `eia run`\n"
        "output_dir = None  # where metrics.json is written; None when run by hand\n"
        "provenance = None  # how the report was produced, injected by `eia run`",
    ),
    (
        "setup",
        "code",
        "from eia import access, assessment, impact, params, sections\n"
        "\n"
        "p = params.from_notebook(proposal, params_file)  # validated proposal\n"
        "a = assessment.assess(p, params_file)  # area, access, ratings, uptake: computed once\n"
        "sections.title(a)",
    ),
    (
        "mitigations-heading",
        "markdown",
        "## Mitigations and action plan\n\n"
        "What the proposal's owner will do about the impacts found, who owns each action "
        "and by when.",
    ),
    ("mitigations", "code", "sections.mitigations(a)"),
    (
        "data-quality-heading",
        "markdown",
        "## Data quality and limitations\n\nWhat the figures can and cannot tell you.",
    ),
    ("data-quality", "code", "sections.data_quality(a)"),
    (
        "methods-heading",
        "markdown",
        "## Methods, sources and attribution\n\n"
        "How every figure was calculated and which public data it rests on.",
    ),
    ("methods", "code", "sections.methods(a)"),
    (
        "provenance-heading",
        "markdown",
        "## Provenance\n\n"
        "The parameters, code version and data checksums that produced this report, so it can "
        "be reproduced.",
    ),
    ("provenance", "code", "sections.provenance(a, provenance)"),
    ("signoff-heading", "markdown", "## Sign-off"),
    ("signoff", "code", "sections.signoff(a)"),
    (
        "metrics",
        "code",
        "assessment.write_metrics(a, output_dir);  # metrics.json for machines; no output in the report",
    ),
)
SHARED = {name: (kind, source) for name, kind, source in SHARED_CELLS}


def shared_name(cell) -> str | None:
    """The shared cell's name (``metadata.eia.shared``), or None for a template's own cell."""
    return (cell.get("metadata", {}).get("eia") or {}).get("shared")


def shared_source(name: str, nb) -> str:
    """The canonical source of shared cell ``name`` in notebook ``nb``."""
    example = (nb.metadata.get("eia") or {}).get("example", "")
    return SHARED[name][1].replace("{example}", example)


def make_shared_cell(name: str, nb):
    """A new shared cell (with its tags and metadata) for notebook ``nb``."""
    kind, _ = SHARED[name]
    source = shared_source(name, nb)
    cell = (
        nbformat.v4.new_code_cell(source)
        if kind == "code"
        else nbformat.v4.new_markdown_cell(source)
    )
    cell.metadata["eia"] = {"shared": name}
    if name == "parameters":
        cell.metadata["tags"] = ["parameters"]
    return cell


def differences(nb) -> list[str]:
    """How ``nb``'s shared cells differ from :data:`SHARED_CELLS` (empty when they match)."""
    problems = []
    seen = []
    for i, cell in enumerate(nb.cells):
        name = shared_name(cell)
        if name is None:
            continue
        if name not in SHARED:
            problems.append(f"cell {i}: unknown shared cell {name!r}")
            continue
        seen.append(name)
        if cell.cell_type != SHARED[name][0] or cell.source != shared_source(name, nb):
            problems.append(f"cell {i} ({name}) differs from eia.template.SHARED_CELLS")
    missing = [n for n, _, _ in SHARED_CELLS if n not in seen]
    if missing and "setup" in seen:  # an assessment template: it needs them all
        problems.append(f"missing shared cells: {', '.join(missing)}")
    order = [n for n, _, _ in SHARED_CELLS if n in seen]
    if seen != order:
        problems.append("shared cells are out of order")
    return problems


def sync(path: Path | str) -> bool:
    """Rewrite the shared cells of the notebook at ``path`` from :data:`SHARED_CELLS`.

    Returns True when the file changed. Cells are matched by ``metadata.eia.shared``.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        name = shared_name(cell)
        if name in SHARED and cell.source != shared_source(name, nb):
            cell.source = shared_source(name, nb)
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def builtin_dir() -> Path:
    """The built-in templates' folder."""
    from eia.run import templates_dir

    return templates_dir()


def main(argv: list[str] | None = None) -> int:
    """``python -m eia.template check|sync``: check or rewrite the built-in templates' shared cells."""
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "check"
    status = 0
    for path in sorted(builtin_dir().glob("*.ipynb")):
        if command == "sync":
            if sync(path):
                print(f"updated {path.name}")
        else:
            problems = differences(nbformat.read(path, as_version=4))
            for problem in problems:
                print(f"{path.name}: {problem}")
            status = status or (1 if problems else 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
