"""What every part of the params schema shares: allowed codes and values, UK dates, size limits, and the strict base model."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    model_validator,
)

from eia import names
from eia.params.kinds import KINDS

__all__ = [
    "template_label",
    "TEMPLATES",
    "SLUG_PATTERN",
    "ICB_PATTERN",
    "LTLA_PATTERN",
    "LSOA_PATTERN",
    "MODES",
    "DEFAULT_MINUTES",
    "DEFAULT_CHANGE_MINUTES",
    "DEFAULT_MATERIAL_MINUTES",
    "ENGLAND_BOUNDS",
    "NARRATIVE_KEYS",
    "Slug",
    "INTERNAL_FIELDS",
    "DATE_FORMS",
    "Date",
    "Text",
    "LongText",
    "MAX_SITES",
    "MAX_OPTIONS",
    "MAX_LSOAS",
    "MAX_VALUES",
    "MAX_DEPTH",
]


TEMPLATES = tuple(KINDS)  # the registry (eia.params.kinds) is the one list
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ICB_PATTERN = r"^(E54\d{6}|Q[A-Z0-9]{2})$"
LTLA_PATTERN = r"^E0[6-9]\d{6}$"
LSOA_PATTERN = r"^E01\d{6}$"
#: Travel modes a journey-time matrix can describe (``access.travel_times[].mode``).
MODES = ("car", "public_transport", "walk", "cycle")
#: Journey times (minutes) beyond which people count as far from a site, per mode, unless
#: ``thresholds.minutes`` says otherwise. DfT journey time statistics use 15/30/45/60-minute
#: bands; 45 minutes by public transport and 20 by car are common planning standards.
DEFAULT_MINUTES = {"car": 20.0, "public_transport": 45.0, "walk": 30.0, "cycle": 30.0}
#: A change in journey time (minutes) larger than this counts as an effect, per mode,
#: unless ``thresholds.change_minutes`` says otherwise.
DEFAULT_CHANGE_MINUTES = {"car": 5.0, "public_transport": 10.0, "walk": 10.0, "cycle": 5.0}
#: Minutes added (or removed) per resident of a group, on average, that are material, and the
#: extra minutes per resident a group must bear over the rest of the area to be disproportionate
#: (the travel-time counterparts of material_km and disproportionate_km: about 0.1 km at each
#: mode's typical minutes per km), unless ``thresholds.material_minutes`` /
#: ``disproportionate_minutes`` say otherwise.
DEFAULT_MATERIAL_MINUTES = {"car": 0.25, "public_transport": 0.5, "walk": 1.25, "cycle": 0.5}
#: A generous box around England (WGS84) for a first check of coordinates.
ENGLAND_BOUNDS = {"lat": (49.8, 55.9), "lon": (-6.5, 1.9)}

#: Prompts for protected characteristics and inclusion-health groups without
#: small-area data; the report shows the owner's ``narrative`` text against each.
NARRATIVE_KEYS = {
    "age": "Age",
    "sex": "Sex",
    "disability": "Disability",
    "gender_reassignment": "Gender reassignment",
    "marriage_civil_partnership": "Marriage and civil partnership",
    "pregnancy_maternity": "Pregnancy and maternity",
    "race": "Race (including ethnicity)",
    "religion_belief": "Religion or belief",
    "sexual_orientation": "Sexual orientation",
    "carers": "Carers",
    "inclusion_health": "Inclusion health groups (people experiencing homelessness, "
    "Gypsy, Roma and Traveller communities, sex workers, vulnerable migrants, "
    "people leaving prison)",
    "rurality": "Rural communities",
    "digital_exclusion": "Digital exclusion",
    "other": "Other considerations",
}

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=80)]


#: Fields eia sets itself: never suggested or listed as keys to write.
INTERNAL_FIELDS = frozenset({"template_file"})

DATE_FORMS = "write YYYY-MM-DD or DD/MM/YYYY, e.g. 2027-06-30 or 30/06/2027"


def _uk_date(value: Any) -> Any:
    """``DD/MM/YYYY`` (the way dates are written in England) as well as ISO ``YYYY-MM-DD``.

    Anything else written as text (``30-06-2027``, ``30 June 2027``, ``30/6/27``) is
    refused with the two forms accepted.
    """
    if not isinstance(value, str):
        return value
    for pattern, order in (
        (r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", (2, 1, 0)),
        (r"\s*(\d{4})-(\d{2})-(\d{2})\s*", (0, 1, 2)),
    ):
        found = re.fullmatch(pattern, value)
        if found:
            parts = [int(x) for x in found.groups()]
            try:
                return dt.date(*(parts[i] for i in order))
            except ValueError:
                raise ValueError(f"{value!r} is not a real date ({DATE_FORMS})") from None
    raise ValueError(f"{value[:40]!r} is not a date: {DATE_FORMS}")


Date = Annotated[dt.date, BeforeValidator(_uk_date)]
#: Short text (names, labels): NFKC-normalised, invisible format characters (zero-width,
#: bidi overrides) removed before it is checked (:func:`eia.names.clean`).
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    BeforeValidator(partial(names.clean, nfkc=True)),
]
#: Long text (descriptions, narratives): invisible format characters removed.
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=5000), BeforeValidator(names.clean)
]


#: Resource caps, checked on the file as read (aliases expanded) before anything runs.
MAX_SITES = 2_000  # per list of sites (England has 1,061 NHS hospital sites; benchmarks use 1,000)
MAX_OPTIONS = 50
MAX_LSOAS = 40_000  # England has 33,755
MAX_VALUES = 250_000  # every value in the file, YAML aliases expanded
MAX_DEPTH = 40  # levels of nesting


def _numeric_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that hold a number (and never text)."""
    cached = _NUMERIC.get(model)
    if cached is None:
        names = []
        for name, info in model.model_fields.items():
            kinds = _leaf_types(info.annotation)
            if kinds and kinds <= {int, float, type(None)} and kinds & {int, float}:
                names.append(name)
        cached = _NUMERIC[model] = tuple(names)
    return cached


_NUMERIC: dict[type, tuple[str, ...]] = {}


def _leaf_types(annotation: Any) -> set:
    """The plain types an annotation allows (``float | None`` → {float, NoneType})."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: set = set()
        for arg in typing.get_args(annotation):
            out |= _leaf_types(arg)
        return out
    return {annotation} if isinstance(annotation, type) and origin is None else {object}


def _example_number(model: type[BaseModel], name: str) -> str:
    """ ", e.g. distance_km: 5" from the field's default, when it is a number."""
    default = model.model_fields[name].default
    if isinstance(default, int | float) and not isinstance(default, bool):
        return f", e.g. {name}: {default:g}"
    return ""


class _Model(BaseModel):
    # allow_inf_nan=False: every number must be finite (.inf, .nan are refused).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        """A number written as text ("52.95" in quotes) is refused, not silently converted."""
        if isinstance(data, Mapping):
            for name in _numeric_fields(cls):
                value = data.get(name)
                if isinstance(value, str):
                    raise ValueError(
                        f"{name}: {value[:40]!r} is not a number: write the number alone, "
                        f"without quotes or units{_example_number(cls, name)}"
                    )
        return data


def template_label(template: str | None, notebook: str | None = None) -> str:
    """``site_change``, or ``custom.ipynb (custom site_change)`` for a custom notebook."""
    if notebook:
        return f"{notebook} (custom {template})" if template else notebook
    return template or ""
