"""Field declarations of a metadata schema, as plain typed values (no ORM).

A declaration is stored in `MetadataSchema.fields` as a dict:
``{"name", "type", "options", "is_multi", "description", "unit"}`` (an embedding adds ``"dimension"`` and
``"distance"``).

Embedding fields are declared like the others but are not filterable metadata: their vectors live in their
own table (`media.Embedding`), never in the JSON document. So iterating a `Schema` (and `Schema.get`) gives
the typed, filterable fields only, which is what the explorer, the forms and the exports want;
`Schema.embeddings` gives the embedding fields, and `all_fields` / `any_field` every declaration.
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
    EMBEDDING = "embedding"


class Distance(StrEnum):
    COSINE = "cosine"
    EUCLIDEAN = "euclidean"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    options: tuple[str, ...] = ()
    is_multi: bool = False
    description: str = ""
    unit: str = ""
    dimension: int = 0  # embedding only: the length of every vector
    distance: str = ""  # embedding only: Distance

    @classmethod
    def from_dict(cls, data: dict) -> "FieldSpec":
        return cls(
            name=data["name"],
            type=FieldType(data["type"]),
            options=tuple(data.get("options") or ()),
            is_multi=bool(data.get("is_multi", False)),
            description=data.get("description", "") or "",
            unit=data.get("unit", "") or "",
            dimension=int(data.get("dimension") or 0),
            distance=str(data.get("distance") or ""),
        )

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "type": str(self.type),
            "options": list(self.options),
            "is_multi": self.is_multi,
            "description": self.description,
            "unit": self.unit,
        }
        if self.type == FieldType.EMBEDDING:
            data.update(dimension=self.dimension, distance=self.distance)
        return data

    @property
    def is_embedding(self) -> bool:
        return self.type == FieldType.EMBEDDING

    @property
    def is_multi_enum(self) -> bool:
        return self.type == FieldType.ENUM and self.is_multi


@dataclass(frozen=True)
class Schema:
    """A schema version as plain values: fields by name, in declaration order."""

    version: int
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def get(self, name: str) -> FieldSpec | None:
        """The filterable field `name` (None for an embedding field: see `embedding`)."""
        spec = self.fields.get(name)
        return None if spec is None or spec.is_embedding else spec

    def __iter__(self):
        return (spec for spec in self.fields.values() if not spec.is_embedding)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def embeddings(self) -> dict[str, FieldSpec]:
        """The embedding fields by name, in declaration order."""
        return {name: spec for name, spec in self.fields.items() if spec.is_embedding}

    def embedding(self, name: str) -> FieldSpec | None:
        spec = self.fields.get(name)
        return spec if spec is not None and spec.is_embedding else None

    def any_field(self, name: str) -> FieldSpec | None:
        """Any declaration named `name`, embedding or not."""
        return self.fields.get(name)

    def all_fields(self) -> list[FieldSpec]:
        """Every declaration, embeddings included, in declaration order."""
        return list(self.fields.values())
