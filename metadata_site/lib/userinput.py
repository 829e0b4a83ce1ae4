"""Values from a user's text that Python's own parsers get wrong at the edges.

- Integers: `int()` and `str.isdigit()` accept digits of every script (`int("٣")` is 3, and `"²".isdigit()` is
  True while `int("²")` raises), so a request string goes to `parse_int` / `parse_id` (ASCII digits only, ids that
  fit a 64-bit column), never to them directly.
- Datetimes: `0001-01-01T00:00:00+01:00` is a valid datetime whose UTC instant is in year 0, which `astimezone`
  cannot represent (OverflowError): `to_utc` says None instead.
"""

import re
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError

MAX_ID_DIGITS = 18  # every 18-digit number fits a signed 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER)

_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")


def parse_int(text: object, *, signed: bool = False, max_digits: int | None = MAX_ID_DIGITS) -> int | None:
    """The integer that `text` spells in ASCII digits (with a sign if `signed`), or None for anything else,
    including more than `max_digits` digits (None: no limit)."""
    if not isinstance(text, str) or not (_SIGNED if signed else _UNSIGNED).fullmatch(text):
        return None
    if max_digits is not None and len(text.lstrip("+-")) > max_digits:
        return None
    return int(text)


def parse_id(text: object) -> int | None:
    """A positive database id written in ASCII digits, or None."""
    value = parse_int(text)
    return value if value else None


def to_utc(value: datetime) -> datetime | None:
    """`value` (aware) in UTC, or None when that instant falls outside the years 1 to 9999."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


class AsciiIntegerField(forms.IntegerField):
    """Django's IntegerField, read with `parse_int`: ASCII digits only, at most 18 of them (so it fits the
    database), no sign. For ids and versions in forms."""

    default_error_messages = {"invalid": "Enter a whole number in the digits 0-9 (at most 18 of them)."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        parsed = parse_int(str(value).strip())
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed
