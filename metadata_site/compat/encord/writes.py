"""Item metadata writes of the Encord protocol (/v2 storage patches and legacy data rows): one call of the
metadata service per workspace, all or nothing, recorded as change sets of the source "encord-sdk"."""


from django.db import transaction

from metadata_site.items.models import Item
from metadata_site.items.services import MODE_OVERWRITE, item_metadata_write
from metadata_site.workspaces.models import Role, Workspace

from .access import ApiError, Signer

SOURCE = "encord-sdk"
METADATA_NOT_OBJECT = "clientMetadata must be a JSON object."
METADATA_REQUIRED = "Send clientMetadata (a JSON object) to change."
METADATA_INVALID = "The client metadata was not saved: {details}"


def _row_errors(rows: list[dict], names: dict[int, str]) -> str:
    parts = []
    for row in rows[:10]:
        errors = "; ".join(
            f"{e.get('key') or '(metadata)'}: {e.get('msg')}" for e in row.get("errors", [])[:5]
        )
        parts.append(f"item {names.get(row.get('item'), row.get('uid'))}: {errors}")
    return " | ".join(parts)


def overwrite_metadata(signer: Signer, items: list[Item], metadata: dict[int, dict], description: str) -> None:
    """Overwrite the metadata of `items` through the metadata service, all or nothing."""
    by_workspace: dict[int, dict[int, dict]] = {}
    for item in items:
        signer.require(item.workspace_id, Role.EDITOR)
        by_workspace.setdefault(item.workspace_id, {})[item.pk] = metadata[item.pk]
    names = {i.pk: f"{i.title} ({i.uid})" for i in items}
    with transaction.atomic():
        for workspace_id, updates in by_workspace.items():
            result = item_metadata_write(
                workspace=Workspace.objects.get(pk=workspace_id), user=signer.user, updates=updates,
                mode=MODE_OVERWRITE, source=SOURCE, description=description, operation="encord-sdk",
            )
            if result.failed:
                # Nothing is written when any row is refused: roll back the rows already written.
                raise ApiError(400, METADATA_INVALID.format(details=_row_errors(result.failed_rows, names)))
