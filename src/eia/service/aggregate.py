"""Aggregate service data where it lives, and join the aggregates to LSOA 2021.

Service data is one row per event (or per group of events, with a ``count``
column, which may be fractional, e.g. annual averages). It may be a file, a
table or query in a SQL database, or a table on Spark; the ``service`` block
of a proposal's params says which and which columns hold what::

    service:
      path: data/bookings.csv              # a file: CSV, Parquet or XLSX
      columns: {lsoa: lsoa_code, ethnicity: ethnic_category, age: age,
                sex: sex, date: date, person: nhs_number_pseudo, site: site}
      period: {start: 2024-04-01, end: 2025-03-31}
      label: maternity bookings 2024/25

    service:                               # a SQL database
      table: activity.outpatients          # or query: "SELECT ... FROM ..."
      connection: EIA_SERVICE_DB           # an environment variable holding the URL
      columns: {lsoa: lsoa_code, ...}

    service:                               # Spark (local, or a cluster)
      engine: spark
      table: hes.outpatients               # or path: / query:
      connection: EIA_SPARK_REMOTE         # optional: a Spark Connect URL (sc://...)
      columns: {lsoa: lsoa_code, ...}

The aggregation is written once, as an Ibis expression (:func:`aggregate`), and
runs on the engine that holds the data: DuckDB, embedded, for files (out of
core: a file larger than memory works); the database itself for ``table`` or
``query``; Spark for ``engine: spark``. Only aggregates leave the engine: counts
per LSOA value as given × ethnic category (× NHS ethnic code), per LSOA × age
band × sex, per site × LSOA × ethnic group, and the validation counts. No
record-level row is returned, and nothing is written into the database.

Normalisation happens inside the query: LSOA values trimmed and upper-cased,
ethnic categories mapped to the five Census groups and NHS codes (A–S, Z, 99),
ages banded (0-4 … 80-84, 85+), sex codes labelled, dates parsed and filtered
to ``period``. Counting events, the few distinct values are normalised rather than
every row: ethnic categories and sex labelled on the aggregate, dates and ages
(:func:`eia.service.columns.age_band_of`) parsed in Python once per distinct value
and joined as small look-up tables. With ``columns.person`` counts are distinct people per cell (a
person seen in two cells counts once in each); otherwise events (the sum of
``count``, or rows).

:func:`join_to_lsoa21` then converts each distinct LSOA value to LSOA 2021
codes (:mod:`eia.refdata.lsoa21`: 2011 codes converted, split areas apportioned by
population, names matched, with a warning), on the aggregate, so no lookup
table has to be written into the database. Welsh codes, codes outside the
assessment area, unknown or malformed codes and blanks are counted in the
data-quality summary, never dropped silently. :func:`load_service` does
it all and returns a :class:`ServiceData`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eia import redact
from eia.errors import ServiceDataError
from eia.population import ethnicity as eth
from eia.population.ages import effective_ages
from eia.service.columns import (
    _MAX_EXAMPLES,
    _SEX,
    AGE_BAND_TOP,
    AGE_BAND_WIDTH,
    NOT_KNOWN,
    OPEN_TOP,
    ServiceDataWarning,
    _age_band,
    _age_parts,
    _as_text,
    _inside,
    _match_columns,
    _numbers,
    _parse_dates,
    age_band_of,
    check_ages,
    check_columns,
    nhs_ethnic_code,
)
from eia.service.sources import Source, open_source, parse_reason, safe_message

__all__ = ["Extract", "aggregate", "read_service"]


@dataclass(repr=False)
class Extract:
    """Service data aggregated where it lives (see :func:`aggregate`)."""

    by_code: pd.DataFrame
    by_code_age_sex: pd.DataFrame | None
    info: dict
    by_code_ethnic_code: pd.DataFrame | None = None
    by_site: pd.DataFrame | None = None
    by_code_total: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"Extract({self.info.get('source')!r}: {self.info.get('records_read', 0):,} records "
            f"aggregated to {len(self.by_code):,} groups on {self.info.get('engine')})"
        )


def _period(period: Mapping | None) -> tuple[dt.date | None, dt.date | None]:
    if not period:
        return None, None
    out = []
    for key in ("start", "end"):
        value = period.get(key)
        if value is None or isinstance(value, dt.date):
            out.append(value)
            continue
        try:
            out.append(dt.date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ServiceDataError(f"service.period.{key} must be a date (YYYY-MM-DD)") from exc
    if out[0] and out[1] and out[0] > out[1]:
        raise ServiceDataError("service.period.start is after service.period.end")
    return out[0], out[1]


@dataclass
class _Plan:
    """What the row expressions need that is learnt from the data first (small look-ups)."""

    actual: dict  # role -> the source's column name
    ethnic_groups: dict = field(default_factory=dict)  # raw value -> Census group
    ethnic_codes: dict = field(default_factory=dict)  # raw value -> NHS code
    unrecognised: list = field(default_factory=list)
    dates: Any = None  # ibis memtable of text -> date, for a text date column
    ages: Any = None  # ibis memtable of stored age -> 5-year band start, for events
    date_stats: dict = field(
        default_factory=dict
    )  # of a text date column, from its distinct values


def _rows(t, plan: _Plan, in_engine: bool = True, dimensions: bool = True):
    """The one row expression: normalised columns every engine computes the same way.

    ``in_engine``: label ethnic categories and sex in the query (needed to count
    distinct people per label); otherwise keep the normalised values
    (``eth_raw``, ``sex_raw``) and label the small aggregate (:func:`_labelled`),
    which saves a many-branched CASE per row. ``dimensions=False`` leaves out the
    columns only views group by (ethnicity, 5-year age band, sex, site): the rows
    for validation and totals, when the views are counted from stored values.
    """
    import ibis

    actual = plan.actual
    fields: dict[str, Any] = {"code": _as_text(t[actual["lsoa"]]).upper()}
    if "count" in actual:
        fields["n"], fields["bad_count"], fields["negative"] = _numbers(t[actual["count"]])
    else:
        fields["n"] = ibis.literal(1.0)
    if "ethnicity" in actual and not dimensions:
        pass
    elif "ethnicity" in actual and not in_engine:
        fields["eth_raw"] = _as_text(t[actual["ethnicity"]])
    elif "ethnicity" in actual:
        raw = _as_text(t[actual["ethnicity"]])
        groups, codes = plan.ethnic_groups, plan.ethnic_codes
        group = raw.substitute(groups, else_=eth.NOT_KNOWN) if groups else eth.NOT_KNOWN
        code = raw.substitute(codes, else_=ibis.null("string")) if codes else None
        fields["ethnic_group"] = ibis.cases((raw.isnull(), eth.NOT_KNOWN), else_=group)
        fields["ethnic_code"] = ibis.cases(
            (raw.isnull(), "99"), else_=code if code is not None else ibis.null("string")
        )
    if "age" in actual:
        if dimensions:
            fields["age5"] = _age_band(t[actual["age"]])
        fields["age_low"], fields["age_high"], fields["age_single"] = _age_parts(t[actual["age"]])
    if "sex" in actual and not dimensions:
        pass
    elif "sex" in actual and not in_engine:
        fields["sex_raw"] = _as_text(t[actual["sex"]]).upper()
    elif "sex" in actual:
        sex = _as_text(t[actual["sex"]]).upper()
        fields["sex"] = ibis.cases(
            (sex.isnull(), NOT_KNOWN), else_=sex.substitute(_SEX, else_="Other")
        )
    if "site" in actual and dimensions:
        fields["site"] = _as_text(t[actual["site"]])
    if "person" in actual:
        fields["person"] = t[actual["person"]]
    if "date" in actual:  # typed, or text joined to its parsed values (else: plan.date_stats)
        column = t[actual["date"]]
        if plan.dates is None:
            fields["date"] = column.cast("date")
            fields["date_given"] = column.notnull()
        elif "eia_date" in t.columns:
            fields["date"] = t["eia_date"]
            fields["date_given"] = t["eia_date_text"].notnull()
    if "eia_row" in t.columns:  # naming bad rows: their number and (masked) value
        fields["eia_row"] = t["eia_row"]
        for role in ("count", "date"):
            if role in actual:
                fields[f"raw_{role}"] = t[actual[role]].cast("string")
    return t.select(**fields)


def _with_dates(t, plan: _Plan):
    """Join a text date column to its parsed values (a small look-up table)."""
    if plan.dates is None:
        return t
    text = _as_text(t[plan.actual["date"]])
    joined = t.mutate(eia_date_text=text).left_join(plan.dates, "eia_date_text")
    return joined.drop([c for c in joined.columns if c.endswith("_right")])


def _plan(t, actual: dict, run, *, band_ages: bool = False) -> _Plan:
    """Learn the distinct ethnic categories and date texts (each a small result), and with
    ``band_ages`` the distinct ages, banded in Python (:func:`age_band_of`): events join
    them instead of evaluating the engine's long banding expression (:func:`_age_band`)."""
    import ibis

    plan = _Plan(actual)
    if band_ages and "age" in actual and _age_in_python(t[actual["age"]]):
        column = t[actual["age"]]
        values = run(t.select(v=column).distinct())["v"]
        bands = pd.array([age_band_of(v) for v in values], dtype="Int64")
        plan.ages = ibis.memtable(
            pd.DataFrame({"eia_age_raw": values.reset_index(drop=True), "eia_age5": bands}),
            schema={"eia_age_raw": column.type(), "eia_age5": "int64"},
        )
    if "ethnicity" in actual:
        values = run(t.select(v=_as_text(t[actual["ethnicity"]])).distinct())["v"].tolist()
        for value in values:
            if pd.isna(value):
                continue
            group, known = eth.classify(value)
            if not known and len(plan.unrecognised) < 1000:
                plan.unrecognised.append(str(value))
            plan.ethnic_groups[value] = group
            code = nhs_ethnic_code(value)
            if code is not None:
                plan.ethnic_codes[value] = code
    if "date" in actual:
        typ = t[actual["date"]].type()
        if not (typ.is_date() or typ.is_timestamp()):
            texts = t.select(v=_as_text(t[actual["date"]]))
            counted = run(texts.group_by("v").aggregate(n=texts.count()))
            given = counted[counted["v"].notna()]
            values = pa.array([str(v) for v in given["v"]], pa.string())
            parsed = _parse_dates(values).cast(pa.date32())
            ok = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
            dates = pc.filter(parsed, pc.is_valid(parsed))
            plan.date_stats = {
                "dates_missing": int(counted.loc[counted["v"].isna(), "n"].sum()),
                "bad_dates": int(given["n"].to_numpy()[~ok].sum()),
                "date_min": pc.min(dates).as_py() if len(dates) else None,
                "date_max": pc.max(dates).as_py() if len(dates) else None,
            }
            frame = pa.table({"eia_date_text": values, "eia_date": parsed}).to_pandas()
            plan.dates = ibis.memtable(
                frame, schema={"eia_date_text": "string", "eia_date": "date"}
            )
    return plan


def _label_ages(frame: pd.DataFrame) -> pd.DataFrame:
    if "age5" in frame:
        ages = frame["age5"]
        labels = ages.map({v: _age_label(v) for v in ages.dropna().unique()}).fillna(NOT_KNOWN)
        frame = frame.drop(columns="age5")
        frame.insert(1, "age_band", labels)
    return frame


def _age_label(start) -> str:
    if start is None or (isinstance(start, float) and math.isnan(start)) or start is pd.NA:
        return NOT_KNOWN
    start = int(start)
    if start >= AGE_BAND_TOP:
        return f"{AGE_BAND_TOP}+"
    return f"{start}-{start + AGE_BAND_WIDTH - 1}"


def _tidy(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """An aggregate as a tidy frame: None for missing keys, float counts, sorted by key."""
    frame = _label_ages(frame)
    keys = ["age_band" if k == "age5" else k for k in keys]
    out = pd.DataFrame(
        {k: frame[k].astype(object).where(frame[k].notna(), None).to_numpy() for k in keys}
    )
    out["count"] = frame["count"].astype("float64").to_numpy()
    out["records"] = frame["records"].astype("int64").to_numpy()
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    for k in keys:
        out[k] = out[k].astype(object).where(out[k].notna(), None)
    return out


def _how_many(condition):
    """Rows where a condition holds (portable: not every engine casts booleans to integers)."""
    import ibis

    return ibis.cases((condition, 1), else_=0).sum()


def _row_list(examples: list[tuple[int, object]], n: int) -> str:
    """Row numbers, each with its value's shape only (:func:`eia.redact.mask`)."""
    shown = ", ".join(
        str(row) if value is None else f"{row} ({redact.mask(value)})" for row, value in examples
    )
    more = f" and {n - len(examples)} more" if n > len(examples) else ""
    return f"{shown}{more}"


def aggregate(
    source: Source,
    columns: Mapping[str, str],
    *,
    period: Mapping | None = None,
    ages: Sequence[int | None] | None = None,
) -> Extract:
    """Aggregate a source where it lives; only aggregates come back.

    ``columns`` maps roles to column names (``lsoa`` required; ``count``,
    ``ethnicity``, ``age``, ``sex``, ``date``, ``person``, ``site`` optional).
    ``period`` (``{start, end}``, inclusive dates) keeps events dated within it.
    ``ages`` (``[min, max]``, max None for no limit: a population of interest)
    keeps records whose own age lies within it, by single year of age, or by
    band when the extract's ages are bands (a band partly outside is left out);
    every view, and the distinct people in each cell, then come from those records
    only (without an age column ``ages`` is ignored: ``info["ages_applied"]`` False).

    Returns an :class:`Extract` whose frames are keyed by ``code`` (the LSOA
    value as given, trimmed and upper-cased; None for blanks):

    * ``by_code``: ``code``, ``ethnic_group`` (when mapped), ``count``, ``records``;
    * ``by_code_ethnic_code``: ``code``, ``ethnic_code`` (A–S, Z, 99, or None
      for a value naming only a group), ``count``, ``records`` (when ethnicity is mapped);
    * ``by_code_age_sex``: ``code``, ``age_band`` ("0-4" … "85+", "Not known")
      and/or ``sex`` (Male, Female, Indeterminate, Other, Not known), ``count``, ``records``;
    * ``by_site``: ``site``, ``code``, ``ethnic_group`` (when mapped), ``count``, ``records``;
    * ``by_code_total``: ``code``, ``count``, ``records`` — distinct people per
      LSOA value (only with ``person``; without it, sum ``by_code``);
    * ``info``: ``engine``, ``source``, ``format``, ``encoding``, ``records_read``,
      ``count_read``, ``counting`` (``people`` or ``events``), ``date_first``,
      ``date_last`` (observed, before the period filter), ``dates_missing``,
      ``period_start``, ``period_end``, ``records_outside_period``, ``count_outside_period``
      (events; the count column's sum, or rows),
      ``records_without_person``, ``ethnicity_unrecognised``, ``columns``; with
      ``ages`` and an age column also ``ages``, ``ages_applied``, ``age_form``
      (``single`` years, ``bands``, or ``unknown`` when no age is known),
      ``ages_effective`` (the ages the kept records cover: ``ages``, or for bands
      :func:`effective_ages`), ``age_bands`` (the bands seen, as ``[low, high]``),
      and with ``person`` ``people_distinct`` (distinct people among the kept records,
      across all LSOA values). ``by_code_total`` then also has ``count_all_ages``
      and ``count_age_known`` (everyone in the period, and those of known age).

    ``count`` is the sum of the count column (or rows), or with ``person`` the
    number of distinct people in the cell (a person in two cells counts in both).

    Raises :class:`ServiceDataError` for a mapped column the source lacks
    (listing the columns found), no records, counts that are blank, not numbers
    or negative, and dates that do not parse (naming rows, numbered from 1
    after the header, when the source is a file).
    """
    import ibis

    columns = check_columns(columns)
    ages = check_ages(ages)
    start, end = _period(period)
    if (start or end) and "date" not in columns:
        raise ServiceDataError("service.period needs service.columns.date (the event date)")
    secrets = source.describe.get("secrets", [])

    def run(expr) -> pd.DataFrame:
        try:
            return expr.to_pandas()
        except ServiceDataError:
            raise
        except Exception as exc:
            if source.ordered:  # a file: say why it does not parse, never quote its lines
                raise ServiceDataError(
                    f"{source.name} cannot be read: {parse_reason(exc)}"
                ) from exc
            raise ServiceDataError(
                f"{source.name} cannot be aggregated on {source.engine}: {safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL

    t = source.table
    actual = _match_columns(list(t.columns), columns, source.name)
    person = "person" in actual
    plan = _plan(t, actual, run, band_ages=not person)
    by_age = ages is not None and "age" in actual
    # A text date column is joined to its parsed values only to filter by period.
    rows = _with_dates(t, plan) if (start or end) else t
    # Events are counted from the values as stored (see ``events`` below): the rows need
    # the view columns only to count distinct people.
    base = _rows(rows, plan, in_engine=person, dimensions=person)

    # Validation and totals: one row, from the columns they read only (a short query).
    read = [*_CHECKED, *(("age_low", "age_high", "age_single") if by_age else ())]
    v = base.select(*[c for c in base.columns if c in read])
    checks: dict[str, Any] = {"records": v.count()}
    if "count" in actual:
        checks["bad_count"] = _how_many(v.bad_count)
        checks["negative"] = _how_many(v.negative)
    in_period = v_in_period = None
    if "date" in v.columns:
        checks["dates_missing"] = _how_many(~v.date_given)
        checks["bad_dates"] = _how_many(v.date_given & v.date.isnull())
        checks["date_min"] = v.date.min()
        checks["date_max"] = v.date.max()
        if start or end:
            in_period = _in_period(base.date, start, end)
            v_in_period = _in_period(v.date, start, end)
            checks["outside_period"] = _how_many(~v_in_period)
            checks["count_outside_period"] = ibis.cases((~v_in_period, v.n), else_=0.0).sum()
    if "person" in actual:
        checks["without_person"] = _how_many(v.person.isnull())
    inside = _inside(base.age_low, base.age_high, ages) if by_age else None
    if by_age:
        known = v.age_low.notnull()
        checks["age_single_rows"] = _how_many(known & v.age_single)
        checks["age_band_rows"] = _how_many(known & ~v.age_single)
        if person:
            v_inside = _inside(v.age_low, v.age_high, ages)
            counted = v_inside if v_in_period is None else v_inside & v_in_period
            checks["people_distinct"] = v.person.nunique(where=counted)
    elif person:
        counted = None if v_in_period is None else v_in_period
        checks["people_distinct"] = v.person.nunique(where=counted)
    totals = {**plan.date_stats, **run(v.aggregate(**checks)).iloc[0].to_dict()}
    records = int(totals["records"] or 0)
    if records == 0:
        raise ServiceDataError(
            f"{source.name} has no records"
            + (" (only a header)" if source.ordered else " (the table or query returned no rows)")
        )
    _raise_for_bad_values(source, plan, totals, columns)

    period_kept = base if in_period is None else base.filter(in_period)
    kept = period_kept.filter(inside) if by_age else period_kept

    def view(keys: list[str]) -> pd.DataFrame:
        measure = kept.person.nunique() if person else kept.n.sum()
        return _tidy(run(kept.group_by(keys).aggregate(count=measure, records=kept.count())), keys)

    age_info: dict[str, Any] = {}
    by_total = None
    if by_age:
        by_total, age_info = _age_totals(period_kept, ages, person, totals, run)

    has_eth = "ethnicity" in actual
    main_keys = ["code"] + (["ethnic_group"] if has_eth else [])
    demog = [k for r, k in (("age", "age5"), ("sex", "sex")) if r in actual]
    site_keys = ["site", "code"] + (["ethnic_group"] if has_eth else [])
    by_age_sex = by_site = by_code_eth = None
    by_total = by_total if by_age else None
    if person:  # distinct people: every view counted in the engine, labels and all
        by_code = view(main_keys)
        by_code_eth = view(["code", "ethnic_code"]) if has_eth else None
        by_age_sex = view(["code", *demog]) if demog else None
        by_site = view(site_keys) if "site" in actual else None
        by_total = by_total if by_age else view(["code"])
    else:  # events add up: group by the values as stored, normalise and label the aggregate
        if in_period is not None:
            rows = rows.filter(_in_period(_dates_of(rows, plan), start, end))
        if by_age:
            low, high, _ = _age_parts(rows[actual["age"]])
            rows = rows.filter(_inside(low, high, ages))

        def events(keys: list[str], rows=rows) -> pd.DataFrame:
            return _labelled(_tidy(*_events_view(rows, plan, keys, run)), plan)

        eth_role = ["ethnicity"] if has_eth else []
        fine = events(["lsoa", *eth_role])
        by_code = _sum(fine, main_keys)
        by_code_eth = _sum(fine, ["code", "ethnic_code"]) if has_eth else None
        if demog:
            demog_roles = [r for r in ("age", "sex") if r in actual]
            by_age_sex = _sum(
                events(["lsoa", *demog_roles]), ["code", *[_ROLE_KEY[r] for r in demog_roles]]
            )
        if "site" in actual:
            by_site = _sum(events(["site", "lsoa", *eth_role]), site_keys)

    def iso(value) -> str | None:
        if value is None or pd.isna(value):
            return None
        return pd.Timestamp(value).date().isoformat()

    info = {
        "engine": source.engine,
        **{k: v for k, v in source.describe.items() if k != "secrets"},
        "records_read": records,
        "count_read": float(
            by_total["count_all_ages"].sum()
            if by_age
            else (by_total if person else by_code)["count"].sum()
        ),
        "counting": "people" if person else "events",
        "date_first": iso(totals.get("date_min")) if "date" in actual else None,
        "date_last": iso(totals.get("date_max")) if "date" in actual else None,
        "dates_missing": int(totals["dates_missing"]) if "date" in actual else None,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "records_outside_period": int(totals["outside_period"]) if in_period is not None else 0,
        "count_outside_period": float(totals["count_outside_period"] or 0)
        if in_period is not None
        else 0.0,
        "records_without_person": int(totals["without_person"]) if person else None,
        "ethnicity_unrecognised": redact.code_examples(
            plan.unrecognised, limit=_MAX_EXAMPLES, what="ethnic category codes"
        ),
        "columns": dict(columns),
        **age_info,
    }
    if person:
        info["people_distinct"] = int(totals.get("people_distinct") or 0)
    return Extract(by_code, by_age_sex, info, by_code_eth, by_site, by_total)


def _age_totals(
    rows, ages: tuple[int, int | None], person: bool, totals: Mapping, run
) -> tuple[pd.DataFrame, dict]:
    """Per LSOA value: the count within ``ages``, of everyone, and of everyone of known age.

    ``rows`` are the normalised rows of the period. With ``person`` each is a number
    of distinct people (someone with records of several ages in one LSOA value counts
    once in each count they belong to, so ``count`` <= ``count_age_known`` <=
    ``count_all_ages``); otherwise events. Also returns what the records' ages are
    (``age_form``), the bands seen and the ages kept records cover.
    """
    inside = _inside(rows.age_low, rows.age_high, ages)
    known = rows.age_low.notnull()
    if person:
        measures = {
            "count": rows.person.nunique(where=inside),
            "count_all_ages": rows.person.nunique(),
            "count_age_known": rows.person.nunique(where=known),
        }
    else:
        measures = {
            "count": rows.n.sum(where=inside),
            "count_all_ages": rows.n.sum(),
            "count_age_known": rows.n.sum(where=known),
        }
    frame = run(rows.group_by("code").aggregate(**measures, records=rows.count(where=inside)))
    out = pd.DataFrame({"code": frame["code"].astype(object).where(frame["code"].notna(), None)})
    for column in ("count", "count_all_ages", "count_age_known"):
        out[column] = frame[column].astype("float64").fillna(0.0).to_numpy()
    out["records"] = frame["records"].fillna(0).astype("int64").to_numpy()
    out = out.sort_values("code", na_position="last", kind="stable").reset_index(drop=True)
    single = int(totals.get("age_single_rows") or 0)
    banded = int(totals.get("age_band_rows") or 0)
    bands: list[tuple[float, float]] = []
    if banded:
        seen = run(
            rows.filter(rows.age_low.notnull() & ~rows.age_single)
            .select("age_low", "age_high")
            .distinct()
        )
        bands = sorted(
            (float(lo), float(hi)) for lo, hi in zip(seen["age_low"], seen["age_high"], strict=True)
        )
    form = "single" if single else "bands" if banded else "unknown"
    covered = effective_ages(ages, bands) if form == "bands" else ages
    info = {
        "ages": list(ages),
        "ages_applied": True,
        "age_form": form,
        "ages_effective": list(covered),
        "age_bands": [[int(lo), None if hi >= OPEN_TOP else int(hi)] for lo, hi in bands],
    }
    return out, info


#: The row columns validation and totals read (:func:`aggregate`; the age parts too when
#: records are kept for a population's ages).
_CHECKED = ("n", "bad_count", "negative", "date", "date_given", "person")

_ROLE_KEY = {"lsoa": "code", "ethnicity": "ethnic_group", "age": "age_band", "sex": "sex"}


def _dates_of(t, plan: _Plan):
    """The date column as dates: typed, or text joined to its parsed values."""
    return t["eia_date"] if "eia_date" in t.columns else t[plan.actual["date"]].cast("date")


def _in_period(date, start, end):
    import ibis

    mask = ibis.literal(True)
    if start:
        mask = mask & (date >= ibis.literal(start))
    if end:
        mask = mask & (date <= ibis.literal(end))
    return mask.fill_null(False)


def _events_view(rows, plan: _Plan, roles: list[str], run) -> tuple[pd.DataFrame, list[str]]:
    """Events by the given roles, in two steps: group by the values as stored (cheap keys,
    often dictionary-encoded), then normalise those few values and group again. The same
    result as normalising every row, since each normalised value depends only on its raw value.

    Ages take their band from ``plan.ages`` (each stored value banded once, in Python) when
    the plan has it, else from the engine's expression (:func:`_age_band`).
    """

    actual = plan.actual
    if "age" in roles and plan.ages is not None:
        ages = plan.ages
        rows = rows.left_join(ages, rows[actual["age"]] == ages.eia_age_raw)
        band = rows.eia_age5
    elif "age" in roles:
        band = _age_band(rows[actual["age"]])
    inner_keys = {r: band if r == "age" else rows[actual[r]] for r in roles}
    c = _numbers(rows[actual["count"]])[0].sum() if "count" in actual else rows.count()
    inner = rows.group_by(**inner_keys).aggregate(c=c.cast("float64"), r=rows.count())
    normalise = {
        "lsoa": ("code", lambda c: _as_text(c).upper()),
        "ethnicity": ("eth_raw", _as_text),
        "age": ("age5", lambda c: c),
        "sex": ("sex_raw", lambda c: _as_text(c).upper()),
        "site": ("site", _as_text),
    }
    outer_keys = {normalise[r][0]: normalise[r][1](inner[r]) for r in roles}
    outer = inner.group_by(**outer_keys).aggregate(count=inner.c.sum(), records=inner.r.sum())
    return run(outer), list(outer_keys)


def _age_in_python(column) -> bool:
    """Whether an age column's stored values can be banded by :func:`age_band_of`."""
    typ = column.type()
    return bool(typ.is_string() or typ.is_integer() or typ.is_floating() or typ.is_decimal())


def _labelled(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """Label an aggregate's normalised values: ethnic group and NHS code, sex."""
    frame = frame.copy()
    if "eth_raw" in frame:
        raw = frame.pop("eth_raw")
        frame.insert(1, "ethnic_group", raw.map(plan.ethnic_groups).fillna(eth.NOT_KNOWN))
        codes = raw.map(plan.ethnic_codes).astype(object)
        frame.insert(
            2, "ethnic_code", codes.where(raw.notna(), "99").where(lambda c: c.notna(), None)
        )
    if "sex_raw" in frame:
        raw = frame.pop("sex_raw")
        frame.insert(
            len(frame.columns) - 2,
            "sex",
            raw.map(_SEX).fillna("Other").where(raw.notna(), NOT_KNOWN),
        )
    return frame


def _sum(frame: pd.DataFrame, keys: list) -> pd.DataFrame:
    """Sum ``count`` and ``records`` by ``keys`` (None entries skipped), sorted."""
    keys = [k for k in keys if k is not None]
    out = frame.groupby(keys, dropna=False, sort=False, as_index=False)[["count", "records"]].sum()
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    for k in keys:
        out[k] = out[k].astype(object).where(out[k].notna(), None)
    return out


def _raise_for_bad_values(source: Source, plan: _Plan, totals, columns: Mapping) -> None:
    """Counts that are not numbers or negative, dates that are not dates: one error, rows named."""
    import ibis

    n_bad = int(totals.get("bad_count", 0) or 0)
    n_neg = int(totals.get("negative", 0) or 0)
    n_dates = int(totals.get("bad_dates", 0) or 0)
    if not (n_bad or n_neg or n_dates):
        return
    rows: dict[str, list[tuple[int, object]]] = {}
    if source.ordered:  # a file: name the rows (1 = the first after the header)
        numbered = source.table.mutate(eia_row=ibis.row_number() + 1)
        base = _rows(_with_dates(numbered, plan), plan)
        for kind, n, mask, raw in (
            ("bad", n_bad, "bad_count", "raw_count"),
            ("negative", n_neg, "negative", "raw_count"),
            ("dates", n_dates, None, "raw_date"),
        ):
            if not n:
                continue
            condition = base[mask] if mask else (base.date_given & base.date.isnull())
            found = base.filter(condition).select("eia_row", raw).order_by("eia_row")
            frame = found.limit(_MAX_EXAMPLES).to_pandas()
            rows[kind] = [
                (int(r), v if pd.notna(v) and str(v).strip() else None)
                for r, v in zip(frame["eia_row"], frame[raw], strict=True)
            ]

    def where(kind: str, n: int) -> str:
        if kind in rows:
            return f", in rows {_row_list(rows[kind], n)}"
        return ""

    problems = []
    if n_bad:
        problems.append(
            f"the count column ({columns['count']!r}) has {n_bad} value(s) that are blank or "
            f"not numbers{where('bad', n_bad)}"
        )
    if n_neg:
        problems.append(
            f"the count column ({columns['count']!r}) has {n_neg} negative value(s)"
            f"{where('negative', n_neg)}"
        )
    if n_dates:
        problems.append(
            f"the date column ({columns['date']!r}) has {n_dates} value(s) that are not dates "
            f"(use YYYY-MM-DD or DD/MM/YYYY){where('dates', n_dates)}"
        )
    note = " (rows are numbered from 1 after the header)" if rows else ""
    raise ServiceDataError(f"{source.name}: " + "; ".join(problems) + note)


def read_service(
    path: str | Path,
    columns: Mapping[str, str],
    *,
    sheet: str | int | None = None,
    period: Mapping | None = None,
    engine: str = "duckdb",
    ages: Sequence[int | None] | None = None,
) -> Extract:
    """Aggregate a file (CSV, Parquet or XLSX) on DuckDB (or Spark); see :func:`aggregate`."""
    spec = {"path": str(path), "sheet": sheet, "engine": engine, "period": period, "ages": ages}
    return _aggregate_spec(spec, ".", columns)


def _aggregate_spec(spec: Mapping, base_dir, columns: Mapping[str, str]) -> Extract:
    """Open, aggregate, close; a CSV whose mapped columns are not UTF-8 is read as cp1252."""
    columns = check_columns(columns)
    source = open_source(spec, base_dir)
    try:
        return aggregate(source, columns, period=spec.get("period"), ages=spec.get("ages"))
    except ServiceDataError as exc:
        if not (source.describe.get("format") == "csv" and _not_utf8(exc)):
            raise
        if source.describe.get("encoding") != "utf-8":
            raise
    finally:
        source.close()
    warnings.warn(ServiceDataWarning("not_utf8", source=source.describe["source"]), stacklevel=3)
    source = open_source({**spec, "encoding": "cp1252"}, base_dir)
    try:
        return aggregate(source, columns, period=spec.get("period"), ages=spec.get("ages"))
    finally:
        source.close()


def _not_utf8(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__}".lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text
