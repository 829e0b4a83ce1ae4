"""The one place where metadata values and field declarations are checked (no ORM).

Each declared field compiles to a JSON Schema fragment (`field_json_schema`; `schema_json_schema` assembles them
into the object schema of a whole item), and each value is validated against its field's fragment with jsonschema
Draft 2020-12 and its date-time format checker (one compiled validator per field, with a bounded memo for small
repeating values such as enum options, so a million-item import validates each distinct option once). What JSON Schema cannot say (finite numbers, a naive time, the normalised form of a
datetime) is checked and normalised here afterwards, so a value is stored in exactly one form:

- string: as given (at most 8,192 characters);
- float: a finite number (integers accepted and kept as given);
- integer: a whole number (3.0 is stored as 3);
- boolean: true / false;
- datetime: UTC, ``YYYY-MM-DDTHH:MM:SSZ``, with the given fractional seconds kept (trailing zeros dropped); a date
  without a time (``2024-02-24``, as the Encord documentation writes them) is midnight UTC of that day;
- enum: one option, or (multi) a list of distinct options in the order given;
- link: an absolute http/https URL.
- embedding: a list of exactly `dimension` finite numbers (float32 range), not all zero for a cosine field;
  normalised to the float32 values. The write services then move it out of the JSON document into its own
  table (`media.Embedding`), so it never reaches the document or its indexes.

Keys no field declares are kept as they are. ``keyframes`` is reserved: a list of non-negative frame numbers,
allowed on video items only.
"""

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from metadata_site.lib import strictjson
from metadata_site.lib.errors import MessageError
from metadata_site.lib.userinput import to_utc

from .fields import Distance, FieldSpec, FieldType, Schema

STRING_MAX_LENGTH = 8192
KEYFRAMES = "keyframes"
RESERVED_NAMES = frozenset({KEYFRAMES})

# --- value messages (tests check these) ---------------------------------------------------------
EXPECTED = {
    FieldType.STRING: "a string",
    FieldType.FLOAT: "a number",
    FieldType.INTEGER: "an integer",
    FieldType.BOOLEAN: "true or false",
    FieldType.DATETIME: "a date and time with a time zone",
    FieldType.ENUM: "one of the options",
    FieldType.LINK: "an http or https URL",
    FieldType.EMBEDDING: "a list of numbers",
}
EXPECTED_MULTI_ENUM = "a list of options"
EXPECTED_KEYFRAMES = "a list of frame numbers"

VALUE_NOT_A_STRING = "Expected a string."
VALUE_STRING_TOO_LONG = "Expected at most 8,192 characters, got {length}."
VALUE_NOT_A_NUMBER = "Expected a number."
VALUE_NOT_FINITE = "Expected a finite number."
VALUE_NOT_AN_INTEGER = "Expected an integer."
VALUE_NOT_A_BOOLEAN = "Expected true or false."
VALUE_NOT_A_DATETIME = (
    "Expected an ISO 8601 date and time such as 2024-05-01T12:30:00Z, or a date such as 2024-05-01 (midnight UTC)."
)
VALUE_DATETIME_OUT_OF_RANGE = "The date and time is out of range: converted to UTC it must fall between the years 0001 and 9999."
VALUE_DATETIME_NAIVE = "The date and time has no time zone: add Z or an offset such as +02:00."
VALUE_NOT_AN_OPTION = "Expected one of the options: {options}."
VALUE_NOT_A_LIST = "Expected a list of options."
VALUE_DUPLICATE_OPTION = "The option {option!r} is given more than once."
VALUE_NOT_A_LINK = "Expected an absolute http or https URL."
VALUE_KEYFRAMES = "Expected a list of non-negative frame numbers."
VALUE_KEYFRAMES_NOT_VIDEO = "Keyframes are allowed on video items only."
VALUE_EMBEDDING_NOT_A_LIST = "Expected a list of {dimension} numbers (an embedding), got {found}."
VALUE_EMBEDDING_LENGTH = "Expected {dimension} numbers (the field's dimension), got {count}."
VALUE_EMBEDDING_ELEMENT = "Element {index} of the vector is not a number: {value!r}."
VALUE_EMBEDDING_NOT_FINITE = "Element {index} of the vector is not a finite number (float32: at most 3.4e38)."
VALUE_EMBEDDING_ZERO = "A cosine embedding must not be all zeros."
METADATA_NOT_AN_OBJECT = "Metadata must be a JSON object."
VALUE_NUL_CHARACTER = "Text must not contain the NUL character (\\u0000)."
VALUE_LONE_SURROGATE = (
    "Text must be valid Unicode: it contains the lone surrogate {code} at character {position}, "
    "which cannot be stored as UTF-8."
)
EXPECTED_JSON = "JSON without NaN, Infinity, NUL characters or lone surrogates"

# A UTF-16 surrogate code point on its own: JSON's "\ud800" escape gives one, and neither UTF-8 (so neither
# PostgreSQL nor the JSON encoders) nor SQLite's text can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINK_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$"


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as text on both databases (a NUL character, a lone surrogate), or None."""
    if "\x00" in text:
        return VALUE_NUL_CHARACTER
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found:
            return VALUE_LONE_SURROGATE.format(code=f"\\u{ord(found.group()):04x}", position=found.start())
    return None


def printable(value: Any) -> Any:
    """`value` with every lone surrogate written as its escape (``\\ud800``), so an error that quotes it can
    itself be stored, rendered and encoded."""
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    if isinstance(value, Mapping):
        return {printable(str(k)): printable(v) for k, v in value.items()}
    return value


def _is_storable_text(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


class FieldValueError(MessageError):
    """A value does not fit its field; `message` says why (one of the VALUE_* constants, formatted)."""


# --- JSON Schema -----------------------------------------------------------------------------------


def field_json_schema(spec: FieldSpec) -> dict:
    """The JSON Schema fragment a value of `spec` must match."""
    match spec.type:
        case FieldType.STRING:
            return {"type": "string", "maxLength": STRING_MAX_LENGTH}
        case FieldType.FLOAT:
            return {"type": "number"}
        case FieldType.INTEGER:
            return {"type": "integer"}
        case FieldType.BOOLEAN:
            return {"type": "boolean"}
        case FieldType.DATETIME:
            return {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]}
        case FieldType.ENUM if spec.is_multi:
            return {"type": "array", "items": {"enum": list(spec.options)}, "uniqueItems": True}
        case FieldType.ENUM:
            return {"type": "string", "enum": list(spec.options)}
        case FieldType.LINK:
            return {"type": "string", "pattern": _LINK_PATTERN}
        case FieldType.EMBEDDING:
            return {"type": "array", "items": {"type": "number"}, "minItems": spec.dimension,
                    "maxItems": spec.dimension}
    raise AssertionError(spec.type)


KEYFRAMES_JSON_SCHEMA = {"type": "array", "items": {"type": "integer", "minimum": 0}}


def schema_json_schema(schema: Schema) -> dict:
    """The whole schema as one JSON Schema object (undeclared keys allowed)."""
    properties = {spec.name: field_json_schema(spec) for spec in schema.all_fields()}
    properties[KEYFRAMES] = KEYFRAMES_JSON_SCHEMA
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
    }


_MISS = object()
_CANONICAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_LINK_RE = re.compile(_LINK_PATTERN)
# A plain host name or IPv4 address, an optional port, then anything without spaces: urlsplit always finds a
# host in these, so the fast path need not call it.
_SIMPLE_LINK = re.compile(
    "[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.\\-]*[A-Za-z0-9](:[0-9]{1,5})?([/?#][^\\s\x00\ud800-\udfff]*)?"
)
_SAFE_INT = 2**53


def _fast_checker(spec: FieldSpec) -> Callable[[Any], Any]:
    """Plain-Python acceptance of the common valid values of `spec`: returns the normalised value, or `_MISS`
    when it cannot vouch for the value (then the JSON Schema path decides and words the error).

    It only ever accepts what the JSON Schema fragment plus `_normalise` accept, with the same result (a
    property-based test holds the two paths to that); it is what lets an import check about a million values
    per second per core instead of tens of thousands."""
    options = frozenset(o for o in spec.options if "\x00" not in o)
    match spec.type:
        case FieldType.STRING:
            def check(v):
                if type(v) is str and len(v) <= STRING_MAX_LENGTH and _is_storable_text(v):
                    return v
                return _MISS
        case FieldType.FLOAT:
            def check(v):
                t = type(v)
                if t is float:
                    return v if math.isfinite(v) else _MISS
                if t is int and -_SAFE_INT <= v <= _SAFE_INT:
                    return v
                return _MISS
        case FieldType.INTEGER:
            def check(v):
                t = type(v)
                if t is int:
                    return v
                if t is float and v.is_integer():
                    return int(v)
                return _MISS
        case FieldType.BOOLEAN:
            def check(v):
                return v if type(v) is bool else _MISS
        case FieldType.DATETIME:
            def check(v):
                # In this form, a date and time that fromisoformat reads is one the RFC 3339 check accepts.
                if type(v) is str and _CANONICAL_DATETIME.fullmatch(v):
                    try:
                        datetime.fromisoformat(v)
                    except ValueError:
                        return _MISS
                    return v
                return _MISS
        case FieldType.ENUM if spec.is_multi:
            def check(v):
                if type(v) is list and all(type(o) is str and o in options for o in v) and len(set(v)) == len(v):
                    return list(v)
                return _MISS
        case FieldType.ENUM:
            def check(v):
                return v if type(v) is str and v in options else _MISS
        case FieldType.LINK:
            def check(v):
                if type(v) is str and _SIMPLE_LINK.fullmatch(v):
                    return v
                if type(v) is str and _is_storable_text(v) and _LINK_RE.search(v):
                    parts = urlsplit(v)
                    if parts.scheme.lower() in ("http", "https") and parts.hostname:
                        return v
                return _MISS
        case _:
            raise AssertionError(spec.type)
    return check


class _FieldValidator:
    """A field's checks: the plain-Python fast path for the common valid values, then its compiled JSON Schema
    validator, with a bounded memo of results for small hashable values (a bad value repeated across a million
    rows is worded once)."""

    MEMO_SIZE = 10_000

    def __init__(self, spec: FieldSpec):
        self.spec = spec
        self.validator = Draft202012Validator(field_json_schema(spec), format_checker=Draft202012Validator.FORMAT_CHECKER)
        self.fast = _fast_checker(spec)
        self.memo: dict[tuple, tuple[bool, Any]] = {}

    @staticmethod
    def _memo_key(value: Any) -> tuple | None:
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 64):
            return (type(value), value)
        if isinstance(value, list) and len(value) <= 16 and all(isinstance(v, str) and len(v) <= 64 for v in value):
            return (list, tuple(value))
        return None

    def _check(self, value: Any) -> Any:
        error = next(iter(self.validator.iter_errors(value)), None)
        if error is not None:
            raise FieldValueError(_message(self.spec, error, value))
        return _normalise(self.spec, value)

    def check_slow(self, value: Any) -> Any:
        """The JSON Schema path alone (with the memo): the reference the fast path is tested against."""
        key = self._memo_key(value)
        if key is None:
            return self._check(value)
        hit = self.memo.get(key)
        if hit is None:
            try:
                hit = (True, self._check(value))
            except FieldValueError as exc:
                hit = (False, exc.message)
            if len(self.memo) >= self.MEMO_SIZE:
                self.memo.clear()
            self.memo[key] = hit
        ok, result = hit
        if not ok:
            raise FieldValueError(result)
        return list(result) if isinstance(result, list) else result

    def check(self, value: Any) -> Any:
        """The normalised value; raises FieldValueError with the reason it does not fit."""
        result = self.fast(value)
        if result is _MISS:
            return self.check_slow(value)
        return result


@lru_cache(maxsize=256)
def _shared_field_validator(spec: FieldSpec) -> _FieldValidator:
    return _FieldValidator(spec)


def _field_validator(spec: FieldSpec) -> _FieldValidator:
    # Hashing a FieldSpec (its options included) costs more than validating a value, so the validator is also
    # kept on the spec object itself: a schema's specs are looked up once, not once per value.
    cached = spec.__dict__.get("_validator")
    if cached is None:
        cached = _shared_field_validator(spec)
        object.__setattr__(spec, "_validator", cached)
    return cached


def _options_text(spec: FieldSpec) -> str:
    shown = ", ".join(spec.options[:10])
    return shown + (f" (and {len(spec.options) - 10} more)" if len(spec.options) > 10 else "")


def _message(spec: FieldSpec, error, value: Any) -> str:
    """Turn the first jsonschema error on a value into our message."""
    keyword = error.validator
    if spec.type == FieldType.STRING:
        return VALUE_STRING_TOO_LONG.format(length=len(value)) if keyword == "maxLength" else VALUE_NOT_A_STRING
    if spec.type == FieldType.FLOAT:
        return VALUE_NOT_A_NUMBER
    if spec.type == FieldType.INTEGER:
        return VALUE_NOT_AN_INTEGER
    if spec.type == FieldType.BOOLEAN:
        return VALUE_NOT_A_BOOLEAN
    if spec.type == FieldType.DATETIME:
        return _datetime_message(value)
    if spec.type == FieldType.LINK:
        return VALUE_NOT_A_LINK
    if spec.is_multi:
        if keyword == "type" and not error.path:
            return VALUE_NOT_A_LIST
        if keyword == "uniqueItems":
            return VALUE_DUPLICATE_OPTION.format(option=_first_duplicate(value))
    return VALUE_NOT_AN_OPTION.format(options=_options_text(spec))


def _first_duplicate(values: list) -> Any:
    seen: list = []
    for v in values:
        if v in seen:
            return v
        seen.append(v)
    return None


def _datetime_message(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return VALUE_NOT_A_DATETIME
        if parsed.tzinfo is None and "T" in value.upper():
            return VALUE_DATETIME_NAIVE
    return VALUE_NOT_A_DATETIME


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _normalise_datetime(value: str) -> str:
    text = value.strip()
    if _DATE_ONLY.fullmatch(text):
        return f"{text}T00:00:00Z"  # a date is midnight UTC of that day
    parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise FieldValueError(VALUE_DATETIME_NAIVE)
    utc = to_utc(parsed)
    if utc is None:
        raise FieldValueError(VALUE_DATETIME_OUT_OF_RANGE)
    # Keep the fractional seconds as given (all digits, not just microseconds): offsets are whole minutes, so
    # converting to UTC never changes them.
    fraction = re.search(r"T\d{2}:\d{2}:\d{2}\.(\d+)", text, flags=re.IGNORECASE)
    digits = fraction.group(1).rstrip("0") if fraction else ""
    stamp = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    return stamp + (f".{digits}" if digits else "") + "Z"


def _check_text(text: str) -> None:
    problem = text_problem(text)
    if problem:
        raise FieldValueError(problem)


def _normalise(spec: FieldSpec, value: Any) -> Any:
    """Checks JSON Schema cannot express, and the stored form. `value` already matched the fragment."""
    if isinstance(value, str):
        _check_text(value)
    match spec.type:
        case FieldType.FLOAT:
            if not math.isfinite(value):
                raise FieldValueError(VALUE_NOT_FINITE)
            return value
        case FieldType.INTEGER:
            return int(value)
        case FieldType.DATETIME:
            return _normalise_datetime(value)
        case FieldType.LINK:
            parts = urlsplit(value)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise FieldValueError(VALUE_NOT_A_LINK)
            return value
        case FieldType.ENUM if spec.is_multi:
            return list(value)
    return value


def validate_value(spec: FieldSpec, value: Any) -> Any:
    """The normalised form of `value` for the field `spec`; raises FieldValueError with the reason."""
    if spec.is_embedding:
        return validate_embedding(spec, value)
    return _field_validator(spec).check(value)


def _validate_keyframes(value: Any, item_kind: str | None) -> list[int]:
    if item_kind is not None and item_kind != "video":
        raise FieldValueError(VALUE_KEYFRAMES_NOT_VIDEO)
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or int(v) != v for v in value
    ):
        raise FieldValueError(VALUE_KEYFRAMES)
    return [int(v) for v in value]


def _check_json(value: Any) -> None:
    """Undeclared values are kept as given, but must be storable as JSON on both databases."""
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldValueError(VALUE_NOT_FINITE)
    if isinstance(value, str):
        _check_text(value)
    if isinstance(value, list | tuple):
        for v in value:
            _check_json(v)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_json(str(k))
            _check_json(v)


def _check_strict(key: str, value: Any) -> None:
    """The rules of every JSON a user writes (`lib/strictjson.py`) that _check_json leaves: depth, unpaired
    surrogates, JSON types only."""
    try:
        strictjson.check_member(key, value)
    except strictjson.StrictJSONError as exc:
        raise FieldValueError(exc.message) from None


def expected_text(spec: FieldSpec | None, key: str = "") -> str:
    if spec is None:
        return EXPECTED_KEYFRAMES if key == KEYFRAMES else EXPECTED_JSON
    return EXPECTED_MULTI_ENUM if spec.is_multi_enum else EXPECTED[spec.type]


def validate_metadata(
    schema: Schema, metadata: Any, *, partial: bool = False, item_kind: str | None = None
) -> tuple[dict, list[dict]]:
    """Validate and normalise one item's metadata against `schema`.

    Returns ``(normalised, errors)``; errors are ``{"key", "msg", "expected", "value"}`` dicts, one per bad key,
    and a bad key is left out of `normalised`. Undeclared keys are kept unchanged. A null value means "no value":
    with ``partial=True`` (a merge patch) it is kept as None ("remove this key"); otherwise it is dropped.
    `item_kind` (when known) restricts ``keyframes`` to video items.
    """
    if type(metadata) is not dict and not isinstance(metadata, Mapping):  # a dict skips the slower ABC check
        return {}, [{"key": "", "msg": METADATA_NOT_AN_OBJECT, "expected": "a JSON object", "value": metadata}]
    normalised: dict = {}
    errors: list[dict] = []
    validators = _schema_validators(schema)
    embeddings = _schema_embeddings(schema)
    for key, value in metadata.items():
        if type(key) is not str:
            key = str(key)
        if value is None:
            if partial:
                normalised[key] = None
            continue
        if embeddings and key in embeddings:
            try:
                normalised[key] = validate_embedding(embeddings[key], value)
            except FieldValueError as exc:
                errors.append({"key": key, "msg": exc.message, "expected": EXPECTED[FieldType.EMBEDDING],
                               "value": _embedding_excerpt(value)})
            continue
        validator = validators.get(key)
        if validator is not None:
            result = validator.fast(value)
            if result is not _MISS:
                normalised[key] = result
                continue
        spec = validator.spec if validator is not None else None
        try:
            if key == KEYFRAMES and spec is None:
                normalised[key] = _validate_keyframes(value, item_kind)
            elif spec is None:
                _check_json(key)
                _check_json(value)
                _check_strict(key, value)
                normalised[key] = value
            else:
                normalised[key] = validator.check_slow(value)
        except FieldValueError as exc:
            errors.append({
                "key": printable(key), "msg": exc.message, "expected": expected_text(spec, key),
                "value": printable(value),
            })
    return normalised, errors


def _schema_embeddings(schema: Schema) -> dict[str, FieldSpec]:
    cached = schema.__dict__.get("_embeddings")
    if cached is None:
        cached = schema.embeddings
        object.__setattr__(schema, "_embeddings", cached)
    return cached


_FLOAT32_MAX = 3.4028234663852886e38


def validate_embedding(spec: FieldSpec, value: Any) -> list[float]:
    """The vector of an embedding field as float32 values (a list of floats); FieldValueError saying which
    element is wrong otherwise."""
    if not isinstance(value, list | tuple):
        raise FieldValueError(VALUE_EMBEDDING_NOT_A_LIST.format(dimension=spec.dimension, found=_json_type(value)))
    if len(value) != spec.dimension:
        raise FieldValueError(VALUE_EMBEDDING_LENGTH.format(dimension=spec.dimension, count=len(value)))
    import numpy as np

    for index, x in enumerate(value):
        kind = type(x)
        if kind is not float and kind is not int and (isinstance(x, bool) or not isinstance(x, int | float)):
            raise FieldValueError(VALUE_EMBEDDING_ELEMENT.format(index=index, value=printable(x)))
    try:
        wide = np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer beyond a double
        wide = np.full(len(value), np.inf)
    bad = ~np.isfinite(wide) | (np.abs(wide) > _FLOAT32_MAX)
    if bad.any():
        raise FieldValueError(VALUE_EMBEDDING_NOT_FINITE.format(index=int(np.argmax(bad))))
    vector = wide.astype(np.float32)
    if spec.distance == Distance.COSINE and not vector.any():
        raise FieldValueError(VALUE_EMBEDDING_ZERO)
    return vector.tolist()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    return "null" if value is None else type(value).__name__


def _embedding_excerpt(value: Any) -> Any:
    """A bad vector as an error shows it: its first few elements, never a wall of numbers."""
    if isinstance(value, list | tuple) and len(value) > 8:
        return [*printable(list(value[:8])), f"… {len(value)} elements"]
    return printable(value)


def _schema_validators(schema: Schema) -> dict[str, "_FieldValidator"]:
    """The validators of a schema's fields by name, kept on the (frozen) schema object."""
    cached = schema.__dict__.get("_validators")
    if cached is None:
        cached = {spec.name: _field_validator(spec) for spec in schema}
        object.__setattr__(schema, "_validators", cached)
    return cached
