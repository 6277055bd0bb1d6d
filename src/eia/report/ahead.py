"""Sections the run's second process draws ahead, while the notebook works towards them.

``eia run`` computes the assessment in a second process (:mod:`eia.runner.assessor`); once
it has handed the assessment over (:mod:`eia.handoff`), that process goes on to draw the
report's slowest sections — the uptake map, the change map, the options maps, journey-time
access, the language map — those its template kind shows, in the order of :data:`ORDER`,
on the second core, while the notebook draws the deprivation map and the tables before them.

A section function decorated with :func:`ahead` returns the section drawn ahead when it
was drawn from this very assessment: the notebook's ``a`` unchanged since it was handed
over (the digest of its pickle), Matplotlib's settings the same, and nothing passed but
``a``. Otherwise — an analyst's changed assessment or settings, a run without a second
process, a section the notebook reaches first (it then claims it) — the function draws
the section itself, as always. Either way the section is the same.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from eia import handoff

__all__ = ["DRAWN", "ORDER", "SECTIONS", "ahead", "draw_all", "settings", "taken"]

F = TypeVar("F", bound=Callable[..., Any])

_UPTAKE_MAP = "eia.report.sections.uptake.uptake_map"
_CHANGE_MAP = "eia.report.sections.access.change_map"
_OPTIONS = "eia.report.sections.options.options"
_ACCESS = "eia.report.sections.access.access_intro"
_LANGUAGE = "eia.report.proficiency.section"

#: Sections drawn ahead per template kind (its built-in template shows them), slowest first
#: as the notebook meets them (``module.function``); the notebook draws any it reaches first.
ORDER: dict[str, tuple[str, ...]] = {
    "site_change": (_CHANGE_MAP, _OPTIONS, _ACCESS, _LANGUAGE),
    "service_change": (_UPTAKE_MAP, _LANGUAGE),
    "equity_audit": (_UPTAKE_MAP, _LANGUAGE),
}

#: The list of sections drawn ahead, one name a line (written as each is drawn).
DRAWN = "ahead.drawn"

#: The functions :func:`ahead` decorated, by ``module.function``.
SECTIONS: dict[str, Callable[[Any], Any]] = {}


def ahead(fn: F) -> F:
    """Let the second process draw the section ``fn(a)`` ahead (module docstring)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    SECTIONS[name] = fn

    @functools.wraps(fn)
    def section(a, *args, **kwargs):
        if not args and not kwargs:
            drawn, value = handoff.take_ahead(name, a, settings())
            if drawn:
                return value
        return fn(a, *args, **kwargs)

    return section  # type: ignore[return-value]


def settings() -> str:
    """A digest of Matplotlib's settings (``rcParams``), which every drawing depends on."""
    import matplotlib  # heavy: imported where a section is drawn

    items = sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
    return hashlib.sha256(repr(items).encode()).hexdigest()


def draw_all(folder: Path, a) -> int:
    """The second process's side: draw every section of :data:`ORDER` the notebook has not
    claimed, each into ``folder``; returns how many were drawn. The modules holding them
    must be imported (their decorators fill :data:`SECTIONS`)."""
    (folder / handoff.AHEAD).write_text(json.dumps({"settings": settings()}), encoding="utf-8")
    drawn = 0
    for name in ORDER.get(a.proposal.template, ()):
        fn = SECTIONS.get(name)
        if fn is None or not handoff.claim(folder, name):
            continue
        try:
            value = fn(a)
        except Exception:  # noqa: BLE001 - the notebook draws it and reports the error
            value = None
        handoff.publish_ahead(folder, name, value)
        if value is not None:
            drawn += 1
            with (folder / DRAWN).open("a", encoding="utf-8") as f:
                f.write(name + "\n")
    return drawn


def taken(folder: Path) -> int:
    """How many sections drawn ahead in ``folder`` the notebook took (their files are gone)."""
    try:
        names = (folder / DRAWN).read_text(encoding="utf-8").split()
    except OSError:
        return 0
    return sum(not (folder / f"{name}.pickle").exists() for name in names)
