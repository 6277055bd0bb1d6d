"""Reading a params file: safe YAML (no aliases bombs, size limits), schema validation with every problem at once, each named by its field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from eia.errors import ParamsError, Problem
from eia.params import templates as template_mod
from eia.params.base import (
    ICB_PATTERN,
    INTERNAL_FIELDS,
    LSOA_PATTERN,
    LTLA_PATTERN,
    MAX_DEPTH,
    MAX_VALUES,
    SLUG_PATTERN,
)
from eia.params.proposal import (
    Proposal,
)

__all__ = ["parse", "read_yaml"]


# ---------------------------------------------------------------------------
# Loading and checking


def _path_of(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith("function-after") or item.startswith("literal["):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _message(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _owner_model(error["loc"][:-1], model)
        keys = [k for k in (parent.model_fields if parent else ()) if k not in INTERNAL_FIELDS]
        close = difflib.get_close_matches(str(error["loc"][-1]), keys, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"unknown key{hint}{'; allowed: ' + ', '.join(keys) if keys else ''}"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        hints = {
            SLUG_PATTERN: "a slug of lower-case letters, digits and single hyphens, e.g. notts-hub",
            ICB_PATTERN: "an ICB code like E54000060 (or NHS code QT1)",
            LTLA_PATTERN: "a local authority district code like E06000018",
            LSOA_PATTERN: "an English LSOA 2021 code like E01013810",
        }
        return f"{error.get('input')!r} is not {hints.get(pattern, 'in the allowed form')}"
    if kind == "literal_error":
        given, expected = error.get("input"), error["ctx"]["expected"]
        choices = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        also = " (or a custom notebook, ./name.ipynb)" if error["loc"] == ("template",) else ""
        return f"{given!r} is not allowed; {hint}expected {expected}{also}"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _owner_model(loc: tuple, model: type[BaseModel]) -> type[BaseModel] | None:
    current: Any = model
    for item in loc:
        if isinstance(item, int) or current is None:
            continue
        field = current.model_fields.get(item)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def parse(data: Any, source: str = "<params>", base: Path | str | None = None) -> Proposal:
    """Validate a mapping against the schema; raise :class:`ParamsError` listing every problem.

    A ``template`` that is a notebook path (a custom template) is resolved against
    ``base`` (the params file's folder) and checked (:func:`eia.runner.template.resolve`).
    """
    if not isinstance(data, Mapping):
        raise ParamsError(source, [Problem("", "a params file must be a YAML mapping of fields")])
    data = dict(data)
    if isinstance(data.get("template"), str) and template_mod.is_path(data["template"]):
        try:
            kind, path = template_mod.resolve(data["template"], base)
        except ParamsError as exc:
            raise ParamsError(source, exc.problems) from None
        data["template"], data["template_file"] = kind, str(path)
    try:
        return Proposal.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors(include_url=False)]
        raise ParamsError(source, problems) from None


def _problem(error: Mapping[str, Any]) -> Problem:
    """One validation error as a :class:`Problem`; "name: …" raised by a model goes to its path."""
    path, message = _path_of(error["loc"]), _message(error, Proposal)
    owner = _owner_model(tuple(error["loc"]), Proposal)
    field, _, rest = message.partition(": ")
    if owner is not None and rest and field in owner.model_fields:
        return Problem(f"{path}.{field}" if path else field, rest)
    return Problem(path, message)


def _strict(base: type) -> type:
    """A safe YAML loader that refuses duplicate keys and impossible dates, with their line."""

    class Loader(base):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                        key_node, yaml.ScalarNode
                    ):
                        continue
                    key = key_node.value
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"duplicate key {key[:40]!r} (first on line {seen[key] + 1}); "
                            "give each key once",
                            key_node.start_mark,
                        )
                    seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_timestamp(self, node):
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"{node.value[:20]!r} is not a date in the calendar (YYYY-MM-DD)",
                    node.start_mark,
                ) from None

    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_yaml_map)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)
    return Loader


_PY_LOADER = _strict(yaml.SafeLoader)
_C_LOADER = _strict(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else None


def _safe_load(text: str) -> Any:
    """``yaml.safe_load``, parsed by libyaml when PyYAML has it (8× quicker on an area of
    33,755 LSOA codes); on any error the pure-Python parser reads it again, so that what is
    accepted and every error message stay those of ``yaml.safe_load``. Both refuse
    duplicate keys and impossible dates (:func:`_strict`)."""
    if _C_LOADER is not None:
        try:
            return yaml.load(text, Loader=_C_LOADER)  # noqa: S506 - a SafeLoader subclass
        except (yaml.YAMLError, RecursionError):
            pass
    return yaml.load(text, Loader=_PY_LOADER)  # noqa: S506 - a SafeLoader subclass


def _size_problems(data: Any) -> list[Problem]:
    """Refuse files too deep, or too large once YAML aliases are expanded (before validating).

    Aliases let a small file stand for millions of values; the count below follows them
    (each shared value counted once per use, without expanding anything).
    """
    sizes: dict[int, int] = {}
    depth_of: dict[int, int] = {}
    order: list = []
    stack: list = [(data, False)]
    while stack:  # post-order without recursion: deep files cannot exhaust the stack
        item, done = stack.pop()
        if not isinstance(item, dict | list):
            continue
        key = id(item)
        if done:
            children = item.values() if isinstance(item, dict) else item
            size, depth = 1, 1
            for child in children:
                if isinstance(child, dict | list):
                    size += sizes.get(id(child), 0)
                    depth = max(depth, depth_of.get(id(child), 0) + 1)
                else:
                    size += 1
            sizes[key] = min(size, 10 * MAX_VALUES)
            depth_of[key] = depth
            continue
        if key in sizes or key in depth_of:
            continue
        depth_of[key] = 0  # visiting (a cycle counts as nothing more)
        stack.append((item, True))
        order.append(item)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
    top = id(data)
    problems = []
    if depth_of.get(top, 0) > MAX_DEPTH:
        problems.append(Problem("", f"the file nests more than {MAX_DEPTH} levels deep"))
    if sizes.get(top, 0) > MAX_VALUES:
        problems.append(
            Problem(
                "",
                f"the file holds more than {MAX_VALUES:,} values once YAML aliases (*name) "
                "are expanded; write fewer sites, options or LSOAs",
            )
        )
    return problems


def _colon_hint(path: Path, mark) -> str:
    """A hint to quote a value when the line at (or just before) a YAML error has a bare ': '."""
    if mark is None:
        return ""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines[max(mark.line - 1, 0) : mark.line + 1]:
        _, sep, rest = line.partition(": ")
        if sep and ": " in rest and not rest.lstrip().startswith(("'", '"', "{", "[")):
            return (
                "; a value containing ': ' must be quoted, e.g. title: \"Phase 2: consolidation\""
            )
    return ""


def read_yaml(path: Path | str) -> Any:
    """Read a YAML file safely (no Python objects); a syntax error is a :class:`ParamsError`.

    Duplicate keys, impossible dates, nesting deeper than :data:`MAX_DEPTH` and files
    that expand to more than :data:`MAX_VALUES` values are errors too, each on one line.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(str(path), [Problem("", "file not found")])
    try:
        data = _safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParamsError(
            str(path), [Problem(where, f"not valid YAML: {reason}{_colon_hint(path, mark)}")]
        ) from None
    except UnicodeDecodeError:
        raise ParamsError(str(path), [Problem("", "not UTF-8 text")]) from None
    except RecursionError:
        raise ParamsError(
            str(path), [Problem("", f"the file nests more than {MAX_DEPTH} levels deep")]
        ) from None
    problems = _size_problems(data)
    if problems:
        raise ParamsError(str(path), problems)
    return data
