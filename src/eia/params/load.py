"""Loading a proposal: read, validate, check against the reference data and the files it names; passing it to and from a notebook."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eia import files
from eia.errors import EIAError, ParamsError, Problem, ServiceDataError
from eia.params import frameworks
from eia.params.checks import (
    check_against_pack,
)
from eia.params.data import (
    Service,
)
from eia.params.parse import (
    parse,
    read_yaml,
)
from eia.params.proposal import (
    Proposal,
)
from eia.redact import check_source_file, declared_format
from eia.refdata import load_pack

__all__ = ["load", "service_path", "to_notebook", "from_notebook"]


def load(path: Path | str, pack=None, *, check_data: bool = True) -> Proposal:
    """Read, validate and (with the reference pack) check a params file.

    Structural problems and data problems are reported together, in one
    :class:`ParamsError`. When the reference data is needed but missing, raises
    :class:`~eia.errors.RefDataError`.
    """
    path = Path(path)
    raw = read_yaml(path)
    problems: list[Problem] = []
    proposal = None
    try:
        proposal = parse(raw, str(path), path.parent)
    except ParamsError as exc:
        problems += exc.problems
    if check_data and isinstance(raw, Mapping):
        if pack is None:
            pack = load_pack()
        found = check_against_pack(raw, pack)
        # An area code that is malformed is also unknown: keep one line, the one that suggests.
        said = {p.path for p in found if p.path.startswith("area.")}
        problems = [p for p in problems if p.path not in said] + found
        if proposal is not None and proposal.service is not None:
            problems += _check_service_path(proposal.service, path.parent)
        if proposal is not None and proposal.denominators is not None:
            target = (path.parent / proposal.denominators.ethnicity_by_age).resolve()
            if not target.is_file():
                problems.append(Problem("denominators.ethnicity_by_age", f"{target} is not a file"))
        if proposal is not None:
            problems += _check_matrix_paths(proposal, path.parent)
    if proposal is not None and proposal.self_assessment is not None:
        problems += frameworks.check(proposal.self_assessment, path.parent, load_params=load)
    if problems or proposal is None:
        raise ParamsError(str(path), problems)
    return proposal


def _check_service_path(service: Service, base: Path) -> list[Problem]:
    """The extract must be a regular file of its declared format (see :mod:`eia.redact`)."""
    if service.path is None:
        return []  # a table or query: checked when the database is reached
    target = (base / service.path).resolve()
    if service.generate is not None and not target.is_relative_to(base.resolve()):
        return [
            Problem(
                "service.path",
                "a generated extract must be inside the params file's folder "
                f"({base.resolve()}); generate: never writes elsewhere",
            )
        ]
    if not target.exists() and not target.is_symlink():
        if service.generate is None:
            return [Problem("service.path", f"{target} does not exist")]
        if declared_format(target) is None:
            return [
                Problem("service.path", "a generated extract must be named .csv, .xlsx or .parquet")
            ]
        return []
    try:
        check_source_file(target)
    except ServiceDataError as exc:
        return [Problem("service.path", str(exc))]
    return []


def _check_matrix_paths(proposal: Proposal, base: Path) -> list[Problem]:
    problems = []
    for i, spec in enumerate(proposal.access.travel_times):
        target = (base / spec.path).resolve()
        where = f"access.travel_times[{i}].path"
        if target.exists() and not target.is_file():
            problems.append(Problem(where, f"{target} is not a file"))
        elif not target.exists() and spec.generate is None:
            problems.append(Problem(where, f"{target} does not exist"))
        elif not (base / spec.path).exists():  # to be generated: inside the folder, no link
            try:
                files.check_target(
                    spec.path,
                    base,
                    what="generated matrix",
                    folder_label="the params file's folder",
                )
            except EIAError as exc:
                problems.append(Problem(where, str(exc)))
        else:  # CSV or Parquet, by its name and first bytes; never quoted
            try:
                check_source_file(
                    base / spec.path, what="travel-time matrix", allowed=("csv", "parquet")
                )
            except EIAError as exc:
                problems.append(Problem(where, str(exc)))
    return problems


def service_path(proposal: Proposal, params_file: Path | str) -> Path | None:
    """The service extract's absolute path, resolved relative to the params file."""
    if proposal.service is None or proposal.service.path is None:
        return None
    return (Path(params_file).resolve().parent / proposal.service.path).resolve()


def to_notebook(proposal: Proposal) -> dict[str, Any]:
    """The proposal as plain JSON-compatible data for Papermill to inject (dates as ISO strings)."""
    return proposal.model_dump(mode="json")


def from_notebook(proposal: Mapping[str, Any] | None, params_file: str | None) -> Proposal:
    """In a template: the injected proposal, or (run by hand) the default params file."""
    if proposal is not None:
        return parse(proposal, "injected parameters")
    if params_file is None:
        raise ParamsError("parameters", [Problem("params_file", "give params_file or proposal")])
    return load(params_file)
