from django.db.models import Count, Q

from metadata_site.items.models import Item
from metadata_site.workspaces.models import Workspace

from .fields import FieldSpec, Schema
from .models import MetadataSchema


def schema_current_row(*, workspace: Workspace) -> MetadataSchema | None:
    return MetadataSchema.objects.filter(workspace=workspace).order_by("-version").first()


def schema_current(*, workspace: Workspace) -> Schema:
    """The workspace's current schema (version 0 and no fields when none was declared)."""
    row = schema_current_row(workspace=workspace)
    if row is None:
        return Schema(version=0)
    specs = [FieldSpec.from_dict(d) for d in row.fields]
    return Schema(version=row.version, fields={s.name: s for s in specs})


def schema_versions(*, workspace: Workspace):
    return MetadataSchema.objects.filter(workspace=workspace).select_related("created_by").order_by("-version")


def schema_coverage(*, workspace: Workspace, schema: Schema) -> tuple[int, dict[str, int]]:
    """How many items the workspace has, and how many of them have a value for each declared field (one scan)."""
    counts = {"_total": Count("id")}
    for index, spec in enumerate(schema):
        counts[f"f{index}"] = Count("id", filter=Q(client_metadata__has_key=spec.name))
    row = Item.objects.filter(workspace=workspace).aggregate(**counts)
    return row["_total"], {spec.name: row[f"f{index}"] for index, spec in enumerate(schema)}
