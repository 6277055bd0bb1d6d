"""The data a proposal brings: a service extract, journey-time matrices, the population of interest, extra denominators, disclosure control and expected effects."""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from eia.params.base import (
    MODES,
    Date,
    LongText,
    Text,
    _Model,
)

__all__ = [
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
    "OPT_IN_DIMENSIONS",
    "Effect",
    "age_range",
]


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


#: Effect dimensions rated only when the proposal lists them in ``groups``.
OPT_IN_DIMENSIONS = ("religion", "disability")

_AGE_GROUP = (
    (re.compile(r"^(\d{1,3})\s*(?:-|–|to)\s*(\d{1,3})$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{1,3})\s*(?:\+|and over|or over|plus)$"), lambda m: (int(m[1]), None)),
    (re.compile(r"^(?:under|below)\s+(\d{1,3})$"), lambda m: (0, int(m[1]) - 1)),
    (re.compile(r"^aged\s+(\d{1,3})$"), lambda m: (int(m[1]), int(m[1]))),
)


def age_range(group: str) -> tuple[int, int | None]:
    """The ages an age group names: "75 and over" / "75+" -> (75, None), "65-74" / "65 to 74"
    -> (65, 74), "under 18" -> (0, 17), "aged 80" -> (80, 80). Raises ValueError otherwise."""
    text = " ".join(str(group).split()).lower()
    for pattern, ages in _AGE_GROUP:
        match = pattern.match(text)
        if match:
            low, high = ages(match)
            if high is not None and high < low:
                break
            return low, high
    raise ValueError(
        "an age group is written like '75 and over', '75+', '65-74', '65 to 74' or 'under 18'"
    )


def _overlap(a: tuple[int, int | None], b: tuple[int, int | None]) -> bool:
    """Whether two age ranges (max None: no limit) share an age."""
    top = lambda r: float("inf") if r[1] is None else r[1]  # noqa: E731
    return a[0] <= top(b) and b[0] <= top(a)


def _within(span: tuple[int, int | None], ages: tuple[int, int | None]) -> bool:
    """Whether every age of ``span`` lies within ``ages`` (None: no upper limit)."""
    low, high = span
    a_low, a_high = ages
    return low >= a_low and (a_high is None or (high is not None and high <= a_high))


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
        if self.dimension == "age":
            age_range(self.group)
        return self
