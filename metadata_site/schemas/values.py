"""Text to a typed value: the one reading of what a person or a file writes for a field (no ORM).

Every path that receives a field's value as text goes through `parse_text`: the item editor's inputs and the
bulk edit (items/forms.py), CSV cells of imports (imports/kinds.py), a type change of stored strings
(schemas/conversion.py), and the explorer's filter values. So a word means the same everywhere:

- boolean: true, yes, y, on, 1 / false, no, n, off, 0 (any case, spaces around ignored);
- integer: ASCII digits with an optional sign, or a decimal whose value is whole (3.0, 1e3);
- float: a decimal number in ASCII (``3``, ``-1.5``, ``2e-3``), read as a float (3.0); no ``nan``, ``inf``, digit
  separators or non-ASCII digits;
- datetime: the text (the validator normalises it to UTC); a form's local ``YYYY-MM-DDTHH:MM[:SS]`` gets the
  browser's offset;
- enum: the option text; multi enum: options separated by `separator` (``|`` in a CSV cell, ``,`` in a form),
  or a list of texts (checkboxes);
- string, link: the text.

Spaces around the text are dropped, and empty text means "no value" (None). Text that does not spell a value of
the type raises FieldValueError with the validator's own message (``Expected a number.``), so a refusal reads
the same whichever path it came from. `parse_text` only reads the text: `validation.validate_value` still has the
last word on the value (options, length, URL shape, range).
"""

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .fields import FieldSpec, FieldType
from .validation import (
    VALUE_NOT_A_BOOLEAN,
    VALUE_NOT_A_NUMBER,
    VALUE_NOT_AN_INTEGER,
    VALUE_NOT_FINITE,
    FieldValueError,
)

TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0"})

CSV_SEPARATOR = "|"  # between the options of a multi enum in a CSV cell (the export writes the same)
FORM_SEPARATOR = ","  # between the options of a multi enum typed in a form

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Python refuses to turn longer digit strings into an int; a whole number that long is not a metadata value.
_MAX_DIGITS = 4300
_OFFSET = re.compile(r"(Z|[+-][0-9]{2}:[0-9]{2})")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


def parse_boolean(text: str) -> bool:
    """True or False for one of the words above; FieldValueError otherwise."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FieldValueError(VALUE_NOT_A_BOOLEAN)


def parse_number(text: str) -> float:
    """A float field's value: a finite float; FieldValueError otherwise."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise FieldValueError(VALUE_NOT_A_NUMBER)
    number = float(text)
    if not math.isfinite(number):
        raise FieldValueError(VALUE_NOT_FINITE)
    return number


def parse_integer(text: str) -> int:
    """An integer field's value: integer text, or a decimal with a whole value; FieldValueError otherwise."""
    text = text.strip()
    if _INTEGER.fullmatch(text) and len(text) <= _MAX_DIGITS:
        return int(text)
    if not _NUMBER.fullmatch(text):
        raise FieldValueError(VALUE_NOT_AN_INTEGER)
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise FieldValueError(VALUE_NOT_AN_INTEGER) from None
    # Beyond a float's range nothing is stored as a number; that bound also keeps 1e999999 from becoming an int.
    if number.adjusted() > 308 or number != number.to_integral_value():
        raise FieldValueError(VALUE_NOT_AN_INTEGER)
    return int(number)


def parse_datetime(text: str, offset: str | None = None) -> str:
    """A datetime field's text; a local date and time (a datetime-local input) gets `offset` (``Z`` when the
    offset is missing or malformed). The validator checks and normalises the result."""
    text = text.strip()
    if offset is not None and _LOCAL_DATETIME.fullmatch(text):
        if len(text) == 16:
            text += ":00"
        return text + (offset if _OFFSET.fullmatch(offset) else "Z")
    return text


def parse_options(text: str | list | tuple, separator: str = CSV_SEPARATOR) -> list[str]:
    """A multi enum's options: `text` split at `separator`, or a list of texts, each stripped, empty ones
    dropped (duplicates are kept: the validator names them)."""
    parts = text.split(separator) if isinstance(text, str) else [t for t in text if isinstance(t, str)]
    return [p.strip() for p in parts if p.strip()]


def parse_text(
    spec: FieldSpec, text: str | list | tuple, *, offset: str | None = None, separator: str = CSV_SEPARATOR
) -> Any:
    """The typed value that `text` means for the field `spec`, or None for empty text (no value).

    Raises FieldValueError (its message is the validator's) when the text does not spell a value of the type.
    `offset` is the browser's UTC offset for a datetime-local input; `separator` splits a multi enum's text.
    A list is accepted for a multi enum only (a form's checkboxes)."""
    if spec.is_multi_enum:
        return parse_options(text, separator) or None
    if not isinstance(text, str):
        raise TypeError(f"parse_text expects text for a {spec.type} field, got {type(text).__name__}")
    if not text.strip():
        return None
    match spec.type:
        case FieldType.BOOLEAN:
            return parse_boolean(text)
        case FieldType.INTEGER:
            return parse_integer(text)
        case FieldType.FLOAT:
            return parse_number(text)
        case FieldType.DATETIME:
            return parse_datetime(text, offset)
    return text.strip()
