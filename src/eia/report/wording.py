"""The words for what compute modules return: one Jinja2 environment over ``prose/*.j2``.

Compute code (uptake, ethnicity × deprivation, guards, disclosure, service data, journey
times) returns numbers and codes; the sentences a board reads are Jinja2 macros in
``src/eia/report/prose`` — one template per kind of section (``uptake.j2``,
``ethnicity_deprivation.j2``, ``warnings.j2``, ``disclosure.j2``, ``data_notes.j2``),
readable without Python. :func:`say` renders one macro with its figures; the result is
autoescaped :class:`markupsafe.Markup`, which :func:`eia.report.show.esc` passes through
unescaped (so it is never escaped twice).

Number filters: ``pct`` (a share as a whole percentage, or ``digits``), ``num`` (fixed
decimals), ``signed`` (with a sign), ``g`` (shortest form: 0.8, 1.25), ``count`` (rounded, with thousands
separators), ``whole`` (truncated to a whole number, with separators), ``long_date`` ("1 April 2024"), ``month`` ("April 2024"), ``words`` ("A, B and C").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from eia.params.kinds import UNITS
from eia.report.templating import PROSE, prose_environment
from eia.text import fmt_int, fmt_pct, join_words

__all__ = [
    "PROSE",
    "amount",
    "long_date",
    "month_words",
    "primary_reason",
    "render_part",
    "say",
    "say_text",
    "warning_text",
]


def long_date(value: Any) -> str:
    """A date as people write it: "1 April 2024" (the text unchanged if it is not a date)."""
    try:
        day = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return str(value)
    return f"{day.day} {day.strftime('%B %Y')}"


def month_words(month: str) -> str:
    """ "2024-04" as "April 2024"."""
    return pd.Timestamp(f"{month}-01").strftime("%B %Y")


def _pct(value: float, digits: int = 0) -> str:
    return f"{100 * float(value):.{digits}f}%"


def _num(value: float, digits: int = 2) -> str:
    return f"{float(value):,.{digits}f}"


def _signed(value: float, digits: int = 2) -> str:
    return f"{float(value):+.{digits}f}"


def amount(value: float, unit: str, signed: bool = True) -> str:
    """A change in ``unit`` to that unit's digits, signed unless ``signed=False``: "+1.2 km"
    (never "-0.0")."""
    digits = UNITS[unit].digits
    value = round(float(value), digits) + 0.0
    text = f"{value:+.{digits}f}" if signed and value else f"{abs(value):.{digits}f}"
    return f"{text} {unit}"


def _environment() -> Environment:
    env = prose_environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.filters["signed"] = _signed
    env.filters["g"] = lambda value: f"{float(value):g}"
    env.filters["count"] = fmt_int
    env.filters["whole"] = lambda value: f"{int(float(value)):,}"
    env.filters["long_date"] = long_date
    env.filters["month"] = month_words
    env.filters["words"] = lambda items, conj="and": join_words([str(i) for i in items], conj)
    env.filters["share"] = fmt_pct
    env.filters["pct1"] = lambda value: f"{float(value):.1%}"
    env.filters["mins"] = lambda value: "–" if pd.isna(value) else f"{value:.0f}"
    env.filters["thousands"] = lambda value: f"{value:,}"
    env.filters["amount"] = amount
    env.filters["seconds"] = lambda s: f"{s:.1f} s" if s >= 0.1 else "under 0.1 s"
    env.filters["capfirst"] = lambda text: Markup(str(text)[:1].upper() + str(text)[1:])
    return env


_ENV = _environment()


def say(template: str, macro: str, *args: Any, **figures: Any) -> Markup:
    """Render the macro ``macro`` of ``prose/<template>`` with ``figures`` (and positional
    ``args``), as one line of autoescaped HTML (whitespace collapsed)."""
    module = _ENV.get_template(template).module
    text = getattr(module, macro)(*args, **figures)
    return Markup(" ".join(str(text).split()))


def say_text(template: str, macro: str, *args: Any, **figures: Any) -> str:
    """:func:`say` as plain text (entities unescaped), for alt text, captions and logs that
    escape what they are given."""
    return say(template, macro, *args, **figures).unescape()


def render_part(template: str, *, escape: bool = True, **context: Any) -> str:
    """Render the whole of ``prose/<template>`` with ``context``, whitespace collapsed: HTML,
    or with ``escape=False`` plain text (entities unescaped) for alt text and captions."""
    text = Markup(" ".join(_ENV.get_template(template).render(**context).split()))
    return str(text) if escape else text.unescape()


def warning_text(warning: Any, *, analyst: bool = True) -> str:
    """An input guard's warning (:class:`eia.analysis.guards.Warning`) in words, as plain text:
    the analyst's (with the params-file path and threshold key, for the command line and
    ``--strict`` errors) or, with ``analyst=False``, the board's. ``warning`` may also be
    the record metrics.json holds (:meth:`~eia.analysis.guards.Warning.as_dict`)."""
    if isinstance(warning, Mapping):
        figures = {k: v for k, v in warning.items() if k not in ("kind", "where")}
        warning = SimpleNamespace(kind=warning["kind"], where=warning["where"], figures=figures)
    return say_text("warnings.j2", "guard", w=warning, analyst=analyst)


def primary_reason(a: Any) -> str:
    """Why the report's detail describes the named option (``a.primary``), for captions: ''
    without options to compare, else e.g. "the least adverse of the 2 options, named in the
    summary" (``prose/captions.j2``)."""
    compared = a.primary_compared
    if compared is None:
        return ""
    n, tied = compared
    return say_text("captions.j2", "primary_reason", n=n, tied=tied)
