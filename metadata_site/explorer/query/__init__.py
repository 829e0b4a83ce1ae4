"""THE filter language of metadata_site: the explorer's query and its compilers.

The explorer page, the API and collections all use this module; nothing else turns request input
into item queries.

Query-string form (explorer URLs and ``GET /api/.../items``)::

    f=<field>:<op>:<value>      a condition; repeated conditions combine with AND
    any=<field>:<op>:<value>    a condition of the OR group: at least one of them must hold
    scope=folder:<id> | dataset:<id> | collection:<id>     (absent: the whole workspace)
    sort=<field> | -<field>     a declared field or ``title``; ``-`` sorts descending
    after=<cursor>              keyset cursor: the page after this one (see `page_items`)

Values are URL-encoded; a list is comma-separated (``in``, ``has_*``), a range is ``<low>..<high>``
(``between``, inclusive at both ends); ``is_set``/``is_unset`` take no value (``f=camera:is_set``).

JSON form (the API's POST search; collections store it)::

    {"all": [{"field": "weather", "op": "in", "value": ["Sunny", "Rain"]},
             {"field": "temperature", "op": "between", "value": [10, 20]}],
     "any": [{"field": "dark", "op": "eq", "value": true}, ...],
     "scope": "folder:12",
     "sort": "-captured_at"}

Every key is optional. ``value`` may be given typed (numbers, booleans, lists) or as the same
strings the query string uses.

Limits (a 400 naming the parameter past them; they bound the work one request can ask of the database):
at most 50 conditions in ``f`` / ``all`` and 50 in ``any``, at most 100 values in a list, and a value of at
most 1,000 characters (a list's values together, as written in the query string); a field name or undeclared key
is at most 200 characters (`parsing.resolve_field`, the one check of it).

Fields: every field the workspace schema declares, any *undeclared* key of the metadata (see below),
plus the built-ins ``title`` (string ops),
``kind`` (``eq``/``ne``/``in`` over image, video, image_group, frame), ``dataset`` and
``collection`` (``eq``/``in`` with ids: membership), ``frame_of`` (``eq``/``in`` with item uids: the
frames of an image group, the keyframe items of a video), ``$map`` (``box`` with
``<embedding field>/<method>/<x0>,<y0>,<x1>,<y1>``: the items whose point on that embedding map lies in the box,
edges included; see `media.embedding_map`). A declared field whose name is also a
built-in is addressed as ``meta.<name>``.

Meaning (defined once, in plain Python, by `query.reference`):
- a field is *set* when the item's metadata holds a value of the field's declared type (a number
  for float/integer, true/false for boolean, a string for string/link/datetime/enum, a list for a
  multi enum); a missing key, null, or a value of another type is *unset*;
- every operator except ``is_unset`` matches only items where the field is set;
- ``contains`` is case-insensitive (ASCII letters), ``eq``/``startswith`` are case-sensitive;
- datetimes are compared in UTC at second precision (values are stored as ``YYYY-MM-DDTHH:MM:SSZ``);
  a date without a time (``2024-06-30``) means that whole day: ``eq`` finds the day's items, ``lte`` and the
  upper end of ``between`` include it, ``gt`` and ``lt`` exclude it (`datetime_terms`);
- sorting puts items where the field is unset last, in both directions; ties break by item id.

Undeclared keys (metadata that arrived before a schema): a name that is neither declared nor a
built-in filters the raw JSON value of that key, whatever its type, with ``eq ne in`` (the value
equals the text given: a string equal to it, a number equal to it when it is a JSON number, true or
false when it is ``true``/``false``; ``ne`` matches other strings, numbers and booleans), ``contains``
and ``startswith`` (strings only), ``lt lte gt gte between`` (numbers only; the value must be a
number) and ``is_set``/``is_unset`` (present and not null). These read every item's JSON (no
index); declaring the field makes them fast.

Modules (each says what it is; callers import this package, ``from metadata_site.explorer import query as fl``):
    errors      FilterError, its messages and the limits
    operators   operators, field families, built-in and media fields
    objects     Condition, Scope, Sort, Query (to_params / to_json write them back), describe
    values      parse_filter_value (a raw value -> its typed value), datetime_terms (what a datetime condition means)
    parsing     parse_query_string, parse_json, make_condition, parse_condition, parse_scope, parse_sort
    compiler    Compiler (the interface) and JsonCompiler (a Q over the JSON; condition_q, filter_q)
    sql         the JSON path's SQL per database (as_postgresql / as_sqlite), the expressions indexes are built on
    scopes      ScopeResolver (folders, datasets, frozen and live collections), filter_items, items_matching
    paging      sort_expression, the cursor codec, page_items, neighbours
    reference   ReferenceCompiler and evaluate: the meaning, in Python
The typed projection's compiler is `explorer.projection.ProjectionCompiler`; facets are planned and run by
`explorer.facets`.
"""

from __future__ import annotations

from .compiler import (
    Compiler,
    JsonCompiler,
    condition_q,
    filter_q,
    media_expression,
)
from .errors import (
    FILTER_BAD_CURSOR,
    FILTER_BAD_JSON,
    FILTER_BAD_KEY,
    FILTER_BAD_OPERATOR,
    FILTER_BAD_OPTION,
    FILTER_BAD_RANGE,
    FILTER_BAD_SCOPE,
    FILTER_BAD_SORT,
    FILTER_BAD_VALUE,
    FILTER_EMPTY_RANGE,
    FILTER_MALFORMED,
    FILTER_NEEDS_VALUE,
    FILTER_NO_VALUE,
    FILTER_TOO_MANY,
    FILTER_UNKNOWN_FIELD,
    FILTER_VALUE_TOO_LONG,
    MAX_CONDITIONS,
    MAX_KEY_LENGTH,
    MAX_LIST,
    MAX_SCOPE_DEPTH,
    MAX_VALUE_LENGTH,
    SCOPE_NOT_FOUND,
    SCOPE_TOO_DEEP,
    FilterError,
)
from .objects import (
    Condition,
    Query,
    Scope,
    Sort,
    conditions_for,
    describe,
    format_scalar,
    format_value,
)
from .operators import (
    BETWEEN,
    BOX,
    BUILTINS,
    CONTAINS,
    DUP_ROLE,
    DUP_ROLES,
    EQ,
    GT,
    GTE,
    HAS_ALL,
    HAS_ANY,
    HAS_NONE,
    IN,
    IS_SET,
    IS_UNSET,
    LIST_OPS,
    LT,
    LTE,
    MAP_FIELD,
    MAP_METHODS,
    MEDIA_FIELDS,
    MEDIA_SORT_LABELS,
    META_PREFIX,
    NE,
    NO_VALUE_OPS,
    OPERATORS,
    STARTSWITH,
    UNDECLARED,
    operators_for,
    type_key,
)
from .paging import (
    ItemPage,
    Neighbours,
    decode_cursor,
    encode_cursor,
    neighbours,
    page_items,
    sort_expression,
)
from .parsing import (
    make_condition,
    parse_condition,
    parse_json,
    parse_query_string,
    parse_scope,
    parse_sort,
    stored_query,
)
from .scopes import (
    ScopeResolver,
    filter_items,
    items_matching,
    scope_q,
)
from .sql import (
    FieldValue,
    field_expression,
    like_escape,
    pg_value_sql,
    sqlite_has_predicate,
    sqlite_value_sql,
)
from .values import (
    datetime_terms,
    filter_datetime,
    is_day,
    normalize_datetime,
    parse_filter_value,
    undeclared_number,
)

__all__ = [
    "BETWEEN",
    "BOX",
    "BUILTINS",
    "CONTAINS",
    "Compiler",
    "Condition",
    "EQ",
    "FILTER_BAD_CURSOR",
    "FILTER_BAD_JSON",
    "FILTER_BAD_KEY",
    "FILTER_BAD_OPERATOR",
    "FILTER_BAD_OPTION",
    "FILTER_BAD_RANGE",
    "FILTER_BAD_SCOPE",
    "FILTER_BAD_SORT",
    "FILTER_BAD_VALUE",
    "FILTER_EMPTY_RANGE",
    "FILTER_MALFORMED",
    "FILTER_NEEDS_VALUE",
    "FILTER_NO_VALUE",
    "FILTER_TOO_MANY",
    "FILTER_UNKNOWN_FIELD",
    "FILTER_VALUE_TOO_LONG",
    "FieldValue",
    "FilterError",
    "GT",
    "GTE",
    "HAS_ALL",
    "HAS_ANY",
    "HAS_NONE",
    "IN",
    "IS_SET",
    "IS_UNSET",
    "ItemPage",
    "JsonCompiler",
    "LIST_OPS",
    "LT",
    "LTE",
    "MAX_CONDITIONS",
    "MAX_KEY_LENGTH",
    "MAX_LIST",
    "MAX_SCOPE_DEPTH",
    "MAP_FIELD",
    "MAP_METHODS",
    "MAX_VALUE_LENGTH",
    "DUP_ROLE",
    "DUP_ROLES",
    "MEDIA_FIELDS",
    "MEDIA_SORT_LABELS",
    "META_PREFIX",
    "NE",
    "NO_VALUE_OPS",
    "Neighbours",
    "OPERATORS",
    "Query",
    "SCOPE_NOT_FOUND",
    "SCOPE_TOO_DEEP",
    "STARTSWITH",
    "Scope",
    "ScopeResolver",
    "Sort",
    "UNDECLARED",
    "condition_q",
    "conditions_for",
    "datetime_terms",
    "decode_cursor",
    "describe",
    "encode_cursor",
    "field_expression",
    "filter_datetime",
    "filter_items",
    "filter_q",
    "format_scalar",
    "format_value",
    "is_day",
    "items_matching",
    "like_escape",
    "make_condition",
    "media_expression",
    "neighbours",
    "normalize_datetime",
    "operators_for",
    "page_items",
    "parse_condition",
    "parse_filter_value",
    "parse_json",
    "parse_query_string",
    "parse_scope",
    "parse_sort",
    "pg_value_sql",
    "scope_q",
    "sort_expression",
    "sqlite_has_predicate",
    "sqlite_value_sql",
    "stored_query",
    "type_key",
    "undeclared_number",
]
