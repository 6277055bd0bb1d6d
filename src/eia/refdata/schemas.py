"""Data contracts: what every reference-pack file and every frame passed between modules holds.

Each contract is a :class:`Contract` wrapping a `pandera <https://pandera.readthedocs.io>`_
``DataFrameSchema``: the columns, their types, code patterns (``E01`` and six digits for an
LSOA 2021 code), ranges (IMD deciles 1–10, counts of people never negative) and unique keys.
``contract.validate(frame)`` returns the frame unchanged, or raises the project's error
(:class:`~eia.errors.RefDataError` for a pack file, :class:`~eia.errors.DataMismatchError`
for a frame) with one line naming the file or frame, the column and the kind of problem,
with how many values fail but never the values themselves. ``contract.schema`` is the
pandera schema, for analysts who want pandera's own tools.

* :data:`PACK` maps each file name of the reference pack to its contract; ``eia data
  install``, ``eia data check``, ``eia data fetch`` and :class:`eia.refdata.Pack` use them.
* :data:`AREA`, :data:`DISTANCES`, :data:`TRAVEL_TIMES`, :data:`WEIGHTS`, :data:`BURDEN`,
  :data:`SERVICE_BY_LSOA`, :data:`SERVICE_BY_LSOA_ETHNICITY` and
  :data:`SERVICE_BY_LSOA_AGE_SEX` are checked by the functions that build those frames.

In a notebook::

    from eia.refdata import schemas
    schemas.AREA.validate(area)            # the frame, or a one-line DataMismatchError

docs/data-contracts.md lists every contract and what it checks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from eia.errors import DataMismatchError, EIAError, RefDataError
from eia.refdata.groups import CATEGORIES as SERVICE_ETHNIC_CATEGORIES
from eia.refdata.groups import ETHNIC_GROUPS


def _import_pandera():
    """``pandera.pandas``, imported without its side effects on this process.

    On import pandera sets ``SPARK_LOCAL_IP`` and ``PYARROW_IGNORE_TIMEZONE`` and imports
    ``pyspark.pandas`` when PySpark is installed (about a second). eia uses pandera on pandas
    frames only, so the environment is restored and ``pyspark.pandas`` is kept out.
    """
    if "pandera.pandas" in sys.modules:
        return sys.modules["pandera.pandas"]
    names = ("SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE")
    saved = {name: os.environ.get(name) for name in names}
    block = "pyspark.pandas" not in sys.modules
    if block:
        sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]  # ImportError: skipped
    try:
        import pandera.pandas as pandera
    finally:
        if block and sys.modules.get("pyspark.pandas", 0) is None:
            del sys.modules["pyspark.pandas"]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return pandera


pa = _import_pandera()
from pandera.errors import SchemaError, SchemaErrors  # noqa: E402 - after the guarded import

# ---------------------------------------------------------------------------
# Contracts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """A named pandera schema whose failures are one-line errors of the project's own types."""

    name: str
    schema: pa.DataFrameSchema
    error: type[EIAError] = DataMismatchError
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """The contract's columns, in order (for a pack file: the order of the file)."""
        return tuple(self.schema.columns)

    def validate(
        self, frame: pd.DataFrame, what: str | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """``frame`` itself if it meets the contract, else raise :attr:`error` in one line.

        ``what`` names the frame or file in the message (default :attr:`name`); ``columns``
        checks only those columns (a file read in part).
        """
        schema = self.schema if columns is None else _subset(self.schema, tuple(columns))
        try:
            return schema.validate(frame, lazy=True, inplace=True)
        except SchemaErrors as exc:
            errors = list(exc.schema_errors)
        except SchemaError as exc:  # raised before lazy collection (e.g. a bad index type)
            errors = [exc]
        described = [_describe(e, frame) for e in errors]
        # A check that could not run on a column already reported (wrong type) adds nothing.
        reported = {col for col, text, broken in described if not broken}
        problems = [text for col, text, broken in described if not broken or col not in reported]
        unique = list(dict.fromkeys(problems))
        raise self.error(f"{what or self.name}: {'; '.join(unique)}") from None


_SUBSETS: dict[tuple[int, tuple[str, ...]], pa.DataFrameSchema] = {}


def _subset(schema: pa.DataFrameSchema, columns: tuple[str, ...]) -> pa.DataFrameSchema:
    """``schema`` for a frame of only ``columns``: a joint key needs all its columns."""
    key = (id(schema), columns)
    if key not in _SUBSETS:
        part = schema.select_columns([c for c in columns if c in schema.columns])
        if part.unique and not set(part.unique) <= set(columns):
            part.unique = None
        _SUBSETS[key] = part
    return _SUBSETS[key]


def _count(failure_cases) -> int:
    return len(failure_cases) if isinstance(failure_cases, pd.DataFrame | pd.Series) else 1


def _describe(error: SchemaError, frame) -> tuple[object, str, bool]:
    """(column, the problem in words, whether a check could not run): a count, never a value."""
    reason = getattr(error.reason_code, "value", str(error.reason_code))
    column = error.column_name or getattr(error.schema, "name", None)
    return column, _words(error, reason, column, frame), reason == "check_error"


def _words(error: SchemaError, reason: str, column, frame) -> str:
    index = isinstance(error.schema, pa.Index)
    if index:
        where = f"the index ({column})"
    else:
        where = f"column {column!r}" if isinstance(column, str) else "the frame"
    n = _count(error.failure_cases)
    if reason == "column_not_in_dataframe":
        return f"column {str(error.failure_cases)!r} is missing"
    if reason == "wrong_field_name":
        return f"the index should be named {column!r}"
    if reason == "wrong_dtype":
        # The type found, from the frame itself: pandera's failure cases can be values.
        expected = _dtype_words(getattr(error.schema, "dtype", None))
        if index:
            return f"{where} should hold {expected}, not {frame.index.dtype}"
        got = frame[column].dtype if isinstance(column, str) and column in frame else None
        return f"{where} should hold {expected}" + (f", not {got}" if got is not None else "")
    if reason == "series_contains_nulls":
        return f"{where} has {n} missing value(s)"
    if reason == "series_contains_duplicates":
        return f"{where} repeats a value in {n} row(s) (it is a key: each value once)"
    if reason == "duplicates":
        keys = ", ".join(getattr(error.schema, "unique", None) or ())
        return f"{n} row(s) repeat the key ({keys}): each combination once"
    if reason in ("dataframe_check", "check_error"):
        check = error.check
        text = getattr(check, "error", None) or getattr(check, "name", None) or "fail a check"
        if reason == "check_error":
            return f"{where} could not be checked for values that {text}"
        if not isinstance(error.failure_cases, pd.DataFrame | pd.Series):
            return f"{where} {text}"
        if not isinstance(column, str):  # a check of whole rows: count rows, not cells
            cases = error.failure_cases
            if isinstance(cases, pd.DataFrame) and "index" in cases.columns:
                n = int(cases["index"].nunique())
            return f"{n} row(s) {text}"
        return f"{where}: {n} value(s) {text}"
    if reason == "mismatch_index":
        return f"{where}: the index does not match"
    return f"{where}: {reason.replace('_', ' ')} ({n})"


def _dtype_words(dtype) -> str:
    name = str(dtype)
    if "int" in name.lower():
        return "whole numbers (int64)"
    if "float" in name.lower():
        return "numbers (float64)"
    if "bool" in name.lower():
        return "true/false values (bool)"
    if "str" in name.lower():
        return "text"
    return name


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------

#: Geography code patterns (full match) and how messages describe them.
CODE_PATTERNS: dict[str, tuple[str, str]] = {
    "lsoa": (r"[EW]01\d{6}", "LSOA codes (E01 or W01 and 6 digits)"),
    "lsoa_england": (r"E01\d{6}", "English LSOA codes (E01 and 6 digits)"),
    "msoa": (r"[EW]02\d{6}", "MSOA codes (E02 or W02 and 6 digits)"),
    "ward": (r"[EW]05\d{6}", "ward codes (E05 or W05 and 6 digits)"),
    "ltla": (r"[EWSN]\d{8}", "local authority codes (E, W, S or N and 8 digits)"),
    "sicbl": (r"E38\d{6}", "sub-ICB location codes (E38 and 6 digits)"),
    "icb": (r"E54\d{6}", "ICB codes (E54 and 6 digits)"),
    "nhs_org": (r"[0-9A-Z]{3,5}", "NHS organisation codes (3 to 5 capitals or digits)"),
}


def matches(kind: str) -> pa.Check:
    """A check that every value is a code of ``kind`` (see :data:`CODE_PATTERNS`).

    Matched in one vectorised pass (pyarrow's regex engine for the pack's text columns).
    """
    pattern, words = CODE_PATTERNS[kind]

    def check(series: pd.Series) -> pd.Series:
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            return pd.Series(False, index=series.index)
        return series.str.fullmatch(pattern).fillna(False).astype(bool) | series.isna()

    return pa.Check(check, name=f"{kind}_code", error=f"are not {words}")


def _code(kind: str, *, unique: bool = False, nullable: bool = False) -> pa.Column:
    return pa.Column(str, matches(kind), unique=unique, nullable=nullable)


def _isin(allowed: Iterable[str]) -> pa.Check:
    allowed = list(allowed)
    return pa.Check.isin(allowed, error=f"are not one of the {len(allowed)} expected categories")


def _text(*, nullable: bool = False, isin: Iterable[str] | None = None) -> pa.Column:
    return pa.Column(str, [] if isin is None else [_isin(isin)], nullable=nullable)


def _whole(minimum: int = 0, maximum: int | None = None) -> pa.Column:
    return pa.Column("int64", _range(minimum, maximum))


def _real(minimum: float | None = 0.0, maximum: float | None = None, *, nullable=False):
    checks = [] if minimum is None and maximum is None else [_range(minimum, maximum)]
    return pa.Column("float64", checks, nullable=nullable)


def _range(minimum, maximum) -> pa.Check:
    if maximum is None:
        what = "are negative" if minimum == 0 else f"are below {minimum}"
        return pa.Check.ge(minimum, error=what)
    return pa.Check.in_range(minimum, maximum, error=f"are outside {minimum} to {maximum}")


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


#: A column of numbers of people: int or float (apportioned), never negative or missing.
def _people(*, nullable: bool = False) -> pa.Column:
    return pa.Column(
        None,
        [
            pa.Check(_is_number, element_wise=False, error="should hold numbers"),
            pa.Check(lambda s: s.ge(0) | s.isna(), error="are negative"),
        ],
        nullable=nullable,
    )


def _geometry() -> pa.Column:
    return pa.Column(None, nullable=False)


def _adds_up(parts: Sequence[str], total: str, by: str | None = None, what: str = "") -> pa.Check:
    """Rows (or, with ``by``, groups of rows) whose ``parts`` add up to ``total``."""

    def check(frame: pd.DataFrame) -> pd.Series | bool:
        if not set(parts) | {total} <= set(frame.columns) or (by and by not in frame.columns):
            return True  # a missing column is reported on its own
        if by is None:
            return frame[list(parts)].sum(axis=1).eq(frame[total])
        sums = frame.groupby(by, sort=False)[parts[0]].transform("sum")
        return sums.eq(frame[total])

    return pa.Check(check, name="adds_up", error=f"do not add up: {what}")


def _frame(
    columns: Mapping[str, pa.Column],
    *,
    unique: Sequence[str] | None = None,
    checks: Sequence[pa.Check] = (),
    index: pa.Index | None = None,
) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        dict(columns), checks=list(checks), index=index, unique=list(unique) if unique else None
    )


def _pack(name: str, columns, **kwargs) -> Contract:
    return Contract(
        f"reference pack file {name}", _frame(columns, **kwargs), RefDataError, SOURCE_NOTE
    )


SOURCE_NOTE = "a file of the reference pack (see shapes/README.md)"

# ---------------------------------------------------------------------------
# The reference pack's files
# ---------------------------------------------------------------------------
IOD_DOMAINS = ("IMD", "Income", "Employment", "Education", "Health", "Crime")
RELIGIONS = (
    "Buddhist",
    "Christian",
    "Hindu",
    "Jewish",
    "Muslim",
    "No religion",
    "Not answered",
    "Other religion",
    "Sikh",
)
DISABILITY = ("Disabled under the Equality Act", "Not disabled under the Equality Act")
RUC21 = {
    "UN1": "Urban",
    "UF1": "Urban",
    "RLN1": "Rural",
    "RLF1": "Rural",
    "RSN1": "Rural",
    "RSF1": "Rural",
}
LSOA_CHANGES = ("U", "S", "M", "X")
PROFICIENCY = (
    "main_language_english",
    "main_language_not_english",
    "can_speak_english_very_well",
    "can_speak_english_well",
    "cannot_speak_english_well",
    "cannot_speak_english",
    "total_residents_3plus",
)
AGES = tuple(f"age_{a}" for a in range(90)) + ("age_90_plus",)
SUBDOMAINS = (
    "children_and_young_people",
    "adult_skills",
    "geographical_barriers",
    "wider_barriers",
    "indoors",
    "outdoors",
)


def _iod(domains: Sequence[str], *, scores: bool) -> dict[str, pa.Column]:
    cols = {f"{d}_decile": _whole(1, 10) for d in domains}
    cols |= {f"{d}_rank": _whole(1) for d in domains}
    if scores:
        cols |= {f"{d}_score": _real(None) for d in domains}
    return cols


def _census(group: str, groups: Sequence[str], order: Sequence[str]) -> Contract:
    cols = {
        "lsoa21_code": _code("lsoa"),
        "total_residents": _whole(),
        group: _text(isin=groups),
        "n": _whole(),
        "prop": _real(0.0, 1.0),
    }
    name = {
        "ethnic_group": "census2021_ethnicity_lsoa21.parquet",
        "religion": "census2021_religion_lsoa21.parquet",
        "disability": "census2021_disability_lsoa21.parquet",
    }[group]
    return _pack(
        name,
        {c: cols[c] for c in order},
        unique=["lsoa21_code", group],
        checks=[_adds_up(["n"], "total_residents", "lsoa21_code", "groups and total_residents")],
    )


_DOMAINS_2025 = (*IOD_DOMAINS, "Housing_and_Services", "Environment")
_DOMAINS_2019 = (*IOD_DOMAINS, "Housing_and_Access", "Environment")

#: Every file a pack may hold, in its columns' order: the contract of shapes/README.md.
PACK: dict[str, Contract] = {
    "lsoa21_boundaries.parquet": _pack(
        "lsoa21_boundaries.parquet",
        {
            "lsoa21_code": _code("lsoa", unique=True),
            "lsoa21_name": _text(),
            "geometry": _geometry(),
        },
    ),
    "lsoa21_lookup.parquet": _pack(
        "lsoa21_lookup.parquet",
        {
            "lsoa21_name": _text(),
            "lsoa21_code": _code("lsoa", unique=True),
            "ward24_name": _text(),
            "ward24_code": _code("ward"),
            "ltla24_name": _text(),
            "ltla24_code": _code("ltla"),
            "sicbl24_name": _text(nullable=True),  # empty in Wales
            "sicbl24_code": _code("sicbl", nullable=True),
            "sicbl24_code_nhs": _code("nhs_org", nullable=True),
            "icb24_name": _text(nullable=True),
            "icb24_code": _code("icb", nullable=True),
            "icb24_code_nhs": _code("nhs_org", nullable=True),
        },
    ),
    "imd2025_lsoa21.parquet": _pack(
        "imd2025_lsoa21.parquet",
        {"lsoa21_code": _code("lsoa_england", unique=True)} | _iod(_DOMAINS_2025, scores=True),
    ),
    "imd2025_subdomains_lsoa21.parquet": _pack(
        "imd2025_subdomains_lsoa21.parquet",
        {"lsoa21_code": _code("lsoa_england", unique=True)}
        | {
            f"{s}_{m}": {"score": _real(None), "rank": _whole(1), "decile": _whole(1, 10)}[m]
            for s in SUBDOMAINS
            for m in ("score", "rank", "decile")
        },
    ),
    "imd2019_lsoa11.parquet": _pack(
        "imd2019_lsoa11.parquet",
        {"lsoa11_code": _code("lsoa_england", unique=True)} | _iod(_DOMAINS_2019, scores=False),
    ),
    "lsoa11_lsoa21_lookup.parquet": _pack(
        "lsoa11_lsoa21_lookup.parquet",
        {
            "lsoa11_name": _text(),
            "lsoa11_code": _code("lsoa"),
            "change_code": _text(isin=LSOA_CHANGES),
            "lsoa21_name": _text(),
            "lsoa21_code": _code("lsoa"),
            "ltla22_name": _text(),
            "ltla22_code": _code("ltla"),
        },
        unique=["lsoa11_code", "lsoa21_code"],
    ),
    "census2021_ethnicity_lsoa21.parquet": _census(
        "ethnic_group",
        ETHNIC_GROUPS,
        ("lsoa21_code", "total_residents", "ethnic_group", "n", "prop"),
    ),
    "census2021_religion_lsoa21.parquet": _census(
        "religion", RELIGIONS, ("lsoa21_code", "total_residents", "religion", "n", "prop")
    ),
    "census2021_disability_lsoa21.parquet": _census(
        "disability", DISABILITY, ("lsoa21_code", "disability", "n", "total_residents", "prop")
    ),
    "hospitals22_points.parquet": _pack(
        "hospitals22_points.parquet", {"hospital22_name": _text(), "geometry": _geometry()}
    ),
    "icb22_boundaries.parquet": _pack(
        "icb22_boundaries.parquet",
        {"icb22_name": _text(), "icb22_code": _code("icb", unique=True), "geometry": _geometry()},
    ),
    "ltla24_boundaries.parquet": _pack(
        "ltla24_boundaries.parquet",
        {
            "ltla24_name": _text(),
            "ltla24_code": _code("ltla", unique=True),
            "geometry": _geometry(),
        },
    ),
    "lsoa21_centroids.parquet": _pack(
        "lsoa21_centroids.parquet",
        {"lsoa21_code": _code("lsoa", unique=True), "geometry": _geometry()},
    ),
    "population20_age_lsoa21.parquet": _pack(
        "population20_age_lsoa21.parquet",
        {"lsoa21_code": _code("lsoa", unique=True), "total": _real()} | {a: _real() for a in AGES},
    ),
    "census2021_proficiency_msoa21.parquet": _pack(
        "census2021_proficiency_msoa21.parquet",
        {"msoa21_code": _code("msoa", unique=True)} | {c: _whole() for c in PROFICIENCY},
        checks=[
            _adds_up(
                ["main_language_english", "main_language_not_english"],
                "total_residents_3plus",
                what="main language and total_residents_3plus",
            ),
            _adds_up(
                [c for c in PROFICIENCY if "speak" in c],
                "main_language_not_english",
                what="levels of proficiency and main_language_not_english",
            ),
        ],
    ),
    "lsoa21_msoa21_lookup.parquet": _pack(
        "lsoa21_msoa21_lookup.parquet",
        {
            "lsoa21_code": _code("lsoa", unique=True),
            "lsoa21_name": _text(),
            "msoa21_code": _code("msoa"),
            "msoa21_name": _text(),
        },
    ),
    "ruc21_lsoa21.parquet": _pack(
        "ruc21_lsoa21.parquet",
        {
            "lsoa21_code": _code("lsoa", unique=True),
            "ruc21_code": _text(isin=RUC21),
            "urban_rural": _text(isin=sorted(set(RUC21.values()))),
            "ruc21_name": _text(),
        },
        checks=[
            pa.Check(
                lambda f: (
                    f["ruc21_code"].map(RUC21).eq(f["urban_rural"])
                    if {"ruc21_code", "urban_rural"} <= set(f.columns)
                    else True
                ),
                name="urban_rural_of_code",
                error="have an urban_rural that does not match their ruc21_code",
            )
        ],
    ),
    "census2021_ethnicity_detailed_lsoa21.parquet": _pack(
        "census2021_ethnicity_detailed_lsoa21.parquet",
        {
            "lsoa21_code": _code("lsoa"),
            "ethnic_group": _text(isin=ETHNIC_GROUPS),
            "ethnic_group_detailed": _text(),
            "n": _whole(),
        },
        unique=["lsoa21_code", "ethnic_group_detailed"],
    ),
}

#: Column names of every pack file, in order (what ``eia data fetch`` writes).
PACK_COLUMNS: dict[str, tuple[str, ...]] = {name: c.columns for name, c in PACK.items()}


def validate_pack_file(name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None):
    """``frame`` (the pack file ``name``, or ``columns`` of it) checked against its contract.

    Files without a contract (extra files a pack may carry) pass unchecked.
    """
    contract = PACK.get(name)
    return frame if contract is None else contract.validate(frame, columns=columns)


# ---------------------------------------------------------------------------
# Frames between modules
# ---------------------------------------------------------------------------
KEY = "lsoa21_code"


def _consistent(fn: Callable[[pd.DataFrame], pd.Series], needs: Sequence[str], name, error):
    def check(frame: pd.DataFrame):
        return fn(frame) if set(needs) <= set(frame.columns) else True

    return pa.Check(check, name=name, error=error)


AREA = Contract(
    "area frame (eia.population.area.build_area)",
    _frame(
        {
            KEY: _code("lsoa_england", unique=True),
            "lsoa21_name": _text(),
            "ltla24_code": _code("ltla"),
            "ltla24_name": _text(),
            "population": _people(),
            "imd_rank": _whole(1),
            "imd_decile": _whole(1, 10),
            "imd_quintile": _whole(1, 5),
            "core20": pa.Column(bool),
            "geometry": _geometry(),
            "point": _geometry(),
        },
        checks=[
            _consistent(
                lambda f: f["imd_quintile"].eq((f["imd_decile"] + 1) // 2),
                ("imd_quintile", "imd_decile"),
                "quintile_of_decile",
                "have an imd_quintile that is not their decile's",
            ),
            _consistent(
                lambda f: f["core20"].eq(f["imd_decile"].le(2)),
                ("core20", "imd_decile"),
                "core20_of_decile",
                "have core20 that does not match IMD deciles 1-2",
            ),
        ],
    ),
    description="One row per LSOA 2021 of the area: names, residents, national IMD 2025 "
    "rank, decile and quintile, Core20, polygon and a point inside it.",
)

DISTANCES = Contract(
    "distances frame (eia.analysis.access.measure)",
    _frame(
        {
            KEY: pa.Column(str, unique=True),
            "nearest_before": _text(nullable=True),
            "km_before": _real(),
            "nearest_after": _text(nullable=True),
            "km_after": _real(),
            "km_change": _real(None, nullable=True),  # inf - inf: no site before or after
        }
    ),
    description="Per LSOA: nearest site and straight-line km before and after, and the change.",
)

TRAVEL_TIMES = Contract(
    "journey times frame (eia.analysis.traveltime.measure)",
    _frame(
        {
            KEY: pa.Column(str, unique=True),
            "nearest_before": pa.Column(None, nullable=True),
            "minutes_before": _people(nullable=True),
            "nearest_after": pa.Column(None, nullable=True),
            "minutes_after": _people(nullable=True),
            "minutes_change": pa.Column(None, nullable=True),
            "reachable_before": pa.Column(bool),
            "reachable_after": pa.Column(bool),
        },
        checks=[
            _consistent(
                lambda f, w=when: f[f"reachable_{w}"].eq(f[f"minutes_{w}"].notna()),
                (f"reachable_{when}", f"minutes_{when}"),
                f"reachable_{when}",
                f"have reachable_{when} that does not match minutes_{when}",
            )
            for when in ("before", "after")
        ],
    ),
    description="Per LSOA: quickest site and minutes before and after (NaN: no site reachable).",
)

WEIGHTS = Contract(
    "weights frame (LSOA × group residents)",
    pa.DataFrameSchema(
        {".+": pa.Column(None, _people().checks, regex=True, nullable=False)},
        index=pa.Index(str, name=KEY, unique=True),
    ),
    description="Residents of each group per LSOA: index lsoa21_code, one column per group.",
)

RATINGS = ("negative", "positive", "neutral", "mixed", "not rated")

BURDEN = Contract(
    "burden table (eia.analysis.impact.burden)",
    _frame(
        {
            "option": _text(),
            "dimension": _text(),
            "group": _text(),
            **{c: _real() for c in ("residents", "further", "nearer", "added", "removed")},
            **{c: _real() for c in ("newly_far", "newly_near")},
            **{
                c: _real(None, nullable=True)
                for c in (
                    "net_per_resident",
                    "added_per_resident",
                    "removed_per_resident",
                    "mean_added_among_further",
                    "mean_removed_among_nearer",
                    "rest_added_per_resident",
                    "burden_difference",
                )
            },
            "burden_ratio": _real(0.0, nullable=True),
            "rating": _text(isin=RATINGS),
            "rating_note": _text(isin=("", "few_residents", "no_residents")),
            "disproportionate": pa.Column(bool),
            # whether the flag decision holds with each threshold a quarter higher and lower
            # (absent when computed with margins=False, as the robustness check does)
            "flag_margin": pa.Column(
                str, [_isin(("clear", "marginal"))], nullable=True, required=False
            ),
            "unit": _text(isin=("km", "min")),
        },
        unique=["option", "dimension", "group"],
        checks=[
            _consistent(
                lambda f: (f["further"] + f["nearer"]).le(f["residents"] * (1 + 1e-9) + 1e-6),
                ("further", "nearer", "residents"),
                "further_nearer_within_residents",
                "count more people further or nearer than the group has residents",
            )
        ],
    ),
    description="One row per option × dimension × group: people further and nearer, "
    "person-km (or minutes) added and removed, per-resident figures, rating.",
)

#: Sex categories the service aggregation produces (eia.service.aggregate), plus "Other".
SEXES = ("Female", "Male", "Indeterminate", "Not known", "Other")
#: Age bands of the service aggregation (eia.service.aggregate: 5-year bands to 80-84, then 85+).
AGE_BANDS = (*(f"{a}-{a + 4}" for a in range(0, 85, 5)), "85+", "Not known")

SERVICE_BY_LSOA = Contract(
    "service counts by LSOA (ServiceData.by_lsoa)",
    _frame({KEY: _code("lsoa_england", unique=True), "count": _people()}),
    description="Events (or distinct people) per LSOA of the area, zeros included.",
)

SERVICE_BY_LSOA_ETHNICITY = Contract(
    "service counts by LSOA and ethnic group (ServiceData.by_lsoa_ethnicity)",
    _frame(
        {
            KEY: _code("lsoa_england"),
            "ethnic_group": _text(isin=SERVICE_ETHNIC_CATEGORIES),
            "count": _people(),
        },
        unique=[KEY, "ethnic_group"],
    ),
    description="Counts per LSOA × Census 2021 ethnic group (with Not stated and Not known).",
)

SERVICE_BY_LSOA_AGE_SEX = Contract(
    "service counts by LSOA, age and sex (ServiceData.by_lsoa_age_sex)",
    _frame(
        {
            KEY: _code("lsoa_england"),
            "age_band": pa.Column(str, _isin(AGE_BANDS), required=False),
            "sex": pa.Column(str, _isin(SEXES), required=False),
            "count": _people(),
        },
        checks=[
            pa.Check(
                lambda f: ~f.duplicated([c for c in (KEY, "age_band", "sex") if c in f.columns]),
                name="unique_key",
                error="repeat their key (lsoa21_code, age_band, sex): each combination once",
            )
        ],
    ),
    description="Counts per LSOA × 5-year age band (85+, Not known) and/or sex.",
)

#: The frame contracts by name, for docs and tests.
FRAMES: dict[str, Contract] = {
    "AREA": AREA,
    "DISTANCES": DISTANCES,
    "TRAVEL_TIMES": TRAVEL_TIMES,
    "WEIGHTS": WEIGHTS,
    "BURDEN": BURDEN,
    "SERVICE_BY_LSOA": SERVICE_BY_LSOA,
    "SERVICE_BY_LSOA_ETHNICITY": SERVICE_BY_LSOA_ETHNICITY,
    "SERVICE_BY_LSOA_AGE_SEX": SERVICE_BY_LSOA_AGE_SEX,
}

__all__ = [
    "AREA",
    "BURDEN",
    "CODE_PATTERNS",
    "DISTANCES",
    "FRAMES",
    "PACK",
    "PACK_COLUMNS",
    "SERVICE_BY_LSOA",
    "SERVICE_BY_LSOA_AGE_SEX",
    "SERVICE_BY_LSOA_ETHNICITY",
    "TRAVEL_TIMES",
    "WEIGHTS",
    "Contract",
    "matches",
    "validate_pack_file",
]
