"""Notebook templates: built-in and custom ones, and the cells every template shares.

Built-in templates ship inside the package (``eia/templates/*.ipynb``); a
params file names one (``template: site_change``) or a notebook of its own
(``template: ./custom.ipynb``, relative to the params file). A custom template
is an ordinary notebook made with ``eia template new NAME --from site_change``:
it keeps the parameters cell and says which built-in it extends in
``metadata.eia.template``, so the params file is validated as for that
built-in. :func:`resolve` finds a template, :func:`check_notebook` validates
one, :func:`new` copies one and :func:`available` lists them.


A template is an ordinary Jupyter notebook. Cells shared by all templates —
the parameters cell, the setup cell (validate, assess, title), the
boilerplate sections (mitigations, data quality, methods, provenance,
sign-off) and the cell writing ``metrics.json`` — carry
``metadata.eia.shared = <name>`` and their source is :data:`SHARED_CELLS`.
Edit a shared cell here, then run ``python -m eia.runner.template sync`` to rewrite
the built-in templates; ``python -m eia.runner.template check`` (and the tests) fail
when a template's shared cells differ from these definitions.

The parameters cell names the example each template runs by hand
(``metadata.eia.example``), so it is the one shared cell whose text varies.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from eia import files
from eia.errors import ParamsError, Problem
from eia.params.templates import (  # noqa: F401 - resolve, trust: this module's public face
    BUILTIN,
    TRUST_ENV,
    builtin_dir,
    builtin_path,
    check_notebook,
    is_path,
    kind_of,
    resolve,
    trust,
)

#: Longest name ``eia template new`` accepts (without ``.ipynb``).
NAME_MAX = 80
#: A template's file name: letters, digits, ``_`` and ``-``; no newline, no path.
NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{NAME_MAX - 1}}}")

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
        "from eia import assessment, params\n"
        "from eia.analysis import access, impact\n"
        "from eia.report import sections\n"
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
            problems.append(f"cell {i} ({name}) differs from eia.runner.template.SHARED_CELLS")
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


@dataclass(frozen=True)
class Available:
    """A template ``eia template list`` shows."""

    name: str
    kind: str
    path: Path
    description: str
    builtin: bool


def available(folder: Path | str = ".") -> list[Available]:
    """The built-in templates, then custom ones (notebooks that extend one) in ``folder``."""
    out = [
        Available(name, name, builtin_path(name), text, True)
        for name, text in BUILTIN.items()
        if builtin_path(name).is_file()
    ]
    for path in sorted(Path(folder).glob("*.ipynb")):
        kind = kind_of(path)
        if kind is not None:
            problems = check_notebook(path)
            text = f"custom, extends {kind}"
            if problems:
                text += f" (cannot run: {problems[0]})"
            out.append(Available(f"./{path.name}", kind, path, text, False))
    return out


def new(
    name: str, source: str = "site_change", folder: Path | str = ".", params_file: str | None = None
) -> Path:
    """Copy template ``source`` to ``folder/NAME.ipynb`` for an analyst to change.

    ``source`` is a built-in name or a custom notebook (``./mine.ipynb``, so a
    team can branch from its own). The copy keeps its parameters cell and shared
    cells; ``metadata.eia.template`` says which built-in it extends, so
    ``template: ./NAME.ipynb`` in a params file is validated as that built-in.
    ``params_file`` (relative to the copy) is the default it runs by hand. Raises
    :class:`~eia.errors.ParamsError` when the copy would overwrite a file or
    ``source`` is unknown or cannot be used.
    """
    if is_path(source):
        origin = Path(source)
        problems = check_notebook(origin)
        if problems:
            raise ParamsError("--from", [Problem("--from", p) for p in problems])
        kind = kind_of(origin)
    elif source in BUILTIN and builtin_path(source).is_file():
        origin, kind = builtin_path(source), source
    else:
        close = difflib.get_close_matches(source, list(BUILTIN), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ParamsError(
            "--from",
            [Problem("--from", f"{hint}expected one of {', '.join(BUILTIN)} or ./NAME.ipynb")],
        )
    stem = name[:-6] if name.endswith(".ipynb") else name
    if not NAME_PATTERN.fullmatch(stem):
        raise ParamsError(
            "NAME",
            [
                Problem(
                    "NAME",
                    "give a file name such as my_site_change: letters, digits, '_' and '-', "
                    f"at most {NAME_MAX} characters, starting with a letter or digit",
                )
            ],
        )
    target = files.check_target(f"{stem}.ipynb", folder, what="template")
    if target.exists():
        raise ParamsError(str(target), [Problem("", "already exists; choose another NAME")])
    nb = nbformat.read(origin, as_version=4)
    meta = dict(nb.metadata.get("eia") or {})
    meta.update(template=kind, copied_from=origin.name if is_path(source) else source)
    meta["example"] = params_file or ""
    nb.metadata["eia"] = meta
    for cell in nb.cells:
        if shared_name(cell) == "parameters":
            cell.source = shared_source("parameters", nb)
            if not params_file:
                cell.source = cell.source.replace(
                    'params_file = ""',
                    "params_file = None  # your params file, to run this notebook by hand",
                )
    return files.write_atomic(target, lambda tmp: nbformat.write(nb, tmp), what="template")


def main(argv: list[str] | None = None) -> int:
    """``python -m eia.runner.template check|sync``: check or rewrite the built-in templates' shared cells."""
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
