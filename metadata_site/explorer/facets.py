"""Facets: option counts (enum, multi enum, boolean) and histograms (numbers, datetimes) of the explorer's result.

A facet pass is a plan and its execution:
- `plan_facets` decides what to read: which fields get which facet, the rows read (the result of the conditions
  that are not on a facet field, and at least one "gate": all the facet conditions but one field's), and each
  histogram's buckets (`HistogramRange`, over the field's workspace range: two B-tree-end queries);
- `run_facets` executes it in one statement, over the rows of a backend: the workspace's typed projection when it
  can answer every condition (`ProjectionColumns`), else the items' JSON (`JsonColumns`). The rows form a CTE of
  each facet condition's truth and each facet field's value (bucket, option flags); the statement counts the
  options in one aggregate row and each histogram with a GROUP BY.

Without any condition over the whole workspace, `stored_facets` answers instead from the workspace's count store
(`explorer.counts`: option counts as kept, histograms over the same `HistogramRange` from fine bins), when in use.

`facets_per_field` (one query per field: `option_counts`, `histogram`) is the plain definition the one-pass
`facets` must equal (tested on both databases and on the projection). A histogram's bucket is defined once:
`HistogramRange` here, its SQL in `query.sql.bucket_sql`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, Count, Q, Value, When

from metadata_site.db_router import read_connection
from metadata_site.schemas.fields import FieldSpec, Schema

from . import counts
from . import query as fl
from .cache import Delta, remember
from .projection import NotProjected, ProjectionCompiler, columns_for, stored_counts, table_name
from .query.sql import Epoch, HistogramBucket, bucket_sql, not_null
from .selectors import explorer_items, item_base_queryset

HISTOGRAM_BUCKETS = 20
OPTION_FAMILIES = ("enum", "multi_enum", "boolean")
HISTOGRAM_FAMILIES = ("float", "integer", "datetime")


@dataclass
class OptionCount:
    value: Any
    label: str
    count: int
    active: bool = False


@dataclass
class Bucket:
    low: Any
    high: Any
    label: str
    count: int
    height: int = 0  # percent of the highest bucket
    low_text: str = ""  # the bounds as an axis shows them (short dates, rounded numbers)
    high_text: str = ""


@dataclass
class Facet:
    spec: FieldSpec
    options: list[OptionCount] | None = None
    buckets: list[Bucket] | None = None

    @property
    def peak(self) -> int:
        """The tallest bucket's count: the top of a histogram's scale."""
        return max((b.count for b in self.buckets or ()), default=0)

    @property
    def has_values(self) -> bool:
        return self.peak > 0


def _active(query: fl.Query, spec: FieldSpec) -> set:
    """The values the query's own conditions on `spec` name (their options show as chosen)."""
    return {v for c in query.all if c.field == spec.name and not c.builtin for v in c.values}


# ----------------------------------------------------------------------------------------------
# Histogram buckets


@dataclass(frozen=True)
class HistogramRange:
    """Equal-width buckets over a field's workspace range. An integer field has whole-number bounds and an int
    width (no bucket holds a fraction of a value); a datetime's bounds are seconds since 1970."""

    low: float
    high: float
    width: float
    count: int
    is_time: bool

    def buckets(self, rows: dict[int, int]) -> list[Bucket]:
        """The buckets with their counts (`rows`: bucket number -> count), labelled for the axis."""
        low, high, width, is_time = self.low, self.high, self.width, self.is_time
        peak = max(rows.values(), default=0)
        result = []
        for n in range(self.count):
            lo, hi = low + n * width, low + (n + 1) * width
            if n == self.count - 1:
                hi = max(hi, high)
            tally = rows.get(n, 0)
            if isinstance(width, int):  # an integer field: bucket n holds the whole numbers lo .. lo + width - 1
                lo_v, hi_v = lo, lo + width - 1
                label = str(lo_v) if width == 1 else f"{lo_v} – {hi_v}"
                texts = (str(lo_v), str(hi_v))
            elif is_time:
                lo_v, hi_v = _iso(lo), _iso(hi)
                texts = (_short_date(lo, span=high - low), _short_date(hi, span=high - low))
                label = f"{texts[0]} – {texts[1]}"
            else:
                lo_v, hi_v = _round(lo), _round(hi)
                label = f"{lo_v} – {hi_v}"
                texts = (f"{lo_v:g}", f"{hi_v:g}")
            height = math.ceil(100 * tally / peak) if peak else 0
            result.append(Bucket(lo_v, hi_v, label, tally, height, *texts))
        return result


def _bounds(spec: FieldSpec, *, workspace) -> tuple[Any, Any] | None:
    """Lowest and highest value of the field in the workspace (index-backed: two B-tree ends)."""
    expr = fl.FieldValue(spec)
    qs = item_base_queryset().filter(workspace=workspace).filter(not_null(expr)).annotate(_v=expr)
    low = list(qs.order_by(expr.asc()).values_list("_v", flat=True)[:1])
    high = list(qs.order_by(expr.desc()).values_list("_v", flat=True)[:1])
    if not low:
        return None
    return low[0], high[0]


def histogram_range(spec: FieldSpec, *, workspace, buckets: int = HISTOGRAM_BUCKETS) -> HistogramRange | None:
    """The buckets over the field's workspace range, or None when it is unset everywhere."""
    bounds = _bounds(spec, workspace=workspace)
    if bounds is None:
        return None
    is_time = fl.type_key(spec) == "datetime"
    if spec.type == "integer":
        low, high = math.floor(bounds[0]), math.ceil(bounds[1])
        width = max(1, math.ceil((high - low + 1) / buckets))
        return HistogramRange(low, high, width, math.ceil((high - low + 1) / width), False)
    if is_time:
        low, high = (_epoch(v) for v in bounds)
        if low is None or high is None:
            return None
    else:
        low, high = float(bounds[0]), float(bounds[1])
    if high <= low:
        return HistogramRange(low, high, 1.0, 1, is_time)
    if not is_time and math.isfinite(high - low):
        # A number's buckets are a nice width (1, 2, 2.5, 4 or 5 times a power of ten) on its multiples: they read
        # well on an axis, and a new lowest or highest value moves them only when it passes the next multiple
        # (kept facets are patched after a write while the buckets stay: explorer.cache).
        width = _nice_width((high - low) / buckets)
        start = math.floor(low / width) * width
        count = max(1, math.ceil((high - start) / width))
        if start <= low and math.isfinite(start + count * width) and count < 2 * buckets:
            return HistogramRange(start, start + count * width, width, count, False)
    return HistogramRange(low, high, (high - low) / buckets, buckets, is_time)


def _nice_width(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 4, 5 and 10 times a power of ten that is at least `raw` (> 0)."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next((m * power for m in (1, 2, 2.5, 4, 5) if m * power >= raw), 10 * power)


def _short_date(seconds: float, *, span: float) -> str:
    """A date as an axis shows it: ``3 Mar 2025``, with the time of day when the range is under two days."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    text = f"{moment.day} {moment:%b %Y}"
    return f"{text} {moment:%H:%M}" if span < 2 * 86400 else text


def _epoch(text: str) -> float | None:
    value = fl.normalize_datetime(text)
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def _json_bucket(spec: FieldSpec, hr: HistogramRange) -> HistogramBucket:
    expr = fl.FieldValue(spec)
    return HistogramBucket(Epoch(expr) if hr.is_time else expr, hr.low, hr.width, hr.count)


# ----------------------------------------------------------------------------------------------
# One query per field: the definition


def option_counts(query: fl.Query, spec: FieldSpec, *, schema: Schema, workspace) -> list[OptionCount]:
    """Count of each option (enum, multi enum, boolean) under the other active filters."""
    qs = explorer_items(query.without(field_name=spec.name), schema=schema, workspace=workspace)
    family = fl.type_key(spec)
    active = _active(query, spec)
    if family == "multi_enum":
        aggregates = {
            f"o{n}": Count("id", filter=fl.condition_q(fl.Condition(spec.name, fl.HAS_ANY, (option,)), schema=schema))
            for n, option in enumerate(spec.options)
        }
        row = qs.aggregate(**aggregates) if aggregates else {}
        return [OptionCount(o, o, row[f"o{n}"], o in active) for n, o in enumerate(spec.options)]
    expr = fl.FieldValue(spec)
    rows = dict(qs.annotate(_v=expr).filter(_v__isnull=False).values("_v").annotate(n=Count("id")).values_list("_v", "n"))
    if family == "boolean":
        return [OptionCount(flag, "true" if flag else "false", rows.get(flag, 0), flag in active) for flag in (True, False)]
    return [OptionCount(o, o, rows.get(o, 0), o in active) for o in spec.options]


def histogram(query: fl.Query, spec: FieldSpec, *, schema: Schema, workspace, buckets: int = HISTOGRAM_BUCKETS) -> list[Bucket]:
    """Counts of the current result in equal-width buckets over the field's workspace range."""
    hr = histogram_range(spec, workspace=workspace, buckets=buckets)
    if hr is None:
        return []
    qs = explorer_items(query, schema=schema, workspace=workspace).filter(not_null(fl.FieldValue(spec)))
    rows = dict(qs.annotate(_b=_json_bucket(spec, hr)).values("_b").annotate(n=Count("id")).values_list("_b", "n"))
    return hr.buckets(rows)


def facets_per_field(query: fl.Query, *, schema: Schema, workspace) -> list[Facet]:
    """Every declared field's facet, one query per field: the plain definition `facets` must equal."""
    result = []
    for spec in schema:
        family = fl.type_key(spec)
        if family in OPTION_FAMILIES:
            result.append(Facet(spec, options=option_counts(query, spec, schema=schema, workspace=workspace)))
        elif family in HISTOGRAM_FAMILIES:
            result.append(Facet(spec, buckets=histogram(query, spec, schema=schema, workspace=workspace)))
    return result


# ----------------------------------------------------------------------------------------------
# The plan


@dataclass
class FacetPlan:
    """What one facet pass reads and computes (see the module docstring)."""

    query: fl.Query
    specs: list[FieldSpec]
    facet_conditions: list[fl.Condition]  # the query's AND conditions on facet fields
    base: fl.Query  # everything else: scope, other conditions, the OR group
    scan: list[fl.Query] | None  # rows read: matching the base and one of these gates (None: the base)
    ranges: dict[str, HistogramRange | None] = field(default_factory=dict)  # histogram fields' buckets

    def gate(self, name: str | None) -> fl.Query:
        """The facet conditions but those on `name` (None: all of them, the result)."""
        return fl.Query(all=tuple(c for c in self.facet_conditions if c.field != name))


def plan_facets(query: fl.Query, *, schema: Schema, workspace) -> FacetPlan:
    """Which fields get which facet, the rows to read, and each histogram's buckets."""
    specs = [s for s in schema if fl.type_key(s) in OPTION_FAMILIES + HISTOGRAM_FAMILIES]
    names = {s.name for s in specs}
    facet_conditions = [c for c in query.all if not c.builtin and c.field in names]
    base = fl.Query(all=tuple(c for c in query.all if c not in facet_conditions), any=query.any, scope=query.scope)
    plan = FacetPlan(query, specs, facet_conditions, base, None)
    # Option counts are "under the other filters"; histograms show the current result. The rows read are
    # those matching the base and at least one gate (every gate when no option field is filtered).
    option_names = {s.name for s in specs if fl.type_key(s) in OPTION_FAMILIES}
    gated = sorted({c.field for c in facet_conditions if c.field in option_names})
    if not gated:
        plan.scan = [plan.gate(None)] if facet_conditions else None
    else:
        gates = [plan.gate(name) for name in gated]
        plan.scan = gates if all(g.all for g in gates) else None
    for spec in specs:
        if fl.type_key(spec) in HISTOGRAM_FAMILIES:
            plan.ranges[spec.name] = histogram_range(spec, workspace=workspace)
    return plan


def _flag(q) -> Case:
    """A boolean column: whether the row matches `q` (false, never NULL, when it does not)."""
    return Case(When(q, then=Value(True)), default=Value(False), output_field=models.BooleanField())


class JsonColumns:
    """Facet columns as Django expressions over ``items_item`` (the JSON path, both databases)."""

    cte = "MATERIALIZED"  # each JSON value is extracted once per row

    def __init__(self, plan: FacetPlan, *, schema: Schema, workspace):
        self.schema = schema
        qs = explorer_items(plan.base, schema=schema, workspace=workspace)
        if plan.scan:
            q = Q()
            for gate in plan.scan:
                q |= fl.filter_q(gate, schema=schema)
            qs = qs.filter(q)
        self.qs = qs

    def flag(self, condition: fl.Condition):
        return _flag(fl.condition_q(condition, schema=self.schema))

    def has(self, spec: FieldSpec, option: str):
        return self.flag(fl.Condition(spec.name, fl.HAS_ANY, (option,)))

    def value(self, spec: FieldSpec):
        return fl.FieldValue(spec)

    def bucket(self, spec: FieldSpec, hr: HistogramRange):
        return _json_bucket(spec, hr)

    def inner(self, columns: dict) -> tuple[str, tuple]:
        return self.qs.order_by().annotate(**columns).values(*columns).query.sql_with_params()


class ProjectionColumns:
    """Facet columns as SQL over the workspace's typed projection (see `explorer.projection`)."""

    # Typed columns are cheap to read again; inlined, each histogram's GROUP BY scans only the result's rows
    # through an index (Q6 facets: 82 ms against 122 materialised; no filter at 1,000,000 items: 1.6 s
    # against 1.8 s).
    cte = "NOT MATERIALIZED"

    def __init__(self, compiler: ProjectionCompiler, plan: FacetPlan):
        self.compiler = compiler
        # A bucket is only computed on the rows of the result (the histograms' rows): 10,000 rows instead of the
        # 73,000 the option counts read (Q6). A datetime's comes from its stored epoch, not from parsing its text.
        self.result = compiler.where(plan.gate(None))
        where, params = compiler.where(plan.base)
        if plan.scan:
            gates = [compiler.where(gate) for gate in plan.scan]
            where += " AND (" + " OR ".join(f"({sql})" for sql, _ in gates) + ")"
            params += [x for _, p in gates for x in p]
        self.where, self.params = where, params

    def flag(self, condition: fl.Condition):
        sql, params = self.compiler.condition(condition)
        return f"coalesce(({sql}), false)", params

    def has(self, spec: FieldSpec, option: str):
        return self.compiler.has(spec, option), []

    def value(self, spec: FieldSpec):
        return self.compiler.value(spec), []

    def bucket(self, spec: FieldSpec, hr: HistogramRange):
        value = self.compiler.epoch(spec) if hr.is_time else self.compiler.value(spec)
        result, params = self.result
        return bucket_sql(value, gate=result), [*params, hr.low, hr.width, hr.count - 1]

    def inner(self, columns: dict) -> tuple[str, list]:
        select = ", ".join(f"{sql} AS {name}" for name, (sql, _) in columns.items())
        params = [x for _, p in columns.values() for x in p]
        return f"SELECT {select} FROM {self.compiler.table} p WHERE {self.where}", params + self.params


def facet_backend(plan: FacetPlan, *, schema: Schema, workspace):
    """The projection's columns when it can answer every condition exactly, else the JSON's."""
    compiler = ProjectionCompiler.for_workspace(workspace, schema)
    if compiler is not None:
        try:
            return ProjectionColumns(compiler, plan)  # compiles every condition of the pass
        except NotProjected:
            pass
    return JsonColumns(plan, schema=schema, workspace=workspace)


# ----------------------------------------------------------------------------------------------
# Its execution


def run_facets(plan: FacetPlan, backend) -> Faceted:
    """Execute a plan over `backend`'s rows: one statement (and nothing when there is nothing to count)."""
    # One column per facet condition (true or false) and per facet value in the CTE (on the JSON path
    # materialised, so each is computed once per row); the option counts are then plain column tests in one
    # aggregate row, and each histogram one GROUP BY in the same statement. (Gating every value with `CASE WHEN
    # <conditions>` instead re-read the JSON once per condition and option: the facet pass over 73,000 rows took
    # 700 ms, most of it in those expressions.)
    columns: dict[str, Any] = {}
    condition_column: list[tuple[str, str]] = []  # (field, column) per facet condition
    for i, condition in enumerate(plan.facet_conditions):
        columns[f"c{i}"] = backend.flag(condition)
        condition_column.append((condition.field, f"c{i}"))

    def gate_sql(name: str | None) -> str:
        """SQL: the row counts for the facet of `name` (None: for a histogram, which shows the result)."""
        tests = [column for field_name, column in condition_column if name is None or field_name != name]
        return " AND ".join(tests) if tests else "1 = 1"

    counts: list[tuple[str, str, list]] = []  # (SQL condition, label, params) -> COUNT(CASE WHEN ...)
    keys: dict[str, tuple] = {}
    for n, spec in enumerate(plan.specs):
        family = fl.type_key(spec)
        gate_n = gate_sql(spec.name)
        if family == "multi_enum":
            for k, option in enumerate(spec.options):
                columns[f"m{n}_{k}"] = backend.has(spec, option)
                counts.append((f"{gate_n} AND m{n}_{k}", f"k{n}_{k}", []))
            keys[spec.name] = ("multi", n)
        elif family == "boolean":
            columns[f"v{n}"] = backend.value(spec)
            counts.append((f"{gate_n} AND v{n} IS NOT NULL AND v{n}", f"k{n}_t", []))
            counts.append((f"{gate_n} AND v{n} IS NOT NULL AND NOT v{n}", f"k{n}_f", []))
            keys[spec.name] = ("boolean", n)
        elif family in OPTION_FAMILIES:
            columns[f"v{n}"] = backend.value(spec)
            for k, option in enumerate(spec.options):
                counts.append((f"{gate_n} AND v{n} = %s", f"k{n}_{k}", [option]))
            keys[spec.name] = ("enum", n)
        elif plan.ranges.get(spec.name) is None:
            keys[spec.name] = ("empty", n)
        else:
            columns[f"b{n}"] = backend.bucket(spec, plan.ranges[spec.name])
            keys[spec.name] = ("bucket", n)
    # A histogram is one GROUP BY over the CTE, returned as the text "bucket:count,..." in the same row.
    concat = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    histograms = [
        (f"k{n}", f"(SELECT {concat}(CAST(b AS TEXT) || ':' || CAST(c AS TEXT), ',') FROM "
                  f"(SELECT b{n} AS b, COUNT(*) AS c FROM r WHERE {gate_sql(None)} AND b{n} IS NOT NULL GROUP BY b{n}) h)")
        for kind, n in keys.values() if kind == "bucket"
    ]
    tally: dict[str, int] = {}
    counts.append((gate_sql(None), "total", []))  # the result itself
    if counts or histograms:
        inner, params = backend.inner(columns)
        select = ", ".join(
            [f"COUNT(CASE WHEN {condition} THEN 1 END)" for condition, _, _ in counts] + [sql for _, sql in histograms]
        )
        sql = f"WITH r AS {backend.cte} ({inner}) SELECT {select} FROM r"
        with read_connection().cursor() as cursor:
            cursor.execute(sql, (*params, *(p for _, _, extra in counts for p in extra)))
            row = cursor.fetchone()
        tally = {label: value for (_, label, _), value in zip(counts, row[: len(counts)], strict=True)}
        for (label, _), text in zip(histograms, row[len(counts):], strict=True):
            for part in text.split(",") if text else ():
                bucket, tallied = part.split(":")
                tally[f"{label}_{bucket}"] = int(tallied)
    return Faceted(_assemble(plan, tally), tally.get("total"), tally)


# At most this many combinations of condition flags and option values for the grouped pass (else one aggregate
# per option and bucket), and histograms grouped together (their buckets' product: 21 ** 3 groups at most).
GROUPED_MAX_KEYS = 50_000
HISTOGRAMS_PER_GROUP = 3
HISTOGRAM_DIGIT = 32  # more than any histogram's buckets (HISTOGRAM_BUCKETS), plus one for "no value"


def run_grouped_facets(plan: FacetPlan, backend: ProjectionColumns) -> Faceted | None:
    """The projection's facet pass as GROUP BYs on small keys, in one statement: the rows read grouped by each
    facet condition's truth and each option field's stored value (enum code, boolean, multi-enum code array),
    then the result's rows by up to three histograms' buckets at a time. Each row costs a hash probe instead of
    one CASE per option and bucket, and the histograms share one scan: Q6 at 1,000,000 items 131 -> 75 ms.
    None when the option keys could combine into more than GROUPED_MAX_KEYS groups (many multi-enum options):
    `run_facets` then counts per option."""
    compiler = backend.compiler
    flags = [compiler.condition(c) for c in plan.facet_conditions]
    options = [(n, spec) for n, spec in enumerate(plan.specs) if fl.type_key(spec) in OPTION_FAMILIES]
    # An option field whose counts are under no condition at all (the query's only conditions are on it, over the
    # whole workspace: Q1, Q5, Q7) is counted by the count store, exactly, instead of by reading every item; the
    # pass then reads only the rows the other facets need (at ten million items, Q1's 2 M instead of 10 M).
    stored: dict[int, dict[int, int]] = {}
    where, where_params = backend.where, backend.params
    if counts.is_unfiltered(plan.base):
        unconditioned = [(n, spec) for n, spec in options if not plan.gate(spec.name).all]
        store = stored_counts(compiler.workspace.pk, compiler.schema) if unconditioned else None
        if store is not None:
            for n, spec in unconditioned:
                slot = store.slot(compiler.column(spec.name).name)
                if slot is not None:
                    stored[n] = store.keys(slot)
            options = [(n, spec) for n, spec in options if n not in stored]
            gates = [compiler.where(plan.gate(spec.name)) for _, spec in options]
            if any(not plan.gate(spec.name).all for _, spec in options):
                pass  # a field the store does not count needs every row: the pass reads them all as before
            elif stored and gates:  # the rows of the remaining option fields' gates (the result's are among them)
                where = "(" + " OR ".join(f"({sql})" for sql, _ in gates) + ")"
                where_params = [x for _, p in gates for x in p]
            elif stored:  # only the result's rows (histograms)
                where, where_params = backend.result
    bound = 2 ** len(flags)
    for _, spec in options:
        family = fl.type_key(spec)
        bound *= 3 if family == "boolean" else 2 ** len(spec.options) if family == "multi_enum" else len(spec.options) + 2
    if bound > GROUPED_MAX_KEYS:
        return None
    branches: list[tuple[str, list]] = []
    if options:
        names = [f"c{i}" for i in range(len(flags))] + [f"v{n}" for n, _ in options]
        select = [f"coalesce(({sql}), false) AS c{i}" for i, (sql, _) in enumerate(flags)]
        select += [f"p.{compiler.column(spec.name).name} AS v{n}" for n, spec in options]
        params = [x for _, p in flags for x in p] + list(where_params)
        branches.append((
            f"SELECT 0 AS part, json_build_array({', '.join(names)}) AS key, count(*) AS n FROM "
            f"(SELECT {', '.join(select)} FROM {compiler.table} p WHERE {where}) s GROUP BY {', '.join(names)}",
            params,
        ))
    histograms = [(n, spec) for n, spec in enumerate(plan.specs) if plan.ranges.get(spec.name) is not None
                  and fl.type_key(spec) in HISTOGRAM_FAMILIES]
    if any(plan.ranges[spec.name].count >= HISTOGRAM_DIGIT for _, spec in histograms):
        return None
    base, base_params = compiler.where(plan.base)
    result, result_params = backend.result
    for start in range(0, len(histograms), HISTOGRAMS_PER_GROUP):
        chunk = histograms[start: start + HISTOGRAMS_PER_GROUP]
        # One integer key, a digit of base HISTOGRAM_DIGIT a histogram (NULL: the digit's last value): the planner
        # then expects few groups and hashes them (given one column per histogram it expected 100,000 at ten
        # million items, sorted 100,000 rows and spilled the sort to disk).
        terms, params = [], []
        for digit, (_, spec) in enumerate(chunk):
            hr = plan.ranges[spec.name]
            value = compiler.epoch(spec) if hr.is_time else compiler.value(spec)
            bucket = bucket_sql(value)  # NULL, or below the range (never, the range being the values'): no bucket
            terms.append(f"(CASE WHEN {bucket} >= 0 THEN {bucket} ELSE {HISTOGRAM_DIGIT - 1} END) * {HISTOGRAM_DIGIT ** digit}")
            params += [hr.low, hr.width, hr.count - 1] * 2
        branches.append((
            f"SELECT {start // HISTOGRAMS_PER_GROUP + 1} AS part, json_build_array(h) AS key, count(*) AS n FROM "
            f"(SELECT {' + '.join(terms)} AS h FROM {compiler.table} p WHERE ({base}) AND ({result})) s GROUP BY h",
            params + base_params + result_params,
        ))
    tally: dict[str, int] = {}
    total = options_total = 0
    if branches:
        sql = " UNION ALL ".join(f"({branch})" for branch, _ in branches)
        reader = read_connection()
        with transaction.atomic(using=reader.alias), reader.cursor() as cursor:
            # The planner cannot know that a bucket or option key has few values and expects a group a row: it
            # then sorted the result's 100,000 rows at ten million items (250 ms) where hashing them takes 30.
            cursor.execute("SET LOCAL enable_sort = off")
            # A bitmap of a scattered result (Q4's 200,000 rows at ten million items) stays exact instead of lossy
            # (1.1 M rows rechecked under the default 4 MB: 1.5 s, 0.97 s with this).
            cursor.execute(f"SET LOCAL work_mem = '{int(settings.EXPLORER_FACETS_WORK_MEM_MB)}MB'")
            cursor.execute(sql, [x for _, p in branches for x in p])
            rows = cursor.fetchall()
        fields = [c.field for c in plan.facet_conditions]
        for part, key, count in rows:
            key = json.loads(key) if isinstance(key, str) else key
            if part == 0:
                truth, values = key[: len(flags)], key[len(flags):]
                _add_options(tally, [(n, spec) for n, spec in options], values, truth, fields, count)
            else:
                (code,) = key
                chunk = histograms[(part - 1) * HISTOGRAMS_PER_GROUP: part * HISTOGRAMS_PER_GROUP]
                for digit, (n, _) in enumerate(chunk):
                    bucket = code // HISTOGRAM_DIGIT ** digit % HISTOGRAM_DIGIT
                    if bucket != HISTOGRAM_DIGIT - 1:
                        tally[f"k{n}_{bucket}"] = tally.get(f"k{n}_{bucket}", 0) + count
                if part == 1:  # every row of the result is in one group of the first histograms' branch
                    total += count
            if part == 0 and all(key[: len(flags)]):
                options_total += count
    for n, keys in stored.items():  # as `stored_facets` reads them: an option's position, a boolean's 0 / 1
        spec = plan.specs[n]
        if fl.type_key(spec) == "boolean":
            tally[f"k{n}_t"], tally[f"k{n}_f"] = keys.get(1, 0), keys.get(0, 0)
        else:
            for k in range(len(spec.options)):
                tally[f"k{n}_{k}"] = keys.get(k + 1, 0)
    # The result's count: the option branch's rows whose conditions all hold, or the histogram branch's rows.
    return Faceted(_assemble(plan, tally), options_total if options else total if histograms else None, tally)


def _add_options(tally: dict[str, int], options: list[tuple[int, FieldSpec]], values, truth, fields: list[str],
                 count: int) -> None:
    """Add `count` to the tallies of the stored option `values` (enum code, boolean, multi-enum codes) of the
    option fields `options`, each under every facet condition (`truth`, on `fields`) but those on itself."""
    for (n, spec), value in zip(options, values, strict=True):
        if value is None or not all(t for t, f in zip(truth, fields, strict=True) if f != spec.name):
            continue
        family = fl.type_key(spec)
        if family == "boolean":
            labels = [f"k{n}_{'t' if value else 'f'}"]
        elif family == "multi_enum":
            labels = [f"k{n}_{code - 1}" for code in value]
        else:
            labels = [f"k{n}_{value - 1}"] if 1 <= value <= len(spec.options) else []
        for label in labels:
            tally[label] = tally.get(label, 0) + count


def _assemble(plan: FacetPlan, tally: dict[str, int]) -> list[Facet]:
    """The facets of `plan` from its tallies: ``k<n>_<k>`` the count of field n's option k (``_t`` / ``_f`` for a
    boolean's true and false), or of its histogram's bucket k."""
    result = []
    for n, spec in enumerate(plan.specs):
        family = fl.type_key(spec)
        active = _active(plan.query, spec)
        if family in ("multi_enum", "enum"):
            options = [OptionCount(o, o, tally.get(f"k{n}_{k}", 0), o in active) for k, o in enumerate(spec.options)]
            result.append(Facet(spec, options=options))
        elif family == "boolean":
            options = [OptionCount(f, "true" if f else "false", tally.get(f"k{n}_{'t' if f else 'f'}", 0), f in active)
                       for f in (True, False)]
            result.append(Facet(spec, options=options))
        elif plan.ranges.get(spec.name) is not None:
            hr = plan.ranges[spec.name]
            result.append(Facet(spec, buckets=hr.buckets({k: tally.get(f"k{n}_{k}", 0) for k in range(hr.count)})))
        else:
            result.append(Facet(spec, buckets=[]))
    return result


def stored_facets(plan: FacetPlan, *, schema: Schema, workspace) -> Faceted | None:
    """The facets of an unfiltered plan from the workspace's count store (`explorer.counts`): the option counts
    read as they are, each histogram from its fine bins plus a range count of the few bins a bucket boundary
    cuts. None when the store cannot answer (a condition or scope, not PostgreSQL, not built)."""
    if not counts.is_unfiltered(plan.query):
        return None
    store = stored_counts(workspace.pk, schema)
    if store is None:
        return None
    columns = {c.spec.name: c for c in columns_for(schema)}
    histograms: dict[str, counts.Histogram] = {}
    for spec in plan.specs:
        hr = plan.ranges.get(spec.name)
        if fl.type_key(spec) not in HISTOGRAM_FAMILIES or hr is None:
            continue
        slot = store.slot(columns[spec.name].name)
        histogram = counts.histogram(store, slot, hr.low, hr.width, hr.count) if slot is not None else None
        if histogram is None:
            return None
        histograms[spec.name] = histogram
    counts.count_edges(table_name(workspace.pk), list(histograms.values()))
    tally: dict[str, int] = {}  # labelled as `_assemble` reads them
    for n, spec in enumerate(plan.specs):
        family = fl.type_key(spec)
        if family in OPTION_FAMILIES:
            slot = store.slot(columns[spec.name].name)
            keys = store.keys(slot) if slot is not None else {}
            if family == "boolean":
                tally[f"k{n}_t"], tally[f"k{n}_f"] = keys.get(1, 0), keys.get(0, 0)
            else:
                tally.update({f"k{n}_{k}": keys.get(k + 1, 0) for k in range(len(spec.options))})
        elif spec.name in histograms:
            tally.update({f"k{n}_{b}": c for b, c in histograms[spec.name].rows.items()})
    return Faceted(_assemble(plan, tally), store.total, tally)


def facets(query: fl.Query, *, schema: Schema, workspace) -> list[Facet]:
    """Every declared field's facet: option counts (enum, multi enum, boolean) under the *other* active filters,
    or a histogram (numbers, datetimes) of the result; strings and links have none. Same results as
    `facets_per_field`, at the cost of one scan instead of one per field; the unfiltered explorer's from the
    count store, without a scan. Facets the projection alone decides are kept under its version
    (`explorer.cache`)."""
    plans: list[FacetPlan] = []

    def plan() -> dict:  # in the snapshot the kept facets are read in: their buckets are part of their key
        plans.append(plan_facets(query, schema=schema, workspace=workspace))
        return plans[0].ranges

    found = remember("facets", query, schema=schema, workspace=workspace, key=plan,
                     compute=lambda: _facets(query, schema=schema, workspace=workspace, plan=plans[0] if plans else None),
                     patch=lambda kept, delta: patch_facets(plans[0], kept, delta),
                     also=lambda found: {"count": found.total})  # the result's count, counted on the way
    return found.facets


@dataclass
class Faceted:
    """A facet pass's facets, the number of items in its result when the pass counted it, and the tallies the
    facets were assembled from (``k<n>_<k>``, see `_assemble`) when a change-log patch can move them."""

    facets: list[Facet]
    total: int | None = None
    tally: dict[str, int] | None = None


def patch_facets(plan: FacetPlan, kept: Faceted, delta: Delta) -> Faceted | None:
    """`kept` (the facets of `plan` in an earlier snapshot) moved by the change-log rows of `delta` (explorer.cache):
    each row adds its sign wherever the facet pass would have counted it. None: compute again."""
    if kept.tally is None:
        return None
    compiler = delta.compiler
    try:
        base, params = compiler.where(plan.base)
        flags = [compiler.condition(c) for c in plan.facet_conditions]
        options = [(n, spec, compiler.column(spec.name).name) for n, spec in enumerate(plan.specs)
                   if fl.type_key(spec) in OPTION_FAMILIES]
        histograms = [(n, plan.ranges[spec.name], compiler.epoch(spec) if plan.ranges[spec.name].is_time
                       else compiler.value(spec)) for n, spec in enumerate(plan.specs)
                      if fl.type_key(spec) in HISTOGRAM_FAMILIES and plan.ranges.get(spec.name) is not None]
    except NotProjected:
        return None
    keys = [f"coalesce(({base}), false)"] + [f"coalesce(({sql}), false)" for sql, _ in flags]
    keys += [f"p.{column}" for _, _, column in options] + [bucket_sql(value) for _, _, value in histograms]
    params = [*params, *(x for _, p in flags for x in p)]
    params += [x for _, hr, _ in histograms for x in (hr.low, hr.width, hr.count - 1)]
    with read_connection().cursor() as cursor:  # the rows summed by what decides where they count: few groups
        cursor.execute(f"SELECT sum(p.sign)::bigint, {', '.join(keys)} FROM {compiler.table} p WHERE {delta.where} "
                       f"GROUP BY {', '.join(str(n) for n in range(2, len(keys) + 2))}", [*params, *delta.params])
        rows = cursor.fetchall()
    tally, total = dict(kept.tally), kept.total
    fields = [c.field for c in plan.facet_conditions]
    width = len(flags)
    for row in rows:
        sign, matches, truth = row[0], row[1], row[2: 2 + width]
        if not matches:
            continue
        values, buckets = row[2 + width: 2 + width + len(options)], row[2 + width + len(options):]
        _add_options(tally, [(n, spec) for n, spec, _ in options], values, truth, fields, sign)
        if all(truth):  # the result: its histograms and its count
            for (n, _, _), bucket in zip(histograms, buckets, strict=True):
                if bucket is not None and bucket >= 0:
                    tally[f"k{n}_{bucket}"] = tally.get(f"k{n}_{bucket}", 0) + sign
            if total is not None:
                total += sign
    return Faceted(_assemble(plan, tally), total, tally)


def _facets(query: fl.Query, *, schema: Schema, workspace, plan: FacetPlan | None = None) -> Faceted:
    plan = plan or plan_facets(query, schema=schema, workspace=workspace)
    if not plan.specs:
        return Faceted([], tally={})
    stored = stored_facets(plan, schema=schema, workspace=workspace)
    if stored is not None:
        return stored
    backend = facet_backend(plan, schema=schema, workspace=workspace)
    if isinstance(backend, ProjectionColumns):
        grouped = run_grouped_facets(plan, backend)
        if grouped is not None:
            return grouped
    return run_facets(plan, backend)
