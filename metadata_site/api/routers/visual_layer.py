"""Visual Layer's custom-metadata API at its exact paths and shapes, over the same services.

`dataset_id` is our dataset's integer id or its UUID (`uid`); `image_id` and `media_id` are item uids.
Declaring a field adds it to the workspace schema (re-declaring an identical field is accepted; a different
declaration under the same name is refused) and creates a field-values import task for the dataset. The
upload runs the import in the background. Unlike Visual Layer, values can be changed later through the
native item metadata endpoints.
"""

from typing import Any
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from metadata_site.imports.models import ApplyPolicy, ImportKind, ImportTask
from metadata_site.imports.services import ImportTaskError, import_task_create, import_task_upload
from metadata_site.items.models import Item
from metadata_site.lib.userinput import parse_id
from metadata_site.projects.models import Dataset, DatasetStatus
from metadata_site.schemas.declarations import FieldDeclarationError, clean_field_declaration
from metadata_site.schemas.fields import FieldSpec, FieldType
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import SchemaError, schema_declare_field
from metadata_site.workspaces.access import get_access
from metadata_site.workspaces.models import Role

from ..errors import ApiError, responses

router = Router(tags=["Visual Layer compatible"])

VL_DATASET_IMPORTING = "The dataset is not READY (an import is running); try again when it is READY."
VL_FIELD_EXISTS = (
    "A field named {name!r} is already declared as {existing}; this declaration asks for {wanted}. "
    "Declare the values under another field_name, or send the existing declaration."
)
# The reasons of the status endpoint's sample errors, in the documentation's words ("Expected String"), so that
# scripts matching them keep working; our own, more specific message goes into `detail`.
VL_EXPECTED = {
    FieldType.STRING: "Expected String",
    FieldType.FLOAT: "Expected Float",
    FieldType.INTEGER: "Expected Integer",
    FieldType.BOOLEAN: "Expected Boolean",
    FieldType.DATETIME: "Expected Datetime",
    FieldType.ENUM: "Expected Enum",
    FieldType.LINK: "Expected Link",
}
VL_NO_FILE = "Send the JSON file as the multipart form field `file`, or the JSON array as the request body."
VL_TASK_STARTED = "This task already has its file; declare the field again for a new task."


class VLFieldIn(Schema):
    field_name: str
    field_type: str
    enum_options: list[str] | None = None
    is_multi: bool = False


class VLTaskOut(Schema):
    task_id: str
    status: str


class VLSampleError(Schema):
    reason: str
    row_index: int
    detail: str | None = None


class VLStatusOut(Schema):
    task_id: str
    status: str
    progress: float
    inserted_rows: int
    error_count: int
    sample_errors: list[VLSampleError]


class VLFieldOut(Schema):
    field_name: str
    field_type: str
    enum_options: list[str] | None = None
    is_multi: bool = False


class VLValueOut(Schema):
    field_name: str
    field_type: str
    value: Any


def _dataset(request: HttpRequest, dataset_id: str, *, write: bool) -> Dataset:
    """The dataset by integer id or uid, checked like the UI (strangers 404, viewers may not write)."""
    if (pk := parse_id(dataset_id)) is not None:
        lookup = Q(pk=pk)
    else:
        try:
            lookup = Q(uid=UUID(dataset_id))
        except ValueError:
            raise ApiError(404, "No such dataset.") from None
    dataset = Dataset.objects.filter(lookup).select_related("workspace").first()
    if dataset is None:
        raise ApiError(404, "No such dataset.")
    get_access(request.auth, dataset.workspace.slug, role=Role.EDITOR if write else Role.VIEWER)
    return dataset


def _task(dataset: Dataset, task_id: UUID) -> ImportTask:
    return get_object_or_404(
        ImportTask, workspace_id=dataset.workspace_id, uid=task_id, kind=ImportKind.FIELD_VALUES,
        target__dataset=dataset.pk,
    )


def _same(spec: FieldSpec, wanted: FieldSpec) -> bool:
    return (spec.type, set(spec.options), spec.is_multi) == (wanted.type, set(wanted.options), wanted.is_multi)


def _declaration_text(spec: FieldSpec) -> str:
    """A declaration in the words of the API: `float`, or `enum (multi) with the options red, green`."""
    if spec.type != FieldType.ENUM:
        return str(spec.type)
    return f"enum ({'multi' if spec.is_multi else 'single'}) with the options {', '.join(spec.options)}"


@router.post("/v1/datasets/{dataset_id}/custom_metadata/tasks", response=responses(VLTaskOut))
def vl_declare(request: HttpRequest, dataset_id: str, payload: VLFieldIn):
    """Declare a field (string, float, datetime, enum, link) and get the task to upload its values to."""
    dataset = _dataset(request, dataset_id, write=True)
    if dataset.status == DatasetStatus.IMPORTING:
        raise ApiError(409, VL_DATASET_IMPORTING)
    declaration = payload.dict()
    try:
        wanted = clean_field_declaration(declaration)
    except FieldDeclarationError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    existing = schema_current(workspace=dataset.workspace).get(wanted.name)
    if existing is None:
        try:
            schema_declare_field(workspace=dataset.workspace, user=request.auth, field=declaration)
        except SchemaError as exc:
            raise ApiError(422, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    elif not _same(existing, wanted):
        msg = VL_FIELD_EXISTS.format(
            name=wanted.name, existing=_declaration_text(existing), wanted=_declaration_text(wanted)
        )
        raise ApiError(409, msg, [{"loc": ["body", "field_name"], "msg": msg}])
    try:
        task = import_task_create(
            workspace=dataset.workspace, user=request.auth, kind=ImportKind.FIELD_VALUES,
            target={"dataset": dataset.pk, "field": wanted.name}, dry_run=False, policy=ApplyPolicy.SKIP_BAD_ROWS,
        )
    except ImportTaskError as exc:
        raise ApiError(409, exc.message) from None
    return {"task_id": str(task.uid), "status": task.status}


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": 'The values: a JSON array of {"media_id", "value"}, as the multipart form field `file` '
        "or as the raw JSON body.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                           "required": ["file"]}
            },
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}


@router.post("/v1/datasets/{dataset_id}/custom_metadata/tasks/{uuid:task_id}", response=responses(VLTaskOut),
             openapi_extra=UPLOAD_BODY)
def vl_upload(request: HttpRequest, dataset_id: str, task_id: UUID):
    """Upload the values file; the import runs in the background (poll the status)."""
    dataset = _dataset(request, dataset_id, write=True)
    task = _task(dataset, task_id)
    upload = request.FILES.get("file")
    if upload is not None:
        name, chunks = upload.name or "upload.json", upload.chunks()
    elif request.content_type == "application/json" and request.body:
        name, chunks = "upload.json", [request.body]
    else:
        raise ApiError(400, VL_NO_FILE, [{"loc": ["body", "file"], "msg": VL_NO_FILE}])
    if not name.lower().endswith((".json", ".jsonl", ".csv")):
        name = f"{name}.json"
    try:
        task = import_task_upload(task=task, name=name, chunks=chunks)
    except ImportTaskError as exc:
        raise ApiError(409, exc.message) from None
    task.refresh_from_db()
    return {"task_id": str(task.uid), "status": task.status}


def _vl_sample_error(error: dict, spec: FieldSpec | None) -> dict:
    """A row error of a field-values import: a value of the wrong type (stored as "<field>: <why>") reads
    "Expected <Type>" as Visual Layer words it, with our message as `detail`; other row errors (an unknown
    media_id, a row without a value) keep their own reason."""
    reason = str(error.get("reason", ""))
    if spec is not None and reason.startswith(f"{spec.name}: "):
        return {"reason": VL_EXPECTED[spec.type], "row_index": error.get("row_index"), "detail": reason}
    return {"reason": reason, "row_index": error.get("row_index"), "detail": reason}


@router.get("/v1/datasets/{dataset_id}/custom_metadata/tasks/{uuid:task_id}/status", response=responses(VLStatusOut))
def vl_status(request: HttpRequest, dataset_id: str, task_id: UUID):
    dataset = _dataset(request, dataset_id, write=False)
    task = _task(dataset, task_id)
    status = task.status_payload()
    spec = schema_current(workspace=dataset.workspace).get(str(task.target.get("field")))
    status["sample_errors"] = [_vl_sample_error(e, spec) for e in status["sample_errors"]]
    return status


def _vl_field(spec: FieldSpec) -> dict:
    out: dict[str, Any] = {"field_name": spec.name, "field_type": str(spec.type)}
    if spec.options or spec.type == "enum":
        out["enum_options"] = list(spec.options)
        out["is_multi"] = spec.is_multi
    return out


@router.get("/v1/datasets/{dataset_id}/custom_metadata/schema", response=responses(list[VLFieldOut]))
def vl_schema(request: HttpRequest, dataset_id: str):
    """All declared fields and their types."""
    dataset = _dataset(request, dataset_id, write=False)
    return [_vl_field(spec) for spec in schema_current(workspace=dataset.workspace)]


@router.get("/v1/datasets/{dataset_id}/image/{uuid:image_id}/custom_metadata", response=responses(list[VLValueOut]))
def vl_image_metadata(request: HttpRequest, dataset_id: str, image_id: UUID):
    """The image's values of declared fields: [{field_name, field_type, value}]."""
    dataset = _dataset(request, dataset_id, write=False)
    item = get_object_or_404(Item, workspace_id=dataset.workspace_id, uid=image_id, datasets=dataset)
    schema = schema_current(workspace=dataset.workspace)
    return [
        {"field_name": spec.name, "field_type": str(spec.type), "value": item.client_metadata[spec.name]}
        for spec in schema
        if item.client_metadata.get(spec.name) is not None
    ]
