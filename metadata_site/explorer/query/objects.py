"""The query objects: a validated `Condition`, a `Scope`, a `Sort`, and the `Query` that holds them.

They are plain values: parsing makes them (`parsing`), the compilers read them, and `to_params` / `to_json`
write them back to the forms they parse from (the one way a link or a stored filter is made from a query).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .operators import (
    BETWEEN,
    BOX,
    CONTAINS,
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
    NE,
    NO_VALUE_OPS,
    STARTSWITH,
    written_name,
)


def format_scalar(value: Any) -> str:
    """One value as the query string writes it (``true``, ``30.0``, ``2024-06-30``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def format_value(op: str, value: Any) -> str:
    """A condition's value as the query string writes it: a range ``low..high``, a list comma-separated."""
    if op == BETWEEN:
        return f"{format_scalar(value[0])}..{format_scalar(value[1])}"
    if op == BOX:  # (field, method, x0, y0, x1, y1): see operators.MAP_FIELD
        return f"{value[0]}/{value[1]}/" + ",".join(format_scalar(v) for v in value[2:])
    if op in LIST_OPS:
        return ",".join(format_scalar(v) for v in value)
    return format_scalar(value)


@dataclass(frozen=True)
class Condition:
    """One validated condition. ``field`` is a declared field name, a built-in (``builtin``), or a key
    no field declares (``undeclared``: its value is text, or a number for the ordered operators)."""

    field: str
    op: str
    value: Any = None
    builtin: bool = False
    undeclared: bool = False

    def to_param(self) -> str:
        """The ``<field>:<op>:<value>`` form (unencoded), parseable back to this condition."""
        name = written_name(self.field, builtin=self.builtin)
        if self.op in NO_VALUE_OPS:
            return f"{name}:{self.op}"
        return f"{name}:{self.op}:{format_value(self.op, self.value)}"

    def to_json(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": written_name(self.field, builtin=self.builtin), "op": self.op, "value": value}

    @property
    def values(self) -> tuple:
        """The condition's values as a tuple (empty for is_set / is_unset)."""
        if self.value is None:
            return ()
        return self.value if isinstance(self.value, tuple) else (self.value,)


@dataclass(frozen=True)
class Scope:
    """Where to look: the workspace (kind ``workspace``), a folder with its subfolders, a dataset, a collection."""

    kind: str = "workspace"
    id: int | None = None

    def to_param(self) -> str:
        return "" if self.kind == "workspace" else f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Sort:
    """Sort key: a declared field, ``title``, or None (item id, the default); ties break by id."""

    field: str | None = None
    descending: bool = False

    def to_param(self) -> str:
        if self.field is None:
            return ""
        return ("-" if self.descending else "") + self.field


@dataclass(frozen=True)
class Query:
    """A whole explorer/API request: AND conditions, an OR group, a scope and a sort."""

    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    scope: Scope = field(default_factory=Scope)
    sort: Sort = field(default_factory=Sort)

    def to_params(self) -> list[tuple[str, str]]:
        """Query-string pairs (``f``, ``any``, ``scope``, ``sort``) that parse back to this query."""
        pairs = [("f", c.to_param()) for c in self.all] + [("any", c.to_param()) for c in self.any]
        if self.scope.kind != "workspace":
            pairs.append(("scope", self.scope.to_param()))
        if self.sort.field is not None:
            pairs.append(("sort", self.sort.to_param()))
        return pairs

    def to_json(self) -> dict:
        data: dict[str, Any] = {"all": [c.to_json() for c in self.all], "any": [c.to_json() for c in self.any]}
        if self.scope.kind != "workspace":
            data["scope"] = self.scope.to_param()
        if self.sort.field is not None:
            data["sort"] = self.sort.to_param()
        return data

    def without(self, *, field_name: str) -> Query:
        """This query without the AND conditions on `field_name` (facet counts "under the other filters")."""
        return replace(self, all=tuple(c for c in self.all if c.field != field_name))

    def narrowed(self, condition: Condition) -> Query:
        """This query with `condition` in place of its AND conditions on the same field (a facet's link)."""
        rest = self.without(field_name=condition.field)
        return replace(rest, all=rest.all + (condition,))

    @property
    def is_filtered(self) -> bool:
        return bool(self.all or self.any)


_WORDS = {
    EQ: "=", NE: "≠", LT: "<", LTE: "≤", GT: ">", GTE: "≥", BETWEEN: "between", CONTAINS: "contains",
    STARTSWITH: "starts with", IN: "in", HAS_ANY: "has any of", HAS_ALL: "has all of",
    HAS_NONE: "has none of", IS_SET: "is set", IS_UNSET: "is not set",
}


def describe(condition: Condition) -> str:
    """A short human label: ``weather in Sunny, Rain``."""
    if condition.op == BOX:
        field, method, *box = condition.value
        corners = ", ".join(f"{v:.4g}" for v in box)
        return f"in a box of the {method.upper()} map of {field} ({corners})"
    if condition.builtin and condition.field == "frame_of":
        return "frame of " + (condition.value if condition.op == EQ else ", ".join(condition.value))
    if condition.op in NO_VALUE_OPS:
        return f"{condition.field} {_WORDS[condition.op]}"
    value = condition.value
    if condition.op == BETWEEN:
        text = f"{format_scalar(value[0])} … {format_scalar(value[1])}"
    elif isinstance(value, tuple):
        text = ", ".join(format_scalar(v) for v in value)
    else:
        text = format_scalar(value)
    return f"{condition.field} {_WORDS[condition.op]} {text}"


def conditions_for(fields: Iterable[str], query: Query) -> list[Condition]:
    names = set(fields)
    return [c for c in query.all if c.field in names and not c.undeclared]
