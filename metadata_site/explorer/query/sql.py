"""The SQL of the JSON path, per database: typed reads of ``items_item.client_metadata`` and the conditions on them.

Each expression says its SQL twice, the Django way: ``as_postgresql`` (JSONB, text in the "C" collation) and
``as_sqlite`` (JSON1); Django's compiler picks the one of the connection. The text helpers (`pg_value_sql`,
`sqlite_value_sql`, `sqlite_has_predicate`) are the expressions the workspace's indexes are built on
(`explorer/indexes.py`), so a filter and its index always say the same thing.

Conditions are Lookups (`Where`), so Django puts them in WHERE as they are: a bare conditional expression would
be compared with ``= true`` on SQLite, which hides it from indexes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import NotSupportedError, models
from django.db.models import F
from django.db.models.expressions import Expression
from django.db.models.lookups import Lookup

from metadata_site.schemas.fields import FieldSpec, FieldType

from .operators import CONTAINS, HAS_ALL, HAS_ANY, IN, SQL_COMPARISONS, type_key

# ----------------------------------------------------------------------------------------------
# SQL text


def sql_literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards and escape character escaped (backslash), to match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(text: str) -> str:
    """The LIKE pattern of "contains `text`"."""
    return f"%{like_escape(text)}%"


def pg_value_sql(column: str, spec: FieldSpec) -> str:
    """PostgreSQL expression: the field's value when it has the declared type, else NULL.

    Text is compared in the "C" collation (code-point order, the same as SQLite and Python).
    Returned without %-escaping: callers that pass it through a parametrised query escape ``%``.
    """
    key = sql_literal(spec.name)
    raw = f"({column} -> {key})"
    family = type_key(spec)
    if family in ("float", "integer"):
        return f"(CASE WHEN jsonb_typeof{raw} = 'number' THEN ({column} ->> {key})::double precision END)"
    if family == "boolean":
        return f"(CASE WHEN jsonb_typeof{raw} = 'boolean' THEN ({column} ->> {key})::boolean END)"
    if family == "multi_enum":
        return f"(CASE WHEN jsonb_typeof{raw} = 'array' THEN {raw} END)"
    return f"(CASE WHEN jsonb_typeof{raw} = 'string' THEN ({column} ->> {key}) END) COLLATE \"C\""


def sqlite_path(name: str) -> str:
    """The JSON path of a key, as an SQL literal: a quoted label, so dots and spaces are part of the key."""
    return sql_literal('$."' + name.replace('"', '""') + '"')


def sqlite_value_sql(column: str, spec: FieldSpec) -> str:
    """SQLite expression: the field's value when it has the declared type, else NULL (arrays as JSON text)."""
    path = sqlite_path(spec.name)
    jtype = f"json_type({column}, {path})"
    family = type_key(spec)
    if family in ("float", "integer"):
        return f"(CASE WHEN {jtype} IN ('integer', 'real') THEN json_extract({column}, {path}) END)"
    if family == "boolean":
        return f"(CASE {jtype} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
    if family == "multi_enum":
        return f"(CASE WHEN {jtype} = 'array' THEN json_extract({column}, {path}) END)"
    return f"(CASE WHEN {jtype} = 'text' THEN json_extract({column}, {path}) END)"


_HINTABLE = re.compile(r"^[A-Za-z0-9 _.:/+-]+$")
_PLAIN_TEXT = re.compile(r"^[A-Za-z0-9 _.:+-]+$")


def hintable(option: str) -> bool:
    """Options JSON writes the same way everywhere (no escapes), so a text test is exact."""
    return bool(_HINTABLE.match(option))


def sqlite_element_test(column: str, spec: FieldSpec, option: str) -> str:
    """SQLite: the array's minified JSON text holds `option` as an element (exact for a `hintable` option)."""
    text = f"json_extract({column}, {sqlite_path(spec.name)})"
    quoted = json.dumps(option)
    patterns = [f"[{quoted}]", f"[{quoted},", f",{quoted},", f",{quoted}]"]
    return "(" + " OR ".join(f"instr({text}, {sql_literal(p)}) > 0" for p in patterns) + ")"


def sqlite_has_predicate(column: str, spec: FieldSpec, option: str) -> str | None:
    """SQLite: "the multi enum holds `option`" as the predicate of a partial index, or None."""
    if not hintable(option):
        return None
    return f"json_type({column}, {sqlite_path(spec.name)}) = 'array' AND {sqlite_element_test(column, spec, option)}"


def bucket_sql(value: str, *, gate: str | None = None) -> str:
    """PostgreSQL: the histogram bucket of `value` (params after `value`'s: low, width, the last bucket's number),
    for the JSON path and the projection alike. Bucket n holds [low + n*width, low + (n+1)*width), the highest
    value goes to the last one; an unset value (or a row failing `gate`) stays NULL (least() ignores NULLs, so
    the test is spelled out)."""
    test = f"({gate}) AND {value} IS NOT NULL" if gate else f"({value}) IS NOT NULL"
    return f"(CASE WHEN {test} THEN least(floor((({value}) - %s) / %s)::integer, %s) END)"


# ----------------------------------------------------------------------------------------------
# Values

_OUTPUT = {
    "float": models.FloatField,
    "integer": models.FloatField,
    "boolean": models.BooleanField,
    "multi_enum": models.JSONField,
}


class _VendorExpression(Expression):
    """An expression with one source, SQL per vendor (``as_postgresql`` / ``as_sqlite``)."""

    def __init__(self, source, output_field=None):
        super().__init__(output_field=output_field)
        self.source = source

    def get_source_expressions(self):
        return [self.source]

    def set_source_expressions(self, exprs):
        (self.source,) = exprs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"{type(self).__name__} supports PostgreSQL and SQLite only")


class FieldValue(_VendorExpression):
    """The typed value of a declared field (NULL when unset). Use in filters, order_by and aggregates."""

    def __init__(self, spec: FieldSpec, column: str = "client_metadata"):
        super().__init__(F(column), output_field=_OUTPUT.get(type_key(spec), models.TextField)())
        self.spec = spec

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.source)
        return pg_value_sql(col, self.spec).replace("%", "%%"), params

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.source)
        return sqlite_value_sql(col, self.spec).replace("%", "%%"), params

    def __repr__(self) -> str:
        return f"FieldValue({self.spec.name!r})"

    @property
    def identity(self):
        return (self.__class__, self.spec, str(self.source))

    def __eq__(self, other):
        return isinstance(other, FieldValue) and other.spec == self.spec

    def __hash__(self):
        return hash((self.__class__, self.spec))


def field_expression(spec: FieldSpec) -> FieldValue:
    return FieldValue(spec)


class Epoch(_VendorExpression):
    """Seconds since 1970 of a datetime field's text value."""

    output_field = models.FloatField()

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.source)
        return f"extract(epoch from ({sql})::timestamptz)::double precision", params

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.source)
        return f"CAST(strftime('%%s', {sql}) AS REAL)", params


class HistogramBucket(_VendorExpression):
    """The histogram bucket of a value (`bucket_sql`)."""

    output_field = models.IntegerField()

    def __init__(self, source, low: float, width: float, buckets: int):
        super().__init__(source)
        self.low, self.width, self.buckets = low, width, buckets

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.source)
        # least() ignores NULLs: bucket_sql keeps an unset value NULL instead of the last bucket.
        return bucket_sql(sql), (*params, *params, self.low, self.width, self.buckets - 1)

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.source)
        # SQLite's min() of a NULL is NULL, and a value is never below low: a cast truncates as floor would.
        return f"min(CAST((({sql}) - %s) / %s AS INTEGER), %s)", (*params, self.low, self.width, self.buckets - 1)


# ----------------------------------------------------------------------------------------------
# Conditions


class Where(Lookup):
    """A WHERE condition with per-vendor SQL (see the module docstring)."""

    prepare_rhs = False
    can_use_none_as_rhs = True
    output_field = models.BooleanField()

    def __init__(self, lhs, rhs=None):
        super().__init__(lhs, rhs)

    @property
    def expr(self):
        return self.lhs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"{type(self).__name__} supports PostgreSQL and SQLite only")


class Compare(Where):
    """``expr <op> value`` / ``expr IN (...)``; NULL (unset) never matches. The same SQL on both databases."""

    def __init__(self, expr, op: str, value: Any):
        super().__init__(expr, (op, value))
        self.op, self.value = op, value

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        if self.op == IN:
            # OR of equalities, not IN (...): PostgreSQL matches each to an option's partial index.
            sql_or = " OR ".join([f"{sql} = %s"] * len(self.value))
            return f"({sql_or})", tuple(x for v in self.value for x in (*params, v))
        return f"{sql} {SQL_COMPARISONS[self.op]} %s", (*params, self.value)


class IsNull(Where):
    """``expr IS NULL`` (unset), or with `negated` ``IS NOT NULL`` (set)."""

    def __init__(self, expr, negated: bool = False):
        super().__init__(expr, negated)
        self.negated = negated

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        return f"{sql} IS {'NOT ' if self.negated else ''}NULL", params


def not_null(expr) -> IsNull:
    """``expr IS NOT NULL``: the field is set."""
    return IsNull(expr, negated=True)


class BoolIs(Where):
    """A boolean field compared with a literal, so PostgreSQL can match per-value partial indexes."""

    def __init__(self, expr, wanted: bool):
        super().__init__(expr, wanted)
        self.wanted = wanted

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        return f"{sql} = {'true' if self.wanted else 'false'}", params

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        return f"{sql} = {1 if self.wanted else 0}", params


class Startswith(Where):
    """Case-sensitive prefix of a text value."""

    def __init__(self, expr, value: str):
        super().__init__(expr, value)
        self.value = value

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        # LIKE 'prefix%' in the C collation: usable by the field's B-tree and trigram indexes.
        return f"{sql} LIKE %s", (*params, like_escape(self.value) + "%")

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        return f"substr({sql}, 1, %s) = %s", (*params, len(self.value), self.value)


class TitleContains(Where):
    """The item's title contains a text, ASCII letters case-insensitive."""

    def __init__(self, value: str):
        super().__init__(F("title"), value)
        self.value = value

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        # The C collation folds ASCII letters only, as SQLite's LIKE does.
        return f"{col} COLLATE \"C\" ILIKE %s", (*params, like_pattern(self.value))

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        return f"{col} LIKE %s ESCAPE '\\'", (*params, like_pattern(self.value))


class TitleStartswith(Where):
    def __init__(self, value: str):
        super().__init__(F("title"), value)
        self.value = value

    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        return f"substr({col}, 1, %s) = %s", (*params, len(self.value), self.value)


class TextContains(Where):
    """A string field's value contains a text, ASCII letters case-insensitive."""

    def __init__(self, spec: FieldSpec, value: str):
        super().__init__(F("client_metadata"), (spec.name, CONTAINS, value))
        self.spec, self.value = spec, value

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        expr = pg_value_sql(col, self.spec).replace("%", "%%")
        return f"{expr} ILIKE %s", (*params, like_pattern(self.value))

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        expr = sqlite_value_sql(col, self.spec).replace("%", "%%")
        if _PLAIN_TEXT.match(self.value):
            # JSON writes such a needle verbatim, so the raw document must contain it: a cheap
            # LIKE over the text rejects most rows before the JSON is parsed.
            return f"({col} LIKE %s ESCAPE '\\' AND {expr} LIKE %s ESCAPE '\\')", (*params, *[like_pattern(self.value)] * 2)
        return f"{expr} LIKE %s ESCAPE '\\'", (*params, like_pattern(self.value))

    def __repr__(self) -> str:
        return f"TextContains({self.spec.name!r})"


class HasOptions(Where):
    """A multi enum holds any / all / none of some options (`op`: has_any, has_all, has_none)."""

    def __init__(self, spec: FieldSpec, op: str, value: tuple):
        super().__init__(F("client_metadata"), (spec.name, op, value))
        self.spec, self.op, self.value = spec, op, value

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        op, value = self.op, self.value
        raw = f"({col} -> {sql_literal(self.spec.name).replace('%', '%%')})"
        if op == HAS_ALL:
            return f"{raw} @> %s::jsonb", (*params, json.dumps(list(value)))
        anyof = " OR ".join(f"{raw} @> %s::jsonb" for _ in value)
        ones = [json.dumps([v]) for v in value]
        if op == HAS_ANY:
            return f"({anyof})", (*params, *ones)
        # has_none: an array holding none of them
        return f"(jsonb_typeof{raw} = 'array' AND NOT ({anyof}))", (*params, *ones)

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        spec, op, value = self.spec, self.op, self.value
        path = sqlite_path(spec.name).replace("%", "%%")
        is_array = f"json_type({col}, {path}) = 'array'"
        if all(hintable(v) for v in value):
            # Exact test on the array's minified JSON text (see sqlite_element_test); for one
            # option it is, term for term, the predicate of that option's partial index.
            exact = [sqlite_element_test(col, spec, v).replace("%", "%%") for v in value]
            if op == HAS_ANY:
                return f"({is_array} AND ({' OR '.join(exact)}))", params
            if op == HAS_ALL:
                return f"({is_array} AND {' AND '.join(exact)})", params
            return f"({is_array} AND NOT ({' OR '.join(exact)}))", params
        marks = ", ".join(["%s"] * len(value))
        matching = f"SELECT value FROM json_each({col}, {path}) WHERE json_each.type = 'text' AND json_each.value IN ({marks})"
        if op == HAS_ANY:
            return f"({is_array} AND EXISTS ({matching}))", (*params, *value)
        if op == HAS_ALL:
            count = f"(SELECT COUNT(DISTINCT value) FROM ({matching})) = {len(value)}"
            return f"({is_array} AND {count})", (*params, *value)
        return f"({is_array} AND NOT EXISTS ({matching}))", (*params, *value)

    def __repr__(self) -> str:
        return f"HasOptions({self.spec.name!r}, {self.op!r})"


class KeyPresent(Where):
    """The key is present with a non-null value (any JSON type); with `negated`, absent or null."""

    def __init__(self, key: str, negated: bool = False):
        super().__init__(F("client_metadata"), (key, negated))
        self.key, self.negated = key, negated

    def _test(self, jtype: str) -> str:
        return f"COALESCE({jtype}, 'null') {'=' if self.negated else '<>'} 'null'".replace("%", "%%")

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        return self._test(f"jsonb_typeof({col} -> {sql_literal(self.key)})"), params

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.expr)
        return self._test(f"json_type({col}, {sqlite_path(self.key)})"), params


class RowCompare(Where):
    """``(expr, id) > (value, pk)`` (or ``<``): the keyset condition, a range B-tree indexes can seek to."""

    def __init__(self, expr, value, pk: int, descending: bool):
        super().__init__(expr, F("id"))
        self.value, self.pk, self.descending = value, pk, descending

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        id_sql, id_params = compiler.compile(self.rhs)
        strict = "<" if self.descending else ">"
        # Spelled out rather than as a row comparison: SQLite cannot seek an expression index with
        # a row value, while `value <= v` is a range both databases seek to.
        return (
            f"({sql} {strict}= %s AND ({sql} {strict} %s OR {id_sql} {strict} %s))",
            (*params, self.value, *params, self.value, *id_params, self.pk),
        )


def text_spec(name: str) -> FieldSpec:
    """A string reading of a key (an undeclared key's text value)."""
    return FieldSpec(name, FieldType.STRING)
