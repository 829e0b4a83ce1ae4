"""Infer a schema from the metadata items already hold (data that arrived before a schema).

`infer_fields` looks at plain metadata dicts (no ORM) and proposes a declaration for every key the
current schema does not declare, from the values seen:

- booleans -> boolean; numbers -> integer when every one is whole, else float;
- strings -> datetime when every value is a valid datetime value, link when every value is an http(s)
  URL, an enum when the distinct values are few (at most ENUM_INFER_MAX_OPTIONS, each repeated on
  average, each a valid option), else string;
- lists of strings -> a multi enum under the same option rules;
- anything else (mixed types, objects, lists of other values, a name a field cannot have) is not
  inferred, and `Inference.skipped` says why.

`infer_schema` reads the first `sample` items of a scope (one bounded query) and returns the
current fields followed by the inferred ones: applied through `schema_import`, it adds fields and
changes nothing declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .declarations import ENUM_OPTION_MAX_LENGTH, FieldDeclarationError, clean_field_name
from .fields import FieldSpec, FieldType, Schema
from .validation import RESERVED_NAMES, FieldValueError, validate_value

ENUM_INFER_MAX_OPTIONS = 20
INFER_SAMPLE = 5000
SKIP_MIXED = "values of several types ({types})"
SKIP_SHAPE = "values are {types}, which no field type holds"
SKIP_NAME = "{reason}"

_DATETIME = FieldSpec("_", FieldType.DATETIME)
_LINK = FieldSpec("_", FieldType.LINK)


@dataclass
class _Seen:
    count: int = 0
    types: set[str] = field(default_factory=set)
    strings: list[str] = field(default_factory=list)  # every string value (scalar or list element)
    distinct: dict[str, None] = field(default_factory=dict)  # at most ENUM_INFER_MAX_OPTIONS + 1
    all_whole: bool = True
    lists_ok: bool = True  # every list holds distinct strings only


@dataclass
class Inference:
    fields: list[FieldSpec]  # the inferred declarations (undeclared keys only)
    skipped: dict[str, str]  # key -> why no type was inferred
    sampled: int = 0
    exact: bool = True  # every item of the scope was read


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _all_valid(spec: FieldSpec, values: list[str]) -> bool:
    try:
        for value in values:
            validate_value(spec, value)
    except FieldValueError:
        return False
    return True


def _options(seen: _Seen) -> tuple[str, ...] | None:
    """The enum options of the values seen, when they are few, repeated and valid options."""
    options = tuple(seen.distinct)
    if not options or len(options) > ENUM_INFER_MAX_OPTIONS or len(seen.strings) < 2 * len(options):
        return None
    if any(not o or o != o.strip() or len(o) > ENUM_OPTION_MAX_LENGTH for o in options):
        return None
    return tuple(sorted(options))


def _infer(name: str, seen: _Seen) -> FieldSpec | str:
    types = seen.types
    if len(types) > 1:
        return SKIP_MIXED.format(types=", ".join(sorted(types)))
    (kind,) = types
    if kind == "boolean":
        return FieldSpec(name, FieldType.BOOLEAN)
    if kind == "number":
        return FieldSpec(name, FieldType.INTEGER if seen.all_whole else FieldType.FLOAT)
    if kind == "string":
        if _all_valid(_DATETIME, seen.strings):
            return FieldSpec(name, FieldType.DATETIME)
        if _all_valid(_LINK, seen.strings):
            return FieldSpec(name, FieldType.LINK)
        options = _options(seen)
        if options:
            return FieldSpec(name, FieldType.ENUM, options=options)
        return FieldSpec(name, FieldType.STRING)
    if kind == "list" and seen.lists_ok:
        options = _options(seen)
        if options:
            return FieldSpec(name, FieldType.ENUM, options=options, is_multi=True)
        return SKIP_SHAPE.format(types="lists of many different strings")
    return SKIP_SHAPE.format(types="lists" if kind == "list" else "objects")


def infer_fields(metadatas: Iterable[Any], *, schema: Schema) -> Inference:
    """Declarations for the keys of `metadatas` that `schema` does not declare (see the module docstring)."""
    seen: dict[str, _Seen] = {}
    for metadata in metadatas:
        if not isinstance(metadata, dict):
            continue
        for key, value in metadata.items():
            if value is None or schema.get(key) is not None or key in RESERVED_NAMES:
                continue
            s = seen.setdefault(key, _Seen())
            s.count += 1
            kind = _type_of(value)
            s.types.add(kind)
            if kind == "number" and not float(value).is_integer():
                s.all_whole = False
            elements = value if kind == "list" else [value] if kind == "string" else []
            if kind == "list" and (not all(isinstance(v, str) for v in value) or len(set(value)) != len(value)):
                s.lists_ok = False
                elements = []
            for text in elements:
                s.strings.append(text)
                if len(s.distinct) <= ENUM_INFER_MAX_OPTIONS:
                    s.distinct.setdefault(text, None)
    inference = Inference(fields=[], skipped={})
    for key in sorted(seen, key=lambda k: (-seen[k].count, k)):
        try:
            clean_field_name(key)
        except FieldDeclarationError as exc:
            inference.skipped[key] = SKIP_NAME.format(reason=exc.message)
            continue
        result = _infer(key, seen[key])
        if isinstance(result, str):
            inference.skipped[key] = result
        else:
            inference.fields.append(result)
    return inference


def infer_schema(*, workspace, scope, schema: Schema, sample: int = INFER_SAMPLE) -> Inference:
    """What the first `sample` items of `scope` (an explorer Scope) suggest for their undeclared keys."""
    from metadata_site.explorer import query as fl
    from metadata_site.items.models import Item

    items = fl.filter_items(Item.objects.all(), fl.Query(scope=scope), schema=schema, workspace=workspace)
    rows = list(items.order_by("id").values_list("client_metadata", flat=True)[: sample + 1])
    inference = infer_fields(rows[:sample], schema=schema)
    inference.sampled, inference.exact = min(len(rows), sample), len(rows) <= sample
    return inference


def proposed_declarations(schema: Schema, inference: Inference) -> list[dict]:
    """The current fields, unchanged, followed by the inferred ones: a whole schema for `schema_import`."""
    return [spec.to_dict() for spec in schema] + [spec.to_dict() for spec in inference.fields]
