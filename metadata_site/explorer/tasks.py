"""Background work of the explorer: index and projection builds after a schema change or a bulk import."""

from django.tasks import task

from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace

from . import projection
from .indexes import ensure_field_indexes


@task()
def build_field_indexes(workspace_id: int) -> dict:
    """Bring the workspace's field indexes and typed projection in step with its current schema (idempotent)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"created": [], "dropped": [], "projection": "skipped"}
    schema = schema_current(workspace=workspace)
    result = ensure_field_indexes(workspace_id=workspace_id, schema=schema)
    result["projection"] = projection.build(workspace_id=workspace_id, schema=schema)
    return result


@task()
def maintain_projection(workspace_id: int) -> bool:
    """VACUUM (ANALYZE) the workspace's typed projection after a bulk write kept it in step."""
    return projection.vacuum(workspace_id=workspace_id)
