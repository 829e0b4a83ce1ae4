"""Field declarations of a metadata schema, as plain typed values (no ORM).

A declaration is stored in `MetadataSchema.fields` as a dict:
``{"name", "type", "options", "is_multi", "description", "unit"}``.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"
    FLOAT = "float"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ENUM = "enum"
    LINK = "link"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    options: tuple[str, ...] = ()
    is_multi: bool = False
    description: str = ""
    unit: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "FieldSpec":
        return cls(
            name=data["name"],
            type=FieldType(data["type"]),
            options=tuple(data.get("options") or ()),
            is_multi=bool(data.get("is_multi", False)),
            description=data.get("description", "") or "",
            unit=data.get("unit", "") or "",
        )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": str(self.type),
            "options": list(self.options),
            "is_multi": self.is_multi,
            "description": self.description,
            "unit": self.unit,
        }

    @property
    def is_multi_enum(self) -> bool:
        return self.type == FieldType.ENUM and self.is_multi


@dataclass(frozen=True)
class Schema:
    """A schema version as plain values: fields by name, in declaration order."""

    version: int
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)

    def __iter__(self):
        return iter(self.fields.values())

    def __len__(self) -> int:
        return len(self.fields)
