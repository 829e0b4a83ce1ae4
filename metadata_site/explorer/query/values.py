"""Filter values: text (or JSON) to the typed value of a field family, and what a datetime value means.

`parse_filter_value` is the one function that turns a filter's raw value into a typed one; the parser calls it
for every value. Numbers and booleans written as text read as they do everywhere (`schemas.values`: the same words
for true and false, the same number syntax as forms and CSV cells); the filter's own messages stay here.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from metadata_site.items.models import ItemKind
from metadata_site.lib.userinput import to_utc
from metadata_site.schemas.fields import FieldSpec
from metadata_site.schemas.validation import FieldValueError
from metadata_site.schemas.values import parse_boolean, parse_integer, parse_number

from .errors import FILTER_BAD_OPTION, FILTER_BAD_VALUE, FilterError
from .objects import format_scalar
from .operators import BETWEEN, DUP_ROLES, EQ, GT, GTE, LT, LTE, NE, UNDECLARED

EXPECTED = {
    "float": "a number",
    "integer": "an integer",
    "datetime": "an ISO 8601 date or datetime (UTC when no offset)",
    "boolean": "true or false",
    "string": "a string",
    "link": "a string",
    "enum": "one of the options",
    "multi_enum": "options",
    "title": "a string",
    "kind": "an item kind",
    "membership": "an id",
    "item": "an item's media id (a UUID)",
    "undeclared": "a value",
    "undeclared_number": "a number (an undeclared key compares numbers only)",
    "media_text": "a string",
    "dup_role": "representative or copy",
}


def bad_value(param: str, name: str, family: str, raw: Any) -> FilterError:
    return FilterError(FILTER_BAD_VALUE.format(param=param, field=name, expected=EXPECTED[family], raw=raw), param=param)


def normalize_datetime(raw: Any) -> str | None:
    """An ISO 8601 date/datetime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, or None when it is not one."""
    if isinstance(raw, datetime):
        dt = raw
    elif isinstance(raw, date):
        dt = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    utc = to_utc(dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC))
    return None if utc is None else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def filter_datetime(raw: Any) -> str | None:
    """A datetime filter value: a date without a time stays a date (``YYYY-MM-DD``, the whole day), anything else
    is `normalize_datetime`'d; None when it is neither."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw.isoformat()
    if isinstance(raw, str) and _DATE_ONLY.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            return None
    return normalize_datetime(raw)


def is_day(value: Any) -> bool:
    """A datetime filter value that is a whole day (a date without a time)."""
    return isinstance(value, str) and len(value) == 10


def day_after(day: str) -> str:
    try:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    except OverflowError:  # 9999-12-31: any text of that day sorts below this one
        return "9999-13"


def datetime_terms(op: str, value: Any) -> tuple[bool, list[tuple[str, str]]]:
    """A datetime condition as comparisons of the stored text (``any``, [(op, bound), ...]): all must hold, or
    with ``any`` one of them. A day D is the texts from ``D`` (inclusive) to the next day (exclusive), which is
    every stored time of that day, fractions of a second included. Every compiler (both databases' JSON, the
    projection, the reference evaluator) reads a datetime condition through this one function."""
    if op == BETWEEN:
        low, high = value
        return False, [(GTE, low), (LT, day_after(high)) if is_day(high) else (LTE, high)]
    if not is_day(value):
        return False, [(op, value)]
    after = day_after(value)
    return {
        EQ: (False, [(GTE, value), (LT, after)]),
        NE: (True, [(LT, value), (GTE, after)]),
        LT: (False, [(LT, value)]),
        LTE: (False, [(LT, after)]),
        GT: (False, [(GTE, after)]),
        GTE: (False, [(GTE, value)]),
    }[op]


def empty_range(family: str, low: Any, high: Any) -> bool:
    if family == "datetime" and is_day(high):
        return low >= day_after(high)
    return low > high


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def undeclared_number(text: str) -> float | None:
    """The number a filter text means for an undeclared key (JSON number syntax, finite), or None."""
    if not _JSON_NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_filter_value(family: str, raw: Any, *, param: str, name: str, spec: FieldSpec | None) -> Any:
    """The typed value of one raw filter value (text from a URL, or JSON) for a field of `family`; FilterError
    naming `param` and the field `name` when it is not one."""
    if family in ("float", "integer"):
        if isinstance(raw, bool):
            raise bad_value(param, name, family, raw)
        if isinstance(raw, str):  # text reads as everywhere else (`schemas.values`, the one reading per type)
            try:
                return parse_integer(raw) if family == "integer" else parse_number(raw)
            except FieldValueError:
                raise bad_value(param, name, family, raw) from None
        if not isinstance(raw, int | float) or not math.isfinite(raw):
            raise bad_value(param, name, family, raw)
        if family == "integer":
            if float(raw) != int(raw):
                raise bad_value(param, name, family, raw)
            return int(raw)
        return float(raw)
    if family == "datetime":
        value = filter_datetime(raw)
        if value is None:
            raise bad_value(param, name, family, raw)
        return value
    if family == "boolean":
        if isinstance(raw, bool):
            return raw
        try:
            return parse_boolean(str(raw))
        except FieldValueError:
            raise bad_value(param, name, family, raw) from None
    if family in ("enum", "multi_enum"):
        if not isinstance(raw, str) or raw not in spec.options:
            raise FilterError(
                FILTER_BAD_OPTION.format(param=param, value=raw, field=name, options=", ".join(spec.options)), param=param
            )
        return raw
    if family == "kind":
        if raw not in ItemKind.values:
            raise FilterError(
                FILTER_BAD_OPTION.format(param=param, value=raw, field=name, options=", ".join(ItemKind.values)),
                param=param,
            )
        return raw
    if family == "dup_role":
        if raw not in DUP_ROLES:
            raise FilterError(
                FILTER_BAD_OPTION.format(param=param, value=raw, field=name, options=", ".join(DUP_ROLES)), param=param
            )
        return raw
    if family == UNDECLARED:
        return _undeclared_text(raw, param=param, name=name)
    if family == "undeclared_number":
        if isinstance(raw, bool) or (isinstance(raw, str) and undeclared_number(raw) is None):
            raise bad_value(param, name, family, raw)
        return parse_filter_value("float", raw, param=param, name=name, spec=None)
    if family == "item":
        try:
            return str(uuid.UUID(str(raw).strip()))
        except ValueError:
            raise bad_value(param, name, family, raw) from None
    if family == "membership":
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise bad_value(param, name, family, raw) from None
        if number <= 0:
            raise bad_value(param, name, family, raw)
        return number
    # string, link, title, media_text
    if not isinstance(raw, str) or raw == "":
        raise bad_value(param, name, family, raw)
    return raw


def _undeclared_text(raw: Any, *, param: str, name: str) -> str:
    """An undeclared key's equality/text value as text: JSON numbers and booleans as they print."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise bad_value(param, name, UNDECLARED, raw)
        return format_scalar(raw)
    if not isinstance(raw, str) or raw == "":
        raise bad_value(param, name, UNDECLARED, raw)
    return raw
