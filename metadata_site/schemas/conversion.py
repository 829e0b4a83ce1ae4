"""Type changes: a stored value converted to a field's new declaration (type, options, multiplicity) (no ORM).

Used when a schema change alters a field: `convert_value` keeps a value that already fits, else reads it the way
`values.parse_text` reads text (the same words for true and false, the same numbers), and the validator has the
last word.
"""

import json
from typing import Any

from .fields import FieldSpec, FieldType
from .validation import FieldValueError, validate_value
from .values import parse_boolean, parse_integer, parse_number


def _coerce(spec: FieldSpec, value: Any) -> Any:
    """A best-effort conversion of a value of another type (a ValueError when text does not read as the new
    type); validate_value has the last word."""
    match spec.type:
        case FieldType.STRING:
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            if isinstance(value, dict):
                return json.dumps(value, ensure_ascii=False)
            return str(value)
        case FieldType.FLOAT if isinstance(value, str):
            return parse_number(value)
        case FieldType.INTEGER if isinstance(value, str):
            return parse_integer(value)
        case FieldType.BOOLEAN:
            if isinstance(value, str):
                return parse_boolean(value)
            if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
                return bool(value)
        case FieldType.ENUM if spec.is_multi:
            if isinstance(value, str):
                return [value.strip()]
        case FieldType.ENUM:
            if isinstance(value, list) and len(value) == 1:
                return value[0]
            if isinstance(value, str):
                return value.strip()
        case FieldType.DATETIME | FieldType.LINK if isinstance(value, str):
            return value.strip()
    return value


def convert_value(spec: FieldSpec, value: Any) -> Any:
    """`value` (held under another declaration) converted to `spec`; raises FieldValueError when it does not
    convert, with the reason the value does not fit."""
    try:
        return validate_value(spec, value)
    except FieldValueError as original:
        try:
            coerced = _coerce(spec, value)
        except (ValueError, OverflowError):
            raise original from None
        try:
            return validate_value(spec, coerced)
        except FieldValueError:
            raise original from None
