"""A group's rating in words, from the impacts frame's numbers and codes.

The compute modules (:mod:`eia.analysis.impact`) return each rating as figures and codes
(``rating``, ``rating_note``, ``disproportionate``, ``flag_margin``, ``flag_flips``, the
burden or expected-effect figures); the words are in ``src/eia/report/prose/rating.j2``.
This module turns a row into the plain values that template needs and renders it:

* :func:`rating_label` / :func:`rating_labels` — "▼ Negative – disproportionate";
* :func:`rating_sentence` / :func:`rating_sentences` — the "Why" of a ratings table;
* :func:`flag_cell` — the figures a disproportionate decision rests on and how firm it is;
* :func:`ratio_text`, :func:`flag_caveat`, :func:`same_people`;
* :func:`risk_words` — how a material uptake gap of concern is named in tables.

Output is plain text (the report's tables escape it).
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from eia.analysis import impact
from eia.params import Thresholds
from eia.report.templating import prose_environment
from eia.text import fmt_int, fmt_pct

__all__ = [
    "AuditRules",
    "EffectRules",
    "amount",
    "flag_caveat",
    "flag_cell",
    "flag_rule",
    "rating_label",
    "rating_labels",
    "rating_sentence",
    "rating_sentences",
    "rating_words",
    "ratio_text",
    "risk_words",
    "row_tuples",
    "same_people",
]


def amount(value: float | None, unit: str, *, signed: bool = False, digits: int = 1) -> str:
    """A distance or time with its unit (``2.3 km``, ``+4.0 min``), an en dash when missing,
    ``no site`` when infinite."""
    if value is None or pd.isna(value):
        return "–"
    if np.isinf(value):
        return "no site"
    return f"{float(value):{'+' if signed else ''}.{digits}f} {unit}"


def _environment() -> Environment:
    env = prose_environment()
    env.filters["amount"] = amount
    env.filters["pct"] = fmt_pct
    env.filters["num"] = lambda v: f"{v:g}"
    env.filters["count"] = fmt_int
    env.filters["fmt"] = lambda v, spec: format(float(v), spec)
    env.globals["inf"] = math.inf
    return env


_MACROS = _environment().get_template("rating.j2").module


def _plain(markup: Any) -> str:
    """A macro's output as plain text (the values put in it are numbers and codes)."""
    return Markup(str(markup)).unescape().strip()


class EffectRules(dict):
    """The thresholds an expected-effect rating uses: ``threshold`` (the uptake change that
    is an effect, %), ``ratio`` and ``min_residents``."""

    @classmethod
    def from_thresholds(cls, thresholds: Thresholds | None = None) -> EffectRules:
        """From a proposal's :class:`eia.params.Thresholds` (defaults if omitted)."""
        t = thresholds or Thresholds()
        return cls(
            threshold=t.uptake_change_pct,
            ratio=t.disproportionate_ratio,
            min_residents=t.min_people,
        )


class AuditRules(dict):
    """What an equity audit's rating words need: ``band`` (the material band), ``ratio`` (the
    disproportionate ratio), ``harmful`` (``under`` or ``over``: the gap of concern) and
    ``label`` (what the service counts, e.g. "appointments")."""

    @classmethod
    def from_thresholds(
        cls,
        thresholds: Thresholds | None = None,
        *,
        higher_use_is: str = "better",
        label: str = "service users",
    ) -> AuditRules:
        """From a proposal's :class:`eia.params.Thresholds` and ``higher_use_is``."""
        t = thresholds or Thresholds()
        return cls(
            band=tuple(t.material_band),
            ratio=t.disproportionate_ratio,
            harmful="under" if higher_use_is == "better" else "over",
            label=label,
        )


def _get(row: Any, name: str, default: Any = None) -> Any:
    """A row's value (Series, mapping or namedtuple), None when absent or missing."""
    if isinstance(row, Mapping | pd.Series):
        value = row.get(name, default)
    else:
        value = getattr(row, name, default)
    if value is None or isinstance(value, list | tuple | np.ndarray):
        return value
    try:
        return default if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _flips(row: Any) -> list[dict[str, Any]]:
    flips = _get(row, "flag_flips", [])
    return list(flips) if isinstance(flips, list | tuple | np.ndarray) else []


def _flag(row: Any) -> dict[str, Any]:
    """The values of a row that its flag's words need."""
    return {
        "disproportionate": _get(row, "disproportionate"),
        "flips": _flips(row),
        "flag_margin": _get(row, "flag_margin"),
        "burden_ratio": _get(row, "burden_ratio"),
        "burden_difference": _get(row, "burden_difference"),
        "difference_pct_points": _get(row, "difference_pct_points"),
        "unit": _get(row, "unit") or "km",
    }


def rating_label(
    rating: str,
    disproportionate: bool | None,
    note: str | None = None,
    min_residents: int = Thresholds().min_people,
    *,
    symbol: bool = True,
) -> str:
    """Text shown in ratings tables: a word, never colour alone ('▼ Negative – disproportionate').

    ``note`` is the row's ``rating_note`` code (why a group is not rated), worded with
    ``min_residents``. A mixed rating's flag concerns its losses only ('◆ Mixed –
    disproportionate losses'). Without ``symbol``: lower case, for a sentence.
    """
    dispro = disproportionate if disproportionate is not None else False
    dispro = bool(dispro) and not pd.isna(dispro)
    code = note if isinstance(note, str) else ""
    return _plain(_MACROS.label(rating, dispro, code, min_residents, symbol))


def rating_labels(rows: pd.DataFrame, min_residents: int = Thresholds().min_people) -> list[str]:
    """:func:`rating_label` for every row of a ratings frame (``rating``, ``disproportionate``,
    optional ``rating_note``)."""
    notes = rows["rating_note"] if "rating_note" in rows else [None] * len(rows)
    return [
        rating_label(r, d, n, min_residents)
        for r, d, n in zip(rows["rating"], rows["disproportionate"], notes, strict=True)
    ]


def rating_words(
    rating: str,
    disproportionate: bool | None,
    note: str | None = None,
    min_residents: int = Thresholds().min_people,
) -> str:
    """:func:`rating_label` for a sentence: no symbol, lower case ('negative – disproportionate')."""
    return rating_label(rating, disproportionate, note, min_residents, symbol=False)


def ratio_text(row: Any) -> str:
    """A row's burden ratio to 2 decimals, or 3 when its flag is marginal (so that 1.247 is
    not shown as 1.25 beside 'not flagged at ratio 1.25'); an en dash when missing."""
    return _plain(_MACROS.ratio(_flag(row)))


def flag_caveat(row: Any) -> str:
    """'not flagged at ratio 1.25' (a marginal flag), 'flagged at ratio 1.15' (a marginal
    non-flag), or '' when the decision holds with each threshold a quarter higher and lower."""
    return _plain(_MACROS.caveat(_flag(row)))


def flag_cell(row: Any) -> str:
    """The figures a disproportionate decision rests on and whether it is clear or marginal:
    'ratio 1.23, +0.25 km per resident against the rest: flagged, marginal (not flagged at
    ratio 1.25)'. Empty where no flag is assessed (positive, neutral, not rated)."""
    values = _flag(row)
    dispro = values["disproportionate"]
    shown = dispro is not None and (
        _get(row, "rating") in ("negative", "mixed") or bool(values["flips"])
    )
    return _plain(_MACROS.flag_cell(values | {"show_flag": shown}))


def flag_rule(
    access: bool, rules: impact.Rules | None = None, effect_rules: Mapping[str, Any] | None = None
) -> str:
    """The disproportionate flag's rule for a ratings table's caption, with these thresholds:
    the access rule (``access``) or the expected-effect rule."""
    return _plain(
        _MACROS.flag_rule(
            access, rules or impact.Rules(), effect_rules or EffectRules.from_thresholds()
        )
    )


def _side(row: Any, rules: impact.Rules, loss: bool) -> dict[str, Any]:
    per = row.added_per_resident if loss else row.removed_per_resident
    crossing = row.newly_far if loss else row.newly_near
    share = crossing / row.residents if row.residents else np.nan
    return {
        "loss": loss,
        "on": impact.rests_on(row, rules, loss),
        "per": per,
        "share": share,
        "near_per": impact.near(per, rules.material),
        "near_share": impact.near(share, rules.material_share),
    }


def _access(row: Any, rules: impact.Rules) -> str:
    far_share = row.newly_far / row.residents if row.residents else np.nan
    values = _flag(row) | {
        "rating": row.rating,
        "rating_note": _get(row, "rating_note") or "",
        "loss": _side(row, rules, True),
        "gain": _side(row, rules, False),
        "newly_far": bool(row.newly_far),
        "far_share": far_share,
        "near_far_share": impact.near(far_share, rules.material_share),
        "flag_reason": impact.flag_reason(row, rules),
    }
    return _plain(_MACROS.access(values, rules))


def _effect(row: Any, effect_rules: Mapping[str, Any]) -> str:
    change = _get(row, "expected_uptake_change_pct")
    values = _flag(row) | {
        "rating": row.rating,
        "rating_note": _get(row, "rating_note") or "",
        "change": change,
        "rest": _get(row, "rest_change_pct"),
        "gap": abs(_get(row, "difference_pct_points") or 0.0),
        "near_threshold": change is not None
        and impact.near(abs(change), effect_rules["threshold"]),
        "declared": bool(_get(row, "declared", False)),
        "single_declared_effect": bool(_get(row, "single_declared_effect", False)),
    }
    return _plain(_MACROS.effect(values, effect_rules))


def _audit(row: Any, audit_rules: Mapping[str, Any]) -> str:
    low, high = audit_rules["band"]
    ratio = audit_rules["ratio"]
    under = audit_rules["harmful"] == "under"
    rep = _get(row, "representation")
    lower, upper = _get(row, "representation_lower"), _get(row, "representation_upper")
    gap = _get(row, "gap")
    limit = round(1 / ratio, 2) if under else ratio
    if gap in ("under", "over"):
        edge = low if gap == "under" else high
    else:
        edge = low if upper is not None and upper < 1 else high
    values = {
        "rating": row.rating,
        "withheld": _get(row, "withheld"),
        "basis": _get(row, "basis") or "crude",
        "rep": rep,
        "lower": lower,
        "upper": upper,
        "gap": gap if gap in ("under", "over") else None,
        "disproportionate": bool(_get(row, "disproportionate", False)),
        "limit": limit,
        "edge": edge,
        "near_limit": rep is not None and impact.near(rep, limit),
        "near_edge": rep is not None and impact.near(rep, edge),
    }
    return _plain(_MACROS.audit(values, audit_rules))


def _kind(row: Any) -> str:
    """``effect`` (a declared expected effect), ``access`` (a burden row) or ``audit``."""
    if row.rating == impact.NOT_ASSESSED or _get(row, "declared") is not None:
        return "effect"
    if _get(row, "unit") in impact.UNITS and _get(row, "residents") is not None:
        return "access"
    return "audit"


def rating_sentence(
    row: Any,
    rules: impact.Rules | None = None,
    effect_rules: Mapping[str, Any] | None = None,
    audit_rules: Mapping[str, Any] | None = None,
) -> str:
    """A rating in a few words: the rating, the one or two figures it rests on (each shown in
    the ratings table beside it) and the rule, saying when a figure is close to its threshold.

    ``row`` is one row of the impacts frame (a namedtuple from ``itertuples`` or a Series);
    ``rules`` the access :class:`eia.analysis.impact.Rules` (for burden rows) and
    ``effect_rules`` an :class:`EffectRules` (for declared expected effects); defaults when
    omitted; ``audit_rules`` an :class:`AuditRules` (for an equity audit's representation
    rows).
    """
    kind = _kind(row)
    if kind == "access":
        return _access(row, rules or impact.Rules(unit=_get(row, "unit") or "km"))
    if kind == "effect":
        return _effect(row, effect_rules or EffectRules.from_thresholds())
    return _audit(row, audit_rules or AuditRules.from_thresholds())


def rating_sentences(rows: pd.DataFrame, a: Any) -> list[str]:
    """:func:`rating_sentence` for every row of ``rows`` with assessment ``a``'s thresholds."""
    rules = a.rules
    t = a.proposal.thresholds
    effect_rules = EffectRules.from_thresholds(t)
    label = a.uptake.service.label if a.uptake is not None else "service users"
    audit_rules = AuditRules.from_thresholds(t, higher_use_is=a.proposal.higher_use_is, label=label)
    return [rating_sentence(r, rules, effect_rules, audit_rules) for r in row_tuples(rows)]


def row_tuples(frame: pd.DataFrame) -> list:
    """``list(frame.itertuples(index=False))``, the same named tuples made from whole columns:
    ``itertuples`` looks each column up through ``iloc``, which costs more than the rows of
    a ratings table (about 30 columns, a few rows) take to read."""
    row = namedtuple("Pandas", list(frame.columns), rename=True)  # as itertuples names them
    columns = [values.tolist() for _, values in frame.items()]
    if not columns:
        return [row() for _ in range(len(frame))]
    return [row._make(values) for values in zip(*columns, strict=True)]


def risk_words(gap: Any) -> str:
    """How a material uptake gap of concern is named in tables: "Under-represented now", or
    "Over-represented now (a higher rate is harm)"."""
    return _plain(_MACROS.risk(gap))


def same_people() -> str:
    """Said once above the ratings when IMD quintile 1 and Core20 are shown as one row."""
    return _plain(_MACROS.same_people(impact.MERGED_Q1))
