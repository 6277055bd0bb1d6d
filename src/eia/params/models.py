"""The proposal file: a documented, validated schema for ``params/*.yaml``.

A proposal describes one proposed change and how to assess it. The smallest
valid file is::

    id: notts-community-hub          # slug: lower-case letters, digits, hyphens
    title: "Illustrative: open a community hub"
    template: site_change            # site_change | service_change | equity_audit
    area: {icb: E54000060}           # or {ltla: [E06000018, ...]} or {lsoa: [E01..., ...]}
    sites:
      current:  [{hospital: "King's Mill Hospital"}]
      proposed: [{name: Hub, lat: 52.95, lon: -1.15}]

Every field is described on its model below; ``docs/params.md`` is the guide.
:func:`load` reads YAML safely, validates the structure (every problem at
once), then checks codes and hospital names against the reference pack
(:func:`check_against_pack`). Problems are raised together as one
:class:`~eia.errors.ParamsError`, each with its field path and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from eia.errors import ParamsError, Problem, ServiceDataError
from eia.params import frameworks
from eia.params import templates as template_mod
from eia.redact import check_source_file, declared_format
from eia.refdata import load_pack
from eia.refdata.lookup import area_members, areas_at, suggest

__all__ = [
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
    "Site",
    "Sites",
    "Area",
    "Thresholds",
    "ModeThresholds",
    "Option",
    "ServiceColumns",
    "Synthesis",
    "Period",
    "HIGHER_USE_IS",
    "Service",
    "MatrixColumns",
    "MatrixSynthesis",
    "TravelTimes",
    "AccessSpec",
    "Population",
    "Denominators",
    "Disclosure",
    "EFFECT_GROUPS",
    "Effect",
    "Action",
    "SignOff",
    "Rater",
    "OutcomeScore",
    "PlanAction",
    "SelfAssessment",
    "Limits",
    "Publish",
    "RESERVED_SCENARIOS",
    "Proposal",
    "parse",
    "read_yaml",
    "template_label",
    "check_against_pack",
    "in_england",
    "load",
    "service_path",
    "to_notebook",
    "from_notebook",
    "schema_markdown",
]

TEMPLATES = ("site_change", "service_change", "equity_audit", "self_assessment")
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
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


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


class Site(_Model):
    """A service site: a hospital from the reference pack by name, or a named point."""

    name: Text | None = Field(None, description="Label shown on maps and tables.")
    id: Text | None = Field(
        None,
        description="The site's destination in travel-time matrices (a postcode or ODS code); "
        "without it the site's name is matched.",
    )
    hospital: Text | None = Field(None, description="A hospital name from the reference pack.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude, WGS84.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude, WGS84.")

    @model_validator(mode="after")
    def _one_location(self) -> Site:
        has_point = self.lat is not None or self.lon is not None
        if self.hospital and has_point:
            raise ValueError("give either hospital or lat/lon, not both")
        if not self.hospital:
            if self.lat is None or self.lon is None:
                raise ValueError("a site needs hospital: NAME, or name with both lat and lon")
            if not self.name:
                raise ValueError("a site given by lat/lon needs a name")
        return self

    @property
    def label(self) -> str:
        """The name shown for this site."""
        return self.name or self.hospital or ""

    @property
    def destination(self) -> str:
        """What this site is called in a travel-time matrix: its ``id``, else its name."""
        return self.id or self.label


class Sites(_Model):
    """Where the service is now (``current``) and where it would be (``proposed``)."""

    current: list[Site] = Field(
        min_length=1, max_length=MAX_SITES, description="Sites now (at least one)."
    )
    proposed: list[Site] = Field(
        default_factory=list, max_length=MAX_SITES, description="Sites after the change."
    )


def _codes(value: Any) -> Any:
    """Area codes in any case (``qt1`` is ``QT1``); one code may be written without a list."""
    if isinstance(value, str):
        return value.strip().upper()
    if isinstance(value, list):
        return [v.strip().upper() if isinstance(v, str) else v for v in value]
    return value


def _code_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Area(_Model):
    """The assessment area: exactly one of an ICB, local authorities or LSOAs."""

    @field_validator("icb", "ltla", "lsoa", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return _codes(value)

    @field_validator("ltla", "lsoa", mode="before")
    @classmethod
    def _one_or_a_list(cls, value: Any) -> Any:
        return _code_list(value)

    icb: Annotated[str, StringConstraints(pattern=ICB_PATTERN)] | None = Field(
        None, description="ICB code, ONS (E54000060) or NHS (QT1)."
    )
    ltla: list[Annotated[str, StringConstraints(pattern=LTLA_PATTERN)]] | None = Field(
        None, min_length=1, max_length=400, description="Local authority district codes (2024)."
    )
    lsoa: list[Annotated[str, StringConstraints(pattern=LSOA_PATTERN)]] | None = Field(
        None, min_length=1, max_length=MAX_LSOAS, description="LSOA 2021 codes in England."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Area:
        given = [k for k in ("icb", "ltla", "lsoa") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of icb, ltla or lsoa")
        return self

    @property
    def spec(self) -> dict[str, Any]:
        """The area as a plain mapping for :func:`eia.population.area.select_lsoas`."""
        return self.model_dump(exclude_none=True)


class Thresholds(_Model):
    """The numbers behind the ratings and the ranking of options.

    Every default and the reason for it is in docs/methods.md ("Impact ratings").
    Distances are in km; a travel-time matrix uses the same rules in minutes.
    """

    distance_km: float = Field(5.0, gt=0, description="People beyond this distance are 'far'.")
    change_km: float = Field(
        1.0,
        gt=0,
        description="A distance change larger than this counts as an effect; smaller ones "
        "are ignored in every burden figure.",
    )
    disproportionate_ratio: float = Field(
        1.2,
        ge=1,
        description="A group's burden per resident ÷ the rest of the area's that is "
        "disproportionate (with disproportionate_km and a material burden).",
    )
    disproportionate_km: float = Field(
        0.1,
        ge=0,
        description="How much more distance per resident a group must bear than the rest "
        "of the area to be disproportionate.",
    )
    min_people: int = Field(
        100,
        ge=0,
        description="Fewest residents in a group for it to be rated; smaller groups are "
        "shown as not rated, with their figures.",
    )
    material_km: float = Field(
        0.1,
        ge=0,
        description="Distance added (or removed) per resident of a group, on average, that "
        "is material.",
    )
    material_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of a group newly beyond (or newly within) distance_km that is material.",
    )
    equity_weight: float = Field(
        2.0,
        ge=1,
        description="Weight of a Core20 resident's person-km in the score that ranks options "
        "that do not dominate each other.",
    )
    site_outside_km: float = Field(
        20.0,
        gt=0,
        description="A site further than this outside the area's boundary is warned about.",
    )
    uptake_change_pct: float = Field(
        5.0, ge=0, description="Expected uptake change (±%) beyond which a group is affected."
    )
    minutes: dict[Literal[MODES], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Journey time (minutes) per mode beyond which people are 'far'; defaults "
        + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_MINUTES.items())
        + ".",
    )
    change_minutes: dict[Literal[MODES], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="A journey-time change (minutes) per mode larger than this counts as an "
        "effect; defaults "
        + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_CHANGE_MINUTES.items())
        + ".",
    )

    material_minutes: dict[Literal[MODES], Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Minutes added (or removed) per resident that are material, per mode; "
        "defaults " + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_MATERIAL_MINUTES.items()) + ".",
    )
    disproportionate_minutes: dict[Literal[MODES], Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="How many more minutes per resident a group must bear than the rest of the "
        "area to be disproportionate, per mode; defaults as material_minutes.",
    )

    def minutes_for(self, mode: str) -> float:
        """The 'far' threshold in minutes for ``mode`` (given, else the default)."""
        return float(self.minutes.get(mode, DEFAULT_MINUTES[mode]))

    def change_minutes_for(self, mode: str) -> float:
        """The change in minutes that counts as an effect for ``mode`` (given, else the default)."""
        return float(self.change_minutes.get(mode, DEFAULT_CHANGE_MINUTES[mode]))

    def for_mode(self, mode: str) -> ModeThresholds:
        """The thresholds in minutes for one mode, named as :class:`eia.analysis.impact.Rules` reads them
        (``change_min``, ``distance_min``, ``material_min``, ``disproportionate_min``)."""
        material = float(self.material_minutes.get(mode, DEFAULT_MATERIAL_MINUTES[mode]))
        return ModeThresholds(
            mode=mode,
            distance_min=self.minutes_for(mode),
            change_min=self.change_minutes_for(mode),
            material_min=material,
            disproportionate_min=float(self.disproportionate_minutes.get(mode, material)),
            min_people=self.min_people,
            material_share=self.material_share,
            disproportionate_ratio=self.disproportionate_ratio,
            equity_weight=self.equity_weight,
        )

    material_band: tuple[float, float] = Field(
        (0.9, 1.1),
        description="Representation or rate ratio inside [low, high] is not a material gap, "
        "whatever its interval (a gap needs both: interval excludes 1, value outside the band).",
    )
    ethnicity_completeness: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Warn when fewer than this share of records state an ethnic group.",
    )
    completeness_gap: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Warn when ethnicity completeness differs by more than this (as a share) "
        "between IMD quintiles.",
    )

    @field_validator("material_band")
    @classmethod
    def _band_around_one(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0 < low <= 1 <= high:
            raise ValueError("material_band must be [low, high] with 0 < low <= 1 <= high")
        return band


class ModeThresholds(_Model):
    """One travel mode's thresholds in minutes, with the unit-free ones (from ``Thresholds``)."""

    mode: Literal[MODES]
    distance_min: float = Field(gt=0)
    change_min: float = Field(gt=0)
    material_min: float = Field(ge=0)
    disproportionate_min: float = Field(ge=0)
    min_people: int = Field(ge=0)
    material_share: float = Field(ge=0, le=1)
    disproportionate_ratio: float = Field(ge=1)
    equity_weight: float = Field(ge=1)


class Option(_Model):
    """One option in an options appraisal: its own proposed sites."""

    name: Text = Field(description="The option's name, unique within the proposal.")
    description: LongText = Field("", description="What the option does.")
    proposed: list[Site] = Field(
        min_length=1, max_length=MAX_SITES, description="The option's sites."
    )


class ServiceColumns(_Model):
    """Which columns of the extract hold what (only ``lsoa`` is required)."""

    lsoa: Text = Field(description="Column with LSOA 2011 or 2021 codes (or names).")
    count: Text | None = Field(None, description="Column with counts; without it each row is one.")
    ethnicity: Text | None = Field(None, description="Column with NHS ethnic category codes.")
    age: Text | None = Field(None, description="Column with age in years.")
    sex: Text | None = Field(None, description="Column with sex.")
    date: Text | None = Field(None, description="Column with the event date.")
    person: Text | None = Field(
        None,
        description="Column with a pseudonymised person identifier: figures count distinct "
        "people, not events.",
    )
    site: Text | None = Field(
        None, description="Column with the site (clinic, hospital) of each event, as named there."
    )


class Synthesis(_Model):
    """Make a synthetic extract at ``path`` if it is missing (examples only)."""

    seed: int = Field(2021, description="Random seed: the same seed gives the same extract.")
    events: int = Field(20_000, gt=0, le=50_000_000, description="Number of events to generate.")


class Period(_Model):
    """The period an extract covers, both days included; rates are per year of it."""

    start: Date = Field(description="First day, YYYY-MM-DD or DD/MM/YYYY.")
    end: Date = Field(description="Last day, YYYY-MM-DD or DD/MM/YYYY.")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("period.end is before period.start")
        return self


#: Whether more use of the service is good or harm, by template, when the service
#: block does not say (``service.higher_use_is``); see docs/methods.md.
HIGHER_USE_IS = {"equity_audit": "better", "site_change": "better", "service_change": "better"}


class Service(_Model):
    """Service data where it lives: a file, a database table or query, or Spark.

    Exactly one of ``path`` (CSV, XLSX or Parquet, aggregated by DuckDB embedded),
    ``table`` or ``query`` (aggregated by the database named by ``connection``, or
    by Spark with ``engine: spark``). Only aggregates leave the database.
    """

    path: Text | None = Field(None, description="A file, relative to the params file.")
    table: Text | None = Field(
        None, description="A database or Spark table, as schema.name (or name)."
    )
    query: LongText | None = Field(
        None, description="A SELECT whose rows are the events (provenance records its hash)."
    )
    connection: Text | None = Field(
        None,
        description="Name of the environment variable holding the database URL (or a Spark "
        "Connect URL); never the URL itself.",
    )
    engine: Literal["duckdb", "database", "spark"] | None = Field(
        None,
        description="Where the aggregation runs: duckdb (default for path), database (default "
        "for table/query) or spark.",
    )
    columns: ServiceColumns
    label: Text = Field("service users", description="What the data counts, for the report.")
    synthetic: bool = Field(False, description="True if the data is synthetic (labelled so).")
    sheet: Text | None = Field(None, description="XLSX sheet name (default: the first).")
    reference_ethnic_group: Text = Field(
        "White", description="Ethnic group rates are compared with."
    )
    generate: Synthesis | None = Field(None, description="Generate a synthetic extract if missing.")
    period: Period | None = Field(
        None,
        description="Period the extract covers (default: its first to last date, when it has "
        "a date column); rates are per year of it.",
    )
    higher_use_is: Literal["better", "worse"] | None = Field(
        None,
        description="Whether more use is good (care reached) or harm (e.g. emergency admissions, "
        "detentions); default by template: better.",
    )
    rate_per: Literal[100, 1_000, 10_000, 100_000] = Field(
        1_000, description="Rates are per this many residents per year."
    )

    @model_validator(mode="after")
    def _generated_is_synthetic(self) -> Service:
        if self.generate is not None and not self.synthetic:
            raise ValueError("a generated extract must be labelled synthetic: true")
        return self

    @field_validator("connection", mode="before")
    @classmethod
    def _connection_is_a_name(cls, value: Any) -> Any:
        # Never echo the value: it may be a URL with a password in it.
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(value)):
            raise ValueError(
                "must be the NAME of an environment variable holding the URL (e.g. "
                "EIA_SERVICE_DB), not the URL: credentials never go in a params file"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Service:
        given = [k for k in ("path", "table", "query") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of path (a file), table or query (a database or Spark)"
                + (f"; found {', '.join(given)}" if given else "")
            )
        if self.path is None and (self.generate is not None or self.sheet is not None):
            raise ValueError("generate and sheet need path (a file)")
        if self.path is None and self.engine != "spark" and self.connection is None:
            raise ValueError(
                "table and query need connection: the name of the environment variable "
                "holding the database URL (e.g. EIA_SERVICE_DB)"
            )
        if self.path is not None and self.engine == "database":
            raise ValueError("path is a file: use engine duckdb (the default) or spark")
        if self.path is None and self.engine == "duckdb":
            raise ValueError("table and query need engine database (the default) or spark")
        return self


class MatrixColumns(_Model):
    """Which columns of a travel-time matrix hold what.

    Long form names all three; wide form (one column per destination) names only ``origin``.
    """

    origin: Text = Field(description="Column of origins: LSOA 2021 (or 2011) codes or names.")
    destination: Text | None = Field(
        None, description="Column of destinations (site ids or names); long form only."
    )
    minutes: Text | None = Field(None, description="Column of journey times; long form only.")

    @model_validator(mode="after")
    def _long_or_wide(self) -> MatrixColumns:
        if (self.destination is None) != (self.minutes is None):
            raise ValueError(
                "give both destination and minutes (long form) or neither (wide form: one "
                "column per destination)"
            )
        return self

    @property
    def layout(self) -> str:
        """``long`` (origin, destination, minutes) or ``wide`` (a column per destination)."""
        return "wide" if self.destination is None else "long"


class MatrixSynthesis(_Model):
    """Make a synthetic travel-time matrix at ``path`` if it is missing (examples only)."""

    seed: int = Field(2021, description="Random seed: the same seed gives the same matrix.")


class TravelTimes(_Model):
    """A journey-time matrix for one mode: minutes from each LSOA to each site (CSV or Parquet)."""

    path: Text = Field(description="Relative to the params file.")
    mode: Literal[MODES] = Field(description="The travel mode the times are for.")
    columns: MatrixColumns
    unreachable: list[float | Text] = Field(
        default_factory=list,
        description="Values that flag a pair as not reachable (e.g. -1, 9999 or 'unreachable'); "
        "empty cells always do.",
    )
    label: Text | None = Field(
        None, description="Where the times come from, for the report (e.g. 'r5py, BODS GTFS')."
    )
    synthetic: bool = Field(False, description="True if the times are synthetic (labelled so).")
    generate: MatrixSynthesis | None = Field(
        None, description="Generate a synthetic matrix if missing (examples only)."
    )

    @model_validator(mode="after")
    def _generated_is_synthetic(self) -> TravelTimes:
        if self.generate is not None and not self.synthetic:
            raise ValueError("a generated matrix must be labelled synthetic: true")
        return self


class AccessSpec(_Model):
    """How access is measured: straight-line distance, or journey times from matrices."""

    travel_times: list[TravelTimes] = Field(
        default_factory=list,
        description="Journey-time matrices, one per mode; without them access is straight-line "
        "distance.",
    )
    primary_mode: Literal[MODES] | None = Field(
        None,
        description="The mode the report leads with and rates on (default: public_transport if "
        "given, else the first matrix's mode).",
    )

    @model_validator(mode="after")
    def _one_per_mode(self) -> AccessSpec:
        modes = [t.mode for t in self.travel_times]
        repeated = sorted({m for m in modes if modes.count(m) > 1})
        if repeated:
            raise ValueError(f"one matrix per mode: {', '.join(repeated)} given more than once")
        if self.primary_mode is not None and self.primary_mode not in modes:
            raise ValueError(f"primary_mode {self.primary_mode!r} has no matrix in travel_times")
        return self

    @property
    def modes(self) -> list[str]:
        """Modes with a matrix, the primary (lead) mode first."""
        modes = [t.mode for t in self.travel_times]
        lead = self.primary_mode or (
            "public_transport" if "public_transport" in modes else modes[0] if modes else None
        )
        return [lead, *[m for m in modes if m != lead]] if lead else []


class Population(_Model):
    """The population of interest: residents of these ages (persons; the pack has no sex split)."""

    ages: tuple[int, int | None] = Field(
        description="[min, max] in whole years, both included; max null (or 90 or more) "
        "for 'and over', e.g. [15, 44] or [65, null]."
    )
    label: Text | None = Field(
        None, description="How the report names it (default: 'residents aged 15 to 44')."
    )

    @field_validator("ages")
    @classmethod
    def _valid_ages(cls, ages: tuple[int, int | None]) -> tuple[int, int | None]:
        low, high = ages
        if not 0 <= low <= 120:
            raise ValueError("population.ages min must be between 0 and 120")
        if high is not None and high < low:
            raise ValueError("population.ages max is below min")
        return (low, None if high is None or high >= 90 else high)

    @property
    def name(self) -> str:
        """The population's name in the report."""
        if self.label:
            return self.label
        low, high = self.ages
        return (
            f"residents aged {low} and over" if high is None else f"residents aged {low} to {high}"
        )


class Denominators(_Model):
    """User-supplied denominators the reference pack lacks."""

    ethnicity_by_age: Text = Field(
        description="CSV relative to the params file: ethnic_group, age_band (0-4 … 85-89, 90+), "
        "population, for the whole area; makes ethnic group rates age-standardised."
    )


class Disclosure(_Model):
    """Statistical disclosure control for published counts."""

    min_count: int = Field(
        5, ge=1, le=100, description="Counts from 1 to min_count-1 are withheld."
    )


#: The groups an effect may name, per dimension with fixed groups (religion and
#: disability are checked against the reference pack; age, sex and other are free).
EFFECT_GROUPS: dict[str, tuple[str, ...]] = {
    "imd_quintile": (
        "1",
        "2",
        "3",
        "4",
        "5",
        "Q1 (most deprived)",
        "Q2",
        "Q3",
        "Q4",
        "Q5 (least deprived)",
    ),
    "core20": ("Core20 (IMD deciles 1-2)", "Rest of area (deciles 3-10)"),
    "ethnic_group": (
        "Asian, Asian British or Asian Welsh",
        "Black, Black British, Black Welsh, Caribbean or African",
        "Mixed or Multiple ethnic groups",
        "White",
        "Other ethnic group",
    ),
}


def _unknown_group(dimension: str, group: str, allowed) -> str:
    """One line: the group is not one of the dimension's, with the closest names."""
    allowed = list(allowed)
    lowered = {a.casefold(): a for a in allowed}
    close = [a for a in allowed if group.casefold() in a.casefold()][:3]
    close = close or difflib.get_close_matches(group.casefold(), list(lowered), n=3, cutoff=0.4)
    close = [lowered.get(c, c) for c in close]
    shown = "; ".join(repr(a) for a in (close or allowed[:6]))
    hint = "did you mean" if close else "groups are"
    return f"{group[:60]!r} is not a group of {dimension}; {hint} {shown}"


class Effect(_Model):
    """An expected effect of a service change on one group (``service_change``)."""

    dimension: Literal[
        "imd_quintile", "core20", "ethnic_group", "religion", "disability", "age", "sex", "other"
    ] = Field(description="The kind of group.")
    group: Text = Field(description="The group, e.g. 1 for IMD quintile 1, or 'White'.")

    @field_validator("group", mode="before")
    @classmethod
    def _group_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    uptake_change_pct: float = Field(ge=-100, le=1000, description="Expected change in uptake, %.")
    rationale: LongText = Field("", description="Why this effect is expected.")

    @model_validator(mode="after")
    def _real_group(self) -> Effect:
        """The group must be one of its dimension's groups (where the groups are fixed)."""
        allowed = EFFECT_GROUPS.get(self.dimension)
        if allowed is not None and self.group not in allowed:
            raise ValueError(_unknown_group(self.dimension, self.group, allowed))
        return self


class Action(_Model):
    """A mitigation or action: what, who owns it, by when, and where it stands."""

    action: Text = Field(description="What will be done.")
    owner: Text = Field(description="Who owns it (role or name).")
    due: Date | None = Field(None, description="Due date, YYYY-MM-DD or DD/MM/YYYY.")
    status: Literal["planned", "in progress", "done", "not started"] = Field(
        "planned", description="Where it stands."
    )


class SignOff(_Model):
    """A sign-off: who, in what role, when, and the decision."""

    name: Text = Field(description="Who signed off.")
    role: Text = Field(description="Their role.")
    date: Date | None = Field(None, description="Date, YYYY-MM-DD or DD/MM/YYYY.")
    decision: Text | None = Field(None, description="The decision recorded.")


class Rater(_Model):
    """Who rated an outcome: a person or group, and in what capacity."""

    name: Text = Field(description="A person, team or group (e.g. 'Maternity Voices Partnership').")
    kind: Literal[
        "staff", "community partner", "patient or carer", "board member", "staff network", "other"
    ] = Field("staff", description="In what capacity they rated.")


class OutcomeScore(_Model):
    """One outcome's score in a self-assessment, with its evidence and raters."""

    outcome: Text = Field(description="The framework's outcome id, e.g. 1A for EDS 2022.")
    score: int = Field(description="A score from the framework's levels (EDS 2022: 0 to 3).")
    evidence: list[Text] = Field(
        min_length=1, description="What the score rests on (documents, data, testimony)."
    )
    raters: list[Rater] = Field(default_factory=list, description="Who agreed the score.")
    notes: LongText = Field("", description="Anything else the board should know.")

    @field_validator("evidence", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PlanAction(Action):
    """An action in a self-assessment's plan, optionally tied to outcomes."""

    outcomes: list[Text] = Field(default_factory=list, description="Outcome ids it addresses.")


class SelfAssessment(_Model):
    """A self-assessment against a framework (``template: self_assessment``)."""

    organisation: Text = Field(description="Who is assessing itself.")
    period: Text = Field(description="The period assessed, e.g. 2024/25.")
    framework: Text | dict[str, Any] = Field(
        "eds2022",
        description="A built-in framework (eds2022, race-maturity-illustrative), a YAML file "
        "relative to the params file, or the framework itself (see docs/self-assessment.md).",
    )
    scores: list[OutcomeScore] = Field(min_length=1, description="One entry per outcome scored.")
    actions: list[PlanAction] = Field(default_factory=list, description="The action plan.")
    previous: Text | None = Field(
        None, description="A previous self-assessment's params file, to show change since."
    )


class Limits(_Model):
    """Time and memory limits for running the notebook."""

    cell_timeout_s: int = Field(
        600, gt=0, le=86_400, description="Longest any one cell may run (s)."
    )
    run_timeout_s: int = Field(
        1800, gt=0, le=86_400, description="Longest the whole run may take (s)."
    )
    memory_gb: float = Field(
        8.0,
        ge=1,
        le=1024,
        description="Most memory (address space, GiB) the notebook's kernel may use; past it "
        "the run fails with a one-line error instead of exhausting the machine.",
    )


class Publish(_Model):
    """How the report is published, besides report.html, assessment.ipynb and metrics.json."""

    pdf: bool = Field(
        False,
        description="Also write report.pdf beside report.html (A4, tagged, bookmarked), as "
        "`eia run --pdf` does; needs Chromium and eia[pdf].",
    )


#: Scenario names the report uses itself: an option may not take them (any case, trimmed).
RESERVED_SCENARIOS = {"proposed", "current", "do nothing"}


class Proposal(_Model):
    """A proposed change and how to assess it: the whole params file."""

    id: Slug = Field(description="Slug: lower-case letters, digits, hyphens.")
    title: Text = Field(description="The report's title; say 'Illustrative' for examples.")
    template: Literal["site_change", "service_change", "equity_audit", "self_assessment"] = Field(
        description="Which notebook template assesses it: a built-in name, or a custom notebook "
        "made with `eia template new` given as a path relative to the params file "
        "(`./custom.ipynb`), which is assessed as the built-in it extends."
    )
    template_file: str | None = Field(
        None,
        description="Set by eia when `template` is a notebook path: that notebook, absolute "
        "(do not write it yourself).",
    )
    description: LongText = Field("", description="What changes and why, for the summary.")
    area: Area | None = Field(
        None, description="The assessment area (required except for self_assessment)."
    )
    sites: Sites | None = Field(None, description="Sites now and proposed (site_change).")
    options: list[Option] = Field(
        default_factory=list,
        max_length=MAX_OPTIONS,
        description="Alternative options to appraise against doing nothing.",
    )
    thresholds: Thresholds = Field(Thresholds(), description="Numbers behind the ratings.")
    access: AccessSpec = Field(
        AccessSpec(), description="Journey-time matrices (optional; default straight-line km)."
    )
    groups: list[Literal["religion", "disability", "language", "rurality"]] = Field(
        default_factory=list, description="Census groups to rate besides deprivation and ethnicity."
    )
    service: Service | None = Field(None, description="Service data extract (optional).")
    population: Population | None = Field(
        None,
        description="Population of interest (default: all residents); restricts denominators, "
        "representation and access figures to these ages.",
    )
    denominators: Denominators | None = Field(
        None, description="Extra denominators, e.g. ethnic group by age."
    )
    disclosure: Disclosure = Field(Disclosure(), description="Small-number suppression policy.")
    effects: list[Effect] = Field(
        default_factory=list, description="Expected effect per group (service_change)."
    )
    narrative: dict[Literal[tuple(NARRATIVE_KEYS)], LongText] = Field(
        default_factory=dict,
        description="The owner's assessment for characteristics without small-area data.",
    )
    mitigations: list[Action] = Field(default_factory=list, description="Mitigations and actions.")
    signoff: list[SignOff] = Field(
        default_factory=list, description="Who signed off, and the decision."
    )
    limits: Limits = Field(Limits(), description="Time limits for running the notebook.")
    publish: Publish = Field(Publish(), description="Extra outputs: a PDF for the board pack.")
    self_assessment: SelfAssessment | None = Field(
        None, description="Scores, evidence and action plan (template self_assessment)."
    )

    @model_validator(mode="after")
    def _template_needs(self) -> Proposal:
        if self.template == "self_assessment":
            if self.self_assessment is None:
                raise ValueError(
                    "template self_assessment needs a self_assessment block (framework, scores)"
                )
        elif self.area is None:
            raise ValueError(f"template {self.template} needs area: {{icb: ...}}")
        elif self.self_assessment is not None:
            raise ValueError("a self_assessment block needs template: self_assessment")
        if self.template == "site_change":
            if self.sites is None:
                raise ValueError(
                    "template site_change needs sites: {current: [...], proposed: [...]}"
                )
            if not self.sites.proposed and not self.options:
                raise ValueError("template site_change needs sites.proposed or options")
        if self.access.travel_times and self.sites is None:
            raise ValueError("access.travel_times needs sites: journey times are to sites")
        if self.template == "service_change" and not self.effects:
            raise ValueError(
                "template service_change needs effects: [...] (expected change per group)"
            )
        if self.template == "equity_audit" and self.service is None:
            raise ValueError(
                "template equity_audit needs a service block (the service data to audit)"
            )
        seen: dict[str, str] = {}
        for option in self.options:
            key = " ".join(option.name.split()).casefold()
            if key in RESERVED_SCENARIOS:
                raise ValueError(
                    f"option name {option.name!r} is reserved (it names sites.proposed or the "
                    "current sites); choose another name"
                )
            if key in seen:
                raise ValueError(
                    f"option names must be unique: {option.name!r} and {seen[key]!r} are the "
                    "same name once spaces and case are ignored"
                )
            seen[key] = option.name
        return self

    @property
    def template_notebook(self) -> str | None:
        """The custom notebook's file name (no folder), or None for a built-in template."""
        return Path(self.template_file).name if self.template_file else None

    @property
    def template_label(self) -> str:
        """How reports and the index name the template: ``site_change``, or
        ``custom.ipynb (custom site_change)`` for a notebook made with ``eia template new``."""
        return template_label(self.template, self.template_notebook)

    @property
    def higher_use_is(self) -> str:
        """``better`` or ``worse``: the service block's choice, else the template's default."""
        chosen = self.service.higher_use_is if self.service is not None else None
        return chosen or HIGHER_USE_IS[self.template]

    def scenarios(self) -> dict[str, list[Site]]:
        """Proposed sites per scenario: ``sites.proposed`` (if given) then each option."""
        out: dict[str, list[Site]] = {}
        if self.sites and self.sites.proposed:
            out["Proposed"] = list(self.sites.proposed)
        for option in self.options:
            out[option.name] = list(option.proposed)
        return out


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


def template_label(template: str | None, notebook: str | None = None) -> str:
    """``site_change``, or ``custom.ipynb (custom site_change)`` for a custom notebook."""
    if notebook:
        return f"{notebook} (custom {template})" if template else notebook
    return template or ""


def _site_clues(data: Mapping) -> list:
    """Where the proposal's sites are: hospital names and ``(lat, lon)`` pairs, as written."""
    sites = data.get("sites") if isinstance(data.get("sites"), Mapping) else {}
    entries = _as_list(sites.get("current")) + _as_list(sites.get("proposed"))
    for option in _as_list(data.get("options")):
        if isinstance(option, Mapping):
            entries += _as_list(option.get("proposed"))
    clues: list = []
    for site in entries:
        if not isinstance(site, Mapping):
            continue
        if isinstance(site.get("hospital"), str):
            clues.append(site["hospital"])
        elif all(isinstance(site.get(k), int | float) for k in ("lat", "lon")):
            clues.append((float(site["lat"]), float(site["lon"])))
    return clues


def _hint(pack, kind: str, code: str, data: Mapping, listed: Sequence[str] = ()) -> str:
    """A "did you mean …" for an unknown area code, preferring candidates where the proposal is.

    ICBs and local authorities holding the proposal's sites come first; for an
    LSOA, the LSOAs of the local authorities of the other LSOAs listed (else of
    those holding the sites).
    """
    clues = _site_clues(data)
    if kind in ("icb", "ltla"):
        prefer = areas_at(pack, clues, kind)
        return suggest(pack, kind, code, prefer=prefer, why="where the proposal's sites are")
    ltlas = {la for c in listed for la in area_members(pack, c, "ltla24_code")}
    ltlas = ltlas or set(areas_at(pack, clues, "ltla"))
    prefer = [c for la in sorted(ltlas) for c in area_members(pack, la, "lsoa21_code")]
    return suggest(pack, kind, code, prefer=prefer, why="in the proposal's local authority")


def check_against_pack(proposal: Proposal | Mapping[str, Any], pack) -> list[Problem]:
    """Problems only the reference data can reveal: unknown codes and hospitals, sites outside England.

    Works on a validated :class:`Proposal` or on the raw mapping, so that data
    problems are reported together with structural ones.
    """
    data = proposal.model_dump() if isinstance(proposal, Proposal) else dict(proposal)
    problems: list[Problem] = []
    # Plain column reads (Pack.values), no pandas: `eia run` validates before it starts the kernel.
    lookup = "lsoa21_lookup.parquet"
    area = data.get("area") if isinstance(data.get("area"), Mapping) else {}
    written = area.get("icb")
    area = {k: _code_list(_codes(v)) if k != "icb" else _codes(v) for k, v in area.items()}
    icb = area.get("icb")
    if isinstance(icb, str):
        known = {
            c
            for col in ("icb24_code", "icb24_code_nhs")
            for c in pack.values(lookup, col)
            if c is not None
        }
        if icb not in known:
            problems.append(
                Problem("area.icb", f"unknown ICB code {written!r}{_hint(pack, 'icb', icb, data)}")
            )
    ltla_known = set(pack.values(lookup, "ltla24_code"))
    for i, code in enumerate(_as_list(area.get("ltla"))):
        if isinstance(code, str) and code not in ltla_known:
            hint = _hint(pack, "ltla", code, data)
            problems.append(
                Problem(f"area.ltla[{i}]", f"unknown local authority code {code!r}{hint}")
            )
    lsoas = _as_list(area.get("lsoa"))
    if lsoas:
        known_lsoa = set(pack.values("imd2025_lsoa21.parquet", "lsoa21_code"))
        for i, code in enumerate(lsoas):
            if isinstance(code, str) and code not in known_lsoa:
                listed = [c for c in lsoas if c in known_lsoa]
                hint = _hint(pack, "lsoa", code, data, listed)
                problems.append(
                    Problem(f"area.lsoa[{i}]", f"unknown English LSOA 2021 code {code!r}{hint}")
                )

    names = Counter(pack.values("hospitals22_points.parquet", "hospital22_name"))
    hospitals = sorted(names)
    hospital_set = set(hospitals)
    folded = {name.casefold(): name for name in hospitals}
    repeated = {name for name, n in names.items() if n > 1}
    sites = data.get("sites") if isinstance(data.get("sites"), Mapping) else {}
    site_lists = [(f"sites.{k}", _as_list(sites.get(k))) for k in ("current", "proposed")]
    site_lists += [
        (f"options[{i}].proposed", _as_list(o.get("proposed")))
        for i, o in enumerate(_as_list(data.get("options")))
        if isinstance(o, Mapping)
    ]
    for where, entries in site_lists:
        seen: set[str] = set()
        for i, site in enumerate(entries):
            if not isinstance(site, Mapping):
                continue
            path = f"{where}[{i}]"
            hospital = site.get("hospital")
            if isinstance(hospital, str) and hospital not in hospital_set:
                hospital = folded.get(hospital.casefold(), hospital)  # any case is accepted
            if isinstance(hospital, str) and hospital not in hospital_set:
                near = area.get("icb") or next(iter(_as_list(area.get("ltla"))), None)
                hint = suggest(
                    pack, "hospital", hospital, near=near if isinstance(near, str) else None
                )
                problems.append(Problem(f"{path}.hospital", f"unknown hospital {hospital!r}{hint}"))
            elif hospital in repeated:
                count = names[hospital]
                problems.append(
                    Problem(
                        f"{path}.hospital",
                        f"{count} sites in the reference data are called {hospital!r}: "
                        "give this site by name, lat and lon instead",
                    )
                )
            lat, lon = site.get("lat"), site.get("lon")
            if (
                isinstance(lat, int | float)
                and isinstance(lon, int | float)
                and not in_england(lat, lon)
            ):
                problems.append(
                    Problem(path, f"({lat}, {lon}) is outside England (lat, lon in WGS84)")
                )
            label = site.get("name") or hospital
            key = " ".join(label.split()).casefold() if isinstance(label, str) else None
            if key in seen:
                problems.append(Problem(f"{path}.name", f"duplicate site name {label!r}"))
            if key:
                seen.add(key)
    problems += _check_effect_groups(data, pack)
    return problems


_PACK_GROUPS = {
    "religion": ("census2021_religion_lsoa21.parquet", "religion"),
    "disability": ("census2021_disability_lsoa21.parquet", "disability"),
}


def _check_effect_groups(data: Mapping[str, Any], pack) -> list[Problem]:
    """Effects on religion or disability must name a Census group from the pack."""
    problems = []
    known: dict[str, list[str]] = {}
    for i, effect in enumerate(_as_list(data.get("effects"))):
        if not isinstance(effect, Mapping) or effect.get("dimension") not in _PACK_GROUPS:
            continue
        dimension, group = effect["dimension"], effect.get("group")
        if dimension not in known:
            known[dimension] = sorted({v for v in pack.values(*_PACK_GROUPS[dimension]) if v})
        if isinstance(group, str) and group.strip() not in known[dimension]:
            problems.append(
                Problem(
                    f"effects[{i}].group",
                    _unknown_group(dimension, group.strip(), known[dimension]),
                )
            )
    return problems


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def in_england(lat: float, lon: float) -> bool:
    """Whether a WGS84 point lies within a box around England (coarse, fast check)."""
    (lat0, lat1), (lon0, lon1) = ENGLAND_BOUNDS["lat"], ENGLAND_BOUNDS["lon"]
    return lat0 <= lat <= lat1 and lon0 <= lon <= lon1


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


def schema_markdown() -> str:
    """The params reference (docs/params.md), generated from the models above."""
    import re

    words = {
        SLUG_PATTERN: "a slug (lower-case letters, digits, single hyphens)",
        ICB_PATTERN: "an ICB code: ONS E54 and 6 digits, or NHS Q and 2 letters or digits",
        LTLA_PATTERN: "a local authority code: E06, E07, E08 or E09 and 6 digits",
        LSOA_PATTERN: "an LSOA 2021 code: E01 and 6 digits",
    }

    def pattern(match: re.Match) -> str:
        found = re.search(r"pattern='((?:[^'\\]|\\.)*)'", match.group(0))
        if not found:
            return "text"
        regex = found.group(1).replace("\\\\", "\\")
        return words.get(regex, "text in a set form")

    def number(match: re.Match) -> str:
        bound = re.search(r"(Gt|Ge)\((?:gt|ge)=([^)]*)\)", match.group(0))
        if not bound:
            return "number"
        return f"number {'>' if bound.group(1) == 'Gt' else '≥'} {bound.group(2)}"

    def kind(annotation: Any) -> str:
        text = str(annotation)
        text = re.sub(r"Annotated\[str, StringConstraints\(.*?\)\]", pattern, text)
        text = re.sub(r"Annotated\[float, FieldInfo\(.*?\]\)\]", number, text)

        text = re.sub(r"Annotated\[datetime\.date, BeforeValidator\(.*?\)\]", "date", text)
        text = re.sub(r"typing\.|eia\.params\.(?:models\.)?|<class '|'>", "", text)
        text = text.replace("NoneType", "null").replace("Optional[", "null | [")
        text = re.sub(r"Literal\[([^\]]*)\]", lambda m: "one of " + m.group(1), text)
        text = text.replace("|", "or").replace("[", "(").replace("]", ")")
        return re.sub(  # dict(one of 'car', …, number > 0): say it as a mapping
            r"dict\(one of (.*), (number[^,()]*)\)",
            lambda m: f"per mode ({m.group(1)}): a {m.group(2)}",
            text,
        )

    models = [
        Proposal,
        Area,
        Sites,
        Site,
        Option,
        Thresholds,
        AccessSpec,
        TravelTimes,
        MatrixColumns,
        MatrixSynthesis,
        Service,
        ServiceColumns,
        Period,
        Population,
        Denominators,
        Synthesis,
        Disclosure,
        Effect,
        Action,
        SignOff,
        Limits,
        Publish,
        SelfAssessment,
        OutcomeScore,
        Rater,
        PlanAction,
    ]
    out = [
        "# The params file",
        "",
        "A proposal is one YAML file. This page lists every field; `eia validate FILE` checks a",
        "file against it and against the reference data, and reports every problem at once.",
        "Unknown keys are errors. Text from the file is always shown as text in reports, never",
        "as HTML. Generated from `src/eia/params/models.py` by `eia.params.schema_markdown()`.",
        "",
    ]
    for model in models:
        out += [
            f"## {model.__name__}",
            "",
            (model.__doc__ or "").strip().splitlines()[0],
            "",
            "| field | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for name, info in model.model_fields.items():
            if info.is_required():
                default = "**required**"
            else:
                value = info.get_default(call_default_factory=True)
                default = "see its section" if isinstance(value, BaseModel) else f"`{value!r}`"
            out.append(
                f"| `{name}` | {kind(info.annotation)} | {default} | {info.description or ''} |"
            )
        out.append("")
    out += [
        "## Rules worth knowing",
        "",
        "- `id` names the output folder `outputs/<id>/`; as a slug it can never point elsewhere.",
        "- `template: site_change` needs `sites.current` and `sites.proposed` or `options`.",
        "- `template: service_change` needs `effects`; `template: equity_audit` needs `service`.",
        "- A site is `{hospital: NAME}` (a name from the reference data) or `{name, lat, lon}`.",
        "- `service.path` is relative to the params file and must be a file.",
        "- `access.travel_times[].path` likewise; each site is found in a matrix by its `id`,",
        "  else its name (see docs/travel-time.md).",
        "- `effects[].group` for `imd_quintile` may be written 1 to 5 (1 = most deprived).",
        "- `service.period` sets the years rates are annualised over; without it the extract's",
        "  first and last dates are used (and stated), and without a date column one year is assumed.",
        "- `service.higher_use_is` is `better` by default for every template; say `worse` when use",
        "  is harm (emergency admissions, detentions), and over-representation becomes the concern.",
        "- `population: {ages: [15, 44]}` makes every denominator, representation and access",
        "  figure about residents of those ages (persons: the reference pack has no sex split).",
        "- `narrative` keys: " + ", ".join(f"`{k}`" for k in NARRATIVE_KEYS) + ".",
        "",
    ]
    return "\n".join(out)
