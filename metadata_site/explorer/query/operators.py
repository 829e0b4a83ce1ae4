"""The operators, the field families they apply to, and the built-in fields (title, kind, media properties, ...)."""

from __future__ import annotations

from metadata_site.schemas.fields import FieldSpec

EQ, NE, LT, LTE, GT, GTE, BETWEEN = "eq", "ne", "lt", "lte", "gt", "gte", "between"
CONTAINS, STARTSWITH, IN = "contains", "startswith", "in"
HAS_ANY, HAS_ALL, HAS_NONE = "has_any", "has_all", "has_none"
IS_SET, IS_UNSET = "is_set", "is_unset"
BOX = "box"

ORDERED_OPS = (EQ, NE, LT, LTE, GT, GTE, BETWEEN, IS_SET, IS_UNSET)
OPERATORS: dict[str, tuple[str, ...]] = {
    "string": (EQ, NE, CONTAINS, STARTSWITH, IN, IS_SET, IS_UNSET),
    "link": (EQ, NE, CONTAINS, STARTSWITH, IS_SET, IS_UNSET),
    "float": ORDERED_OPS,
    "integer": ORDERED_OPS,
    "datetime": ORDERED_OPS,
    "boolean": (EQ, NE, IS_SET, IS_UNSET),
    "enum": (EQ, NE, IN, IS_SET, IS_UNSET),
    "multi_enum": (HAS_ANY, HAS_ALL, HAS_NONE, IS_SET, IS_UNSET),
    # built-ins
    "title": (EQ, NE, CONTAINS, STARTSWITH),
    "kind": (EQ, NE, IN),
    "membership": (EQ, IN),
    "item": (EQ, IN),
    # a key no field declares: operators on its raw JSON value (see the package docstring)
    "undeclared": (EQ, NE, IN, CONTAINS, STARTSWITH, LT, LTE, GT, GTE, BETWEEN, IS_SET, IS_UNSET),
    "media_text": (EQ, NE, IN, STARTSWITH, IS_SET, IS_UNSET),
    "dup_role": (EQ, NE, IN, IS_SET, IS_UNSET),
    "map": (BOX,),
}
UNDECLARED = "undeclared"
NO_VALUE_OPS = (IS_SET, IS_UNSET)
LIST_OPS = (IN, HAS_ANY, HAS_ALL, HAS_NONE)
RANGE_OPS = (LT, LTE, GT, GTE, BETWEEN)
# The comparison operators as SQL (both databases and the projection write them the same way).
SQL_COMPARISONS = {EQ: "=", NE: "<>", LT: "<", LTE: "<=", GT: ">", GTE: ">="}

BUILTINS = ("title", "kind", "dataset", "collection", "frame_of")
META_PREFIX = "meta."
BUILTIN_FAMILIES = {"title": "title", "kind": "kind", "dataset": "membership", "collection": "membership", "frame_of": "item",
                    "$map": "map"}

# "Inside this box of this embedding map" (media.embedding_map): ``$map:box:<field>/<method>/<x0>,<y0>,<x1>,<y1>``,
# the items whose point on the (field, method) map of their workspace lies in the box (edges included). Named with
# the "$" no declared field can take, like the media fields; its value is (field, method, x0, y0, x1, y1).
MAP_FIELD = "$map"
MAP_METHODS = ("pca", "umap")

# The media properties the worker reads from the real bytes: built-in fields on real columns of Item, named with
# a leading "$" that no declared field can take (schemas refuse it), so they never clash with user metadata.
# Filterable and sortable like declared fields of their type; unset (NULL, or '' for text) until the worker ran.
MEDIA_FIELDS: dict[str, tuple[str, str]] = {
    "$width": ("width", "integer"),
    "$height": ("height", "integer"),
    "$duration": ("duration", "float"),
    "$fps": ("fps", "float"),
    "$frame_count": ("frame_count", "integer"),
    "$file_size": ("file_size", "integer"),
    "$content_type": ("content_type", "media_text"),
    "$media_status": ("media_status", "media_text"),
    # The id of the item's near-duplicate group's representative (media.lookalike): `$dup_group:is_set` is
    # "has near-duplicates", `$dup_group:eq:<id>` one group.
    "$dup_group": ("dup_group", "integer"),
}

# Built-in fields derived from columns (no column of their own, not sortable). `$dup_role`: an item's role in its
# near-duplicate group: "representative" (its `dup_group` is itself), "copy" (another item), unset when it has no
# near-duplicate; `$dup_role:eq:representative` is "is the representative of its group".
DUP_ROLE = "$dup_role"
REPRESENTATIVE, COPY = "representative", "copy"
DUP_ROLES = (REPRESENTATIVE, COPY)
DERIVED_FIELDS: dict[str, str] = {DUP_ROLE: "dup_role"}

MEDIA_SORT_LABELS = {"$width": "width (media)", "$height": "height (media)", "$duration": "duration (media)",
                     "$file_size": "file size (media)"}


def type_key(spec: FieldSpec) -> str:
    """The operator family of a declared field: its type, or ``multi_enum``."""
    return "multi_enum" if spec.is_multi_enum else str(spec.type)


def operators_for(spec: FieldSpec) -> tuple[str, ...]:
    return OPERATORS[type_key(spec)]


def family_of(name: str, spec: FieldSpec | None, builtin: bool = True) -> str:
    """The operator family of a field as a condition names it: declared, media, other built-in or undeclared."""
    if spec is not None:
        return type_key(spec)
    if name in MEDIA_FIELDS:
        return MEDIA_FIELDS[name][1]
    if name in DERIVED_FIELDS:
        return DERIVED_FIELDS[name]
    if not builtin:
        return UNDECLARED
    return BUILTIN_FAMILIES[name]


def written_name(name: str, *, builtin: bool) -> str:
    """A field's name as a condition writes it: a declared field named like a built-in takes ``meta.``."""
    return name if builtin or name not in BUILTINS else META_PREFIX + name
