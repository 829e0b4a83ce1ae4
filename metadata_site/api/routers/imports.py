"""Import tasks: create, upload the file, read the dry-run result and status, apply, cancel, undo."""

from uuid import UUID

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Status, UploadedFile
from ninja.pagination import paginate

from metadata_site.imports.exports import CONTENT_TYPES, ExportError, export_file_path, export_task_create
from metadata_site.imports.models import ImportKind, ImportStatus, ImportTask
from metadata_site.imports.services import (
    ImportTaskError,
    import_task_apply,
    import_task_cancel,
    import_task_create,
    import_task_undo,
    import_task_upload,
)

from ..access import read_access, write_access
from ..auth import api_read_auth
from ..errors import ApiError, responses
from ..paging import CursorPage
from ..schemas import ApplyIn, ExportIn, ExportOut, ImportTaskIn, ImportTaskOut, ImportTaskPage

router = Router(tags=["imports"])

UPLOAD_FILE_REQUIRED = "Send the file as the multipart form field `file`."


def _task_error(exc: ImportTaskError) -> ApiError:
    return ApiError(409, exc.message)


def _task(workspace, task_id: UUID) -> ImportTask:
    return get_object_or_404(ImportTask.objects.exclude(kind=ImportKind.EXPORT), workspace=workspace, uid=task_id)


@router.get("/w/{slug}/imports", response=responses(ImportTaskPage))
@paginate(CursorPage, limit=50, keyset=False)
def import_list(request: HttpRequest, slug: str):
    access = read_access(request, slug)
    return ImportTask.objects.filter(workspace=access.workspace).exclude(kind=ImportKind.EXPORT).order_by("-pk")


@router.post("/w/{slug}/imports", response=responses(ImportTaskOut, status=201))
def import_create(request: HttpRequest, slug: str, payload: ImportTaskIn):
    """A new task waiting for its file (status INIT)."""
    access = write_access(request, slug)
    try:
        task = import_task_create(workspace=access.workspace, user=request.auth, kind=payload.kind,
                                  target=payload.target, mode=payload.mode, dry_run=payload.dry_run,
                                  policy=payload.policy)
    except ImportTaskError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    return Status(201, task)


@router.get("/w/{slug}/imports/{uuid:task_id}", response=responses(ImportTaskOut))
def import_detail(request: HttpRequest, slug: str, task_id: UUID):
    """Status, progress and the check's result: row counts and sample errors ({reason, row_index})."""
    return _task(read_access(request, slug).workspace, task_id)


@router.post("/w/{slug}/imports/{uuid:task_id}/upload", response=responses(ImportTaskOut))
def import_upload(request: HttpRequest, slug: str, task_id: UUID, file: UploadedFile | None = File(None)):  # noqa: B008
    """Upload the task's file (JSON, JSONL or CSV); the check starts in the background."""
    access = write_access(request, slug)
    # The task first: a task of another workspace is a 404 whatever the body holds.
    task = _task(access.workspace, task_id)
    if file is None:
        raise ApiError(400, UPLOAD_FILE_REQUIRED, [{"loc": ["body", "file"], "msg": UPLOAD_FILE_REQUIRED}])
    try:
        return import_task_upload(task=task, name=file.name or "upload", chunks=file.chunks())
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/apply", response=responses(ImportTaskOut))
def import_apply(request: HttpRequest, slug: str, task_id: UUID, payload: ApplyIn):
    access = write_access(request, slug)
    try:
        return import_task_apply(task=_task(access.workspace, task_id), user=request.auth, policy=payload.policy)
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/cancel", response=responses(ImportTaskOut))
def import_cancel(request: HttpRequest, slug: str, task_id: UUID):
    access = write_access(request, slug)
    try:
        return import_task_cancel(task=_task(access.workspace, task_id), user=request.auth)
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/undo", response=responses(ImportTaskOut))
def import_undo(request: HttpRequest, slug: str, task_id: UUID):
    access = write_access(request, slug)
    try:
        return import_task_undo(task=_task(access.workspace, task_id), user=request.auth)
    except ImportTaskError as exc:
        raise _task_error(exc) from None


# --- exports -----------------------------------------------------------------------------------------

EXPORT_NOT_READY = "The export is not finished yet (status {status})."


def _export(workspace, export_id: UUID) -> ImportTask:
    return get_object_or_404(ImportTask, workspace=workspace, uid=export_id, kind=ImportKind.EXPORT)


def _export_out(request: HttpRequest, slug: str, task: ImportTask) -> dict:
    data = ExportOut.model_validate(task).model_dump(by_alias=True)
    if task.status == ImportStatus.COMPLETED:
        data["download_url"] = request.build_absolute_uri(f"/api/w/{slug}/exports/{task.uid}/file")
    return data


@router.post("/w/{slug}/exports", response=responses(ExportOut, status=201), tags=["exports"], auth=api_read_auth)
def export_create(request: HttpRequest, slug: str, payload: ExportIn):
    """Export the items the filters select (as the explorer selects them) with their metadata, as JSON, JSONL
    or CSV, in the background. Poll the export, then download `download_url`."""
    access = read_access(request, slug)
    params = {"f": payload.f, "any": payload.any}
    if payload.scope:
        params["scope"] = [payload.scope]
    try:
        task = export_task_create(workspace=access.workspace, user=request.auth, params=params, fmt=payload.format)
    except ExportError as exc:
        raise ApiError(400, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    return Status(201, _export_out(request, slug, task))


@router.get("/w/{slug}/exports/{uuid:export_id}", response=responses(ExportOut), tags=["exports"])
def export_detail(request: HttpRequest, slug: str, export_id: UUID):
    return _export_out(request, slug, _export(read_access(request, slug).workspace, export_id))


@router.get("/w/{slug}/exports/{uuid:export_id}/file", tags=["exports"], response=responses(None),
            openapi_extra={"responses": {200: {"description": "The export file (JSON, JSONL or CSV)"}}})
def export_file(request: HttpRequest, slug: str, export_id: UUID):
    task = _export(read_access(request, slug).workspace, export_id)
    if task.status != ImportStatus.COMPLETED:
        raise ApiError(409, EXPORT_NOT_READY.format(status=task.status))
    return FileResponse(export_file_path(task).open("rb"), as_attachment=True, filename=task.file_name,
                        content_type=CONTENT_TYPES.get(task.format, "application/octet-stream"))
