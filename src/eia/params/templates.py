"""Which notebook a params file's ``template`` names: a built-in's name or a custom notebook's path.

Read with the standard library only (JSON), so validating a proposal never imports
nbformat and its JSON-schema machinery; :mod:`eia.runner.template` makes and syncs
templates."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from eia import files
from eia.errors import ParamsError, Problem
from eia.params.kinds import KINDS

#: The built-in templates and what each assesses (from the registry, :data:`KINDS`).
BUILTIN = {name: kind.title for name, kind in KINDS.items()}

__all__ = [
    "BUILTIN",
    "templates_dir",
    "builtin_dir",
    "builtin_path",
    "check_notebook",
    "is_path",
    "kind_of",
    "resolve",
    "TRUST_ENV",
    "is_trusted",
    "trust",
    "trusted_locations",
    "untrusted",
]


def builtin_dir() -> Path:
    """The built-in templates' folder (``EIA_TEMPLATES`` or the package's ``templates``)."""
    return templates_dir()


def templates_dir() -> Path:
    """Where the built-in notebook templates live (``EIA_TEMPLATES``, else package data)."""
    override = os.environ.get("EIA_TEMPLATES")
    return Path(override).resolve() if override else Path(__file__).parents[1] / "templates"


def is_path(value: str) -> bool:
    """Whether a params file's ``template`` names a notebook rather than a built-in."""
    return value.endswith(".ipynb") or "/" in value or "\\" in value


def builtin_path(name: str) -> Path:
    """The notebook of built-in template ``name``."""
    return builtin_dir() / f"{name}.ipynb"


def kind_of(path: Path | str) -> str | None:
    """The built-in a notebook extends (``metadata.eia.template``), or None."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    kind = (meta.get("eia") or {}).get("template") if isinstance(meta, dict) else None
    return kind if kind in BUILTIN else None


def check_notebook(path: Path | str) -> list[str]:
    """Why a notebook cannot be used as a template (empty when it can).

    It must be a readable notebook, say which built-in it extends
    (``metadata.eia.template``) and keep a cell tagged ``parameters``.
    """
    path = Path(path)
    if not path.is_file():
        return [f"template notebook {path} not found"]
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        metadata = nb.get("metadata") or {}
        tags = [(c.get("metadata") or {}).get("tags") or [] for c in cells]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [f"{path.name} is not a readable Jupyter notebook"]
    problems = []
    kind = (metadata.get("eia") or {}).get("template") if isinstance(metadata, dict) else None
    if kind not in BUILTIN:
        problems.append(
            f"{path.name} does not say which built-in template it extends "
            f"(metadata.eia.template: one of {', '.join(BUILTIN)}); make custom templates "
            "with `eia template new NAME --from site_change`"
        )
    if not any("parameters" in t for t in tags):
        problems.append(f"{path.name} has no cell tagged 'parameters' (Papermill needs one)")
    return problems


def resolve(template: str, base: Path | str | None = None) -> tuple[str, Path]:
    """``(kind, notebook)`` for a params file's ``template`` (a built-in name or a path).

    A path is relative to ``base`` (the params file's folder). Raises
    :class:`~eia.errors.ParamsError` naming the problem.
    """
    if not is_path(template):
        if template not in BUILTIN:
            raise ParamsError(
                "template",
                [Problem("template", f"expected one of {', '.join(BUILTIN)} or a notebook path")],
            )
        return template, builtin_path(template)
    path = (Path(base or ".") / template).resolve()
    problem = untrusted(template, base, path)
    if problem:
        raise ParamsError(str(path.name), [Problem("template", problem)])
    problems = check_notebook(path)
    if problems:
        raise ParamsError(str(path), [Problem("template", p) for p in problems])
    return str(kind_of(path)), path


#: Custom templates (files, or folders of them) trusted to run: ``--trust-template PATH``
#: adds to it for the command and the processes it starts; users may set it themselves.
TRUST_ENV = "EIA_TRUSTED_TEMPLATES"


def trusted_locations() -> list[Path]:
    """The templates and template folders trusted to run (:data:`TRUST_ENV`), resolved."""
    entries = os.environ.get(TRUST_ENV, "").split(os.pathsep)
    return [Path(e).expanduser().resolve() for e in entries if e.strip()]


def trust(paths: Iterable[Path | str]) -> None:
    """Trust these templates or template folders for this process and those it starts."""
    given = [str(Path(p).expanduser().resolve()) for p in paths]
    if given:
        current = [e for e in os.environ.get(TRUST_ENV, "").split(os.pathsep) if e.strip()]
        os.environ[TRUST_ENV] = os.pathsep.join(dict.fromkeys(current + given))


def is_trusted(path: Path | str) -> bool:
    """Whether the notebook at ``path`` (resolved) is, or lies in, a trusted location."""
    real = Path(path).resolve()
    return any(real == t or real.is_relative_to(t) for t in trusted_locations() if t.exists())


def untrusted(template: str, base: Path | str | None, path: Path) -> str:
    """Why a custom template may not run (empty when it may).

    A notebook that is not a built-in is code: it runs with the user's permissions,
    can read the environment (database URLs) and write into the report. It runs
    only when trusted by name (``--trust-template PATH`` on ``run``, ``batch`` and
    ``validate``, or listed in ``EIA_TRUSTED_TEMPLATES``). The message says why,
    and, for a notebook reached through ``..`` or a symbolic link, that too.
    """
    if path.resolve().is_relative_to(builtin_dir().resolve()) or is_trusted(path):
        return ""
    how = (
        f"run it only if you trust it: --trust-template {template} (or list it, or its "
        f"folder, in {TRUST_ENV})"
    )
    if not files.reached_plainly(template, base or "."):
        return (
            f"{template} is reached through '..' or a symbolic link, outside the params file's "
            f"folder: a template is code and is not run from there unless trusted; {how}"
        )
    return (
        f"{template} is a custom template: a template is code that runs with your "
        f"permissions; {how}"
    )
