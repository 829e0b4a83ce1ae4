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
