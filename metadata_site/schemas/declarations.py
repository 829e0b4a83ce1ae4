"""Field declarations: a field's name, type, options, description and unit, checked into a FieldSpec (no ORM).

`clean_field_declaration` reads our shape and the Visual Layer shape alike; every refusal is a
FieldDeclarationError whose message is one of the FIELD_* constants, formatted.
"""

import re
from collections.abc import Mapping
from typing import Any

from metadata_site.lib.errors import MessageError

from .fields import Distance, FieldSpec, FieldType
from .validation import RESERVED_NAMES, printable, text_problem

ENUM_OPTION_MAX_LENGTH = 20
ENUM_MAX_OPTIONS = 256
FIELD_NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 1000
UNIT_MAX_LENGTH = 40
EMBEDDING_MAX_DIMENSION = 4096

# --- declaration messages (tests check these) ----------------------------------------------------------
FIELD_NOT_AN_OBJECT = "A field declaration must be a JSON object."
FIELD_NAME_MISSING = "The field has no name."
FIELD_NAME_TOO_LONG = "The field name is longer than 100 characters."
FIELD_NAME_CHARACTERS = (
    "The field name {name!r} may contain only letters, digits, spaces, '-', '_' and '.'."
)
FIELD_NAME_DOLLAR = "The field name {name!r} must not start with '$'."
FIELD_NAME_RESERVED = "The field name {name!r} is reserved."
FIELD_NAME_DUPLICATE = "The field {name!r} is declared more than once."
FIELD_TYPE_UNKNOWN = (
    "Unknown field type {type!r}: use one of string, float, integer, boolean, datetime, enum, link, embedding."
)
FIELD_DIMENSION = "An embedding field needs a dimension: a whole number from 1 to 4,096, got {value!r}."
FIELD_DISTANCE = "An embedding field's distance is cosine or euclidean, got {value!r}."
FIELD_DIMENSION_NOT_EMBEDDING = "Only embedding fields have a dimension and a distance."
FIELD_OPTIONS_MISSING = "An enum field needs at least one option."
FIELD_OPTIONS_NOT_A_LIST = "The options must be a list of strings."
FIELD_OPTION_TOO_LONG = "The option {option!r} is longer than 20 characters."
FIELD_OPTION_EMPTY = "An option must not be empty."
FIELD_OPTIONS_TOO_MANY = "An enum field has at most 256 options, got {count}."
FIELD_OPTION_DUPLICATE = "The option {option!r} is listed more than once."
FIELD_OPTIONS_NOT_ENUM = "Only enum fields have options."
FIELD_MULTI_NOT_ENUM = "Only enum fields can be multi-valued."
FIELD_DESCRIPTION_TOO_LONG = "The description is longer than 1,000 characters."
FIELD_UNIT_TOO_LONG = "The unit is longer than 40 characters."

_NAME_RE = re.compile(r"[\w .\-]+")


class FieldDeclarationError(MessageError):
    """A field declaration is invalid; `message` says why (one of the FIELD_* constants, formatted)."""


def clean_field_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldDeclarationError(FIELD_NAME_MISSING)
    name = name.strip()
    if len(name) > FIELD_NAME_MAX_LENGTH:
        raise FieldDeclarationError(FIELD_NAME_TOO_LONG)
    if name.startswith("$"):
        raise FieldDeclarationError(FIELD_NAME_DOLLAR.format(name=name))
    if not _NAME_RE.fullmatch(name):
        raise FieldDeclarationError(FIELD_NAME_CHARACTERS.format(name=name))
    if name in RESERVED_NAMES:
        raise FieldDeclarationError(FIELD_NAME_RESERVED.format(name=name))
    return name


def _clean_options(options: Any) -> tuple[str, ...]:
    if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
        raise FieldDeclarationError(FIELD_OPTIONS_NOT_A_LIST)
    cleaned: list[str] = []
    for option in options:
        option = option.strip()
        if not option:
            raise FieldDeclarationError(FIELD_OPTION_EMPTY)
        _check_declaration_text(option)
        if len(option) > ENUM_OPTION_MAX_LENGTH:
            raise FieldDeclarationError(FIELD_OPTION_TOO_LONG.format(option=option))
        if option in cleaned:
            raise FieldDeclarationError(FIELD_OPTION_DUPLICATE.format(option=option))
        cleaned.append(option)
    if not cleaned:
        raise FieldDeclarationError(FIELD_OPTIONS_MISSING)
    if len(cleaned) > ENUM_MAX_OPTIONS:
        raise FieldDeclarationError(FIELD_OPTIONS_TOO_MANY.format(count=len(cleaned)))
    return tuple(cleaned)


def _check_declaration_text(text: str) -> None:
    problem = text_problem(text)
    if problem:
        raise FieldDeclarationError(problem)


def clean_field_declaration(data: Any) -> FieldSpec:
    """A FieldSpec from a declaration in our shape (`name`, `type`, `options`, `is_multi`, `description`,
    `unit`) or in the Visual Layer shape (`field_name`, `field_type`, `enum_options`, `is_multi`)."""
    if not isinstance(data, Mapping):
        raise FieldDeclarationError(FIELD_NOT_AN_OBJECT)
    name = clean_field_name(data.get("name", data.get("field_name")))
    raw_type = data.get("type", data.get("field_type"))
    try:
        field_type = FieldType(str(raw_type).strip().lower()) if raw_type is not None else None
    except ValueError:
        field_type = None
    if field_type is None:
        raise FieldDeclarationError(FIELD_TYPE_UNKNOWN.format(type=raw_type))
    raw_options = data.get("options", data.get("enum_options"))
    is_multi = bool(data.get("is_multi") or False)
    if field_type == FieldType.ENUM:
        options = _clean_options(raw_options if raw_options is not None else [])
    else:
        if raw_options:
            raise FieldDeclarationError(FIELD_OPTIONS_NOT_ENUM)
        if is_multi:
            raise FieldDeclarationError(FIELD_MULTI_NOT_ENUM)
        options = ()
    dimension, distance = _clean_embedding_shape(field_type, data)
    description = str(data.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise FieldDeclarationError(FIELD_DESCRIPTION_TOO_LONG)
    unit = str(data.get("unit") or "").strip()
    if len(unit) > UNIT_MAX_LENGTH:
        raise FieldDeclarationError(FIELD_UNIT_TOO_LONG)
    _check_declaration_text(description)
    _check_declaration_text(unit)
    return FieldSpec(
        name=name, type=field_type, options=options, is_multi=is_multi, description=description, unit=unit,
        dimension=dimension, distance=distance,
    )


def _clean_embedding_shape(field_type: FieldType, data: Mapping) -> tuple[int, str]:
    """(dimension, distance) of an embedding declaration (distance defaults to cosine); (0, "") otherwise."""
    raw_dimension, raw_distance = data.get("dimension"), data.get("distance")
    if field_type != FieldType.EMBEDDING:
        if raw_dimension is not None or raw_distance is not None:
            raise FieldDeclarationError(FIELD_DIMENSION_NOT_EMBEDDING)
        return 0, ""
    if (
        isinstance(raw_dimension, bool) or not isinstance(raw_dimension, int | float)
        or int(raw_dimension) != raw_dimension or not 1 <= raw_dimension <= EMBEDDING_MAX_DIMENSION
    ):
        raise FieldDeclarationError(FIELD_DIMENSION.format(value=printable(raw_dimension)))
    distance = str(raw_distance if raw_distance is not None else Distance.COSINE).strip().lower()
    if distance not in tuple(Distance):
        raise FieldDeclarationError(FIELD_DISTANCE.format(value=printable(raw_distance)))
    return int(raw_dimension), distance
