"""Encord client-metadata schemas ↔ metadata_site field declarations, both ways (no ORM).

Both Encord schema calls (v2 options and the deprecated flat one) read and replace the one workspace schema.
Encord has fewer types than we do, so our types are sent in a form that comes back unchanged: when a saved
option equals what we sent for a field, the field is kept as it was (an integer stays an integer, a link a
link, a multi-valued enum multi-valued, options and descriptions untouched). Anything else is converted:

    Encord                                       metadata_site
    variant number, number                        float
    variant varchar / text / uuid, varchar, text, uuid   string
    variant boolean, boolean                      boolean
    variant datetime, datetime                    datetime
    enum {values}                                 enum (single)
    tombstone                                     the key is removed from the schema
    embedding, geospatial, user                   refused: no such type here
"""

from typing import Any

from metadata_site.lib.errors import MessageError
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

UNSUPPORTED_TYPE = (
    "The key {key!r} has type {ty!r}, which metadata_site cannot store. "
    "Supported: number, varchar, text, uuid, boolean, datetime, enum."
)
OPTION_NOT_OBJECT = "The schema option of {key!r} must be an object with a 'ty', got {value}."
SCHEMA_NOT_OBJECT = "The schema must be a JSON object mapping each key to its type."
ENUM_VALUES = "The enum {key!r} needs a list of string values."
FLAT_ENUM_NEW = (
    "The key {key!r} is a new enum: declare its options with the v2 schema (MetadataSchema.add_enum) "
    "or on the schema page; the flat schema has no place for them."
)
FLAT_UNKNOWN = "The key {key!r} has type {ty!r}; expected one of: {types}."

FLAT_TYPES = ("number", "string", "boolean", "datetime", "geospatial", "enum", "embedding", "long_string")


class SchemaMappingError(MessageError):
    """The Encord schema cannot be expressed in metadata_site; the message names the key."""


def _variant(hint: str) -> dict:
    return {"ty": "variant", "hint": hint}


def field_to_v2(spec: FieldSpec) -> dict:
    if spec.type == FieldType.STRING:
        return _variant("varchar")
    if spec.type == FieldType.FLOAT:
        return _variant("number")
    if spec.type == FieldType.INTEGER:
        return {"ty": "number", "format": "F64"}
    if spec.type == FieldType.BOOLEAN:
        return _variant("boolean")
    if spec.type == FieldType.DATETIME:
        return _variant("datetime")
    if spec.type == FieldType.ENUM:
        # The SDK requires at least one value; an option-less enum can only be shown as text.
        return {"ty": "enum", "values": list(spec.options)} if spec.options else _variant("text")
    return {"ty": "varchar", "max_length": 2000}  # link


def schema_to_v2(schema: Schema) -> dict:
    return {spec.name: field_to_v2(spec) for spec in schema}


def field_to_flat(spec: FieldSpec) -> str:
    return {
        FieldType.FLOAT: "number",
        FieldType.INTEGER: "number",
        FieldType.BOOLEAN: "boolean",
        FieldType.DATETIME: "datetime",
        FieldType.ENUM: "enum",
    }.get(spec.type, "string")


def schema_to_flat(schema: Schema) -> dict:
    return {spec.name: field_to_flat(spec) for spec in schema}


def _same_option(a: Any, b: dict) -> bool:
    """`a` (as saved by the SDK) equals `b` (as we sent it), ignoring defaults the SDK fills in."""
    if not isinstance(a, dict):
        return False
    defaults = {"number": {"format": "F64"}, "varchar": {"max_length": 8192}, "datetime": {"timezone": "UTC"}}
    fill = defaults.get(b.get("ty"), {})
    return {**fill, **a} == {**fill, **b}


def _new_field(key: str, ty: str, **extra) -> dict:
    return FieldSpec(name=key, type=FieldType(ty), **extra).to_dict()


def _from_option(key: str, option: Any) -> dict | None:
    if not isinstance(option, dict) or not isinstance(option.get("ty"), str):
        raise SchemaMappingError(OPTION_NOT_OBJECT.format(key=key, value=repr(option)[:60]))
    ty = option["ty"]
    if ty == "variant":
        ty = option.get("hint") or "text"
    if ty == "tombstone":
        return None
    if ty == "number":
        return _new_field(key, "float")
    if ty in ("varchar", "text", "uuid", "string", "long_string"):
        return _new_field(key, "string")
    if ty in ("boolean", "datetime"):
        return _new_field(key, ty)
    if ty == "enum":
        values = option.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise SchemaMappingError(ENUM_VALUES.format(key=key))
        return _new_field(key, "enum", options=tuple(values))
    raise SchemaMappingError(UNSUPPORTED_TYPE.format(key=key, ty=ty))


def fields_from_v2(payload: Any, current: Schema) -> list[dict]:
    """The field declarations of the whole new schema `payload` (an Encord v2 schema), given `current`."""
    if not isinstance(payload, dict):
        raise SchemaMappingError(SCHEMA_NOT_OBJECT)
    fields: list[dict] = []
    for key, option in payload.items():
        existing = current.get(key)
        if existing is not None and _same_option(option, field_to_v2(existing)):
            fields.append(existing.to_dict())
            continue
        new = _from_option(key, option)
        if new is not None:
            fields.append(_keep_docs(new, existing))
    return fields


def fields_from_flat(payload: Any, current: Schema) -> list[dict]:
    """The field declarations of the whole new schema `payload` (the deprecated flat {key: type} form)."""
    if not isinstance(payload, dict):
        raise SchemaMappingError(SCHEMA_NOT_OBJECT)
    fields: list[dict] = []
    for key, ty in payload.items():
        if ty not in FLAT_TYPES:
            raise SchemaMappingError(FLAT_UNKNOWN.format(key=key, ty=ty, types=", ".join(FLAT_TYPES)))
        existing = current.get(key)
        if existing is not None and field_to_flat(existing) == ty:
            fields.append(existing.to_dict())
            continue
        if ty == "enum":
            raise SchemaMappingError(FLAT_ENUM_NEW.format(key=key))
        new = _from_option(key, {"ty": ty})
        if new is not None:
            fields.append(_keep_docs(new, existing))
    return fields


def _keep_docs(new: dict, existing: FieldSpec | None) -> dict:
    """A field whose type changed keeps its description and unit."""
    if existing is not None:
        new = {**new, "description": existing.description, "unit": existing.unit}
    return new
