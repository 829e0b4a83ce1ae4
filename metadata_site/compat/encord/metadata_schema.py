"""/v2 organisation client-metadata schema, in its v2 and flat forms: read the workspace's current schema, or save
a new version through the schema service (admins only)."""

import uuid

from django.http import HttpRequest, JsonResponse

from metadata_site.schemas.selectors import schema_current, schema_current_row
from metadata_site.schemas.services import SchemaError, schema_import
from metadata_site.workspaces.models import Role, Workspace

from . import serializers as ser
from .access import ApiError, Signer
from .schema_map import SchemaMappingError, fields_from_flat, fields_from_v2, schema_to_flat, schema_to_v2
from .v2 import json_body, v2_endpoint

SCHEMA_ADMIN_ONLY = "Only workspace admins can change the metadata schema."


def _save_schema(signer: Signer, workspace: Workspace, fields: list[dict]) -> None:
    """Replace the workspace schema with `fields`: the schema service writes it as a new version."""
    signer.require(workspace.pk, Role.ADMIN, SCHEMA_ADMIN_ONLY)
    try:
        schema_import(workspace=workspace, user=signer.user, fields=fields, dry_run=False)
    except SchemaError as exc:
        details = "; ".join(f"{e.get('name')}: {e.get('msg')}" for e in exc.errors[:10])
        raise ApiError(400, f"{exc.message} {details}".strip() if details else exc.message) from None


@v2_endpoint("GET", "POST")
def metadata_schema_v2(request: HttpRequest, signer: Signer) -> JsonResponse:
    workspace = signer.schema_workspace()
    if request.method == "GET":
        if schema_current_row(workspace=workspace) is None:
            return JsonResponse(None, safe=False)
        return JsonResponse(schema_to_v2(schema_current(workspace=workspace)))
    try:
        fields = fields_from_v2(json_body(request), schema_current(workspace=workspace))
    except SchemaMappingError as exc:
        raise ApiError(400, str(exc)) from None
    _save_schema(signer, workspace, fields)
    return JsonResponse(None, safe=False)


@v2_endpoint("GET", "POST")
def metadata_schema_flat(request: HttpRequest, signer: Signer) -> JsonResponse:
    workspace = signer.schema_workspace()
    if request.method == "GET":
        row = schema_current_row(workspace=workspace)
        if row is None:
            return JsonResponse(None, safe=False)
        return JsonResponse({
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"metadata_site:schema:{workspace.pk}:{row.version}")),
            "metadataSchema": schema_to_flat(schema_current(workspace=workspace)),
            "organisationId": workspace.pk,
            "createdAt": ser.iso(row.created_at),
            "updatedAt": ser.iso(row.created_at),
        })
    try:
        fields = fields_from_flat(json_body(request), schema_current(workspace=workspace))
    except SchemaMappingError as exc:
        raise ApiError(400, str(exc)) from None
    _save_schema(signer, workspace, fields)
    return JsonResponse(None, safe=False)
